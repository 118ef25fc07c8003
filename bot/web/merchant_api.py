"""The merchant HTTP API under /api/v1: products, stock, orders and purchase orders in; backorders, broadcasts
and delay notices out.

Each handler reads its input, calls one service (one transaction: all of a request or none of it) and answers
with what changed. OPERATIONS lists every route once; it registers them and describes them in the OpenAPI
document at /api/v1/openapi.json.
"""

import base64
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.services.backorders.backorder_list import QueueCursor, list_backorders
from bot.services.backorders.delay_notices import list_delay_notices
from bot.services.errors import (
    AudienceInvalid,
    BroadcastTextMissing,
    BroadcastTextTooLong,
    DomainError,
    ImportRejected,
    NewEtaOutOfRange,
    NotFound,
    RowProblem,
    UnsupportedLanguage,
)
from bot.services.intake.cell_formats import instant
from bot.services.intake.field_rules import expected_on
from bot.services.intake.import_records import BadRow, Batch, ImportResult, OrderLineRecord, ProductRecord
from bot.services.intake.order_import import import_order_records
from bot.services.intake.product_import import import_product_records
from bot.services.outreach.broadcasts import Audience, broadcast_progress, cancel_broadcast, create_broadcast
from bot.services.privacy import SubjectQuery, erase_customer, export_customer
from bot.services.purchasing.purchase_orders import (
    add_purchase_order,
    cancel_purchase_order,
    move_purchase_order,
    receive_purchase_order,
)
from bot.services.purchasing.stock import set_available_stock
from bot.services.unit_of_work import UnitOfWork
from bot.web.api_auth import bearer_auth, open_without_token, request_actor, request_token
from bot.web.api_io import json_answer as _json
from bot.web.api_io import read_body
from bot.web.api_io import read_query as _read_query
from bot.web.api_io import request_uow as _uow
from bot.web.api_models import (
    BackorderOut,
    BackorderPageOut,
    BackorderQuery,
    BroadcastIn,
    BroadcastOut,
    CustomerErasureIn,
    CustomerErasureOut,
    CustomerExportOut,
    CustomerQuery,
    DelayNoticeOut,
    DelayNoticeQuery,
    DelayNoticesOut,
    OrderBatchIn,
    OrderBatchOut,
    OrderIn,
    ProductBatchIn,
    ProductBatchOut,
    ProductFields,
    ProductOut,
    PurchaseOrderChangeOut,
    PurchaseOrderIn,
    PurchaseOrderMoveIn,
    PurchaseOrderOut,
    ReceiptIn,
    ReceiptOut,
    StockIn,
    StockOut,
    effects,
    require_text_in,
)
from bot.web.app_keys import DEPS
from bot.web.idempotency import idempotency
from bot.web.json_errors import (
    InvalidRequest,
    Problem,
    error_response,
    invalid_request_response,
)
from bot.web.openapi import OPENAPI_PATH, Operation, build_openapi_document
from bot.web.order_loop_api import ORDER_LOOP_OPERATIONS
from bot.web.supplier_api import SUPPLIER_OPERATIONS

log = logging.getLogger(__name__)

OPENAPI_DOCUMENT = web.AppKey("openapi_document", dict)


# ---- products and stock ------------------------------------------------------------------------------


async def put_product(request: web.Request) -> web.Response:
    """Create the product with this SKU, or update the fields that differ; 201 when it is new.

    A new `available` is handed to the SKU's waiting lines first, in queue order; a changed lead time moves
    the ETAs that rest on it.
    """
    sku = request.match_info["sku"]
    body = await read_body(request, ProductFields)
    result = await _import_products(request, [_product_record(0, sku, body)], lambda index: "")
    outcome = "created" if result.created else "updated" if result.updated else "unchanged"
    answer = ProductOut(sku=sku, outcome=outcome, **effects(result.allocations, result.eta_moves))
    return _json(answer, 201 if result.created else 200)


