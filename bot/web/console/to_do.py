"""To do: the refunds to pay, the swaps to ship and the lines ready to ship, with "Mark paid" and "Mark shipped",
and each list as a CSV file for shops that work from spreadsheets.

Both actions are the API's use cases (refunds paid, shipments recorded): the customer is told through the outbox,
and a form sent twice changes nothing twice (a refund is paid once; a tracking number is recorded once per order).
"""

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDictProxy

from bot.i18n import N_
from bot.services.errors import DomainError
from bot.services.fulfilment.refunds import RefundView, list_refunds, mark_refund_paid
from bot.services.fulfilment.shipments import Parcel, ShipmentItem, ShipmentRequest, record_shipment
from bot.services.fulfilment.to_do import LineToShip, lines_to_ship
from bot.services.intake import field_rules
from bot.web.console.auth import CONSOLE_PREFIX, console_session, see_other
from bot.web.console.page import Section, deps_of, page, refusal_status, text, whole_number
from db.models import RefundStatus

routes = web.RouteTableDef()
SECTION = Section("to-do", N_("To do"), "/to-do", routes)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run a cell starting so as a formula


class FormProblem(ValueError):
    """What is wrong with a filled-in form, in the console's words."""


@routes.get("/to-do", allow_head=False)
async def to_do_page(request: web.Request) -> web.StreamResponse:
    """Refunds to pay, swaps to ship and lines ready to ship, oldest first, each with its action."""
    return await _to_do(request, 200)


async def _to_do(request: web.Request, status: int, error: object = None) -> web.StreamResponse:
    uow = deps_of(request).uow
    refunds = await list_refunds(uow(), RefundStatus.OWED)
    lines = await lines_to_ship(uow())
    return page(
        request,
        SECTION,
        "to_do",
        status,
        refunds=refunds,
        swaps=[line for line in lines if line.is_swap],
        ready=[line for line in lines if not line.is_swap],
        done=_done_notice(request.query),
        error=error,
    )


@routes.post("/to-do/refunds/{refund_id:\\d{1,12}}/paid")
async def mark_paid(request: web.Request) -> web.StreamResponse:
    """Record the refund as paid with the shop's payment reference; the customer hears the money is on its way."""
    form = await request.post()
    try:
        reference = _required_text(form, "payment_reference", 100, N_("Enter the payment reference, up to 100 characters."))
    except FormProblem as problem:
        return await _to_do(request, 422, error=str(problem))
    try:
        refund = await mark_refund_paid(
            deps_of(request).uow(), int(request.match_info["refund_id"]), reference, console_session(request).actor
        )
    except DomainError as refused:
        return await _to_do(request, refusal_status(refused), error=refused.phrase)
    return _see_to_do(done="paid", order=refund.order_number, sku=refund.sku)


@routes.post("/to-do/shipments")
async def mark_shipped(request: web.Request) -> web.StreamResponse:
    """Record a parcel for one SKU of an order, from what is allocated to it; the customer gets a Track button."""
    form = await request.post()
    try:
        shipment = _shipment(form)
    except FormProblem as problem:
        return await _to_do(request, 422, error=str(problem))
    try:
        result = await record_shipment(deps_of(request).uow(), shipment, console_session(request).actor)
    except DomainError as refused:
        return await _to_do(request, refusal_status(refused), error=refused.phrase)
    units = sum(line.quantity for line in result.lines)
    return _see_to_do(done="shipped", order=result.order_number, sku=shipment.items[0].sku, units=units)


@routes.get("/to-do/refunds.csv", allow_head=False)
async def refunds_csv(request: web.Request) -> web.StreamResponse:
    """The refunds to pay, as a spreadsheet."""
    refunds = await list_refunds(deps_of(request).uow(), RefundStatus.OWED)
    return _csv_file(
        "refunds-to-pay.csv",
        ("refund_id", "order_number", "customer_name", "customer_email", "sku", "product_name", "amount", "currency",
         "reason", "owed_since"),
        (_refund_row(refund) for refund in refunds),
    )


