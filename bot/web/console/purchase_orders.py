"""Purchase orders: the open ones with the forms to move or receive each, and those closed lately.

Moving or receiving is previewed first (whose ETAs would move, which lines would become ready to ship); only
the confirming form changes anything, and a receipt is booked once however often its form is sent.
"""

import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDictProxy

from bot.i18n import N_
from bot.services.backorders.notifications import worth_telling
from bot.services.errors import DomainError
from bot.services.purchasing.purchase_order_list import list_purchase_orders
from bot.services.purchasing.purchase_order_preview import preview_move_purchase_order, preview_receive_purchase_order
from bot.services.purchasing.purchase_orders import move_purchase_order, receive_purchase_order
from bot.web.console.auth import CONSOLE_PREFIX, console_session, see_other
from bot.web.console.page import (
    FORM_KEY, Section, deps_of, form_date, page, quiet_until, refusal_status, text, whole_number,
)

routes = web.RouteTableDef()
SECTION = Section("purchase-orders", N_("Purchase orders"), "/purchase-orders", routes)
CLOSED_PURCHASE_ORDERS_SHOWN = timedelta(days=30)


@routes.get("/purchase-orders", allow_head=False)
async def purchase_orders_page(request: web.Request) -> web.StreamResponse:
    """Open purchase orders with the forms to move or receive each, and those closed lately."""
    return await _purchase_orders(request, 200)


async def _purchase_orders(request: web.Request, status: int, error: str | None = None) -> web.StreamResponse:
    deps = deps_of(request)
    rows = await list_purchase_orders(deps.uow(), closed_since=deps.clock.now() - CLOSED_PURCHASE_ORDERS_SHOWN)
    return page(
        request,
        SECTION,
        "purchase_orders",
        status,
        open_orders=[row for row in rows if row.is_open],
        closed_orders=[row for row in rows if not row.is_open],
        done=_done_notice(request.query),
        error=error,
        today=deps.clock.today(),
        quiet_until=quiet_until(request),
    )


@routes.get("/purchase-orders/move", allow_head=False)
async def preview_move(request: web.Request) -> web.StreamResponse:
    """Whose ETAs would move if the purchase order came on another date, with the form that moves it."""
    reference = request.query.get("reference", "")
    expected_on = form_date(request.query.get("expected_on", ""))
    if expected_on is None:
        return await _purchase_orders(request, 422, error=N_("Choose the new expected date."))
    try:
        preview = await preview_move_purchase_order(deps_of(request).uow(), reference, expected_on)
    except DomainError as refused:
        return await _purchase_orders(request, refusal_status(refused), error=refused.phrase)
    return page(
        request, SECTION, "purchase_order_preview", action="move", preview=preview, expected_on=expected_on, quantity=None
    )


@routes.post("/purchase-orders/move")
async def move(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    reference, expected_on = text(form, "reference"), form_date(text(form, "expected_on"))
    if expected_on is None:
        return await _purchase_orders(request, 422, error=N_("Choose the new expected date."))
    try:
        result = await move_purchase_order(deps_of(request).uow(), reference, expected_on, console_session(request).actor)
    except DomainError as refused:
        return await _purchase_orders(request, refusal_status(refused), error=refused.phrase)
    told = worth_telling(result.eta_moves)
    return _see_purchase_orders(
        done="moved",
        reference=reference,
        on=expected_on.isoformat(),
        lines=len(told),
        customers=len({move.customer_id for move in told}),
    )


@routes.get("/purchase-orders/receive", allow_head=False)
async def preview_receive(request: web.Request) -> web.StreamResponse:
    """Which lines a delivery would make ready to ship and whose ETAs would move, with the form that books it."""
    reference = request.query.get("reference", "")
    try:
        quantity = whole_number(request.query.get("quantity", ""))
    except ValueError:
        return await _purchase_orders(request, 422, error=N_("The quantity received must be a whole number of at least 1."))
    try:
        preview = await preview_receive_purchase_order(deps_of(request).uow(), reference, quantity)
    except DomainError as refused:
        return await _purchase_orders(request, refusal_status(refused), error=refused.phrase)
    return page(
        request,
        SECTION,
        "purchase_order_preview",
        action="receive",
        preview=preview,
        expected_on=None,
        quantity=quantity or preview.outstanding,
        receipt_key=secrets.token_urlsafe(18),
    )


@routes.post("/purchase-orders/receive")
async def receive(request: web.Request) -> web.StreamResponse:
    """Book the delivery once, however often the form is sent (its key makes the receipt idempotent)."""
    form = await request.post()
    reference, key = text(form, "reference"), text(form, "receipt_key")
    try:
        quantity = whole_number(text(form, "quantity"))
    except ValueError:
        quantity = None
    if quantity is None or not FORM_KEY.fullmatch(key):
        return await _purchase_orders(request, 422, error=N_("The receipt form was incomplete; preview the delivery again."))
    session = console_session(request)
    try:
        result = await receive_purchase_order(
            deps_of(request).uow(), reference, session.actor, quantity=quantity,
            idempotency_key=f"console:{session.token.id}:{key}",
        )
    except DomainError as refused:
        return await _purchase_orders(request, refusal_status(refused), error=refused.phrase)
    ready = result.ready_to_ship
    told = worth_telling(result.eta_moves)
    return _see_purchase_orders(
        done="received",
        reference=reference,
        units=result.received_now,
        ready=len(ready),
        lines=len(told),
        customers=len({change.customer_id for change in ready} | {move.customer_id for move in told}),
    )


def _see_purchase_orders(**done: object) -> web.Response:
    return see_other(f"{CONSOLE_PREFIX}/purchase-orders?{urlencode(done)}")


def _done_notice(query: MultiDictProxy[str]) -> dict[str, Any] | None:
    """What the last change did, from the query string it redirected with (numbers only, besides the reference)."""
    kind = query.get("done")
    if kind not in ("moved", "received"):
        return None
    numbers = {name: _count(query.get(name, "")) for name in ("lines", "customers", "units", "ready")}
    return {"kind": kind, "reference": query.get("reference", ""), "on": form_date(query.get("on", "")), **numbers}


def _count(value: str) -> int:
    """A count from the query string a change redirected with; 0 if it is not one."""
    return int(value) if value.isdigit() and len(value) <= 9 else 0