async def post_products(request: web.Request) -> web.Response:
    """Create or update many products at once: all of them, or (if any is invalid) none."""
    body = await read_body(request, ProductBatchIn)
    _refuse(_repeated([product.sku for product in body.products], "products", "sku", "SKU"))
    records = [_product_record(index, product.sku, product) for index, product in enumerate(body.products)]
    result = await _import_products(request, records, lambda index: f"products[{index}]")
    return _json(
        ProductBatchOut(
            created=list(result.created),
            updated=list(result.updated),
            unchanged=list(result.unchanged),
            **effects(result.allocations, result.eta_moves),
        )
    )


async def put_stock(request: web.Request) -> web.Response:
    """Record how many units of a SKU are on hand and not allocated; waiting lines take them in queue order."""
    body = await read_body(request, StockIn)
    result = await set_available_stock(_uow(request), request.match_info["sku"], body.available, request_actor(request))
    return _json(
        StockOut(
            sku=result.sku,
            counted=result.counted,
            available=result.available,
            **effects(result.allocations, result.eta_moves),
        )
    )


# ---- orders ------------------------------------------------------------------------------------------


async def post_orders(request: web.Request) -> web.Response:
    """Import orders with their customers and lines; new lines join their SKU's queue at `placed_at`.

    Stock on hand goes to the queue in order, every waiting line gets an ETA. An order already in the shop
    with the same content is left unchanged; with other content the batch is refused (422), since an
    imported order is never rewritten.
    """
    body = await read_body(request, OrderBatchIn)
    _refuse(
        _repeated([order.number for order in body.orders], "orders", "number", "order")
        + [
            problem
            for index, order in enumerate(body.orders)
            for problem in _repeated([line.sku for line in order.lines], f"orders[{index}].lines", "sku", "SKU")
        ]
    )
    deps = request.config_dict[DEPS]
    uow = deps.uow()
    batch, places = _order_batch(body.orders, uow.clock.tz)
    try:
        result = await import_order_records(uow, batch, request_actor(request), deps.settings.default_phone_region)
    except ImportRejected as rejected:
        raise InvalidRequest(_problems(rejected, lambda row, column: _order_field(*places[row], column))) from None
    return _json(
        OrderBatchOut(
            created=list(result.created),
            unchanged=list(result.unchanged),
            customers_created=result.customers_created,
            **effects(result.allocations, result.eta_moves),
        )
    )


# Where the import's columns are in an order of the API: the order's own fields, then its lines' fields.
_ORDER_FIELDS = {
    "order_number": "number",
    "placed_at": "placed_at",
    "currency": "currency",
    "customer_email": "customer.email",
    "customer_name": "customer.name",
    "customer_phone": "customer.phone",
    "customer_language": "customer.language",
}
_LINE_FIELDS = {"sku": "sku", "quantity": "quantity", "unit_price": "unit_price_minor"}


def _order_field(order_index: int, line_index: int, column: str) -> str:
    """The request path of an import column of the record made from orders[order_index].lines[line_index]."""
    if column in _ORDER_FIELDS:
        return f"orders[{order_index}].{_ORDER_FIELDS[column]}"
    line = f"orders[{order_index}].lines[{line_index}]"
    return f"{line}.{_LINE_FIELDS[column]}" if column in _LINE_FIELDS else line


