"""The merchant API's routes for the shop's side of an order's life: the event feed, shipments, shop-side
cancels, refunds paid, the fulfilment to-do and webhook endpoints. Listed in ORDER_LOOP_OPERATIONS, served and
described beside the other routes (bot/web/merchant_api.py)."""

from aiohttp import web

from bot.services.backorders.cancel import cancel_for_shop
from bot.services.errors import InvalidFeedQuery
from bot.services.event_log import FeedCursor, parse_types, read_events
from bot.services.fulfilment.refunds import list_refunds, mark_refund_paid
from bot.services.fulfilment.shipments import Parcel, ShipmentItem, ShipmentRequest, record_shipment
from bot.services.fulfilment.to_do import lines_to_ship
from bot.web.api_auth import request_actor
from bot.web.api_io import json_answer, read_body, read_query, request_uow
from bot.web.json_errors import InvalidRequest, Problem
from bot.web.openapi import Operation
from bot.web.order_loop_models import (
    EventPageOut,
    EventQuery,
    FulfilmentOut,
    LineToShipOut,
    OrderCancelIn,
    OrderCancelOut,
    RefundOut,
    RefundPaidIn,
    RefundQuery,
    RefundsOut,
    ShipmentIn,
    ShipmentOut,
)

EVENTS, SHIPMENTS, ORDERS, REFUNDS, FULFILMENT = "events", "shipments", "orders", "refunds", "fulfilment"


async def get_events(request: web.Request) -> web.Response:
    """The event log, oldest first, a page at a time; a consumer keeping `next_cursor` misses nothing."""
    query = read_query(request, EventQuery)
    try:
        after = FeedCursor.decode(query.after) if query.after is not None else None
        page = await read_events(request_uow(request), after, parse_types(query.types), query.limit)
    except InvalidFeedQuery as invalid:
        raise InvalidRequest([Problem(field=invalid.field, reason=invalid.reason)]) from None
    return json_answer(EventPageOut.of(page))


async def post_shipment(request: web.Request) -> web.Response:
    """Record a parcel the shop sent: the lines' shipped quantities, and the customer told with a Track button.

    Only what is allocated can ship (409 says how much could); partial shipments are fine. Sending the same
    tracking number for the order again changes nothing (200, `replayed`); with an Idempotency-Key any retry is safe.
    """
    body = await read_body(request, ShipmentIn)
    shipment = ShipmentRequest(
        body.order_number,
        [ShipmentItem(line.sku, line.quantity) for line in body.lines],
        Parcel(body.carrier, body.tracking_number, body.tracking_url),
        body.shipped_at,
    )
    result = await record_shipment(request_uow(request), shipment, request_actor(request))
    return json_answer(ShipmentOut.of(result), 200 if result.already_done else 201)


async def cancel_order_route(request: web.Request) -> web.Response:
    """The shop cancels what still waits of an order, or of the SKUs named; refunds are owed, the customer is told.

    Lines already packed or shipped are kept and listed with why; the lines behind in the queue move up.
    """
    body = await read_body(request, OrderCancelIn, optional=True)
    result = await cancel_for_shop(request_uow(request), request.match_info["number"], request_actor(request), body.skus)
    return json_answer(OrderCancelOut.of(result))


async def get_refunds(request: web.Request) -> web.Response:
    """Refunds the bot promised customers, oldest first: owed ones are the shop's to pay."""
    query = read_query(request, RefundQuery)
    return json_answer(RefundsOut(refunds=[RefundOut.of(refund) for refund in await list_refunds(request_uow(request), query.status)]))


async def refund_paid_route(request: web.Request) -> web.Response:
    """Record a refund the shop paid; the customer is told the money is on its way. A repeat changes nothing."""
    body = await read_body(request, RefundPaidIn)
    refund = await mark_refund_paid(
        request_uow(request), int(request.match_info["refund_id"]), body.payment_reference, request_actor(request)
    )
    return json_answer(RefundOut.of(refund))


async def get_fulfilment(request: web.Request) -> web.Response:
    """Lines ready to ship, the longest-waiting first; a swapped line names what it replaces."""
    return json_answer(FulfilmentOut(lines=[LineToShipOut.of(line) for line in await lines_to_ship(request_uow(request))]))


ORDER_LOOP_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET", "/events", get_events, "Read the event feed",
        {200: ("One page of events, oldest first.", EventPageOut)}, query=EventQuery, tags=(EVENTS,),
    ),
    Operation(
        "POST", "/shipments", post_shipment, "Record a shipment",
        {200: ("This tracking number was recorded before; nothing changed.", ShipmentOut),
         201: ("Recorded; the customer is told.", ShipmentOut)},
        body=ShipmentIn, errors=(401, 404, 409, 422), tags=(SHIPMENTS,),
    ),
    Operation(
        "POST", "/orders/{number}/cancel", cancel_order_route, "Cancel an order or some of its lines",
        {200: ("Cancelled, or already cancelled.", OrderCancelOut)},
        body=OrderCancelIn, body_required=False, errors=(401, 404, 422), tags=(ORDERS,),
    ),
    Operation(
        "GET", "/refunds", get_refunds, "List refunds",
        {200: ("The refunds, oldest first.", RefundsOut)}, query=RefundQuery, tags=(REFUNDS,),
    ),
    Operation(
        "POST", r"/refunds/{refund_id:\d+}/paid", refund_paid_route, "Record a refund as paid",
        {200: ("Recorded as paid, or it already was.", RefundOut)},
        body=RefundPaidIn, errors=(401, 404, 409, 422), tags=(REFUNDS,),
    ),
    Operation(
        "GET", "/fulfilment", get_fulfilment, "List the lines ready to ship",
        {200: ("Lines ready to ship, swaps included.", FulfilmentOut)}, errors=(401,), tags=(FULFILMENT,),
    ),
)
