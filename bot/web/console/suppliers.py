"""Suppliers: the list with each one's record at a glance and a form to add one; a page per supplier with its
received shipments, how late they came, a chart of that lateness over time, and the products it supplies by
default, to which more can be given."""

import re
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from bot.i18n import N_
from bot.services.errors import DomainError, SupplierNotFound
from bot.services.purchasing.suppliers import (
    SupplierFields,
    add_supplier,
    assign_products,
    list_suppliers,
    supplier_performance,
    update_supplier,
)
from bot.services.intake.import_records import MAX_LEAD_TIME_DAYS
from bot.web.charts import LatenessPoint, lateness_chart
from bot.web.console.auth import CONSOLE_PREFIX, console_session, see_other
from bot.web.console.page import Section, deps_of, page, text

routes = web.RouteTableDef()
SECTION = Section("suppliers", N_("Suppliers"), "/suppliers", routes)


@routes.get("/suppliers", allow_head=False)
async def suppliers_page(request: web.Request) -> web.StreamResponse:
    """Every supplier with its contact, lead time, products and the slip its ETAs allow for."""
    return await _suppliers(request, 200)


async def _suppliers(request: web.Request, status: int, error: object = None) -> web.StreamResponse:
    deps = deps_of(request)
    suppliers = await list_suppliers(deps.uow())
    return page(
        request, SECTION, "suppliers", status, suppliers=suppliers, error=error,
        added=request.query.get("added") == "1", adjust=deps.policy.supplier_record.adjust_etas,
    )


@routes.post("/suppliers")
async def add(request: web.Request) -> web.StreamResponse:
    """Add a supplier from the form; a bad field shows the list again with the reason."""
    fields = _fields(await request.post())
    if not isinstance(fields, SupplierFields):
        return await _suppliers(request, 422, error=fields)
    try:
        await add_supplier(deps_of(request).uow(), fields, console_session(request).actor)
    except DomainError as refused:
        return await _suppliers(request, 409, error=refused.phrase)
    return see_other(f"{CONSOLE_PREFIX}/suppliers?added=1")


@routes.post(r"/suppliers/{supplier_id:\d{1,9}}")
async def change(request: web.Request) -> web.StreamResponse:
    """Change a supplier's name, contact or lead time from its page; a bad field shows the page with the reason."""
    fields = _fields(await request.post())
    if not isinstance(fields, SupplierFields):
        return await _supplier(request, 422, error=fields)
    supplier_id = int(request.match_info["supplier_id"])
    try:
        await update_supplier(deps_of(request).uow(), supplier_id, fields, console_session(request).actor)
    except SupplierNotFound:
        raise web.HTTPNotFound() from None
    except DomainError as refused:
        return await _supplier(request, 409, error=refused.phrase)
    return see_other(f"{CONSOLE_PREFIX}/suppliers/{supplier_id}?saved=1")


def _fields(form: MultiDictProxy[Any]) -> SupplierFields | str:
    """The supplier form's fields, or why they cannot be taken."""
    name, contact, lead_time = text(form, "name").strip(), text(form, "contact").strip(), text(form, "lead_time_days").strip()
    if not name or len(name) > 200 or len(contact) > 300 or "\x00" in name + contact:
        return N_("Give the supplier a name of up to 200 characters.")
    if lead_time and (not lead_time.isdigit() or int(lead_time) > MAX_LEAD_TIME_DAYS):
        return N_("The lead time is a whole number of days, 0 to 730.")
    return SupplierFields(name, contact or None, int(lead_time) if lead_time else None)


@routes.get(r"/suppliers/{supplier_id:\d{1,9}}", allow_head=False)
async def supplier_page(request: web.Request) -> web.StreamResponse:
    """One supplier's track record over the window, with the lateness of each received shipment as a chart."""
    return await _supplier(request, 200)


MAX_SKUS_AT_ONCE = 1000


@routes.post(r"/suppliers/{supplier_id:\d{1,9}}/products")
async def give_products(request: web.Request) -> web.StreamResponse:
    """Make the supplier the default of the SKUs typed in (new purchase orders of them are its); all or none."""
    supplier_id = int(request.match_info["supplier_id"])
    skus = [sku for sku in re.split(r"[\s,;|]+", text(await request.post(), "skus")) if sku]
    if not skus or len(skus) > MAX_SKUS_AT_ONCE:
        return await _supplier(request, 422, error=N_("Give the SKUs it supplies, separated by spaces or commas."))
    try:
        await assign_products(deps_of(request).uow(), supplier_id, skus, console_session(request).actor)
    except DomainError as refused:
        return await _supplier(request, 422, error=refused.phrase)
    return see_other(f"{CONSOLE_PREFIX}/suppliers/{supplier_id}?assigned=1")


async def _supplier(request: web.Request, status: int, error: object = None) -> web.StreamResponse:
    deps = deps_of(request)
    try:
        performance = await supplier_performance(deps.uow(), int(request.match_info["supplier_id"]))
    except DomainError:
        raise web.HTTPNotFound() from None
    record = performance.record
    chart = lateness_chart(
        "Days late per received shipment, oldest first",
        [LatenessPoint(shipment.reference, shipment.days_late) for shipment in record.shipments],
    )
    return page(
        request, SECTION, "supplier", status, performance=performance, record=record, chart=chart,
        shipments=list(reversed(record.shipments)), adjust=deps.policy.supplier_record.adjust_etas, error=error,
        assigned=request.query.get("assigned") == "1", saved=request.query.get("saved") == "1",
    )