def _order_batch(orders: Sequence[OrderIn], tz: ZoneInfo) -> tuple[Batch[OrderLineRecord], list[tuple[int, int]]]:
    """One record per order line, numbered in request order, and where each came from (order index, line index).

    `placed_at` is text in the API (a date or a date and time); an order whose time cannot be read has its
    lines passed on as bad rows, so the rest of the batch is still checked against the shop.
    """
    records: list[OrderLineRecord] = []
    problems: list[RowProblem] = []
    bad_rows: list[BadRow] = []
    places: list[tuple[int, int]] = []
    for order_index, order in enumerate(orders):
        try:
            placed_at = instant(order.placed_at, tz)
        except ValueError as bad:
            problems.append(RowProblem(len(places), "placed_at", str(bad)))
            placed_at = None
        for line_index, line in enumerate(order.lines):
            row = len(places)
            places.append((order_index, line_index))
            if placed_at is None:
                bad_rows.append(BadRow(row, line.sku, order_number=order.number))
                continue
            records.append(
                OrderLineRecord(
                    row=row,
                    order_number=order.number,
                    placed_at=placed_at,
                    email=order.customer.email,
                    customer_name=order.customer.name,
                    phone=order.customer.phone,
                    language=order.customer.language,
                    sku=line.sku,
                    quantity=line.quantity,
                    unit_price_minor=line.unit_price_minor,
                    currency=order.currency,
                )
            )
    return Batch(records, problems, bad_rows), places


# ---- purchase orders ---------------------------------------------------------------------------------


async def post_purchase_order(request: web.Request) -> web.Response:
    """Record a supplier's promised shipment and recompute the ETAs of the SKU's waiting lines; 201 when new.

    Sending the same purchase order again changes nothing (200); the same reference with other details is 409.
    """
    body = await read_body(request, PurchaseOrderIn)
    uow = _uow(request)
    result = await add_purchase_order(
        uow, body.reference, body.sku, body.quantity, _bounded(body.expected_on, uow), request_actor(request),
        supplier_id=body.supplier_id, supplier_name=body.supplier.strip() if body.supplier else None,
    )
    return _json(PurchaseOrderChangeOut.of(result), 201 if result.changed else 200)


async def patch_purchase_order(request: web.Request) -> web.Response:
    """Move an open purchase order to another date; the ETAs resting on it move with it and are recorded."""
    body = await read_body(request, PurchaseOrderMoveIn)
    uow = _uow(request)
    result = await move_purchase_order(
        uow, request.match_info["reference"], _bounded(body.expected_on, uow), request_actor(request)
    )
    return _json(PurchaseOrderChangeOut.of(result))


async def cancel_purchase_order_route(request: web.Request) -> web.Response:
    """Cancel what is outstanding on a purchase order; its waiting lines fall back to later supply."""
    result = await cancel_purchase_order(_uow(request), request.match_info["reference"], request_actor(request))
    return _json(PurchaseOrderChangeOut.of(result))


async def receive_purchase_order_route(request: web.Request) -> web.Response:
    """Book a delivery into stock (all that is outstanding unless `quantity` says otherwise) and serve the queue.

    With an Idempotency-Key, the delivery itself is booked once even if the answer was lost.
    """
    body = await read_body(request, ReceiptIn, optional=True)
    key = request.headers.get("Idempotency-Key")
    result = await receive_purchase_order(
        _uow(request),
        request.match_info["reference"],
        request_actor(request),
        quantity=body.quantity,
        idempotency_key=_receipt_key(request, key) if key else None,
    )
    return _json(
        ReceiptOut(
            purchase_order=PurchaseOrderOut.of(result.purchase_order),
            received_now=result.received_now,
            replayed=result.replayed,
            **effects(result.allocations, result.eta_moves),
        )
    )


def _bounded(day: date, uow: UnitOfWork) -> date:
    """`expected_on` within the window the imports allow too; a date years away would make endless ETAs."""
    try:
        return expected_on(day, uow.clock.today())
    except ValueError as bad:
        raise InvalidRequest([Problem(field="expected_on", reason=str(bad))]) from None


def _receipt_key(request: web.Request, key: str) -> str:
    """The receipt's own key: per token, and short enough for its column whatever the header's length."""
    digest = hashlib.sha256(json.dumps([request_token(request).id, key]).encode("utf-8")).digest()
    return "api:" + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


# ---- backorders --------------------------------------------------------------------------------------


