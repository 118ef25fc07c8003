"""The merchant console at /console: backorders, purchase orders, broadcasts, delay notices and tickets.

Server-rendered pages (bot/web/templates/console_*.html) over the same services as the merchant API; a little
JavaScript (static/console.js) counts a broadcast's recipients while the audience is picked and follows its
delivery. A merchant signs in with an API token (console_auth). Changes that customers hear about are
previewed first: moving or receiving a purchase order shows whose ETAs would move, a broadcast shows its
recipients and texts, and only the confirming form changes anything.
"""

import hashlib
import json
import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.typedefs import Handler
from multidict import MultiDictProxy

from bot.composition import ChatDeps
from bot.i18n import N_, SUPPORTED_LANGUAGES
from bot.services.backorders.backlog_health import backlog_health
from bot.services.backorders.delay_notices import list_delay_notices
from bot.services.backorders.merchant_overview import backorder_summary
from bot.services.backorders.notifications import worth_telling
from bot.services.errors import DomainError, NotFound
from bot.services.merchant_access.api_tokens import authenticate
from bot.services.merchant_access.idempotent_requests import (
    Answered,
    Claimed,
    claim_request,
    release_claim,
    store_answer,
)
from bot.services.outreach.broadcast_drafts import parse_audience
from bot.services.outreach.broadcasts import (
    Audience,
    BroadcastView,
    broadcast_progress,
    cancel_broadcast,
    checked_texts,
    create_broadcast,
    preview_broadcast,
    sending_broadcasts,
)
from bot.services.purchasing.purchase_order_list import list_purchase_orders
from bot.services.purchasing.purchase_order_preview import preview_move_purchase_order, preview_receive_purchase_order
from bot.services.purchasing.purchase_orders import move_purchase_order, receive_purchase_order
from bot.services.support.ticket_ratings import ticket_ratings
from bot.services.support.tickets import ticket_queue
from bot.web.app_keys import DEPS
from bot.web.console_auth import (
    CONSOLE_PREFIX,
    SIGN_IN_PATH,
    SIGNER,
    SessionSigner,
    console_session,
    end_session,
    keep_sign_in_nonce,
    open_without_session,
    require_session,
    safe_next,
    see_other,
    sign_in_form_is_ours,
    sign_in_nonce,
    signer_of,
    start_session,
)
from bot.web.console_render import STATIC_DIR, console_language, render, words

log = logging.getLogger(__name__)

CLOSED_PURCHASE_ORDERS_SHOWN = timedelta(days=30)
DELAY_NOTICES_SHOWN = timedelta(days=90)
RATINGS_PERIOD = timedelta(days=30)
_FORM_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
_FORM_KEYS_KEPT = timedelta(minutes=2)  # a send that died this long ago may be retried with its key
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self';"
        " form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
_SECTIONS = {  # the navigation entry each page belongs to
    "backorders": "backorders",
    "purchase_orders": "purchase-orders",
    "purchase_order_preview": "purchase-orders",
    "broadcasts": "broadcasts",
    "broadcast_preview": "broadcasts",
    "broadcast": "broadcasts",
    "delay_notices": "delay-notices",
    "tickets": "tickets",
}
SIGN_IN_REASONS = {
    "expired": N_("Your session has ended, or the token it was opened with has been revoked. Sign in again."),
    "signed_out": N_("You have signed out."),
}


# ---- signing in and out --------------------------------------------------------------------------------


@open_without_session
async def sign_in_page(request: web.Request) -> web.StreamResponse:
    """The form asking for an API token."""
    return _sign_in_form(
        request, 200, message=SIGN_IN_REASONS.get(request.query.get("reason", "")), next_path=request.query.get("next")
    )


@open_without_session
async def sign_in(request: web.Request) -> web.StreamResponse:
    """Check the token; a valid one opens a session, anything else is answered 401 with the form again."""
    signer = signer_of(request)
    form = await request.post()
    next_path = _text(form, "next")
    if signer is None:
        return _sign_in_form(request, 503, next_path=next_path)
    if not sign_in_form_is_ours(request, signer, _text(form, "csrf")):
        return _sign_in_form(
            request, 403, error=N_("The sign-in form had expired. Paste the token again."), next_path=next_path
        )
    token = await authenticate(_deps(request).uow(), _text(form, "token").strip())
    if token is None:
        return _sign_in_form(
            request, 401, error=N_("This API token is not valid: it is unknown or has been revoked."), next_path=next_path
        )
    response = see_other(safe_next(next_path))
    start_session(response, request, signer, token)
    log.info("console: signed in with API token %d (%s)", token.id, token.name)
    return response


