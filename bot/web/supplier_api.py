"""The merchant API's routes for suppliers, their track records and reorder suggestions. Listed in SUPPLIER_OPERATIONS, served and
described beside the other routes (bot/web/merchant_api.py)."""

from aiohttp import web

from bot.i18n import translator
from bot.render.reorder import explanation
from bot.services.purchasing.reorder_suggestions import reorder_suggestions

from bot.services.purchasing.suppliers import (
    add_supplier,
    assign_products,
    get_supplier,
    list_suppliers,
    remove_supplier,
    supplier_performance,
    update_supplier,
)
from bot.web.api_auth import request_actor
from bot.web.api_io import json_answer, read_body, request_uow
from bot.web.openapi import Operation
from bot.web.supplier_models import (
    PerformanceOut,
    ReorderSuggestionOut,
    ReorderSuggestionsOut,
    SupplierIn,
    SupplierOut,
    SupplierProductsIn,
    SuppliersOut,
)

SUPPLIERS, REORDER = "suppliers", "reorder suggestions"
_ONE = r"/suppliers/{supplier_id:\d+}"


def _supplier_id(request: web.Request) -> int:
    return int(request.match_info["supplier_id"])


async def get_suppliers(request: web.Request) -> web.Response:
    """Every supplier, by name, with the SKUs it supplies by default."""
    suppliers = await list_suppliers(request_uow(request))
    return json_answer(SuppliersOut(suppliers=[SupplierOut.of(supplier) for supplier in suppliers]))


async def post_supplier(request: web.Request) -> web.Response:
    """Add a supplier; 201 when new, 200 when the same one was already there, 409 when another has the name."""
    body = await read_body(request, SupplierIn)
    change = await add_supplier(request_uow(request), body.fields(), request_actor(request))
    return json_answer(SupplierOut.of(change.supplier), 201 if change.changed else 200)


async def get_supplier_route(request: web.Request) -> web.Response:
    """One supplier."""
    return json_answer(SupplierOut.of(await get_supplier(request_uow(request), _supplier_id(request))))


async def put_supplier(request: web.Request) -> web.Response:
    """Replace a supplier's name, contact and lead time."""
    body = await read_body(request, SupplierIn)
    change = await update_supplier(request_uow(request), _supplier_id(request), body.fields(), request_actor(request))
    return json_answer(SupplierOut.of(change.supplier))


async def delete_supplier(request: web.Request) -> web.Response:
    """Remove a supplier that no product or purchase order names."""
    await remove_supplier(request_uow(request), _supplier_id(request), request_actor(request))
    return web.Response(status=204)


async def put_supplier_products(request: web.Request) -> web.Response:
    """Make the supplier the default of these SKUs; their new purchase orders are its."""
    body = await read_body(request, SupplierProductsIn)
    change = await assign_products(request_uow(request), _supplier_id(request), body.skus, request_actor(request))
    return json_answer(SupplierOut.of(change.supplier))


async def get_supplier_performance(request: web.Request) -> web.Response:
    """The supplier's track record over SUPPLIER_RECORD_WINDOW_DAYS: every received shipment and the figures."""
    performance = await supplier_performance(request_uow(request), _supplier_id(request))
    return json_answer(PerformanceOut.of(performance))


async def get_reorder_suggestions(request: web.Request) -> web.Response:
    """What to order from suppliers and by when, the most urgent first, each with its explanation in English."""
    uow = request_uow(request)
    english = translator("en", uow.clock.today())
    suggestions = await reorder_suggestions(uow)
    return json_answer(
        ReorderSuggestionsOut(suggestions=[ReorderSuggestionOut.of(s, explanation(s, english)) for s in suggestions])
    )


SUPPLIER_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET", "/suppliers", get_suppliers, "List suppliers",
        {200: ("Every supplier, by name.", SuppliersOut)}, errors=(401,), tags=(SUPPLIERS,),
    ),
    Operation(
        "POST", "/suppliers", post_supplier, "Add a supplier",
        {200: ("The same supplier was already there.", SupplierOut), 201: ("Added.", SupplierOut)},
        body=SupplierIn, errors=(401, 409, 422), tags=(SUPPLIERS,),
    ),
    Operation(
        "GET", _ONE, get_supplier_route, "A supplier",
        {200: ("The supplier.", SupplierOut)}, errors=(401, 404), tags=(SUPPLIERS,),
    ),
    Operation(
        "PUT", _ONE, put_supplier, "Change a supplier",
        {200: ("Changed, or already so.", SupplierOut)}, body=SupplierIn, errors=(401, 404, 409, 422),
        tags=(SUPPLIERS,),
    ),
    Operation(
        "DELETE", _ONE, delete_supplier, "Remove a supplier",
        {204: ("Removed.", None)}, errors=(401, 404, 409), tags=(SUPPLIERS,),
    ),
    Operation(
        "PUT", _ONE + "/products", put_supplier_products, "Make a supplier the default of products",
        {200: ("The supplier with its products.", SupplierOut)}, body=SupplierProductsIn,
        errors=(401, 404, 422), tags=(SUPPLIERS,),
    ),
    Operation(
        "GET", _ONE + "/performance", get_supplier_performance, "A supplier's track record",
        {200: ("Received shipments in the window and their lateness.", PerformanceOut)}, errors=(401, 404),
        tags=(SUPPLIERS,),
    ),
    Operation(
        "GET", "/reorder-suggestions", get_reorder_suggestions, "What to reorder, and by when",
        {200: ("Suggestions, the most urgent first.", ReorderSuggestionsOut)}, errors=(401,), tags=(REORDER,),
    ),
)