async def get_backorders(request: web.Request) -> web.Response:
    """Every line still waiting for stock, oldest order first, a page at a time."""
    query = _read_query(request, BackorderQuery)
    page = await list_backorders(
        _uow(request),
        sku=query.sku,
        category=query.category,
        min_age_days=query.min_age_days,
        limit=query.limit,
        after=_decode_cursor(query.cursor) if query.cursor is not None else None,
    )
    return _json(
        BackorderPageOut(
            backorders=[BackorderOut.of(line) for line in page.lines],
            next_cursor=page.next_after.encode() if page.next_after else None,
        )
    )


def _decode_cursor(text: str) -> QueueCursor:
    try:
        return QueueCursor.decode(text)
    except ValueError as bad:
        raise InvalidRequest([Problem(field="cursor", reason=str(bad))]) from None


# ---- broadcasts and delay notices ----------------------------------------------------------------------


async def post_broadcast(request: web.Request) -> web.Response:
    """Message every customer still waiting on what the audience names, once each, in their language.

    The messages are queued in the same transaction and delivered by the outbox workers within Telegram's
    limits; only customers linked to a chat, not blocked and not opted out are counted as recipients.
    """
    body = await read_body(request, BroadcastIn)
    audience = Audience(body.audience.skus, body.audience.category, body.audience.order_numbers)
    deps = request.config_dict[DEPS]
    view = await create_broadcast(deps.uow(), audience, body.texts, request_actor(request), body.new_eta, urgent=body.urgent)
    return _json(BroadcastOut.of(view), 201)


async def get_broadcast(request: web.Request) -> web.Response:
    """How a broadcast's delivery stands: sent, failed, blocked, pending, cancelled."""
    return _json(BroadcastOut.of(await broadcast_progress(_uow(request), int(request.match_info["broadcast_id"]))))


async def cancel_broadcast_route(request: web.Request) -> web.Response:
    """Stop a broadcast: what has not been sent yet never will be; cancelling it again changes nothing."""
    view = await cancel_broadcast(_uow(request), int(request.match_info["broadcast_id"]), request_actor(request))
    return _json(BroadcastOut.of(view))


async def get_delay_notices(request: web.Request) -> web.Response:
    """Notices telling customers a line will miss its promised date, with their answers."""
    query = _read_query(request, DelayNoticeQuery)
    notices = await list_delay_notices(_uow(request), query.since)
    return _json(DelayNoticesOut(delay_notices=[DelayNoticeOut.of(notice) for notice in notices]))


# ---- privacy requests -------------------------------------------------------------------------------


async def get_customer_export(request: web.Request) -> web.Response:
    """Everything stored about a customer, for their request to see their data (404 when nothing is stored)."""
    query = _read_query(request, CustomerQuery)
    document = await export_customer(_uow(request), SubjectQuery(email=query.email))
    return web.json_response(document)


async def post_customer_erasure(request: web.Request) -> web.Response:
    """Erase a customer's personal data; orders, amounts and refunds stay, without it. Erasing again is a no-op."""
    body = await read_body(request, CustomerErasureIn)
    result = await erase_customer(_uow(request), SubjectQuery(email=body.email), request_actor(request))
    return _json(CustomerErasureOut(erased=result.erased, customer_id=result.customer_id))


# ---- the document ------------------------------------------------------------------------------------


@open_without_token
async def get_openapi_document(request: web.Request) -> web.Response:
    """This API's OpenAPI 3.1 description."""
    return web.json_response(request.app[OPENAPI_DOCUMENT])