async def sign_out(request: web.Request) -> web.StreamResponse:
    response = see_other(f"{SIGN_IN_PATH}?reason=signed_out")
    end_session(response)
    return response


def _sign_in_form(
    request: web.Request, status: int, *, error: str | None = None, message: str | None = None, next_path: str | None
) -> web.StreamResponse:
    signer = signer_of(request)
    if signer is None:
        return render(
            "sign_in", 503, session=None, error=N_("The console needs SECRET_KEY to be set on the server."),
            message=None, csrf="", next_path=CONSOLE_PREFIX,
        )
    nonce = sign_in_nonce(request)
    response = render(
        "sign_in",
        status,
        session=None,
        error=error,
        message=message,
        csrf=signer.form_token("sign-in", nonce),
        next_path=safe_next(next_path),
    )
    keep_sign_in_nonce(response, request, nonce)
    return response


# ---- backorders --------------------------------------------------------------------------------------


async def backorders_page(request: web.Request) -> web.StreamResponse:
    """Backorders by SKU, with the aging of the waiting lines."""
    deps = _deps(request)
    summary = await backorder_summary(deps.uow())
    health = await backlog_health(deps.uow())
    confirmed = sum(sku.confirmed_lines for sku in health.by_sku.values())
    lines = sum(sku.waiting_lines for sku in summary)
    return _page(
        request,
        "backorders",
        summary=summary,
        health=health,
        total_lines=lines,
        total_units=sum(sku.waiting_quantity for sku in summary),
        confirmed_share=confirmed / lines if lines else None,
    )


# ---- purchase orders ---------------------------------------------------------------------------------


async def purchase_orders_page(request: web.Request) -> web.StreamResponse:
    """Open purchase orders with the forms to move or receive each, and those closed lately."""
    return await _purchase_orders(request, 200)


async def _purchase_orders(request: web.Request, status: int, error: str | None = None) -> web.StreamResponse:
    deps = _deps(request)
    rows = await list_purchase_orders(deps.uow(), closed_since=deps.clock.now() - CLOSED_PURCHASE_ORDERS_SHOWN)
    return _page(
        request,
        "purchase_orders",
        status,
        open_orders=[row for row in rows if row.is_open],
        closed_orders=[row for row in rows if not row.is_open],
        done=_done_notice(request.query),
        error=error,
        today=deps.clock.today(),
    )


async def preview_move(request: web.Request) -> web.StreamResponse:
    """Whose ETAs would move if the purchase order came on another date, with the form that moves it."""
    reference = request.query.get("reference", "")
    expected_on = _date(request.query.get("expected_on", ""))
    if expected_on is None:
        return await _purchase_orders(request, 422, error=N_("Choose the new expected date."))
    try:
        preview = await preview_move_purchase_order(_deps(request).uow(), reference, expected_on)
    except DomainError as refused:
        return await _purchase_orders(request, _status_of(refused), error=refused.phrase)
    return _page(request, "purchase_order_preview", action="move", preview=preview, expected_on=expected_on, quantity=None)