@routes.get("/to-do/swaps.csv", allow_head=False)
async def swaps_csv(request: web.Request) -> web.StreamResponse:
    """The swapped lines to ship, each with the SKU it replaces, as a spreadsheet."""
    lines = [line for line in await lines_to_ship(deps_of(request).uow()) if line.is_swap]
    return _csv_file(
        "swaps-to-ship.csv",
        ("order_number", "customer_name", "sku", "product_name", "quantity", "instead_of_sku", "instead_of_name",
         "ready_since"),
        (_line_row(line, swap=True) for line in lines),
    )


@routes.get("/to-do/ready.csv", allow_head=False)
async def ready_csv(request: web.Request) -> web.StreamResponse:
    """The lines ready to ship (swaps are in their own file), the longest-waiting first, as a spreadsheet."""
    lines = [line for line in await lines_to_ship(deps_of(request).uow()) if not line.is_swap]
    return _csv_file(
        "ready-to-ship.csv",
        ("order_number", "customer_name", "sku", "product_name", "quantity", "ready_since"),
        (_line_row(line, swap=False) for line in lines),
    )


def _shipment(form: MultiDictProxy[Any]) -> ShipmentRequest:
    """The shipment a "Mark shipped" form describes; FormProblem saying what to fix."""
    order_number = _required_text(form, "order_number", 64, N_("The form was incomplete; reload the page and try again."))
    sku = _required_text(form, "sku", 64, N_("The form was incomplete; reload the page and try again."))
    try:
        quantity = whole_number(text(form, "quantity"))
    except ValueError:
        quantity = None
    if quantity is None:
        raise FormProblem(N_("The quantity shipped must be a whole number of at least 1."))
    carrier = _optional_text(form, "carrier", 60, N_("The carrier's name can be up to 60 characters."))
    tracking_number = _optional_text(form, "tracking_number", 100, N_("The tracking number can be up to 100 characters."))
    tracking_url = text(form, "tracking_url").strip() or None
    if tracking_url is not None:
        try:
            field_rules.web_address(tracking_url)
        except ValueError:
            raise FormProblem(N_("The tracking link must be a web address starting with https:// or http://.")) from None
    return ShipmentRequest(order_number, [ShipmentItem(sku, quantity)], Parcel(carrier, tracking_number, tracking_url))


def _optional_text(form: MultiDictProxy[Any], name: str, limit: int, problem: str) -> str | None:
    value = text(form, name).strip()
    try:
        return field_rules.text(value, limit) or None
    except ValueError:
        raise FormProblem(problem) from None


def _required_text(form: MultiDictProxy[Any], name: str, limit: int, problem: str) -> str:
    value = _optional_text(form, name, limit, problem)
    if value is None:
        raise FormProblem(problem)
    return value


def _refund_row(refund: RefundView) -> list[object]:
    return [
        refund.id, refund.order_number, refund.customer_name, refund.customer_email, refund.sku, refund.product_name,
        field_rules.decimal_amount(refund.amount_minor, refund.currency), refund.currency, refund.reason,
        _instant(refund.owed_since),
    ]


def _line_row(line: LineToShip, swap: bool) -> list[object]:
    row: list[object] = [line.order_number, line.customer_name, line.sku, line.product_name, line.quantity]
    if swap:
        row += [line.instead_of_sku, line.instead_of_name]
    return [*row, _instant(line.ready_since)]


def _instant(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def _csv_file(name: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> web.Response:
    """A CSV download: UTF-8 with a byte-order mark, so Excel reads umlauts right; no cell a spreadsheet would run."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_safe_cell(cell) for cell in row] for row in rows)
    return web.Response(
        body=("\ufeff" + out.getvalue()).encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


def _safe_cell(cell: object) -> object:
    """Text that a spreadsheet would take for a formula (`=HYPERLINK(…)` in a customer's name) kept as text."""
    if isinstance(cell, str) and cell.startswith(_FORMULA_STARTS):
        return "'" + cell
    return "" if cell is None else cell


def _see_to_do(**done: object) -> web.Response:
    return see_other(f"{CONSOLE_PREFIX}/to-do?{urlencode(done)}")


def _done_notice(query: MultiDictProxy[str]) -> dict[str, Any] | None:
    """What the last action did, from the query string it redirected with."""
    kind = query.get("done")
    if kind not in ("paid", "shipped"):
        return None
    units = query.get("units", "")
    return {
        "kind": kind,
        "order": query.get("order", ""),
        "sku": query.get("sku", ""),
        "units": int(units) if units.isdigit() and len(units) <= 9 else 0,
    }