PRODUCTS, STOCK, ORDERS, PURCHASE_ORDERS, BACKORDERS = "products", "stock", "orders", "purchase orders", "backorders"
BROADCASTS, DELAY_NOTICES, CUSTOMERS = "broadcasts", "delay notices", "customers"
OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "PUT", "/products/{sku}", put_product, "Create or update one product",
        {200: ("Updated, or already so.", ProductOut), 201: ("Created.", ProductOut)},
        body=ProductFields, tags=(PRODUCTS,),
    ),
    Operation(
        "POST", "/products", post_products, "Create or update many products",
        {200: ("Every product written.", ProductBatchOut)}, body=ProductBatchIn, tags=(PRODUCTS,),
    ),
    Operation(
        "PUT", "/stock/{sku}", put_stock, "Set a SKU's unallocated stock",
        {200: ("Stock set and handed to the waiting lines.", StockOut)},
        body=StockIn, errors=(401, 404, 422), tags=(STOCK,),
    ),
    Operation(
        "POST", "/orders", post_orders, "Import orders",
        {200: ("Every order created or already there.", OrderBatchOut)}, body=OrderBatchIn, tags=(ORDERS,),
    ),
    Operation(
        "POST", "/purchase-orders", post_purchase_order, "Add a purchase order",
        {200: ("The same purchase order was already there.", PurchaseOrderChangeOut),
         201: ("Added.", PurchaseOrderChangeOut)},
        body=PurchaseOrderIn, errors=(401, 404, 409, 422), tags=(PURCHASE_ORDERS,),
    ),
    Operation(
        "PATCH", "/purchase-orders/{reference}", patch_purchase_order, "Move a purchase order to another date",
        {200: ("Moved, or already on that date.", PurchaseOrderChangeOut)},
        body=PurchaseOrderMoveIn, errors=(401, 404, 409, 422), tags=(PURCHASE_ORDERS,),
    ),
    Operation(
        "POST", "/purchase-orders/{reference}/cancel", cancel_purchase_order_route, "Cancel a purchase order",
        {200: ("Cancelled, or already cancelled.", PurchaseOrderChangeOut)},
        errors=(401, 404, 409), tags=(PURCHASE_ORDERS,),
    ),
    Operation(
        "POST", "/purchase-orders/{reference}/receive", receive_purchase_order_route, "Receive a delivery",
        {200: ("Booked into stock and handed to the waiting lines.", ReceiptOut)},
        body=ReceiptIn, body_required=False, errors=(401, 404, 409, 422), tags=(PURCHASE_ORDERS,),
    ),
    Operation(
        "GET", "/backorders", get_backorders, "List the lines waiting for stock",
        {200: ("One page of waiting lines.", BackorderPageOut)}, query=BackorderQuery, tags=(BACKORDERS,),
    ),
    Operation(
        "POST", "/broadcasts", post_broadcast, "Send a broadcast",
        {201: ("Queued for every recipient.", BroadcastOut)}, body=BroadcastIn, tags=(BROADCASTS,),
    ),
    Operation(
        "GET", r"/broadcasts/{broadcast_id:\d+}", get_broadcast, "A broadcast's progress",
        {200: ("How its delivery stands.", BroadcastOut)}, errors=(401, 404), tags=(BROADCASTS,),
    ),
    Operation(
        "POST", r"/broadcasts/{broadcast_id:\d+}/cancel", cancel_broadcast_route, "Cancel a broadcast",
        {200: ("Cancelled, or it had already finished.", BroadcastOut)}, errors=(401, 404), tags=(BROADCASTS,),
    ),
    Operation(
        "GET", "/delay-notices", get_delay_notices, "List delay notices",
        {200: ("The notices, oldest first.", DelayNoticesOut)}, query=DelayNoticeQuery, tags=(DELAY_NOTICES,),
    ),
    Operation(
        "GET", "/customers/export", get_customer_export, "Export a customer's personal data",
        {200: ("Everything stored about them.", CustomerExportOut)}, query=CustomerQuery,
        errors=(401, 404, 422), tags=(CUSTOMERS,),
    ),
    Operation(
        "POST", "/customers/erase", post_customer_erasure, "Erase a customer's personal data",
        {200: ("Erased, or nothing personal was left to erase.", CustomerErasureOut)},
        body=CustomerErasureIn, tags=(CUSTOMERS,),
    ),
    Operation(
        "GET", OPENAPI_PATH, get_openapi_document, "This document",
        {200: ("The OpenAPI 3.1 document.", None)}, errors=(), needs_token=False,
    ),
    *ORDER_LOOP_OPERATIONS,
    *SUPPLIER_OPERATIONS,
)