async def move(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    reference, expected_on = _text(form, "reference"), _date(_text(form, "expected_on"))
    if expected_on is None:
        return await _purchase_orders(request, 422, error=N_("Choose the new expected date."))
    try:
        result = await move_purchase_order(_deps(request).uow(), reference, expected_on, console_session(request).actor)
    except DomainError as refused:
        return await _purchase_orders(request, _status_of(refused), error=refused.phrase)
    told = worth_telling(result.eta_moves)
    return _see_purchase_orders(
        done="moved",
        reference=reference,
        on=expected_on.isoformat(),
        lines=len(told),
        customers=len({move.customer_id for move in told}),
    )


async def preview_receive(request: web.Request) -> web.StreamResponse:
    """Which lines a delivery would make ready to ship and whose ETAs would move, with the form that books it."""
    reference = request.query.get("reference", "")
    try:
        quantity = _whole_number(request.query.get("quantity", ""))
    except ValueError:
        return await _purchase_orders(request, 422, error=N_("The quantity received must be a whole number of at least 1."))
    try:
        preview = await preview_receive_purchase_order(_deps(request).uow(), reference, quantity)
    except DomainError as refused:
        return await _purchase_orders(request, _status_of(refused), error=refused.phrase)
    return _page(
        request,
        "purchase_order_preview",
        action="receive",
        preview=preview,
        expected_on=None,
        quantity=quantity or preview.outstanding,
        receipt_key=secrets.token_urlsafe(18),
    )


async def receive(request: web.Request) -> web.StreamResponse:
    """Book the delivery once, however often the form is sent (its key makes the receipt idempotent)."""
    form = await request.post()
    reference, key = _text(form, "reference"), _text(form, "receipt_key")
    try:
        quantity = _whole_number(_text(form, "quantity"))
    except ValueError:
        quantity = None
    if quantity is None or not _FORM_KEY.fullmatch(key):
        return await _purchase_orders(request, 422, error=N_("The receipt form was incomplete; preview the delivery again."))
    session = console_session(request)
    try:
        result = await receive_purchase_order(
            _deps(request).uow(), reference, session.actor, quantity=quantity,
            idempotency_key=f"console:{session.token.id}:{key}",
        )
    except DomainError as refused:
        return await _purchase_orders(request, _status_of(refused), error=refused.phrase)
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
    return {"kind": kind, "reference": query.get("reference", ""), "on": _date(query.get("on", "")), **numbers}


# ---- broadcasts --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BroadcastForm:
    """The composer's fields, as typed."""

    skus: list[str] = field(default_factory=list)
    category: str = ""
    orders: str = ""
    texts: dict[str, str] = field(default_factory=dict)
    new_eta: str = ""
    form_key: str = ""

    @classmethod
    def read(cls, form: MultiDictProxy[Any]) -> "BroadcastForm":
        return cls(
            skus=[value for value in form.getall("sku", []) if isinstance(value, str) and value.strip()],
            category=_text(form, "category").strip(),
            orders=_text(form, "orders").strip(),
            texts={language: _text(form, f"text_{language}") for language in SUPPORTED_LANGUAGES},
            new_eta=_text(form, "new_eta").strip(),
            form_key=_text(form, "form_key"),
        )

    @property
    def audience(self) -> Audience:
        return Audience(
            skus=self.skus,
            category=self.category or None,
            order_numbers=parse_audience("orders", self.orders).order_numbers,
        )

    def fingerprint(self) -> str:
        content = [self.skus, self.category, self.orders, self.texts, self.new_eta]
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode("utf-8")).hexdigest()


async def broadcasts_page(request: web.Request) -> web.StreamResponse:
    """The composer, and the broadcasts still being delivered."""
    return await _composer(request, BroadcastForm(), 200)


async def recipients(request: web.Request) -> web.StreamResponse:
    """How many customers the audience in the query reaches now (for the composer's live count)."""
    form = BroadcastForm(
        skus=request.query.getall("sku", []),
        category=request.query.get("category", "").strip(),
        orders=request.query.get("orders", ""),
    )
    if form.audience.cleaned().is_empty:
        return web.json_response({"recipients": None, "error": None})
    try:
        count = await preview_broadcast(_deps(request).uow(), form.audience)
    except DomainError as refused:
        return web.json_response({"recipients": None, "error": words(refused.phrase)}, status=422)
    return web.json_response({"recipients": count, "error": None})


async def compose(request: web.Request) -> web.StreamResponse:
    """The composer's buttons: preview (checks everything, counts recipients), edit again, or send."""
    posted = await request.post()
    form, action = BroadcastForm.read(posted), posted.get("action")
    if action == "send":
        return await _send(request, form)
    if action == "edit":
        return await _composer(request, form, 200)
    deps = _deps(request)
    try:
        texts = checked_texts(form.texts, deps.settings.default_language)
        new_eta = _optional_date(form.new_eta)
        count = await preview_broadcast(deps.uow(), form.audience)
    except DomainError as refused:
        return await _composer(request, form, 422, error=refused.phrase)
    return _page(
        request,
        "broadcast_preview",
        form=BroadcastForm(form.skus, form.category, form.orders, form.texts, form.new_eta, secrets.token_urlsafe(18)),
        texts=texts,
        new_eta=new_eta,
        recipient_count=count,
        default_language=deps.settings.default_language,
    )


async def _send(request: web.Request, form: BroadcastForm) -> web.StreamResponse:
    """Create the broadcast once per previewed form: sending the same form again shows the first one."""
    if not _FORM_KEY.fullmatch(form.form_key):
        return await _composer(request, form, 422, error=N_("Preview the broadcast before sending it."))
    deps, session = _deps(request), console_session(request)
    claim = await claim_request(
        deps.uow(), session.token.id, f"console-broadcast:{form.form_key}", "POST",
        f"{CONSOLE_PREFIX}/broadcasts", form.fingerprint(), _FORM_KEYS_KEPT,
    )
    if isinstance(claim, Answered):
        return see_other(f"{CONSOLE_PREFIX}/broadcasts/{claim.body['broadcast_id']}")
    if not isinstance(claim, Claimed):
        return await _composer(
            request, form, 409, error=N_("This broadcast is already being sent, or the form was changed; check the list below.")
        )
    try:
        view = await create_broadcast(deps.uow(), form.audience, form.texts, session.actor, _optional_date(form.new_eta))
    except DomainError as refused:
        await release_claim(deps.uow(), claim.claim_id)
        return await _composer(request, form, 422, error=refused.phrase)
    except BaseException:
        await release_claim(deps.uow(), claim.claim_id)
        raise
    await store_answer(deps.uow(), claim.claim_id, 303, {"broadcast_id": view.id})
    log.info("console: broadcast %d to %d customers by API token %d", view.id, view.recipient_count, session.token.id)
    return see_other(f"{CONSOLE_PREFIX}/broadcasts/{view.id}")


async def _composer(request: web.Request, form: BroadcastForm, status: int, error: str | None = None) -> web.StreamResponse:
    deps = _deps(request)
    summary = await backorder_summary(deps.uow())
    health = await backlog_health(deps.uow())
    return _page(
        request,
        "broadcasts",
        status,
        form=form,
        skus=summary,
        categories=health.categories,
        languages=_languages(deps.settings.default_language),
        default_language=deps.settings.default_language,
        sending=await sending_broadcasts(deps.uow()),
        error=error,
    )


async def broadcast_page(request: web.Request) -> web.StreamResponse:
    """One broadcast and its delivery; the bar follows the outbox workers until nothing is left to send."""
    view = await _broadcast(request)
    return _page(request, "broadcast", view=view, done=_delivered(view))


async def broadcast_progress_json(request: web.Request) -> web.StreamResponse:
    view = await _broadcast(request)
    return web.json_response(
        {
            "id": view.id,
            "status": view.status.value,
            "recipients": view.recipient_count,
            "sent": view.sent,
            "failed": view.failed,
            "blocked": view.blocked,
            "pending": view.pending,
            "cancelled": view.cancelled,
        },
        headers={"Cache-Control": "no-store"},
    )


async def cancel(request: web.Request) -> web.StreamResponse:
    view = await cancel_broadcast(
        _deps(request).uow(), int(request.match_info["broadcast_id"]), console_session(request).actor
    )
    return see_other(f"{CONSOLE_PREFIX}/broadcasts/{view.id}")


async def _broadcast(request: web.Request) -> BroadcastView:
    try:
        return await broadcast_progress(_deps(request).uow(), int(request.match_info["broadcast_id"]))
    except NotFound as missing:
        raise web.HTTPNotFound(reason=missing.message) from None


def _delivered(view: BroadcastView) -> int:
    return view.sent + view.failed + view.blocked


def _languages(default_language: str) -> list[str]:
    """The languages a text can be written in, the shop's default first."""
    return sorted(SUPPORTED_LANGUAGES, key=lambda language: language != default_language)


# ---- delay notices and tickets -------------------------------------------------------------------------


async def delay_notices_page(request: web.Request) -> web.StreamResponse:
    """Delay notices of the last 90 days, newest first, with what the customers answered."""
    deps = _deps(request)
    notices = await list_delay_notices(deps.uow(), deps.clock.now() - DELAY_NOTICES_SHOWN)
    notices.reverse()
    answers: dict[str, int] = {"agreed": 0, "cancelled": 0, "auto_cancelled": 0, "awaiting": 0, "silent": 0}
    for notice in notices:
        if notice.response is not None:
            answers[notice.response.value] += 1
        else:
            answers["silent" if notice.silence_is_consent else "awaiting"] += 1
    return _page(request, "delay_notices", notices=notices, answers=answers, days=DELAY_NOTICES_SHOWN.days)