def build_merchant_api(operations: Sequence[Operation] = OPERATIONS, default_language: str = "en") -> web.Application:
    """The API as an aiohttp application, to be mounted at API_PREFIX; broadcasts need a `default_language` text."""
    api = web.Application(middlewares=[bearer_auth, idempotency, domain_errors])
    for operation in operations:
        api.router.add_route(operation.method, operation.path, operation.handler)
    document = build_openapi_document(operations, "Backorder Desk merchant API", "1.0.0")
    if "BroadcastIn" in document["components"]["schemas"]:
        require_text_in(document, default_language)
    api[OPENAPI_DOCUMENT] = document
    return api


# ---- reading requests, answering ---------------------------------------------------------------------


_BROADCAST_FIELDS: dict[type[DomainError], str] = {AudienceInvalid: "audience", NewEtaOutOfRange: "new_eta"}


@web.middleware
async def domain_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A refused request as its JSON answer, so the answer can be kept for an Idempotency-Key like any other."""
    try:
        return await handler(request)
    except InvalidRequest as invalid:
        return invalid_request_response(invalid.problems)
    except (AudienceInvalid, BroadcastTextMissing, BroadcastTextTooLong, UnsupportedLanguage, NewEtaOutOfRange) as invalid:
        return invalid_request_response([Problem(field=_BROADCAST_FIELDS.get(type(invalid), "texts"), reason=invalid.message)])
    except NotFound as missing:
        return error_response(404, missing.code, missing.message)
    except DomainError as refused:
        return error_response(409, refused.code, refused.message)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return error_response(
            500, "internal_error", "Something went wrong on our side. Try again; with an Idempotency-Key a retry is safe."
        )


def _repeated(keys: Sequence[str], where: str, field: str, noun: str) -> list[Problem]:
    """A problem for each key a batch names again: which of the two should win is anyone's guess."""
    first: dict[str, int] = {}
    problems = []
    for index, key in enumerate(keys):
        if key in first:
            problems.append(
                Problem(field=f"{where}[{index}].{field}", reason=f"{noun} {key} is already at {where}[{first[key]}]")
            )
        first.setdefault(key, index)
    return problems


def _refuse(problems: list[Problem]) -> None:
    if problems:
        raise InvalidRequest(problems)


# ---- through the import rules ------------------------------------------------------------------------

# The API names a few fields differently from the import columns.
_PRODUCT_FIELDS = {"price": "price_minor"}


def _product_record(row: int, sku: str, product: ProductFields) -> ProductRecord:
    return ProductRecord(
        row=row,
        sku=sku,
        name=product.name,
        category=product.category,
        price_minor=product.price_minor,
        currency=product.currency,
        lead_time_days=product.lead_time_days,
        tags=None if product.tags is None else tuple(product.tags),
        substitutes=None if product.substitutes is None else tuple(product.substitutes),
        available=product.available,
        supplier=product.supplier,
    )


async def _import_products(
    request: web.Request, records: list[ProductRecord], place: Callable[[int], str]
) -> ImportResult:
    try:
        return await import_product_records(_uow(request), Batch(records), request_actor(request))
    except ImportRejected as rejected:
        raise InvalidRequest(
            _problems(rejected, lambda row, column: _joined(place(row), _PRODUCT_FIELDS.get(column, column)))
        ) from None


def _problems(rejected: ImportRejected, path_of: Callable[[int, str], str]) -> list[Problem]:
    """The import's row problems as problems of the request's fields (`path_of(row, column)`), each said once."""
    said = dict.fromkeys((path_of(problem.row, problem.field), problem.reason) for problem in rejected.problems)
    return [Problem(field=field, reason=reason) for field, reason in said]


def _joined(path: str, field: str) -> str:
    return ".".join(part for part in (path, field) if part)