async def tickets_page(request: web.Request) -> web.StreamResponse:
    """Open tickets with how long each has waited, and the ratings of the last 30 days."""
    deps = _deps(request)
    target = deps.settings.response_target_minutes
    return _page(
        request,
        "tickets",
        queue=await ticket_queue(deps.uow(), target),
        ratings=await ticket_ratings(deps.uow(), deps.clock.now() - RATINGS_PERIOD),
        target_minutes=target,
        days=RATINGS_PERIOD.days,
    )


# ---- the application ---------------------------------------------------------------------------------


@web.middleware
async def html_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refusals and failures as console pages rather than JSON, and the security headers on every answer."""
    try:
        response = await handler(request)
    except web.HTTPException as refused:
        if refused.status < 400:
            raise
        response = render("error", refused.status, session=None, title=refused.reason, message=_refusal(refused))
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        response = render(
            "error", 500, session=None, title=N_("Something went wrong"),
            message=N_("Something went wrong on our side; nothing was changed by this page. Try again later."),
        )
    response.headers.update(SECURITY_HEADERS)
    return response


def build_console(deps: ChatDeps) -> web.Application:
    """The console as an aiohttp application, to be mounted at CONSOLE_PREFIX."""
    console = web.Application(middlewares=[console_language, html_pages, require_session])
    if deps.settings.secret_key.strip():
        console[SIGNER] = SessionSigner(deps.settings.secret_key)
    else:
        log.warning("console: SECRET_KEY is not set, so nobody can sign in to /console")
    console.router.add_get("", backorders_page, allow_head=False)
    console.router.add_get("/", backorders_page, allow_head=False)
    console.router.add_get("/sign-in", sign_in_page, allow_head=False)
    console.router.add_post("/sign-in", sign_in)
    console.router.add_post("/sign-out", sign_out)
    console.router.add_get("/purchase-orders", purchase_orders_page, allow_head=False)
    console.router.add_get("/purchase-orders/move", preview_move, allow_head=False)
    console.router.add_post("/purchase-orders/move", move)
    console.router.add_get("/purchase-orders/receive", preview_receive, allow_head=False)
    console.router.add_post("/purchase-orders/receive", receive)
    console.router.add_get("/broadcasts", broadcasts_page, allow_head=False)
    console.router.add_post("/broadcasts", compose)
    console.router.add_get("/broadcasts/recipients", recipients, allow_head=False)
    console.router.add_get(r"/broadcasts/{broadcast_id:\d+}", broadcast_page, allow_head=False)
    console.router.add_get(r"/broadcasts/{broadcast_id:\d+}/progress", broadcast_progress_json, allow_head=False)
    console.router.add_post(r"/broadcasts/{broadcast_id:\d+}/cancel", cancel)
    console.router.add_get("/delay-notices", delay_notices_page, allow_head=False)
    console.router.add_get("/tickets", tickets_page, allow_head=False)
    console.router.add_static("/static", STATIC_DIR)
    return console


# ---- reading requests, answering ---------------------------------------------------------------------


def _page(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    """A signed-in page, with what the layout needs: the session (for the form token) and the shop's time zone."""
    deps = _deps(request)
    return render(
        template, status, session=console_session(request), shop_name=deps.settings.shop_name, tz=deps.clock.tz,
        section=_SECTIONS[template], **context,
    )


def _deps(request: web.Request) -> ChatDeps:
    return request.config_dict[DEPS]


def _text(form: MultiDictProxy[Any], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def _optional_date(text: str) -> date | None:
    """A date the merchant may leave empty; DomainError when it is filled in but not a date."""
    if not text:
        return None
    day = _date(text)
    if day is None:
        raise DomainError(N_("The new ETA must be a date (YYYY-MM-DD), or empty."))
    return day


def _whole_number(text: str) -> int | None:
    """A whole number of at least 1 typed into a form; None when the field is empty, ValueError when it is not one."""
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 9 or int(text) < 1:
        raise ValueError(text)
    return int(text)


def _count(text: str) -> int:
    """A count from the query string a change redirected with; 0 if it is not one."""
    return int(text) if text.isdigit() and len(text) <= 9 else 0


def _status_of(refused: DomainError) -> int:
    return 404 if isinstance(refused, NotFound) else 409


def _refusal(refused: web.HTTPException) -> str:
    if refused.status == 404:
        return N_("There is no such page in the console.")
    if refused.status == 405:
        return N_("This page cannot be used that way.")
    return refused.text or refused.reason
