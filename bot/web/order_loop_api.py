"""The merchant API's routes for the shop's side of an order's life: the event feed, shipments, shop-side
cancels, refunds paid, the fulfilment to-do and webhook endpoints. Listed in ORDER_LOOP_OPERATIONS, served and
described beside the other routes (bot/web/merchant_api.py)."""

from datetime import datetime

from aiohttp import web

from bot.services.backorders.cancel import cancel_for_shop
from bot.services.errors import InvalidFeedQuery, InvalidWebhookUrl
from bot.services.event_log import FeedCursor, parse_types, read_events
from bot.services.fulfilment.refunds import list_refunds, mark_refund_paid
from bot.services.fulfilment.shipments import Parcel, ShipmentItem, ShipmentRequest, record_shipment
from bot.services.fulfilment.to_do import lines_to_ship
from bot.services.intake.field_rules import shipped_at
from bot.services.webhooks.endpoints import (
    add_endpoint,
    enable_endpoint,
    list_endpoints,
    remove_endpoint,
    rotate_secret,
)
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
    WebhookEndpointIn,
    WebhookEndpointOut,
    WebhookEndpointsOut,
    WebhookSecretOut,
    WebhookTestOut,
)
from bot.webhook_delivery import try_endpoint

EVENTS, SHIPMENTS, ORDERS, REFUNDS, FULFILMENT = "events", "shipments", "orders", "refunds", "fulfilment"
WEBHOOKS = "webhooks"


async def get_events(request: web.Request) -> web.Response:
    """The event log, oldest first, a page at a time; a consumer keeping `next_cursor` misses nothing."""
    query = read_query(request, EventQuery)
    try:
        after = FeedCursor.decode(query.after) if query.after is not None else None
        page = await read_events(request_uow(request), after, parse_types(query.types), query.limit)
    except InvalidFeedQuery as invalid:
        raise InvalidRequest([Problem(field=invalid.field, reason=invalid.reason)]) from None
    return json_answer(EventPageOut.of(page))


def _shipped_at(request: web.Request, value: datetime | None) -> datetime | None:
    """`shipped_at` within the window a shipments file allows too."""
    if value is None:
        return None
    clock = request_uow(request).clock
    try:
        return shipped_at(value, clock.now(), clock.tz)
    except ValueError as bad:
        raise InvalidRequest([Problem(field="shipped_at", reason=str(bad))]) from None


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
        _shipped_at(request, body.shipped_at),
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


async def post_webhook_endpoint(request: web.Request) -> web.Response:
    """Register an endpoint for events of the types named; the answer carries its signing secret, shown only here.

    Deliveries follow the Standard Webhooks specification (webhook-id, webhook-timestamp, webhook-signature), so
    any of its libraries verifies them. An endpoint receives the events that happen after it was added.
    """
    body = await read_body(request, WebhookEndpointIn)
    try:
        added = await add_endpoint(request_uow(request), body.url, body.event_types, request_actor(request))
    except InvalidWebhookUrl as invalid:
        raise InvalidRequest([Problem(field="url", reason=invalid.message)]) from None
    except InvalidFeedQuery as invalid:
        raise InvalidRequest([Problem(field="event_types", reason=invalid.reason)]) from None
    return json_answer(WebhookSecretOut.of(added), 201)


async def get_webhook_endpoints(request: web.Request) -> web.Response:
    """Every endpoint and how it is doing: disabled and why, failing since when, the last error."""
    endpoints = await list_endpoints(request_uow(request))
    return json_answer(WebhookEndpointsOut(endpoints=[WebhookEndpointOut.of(endpoint) for endpoint in endpoints]))


async def delete_webhook_endpoint(request: web.Request) -> web.Response:
    """Remove an endpoint and what was still to be delivered to it."""
    await remove_endpoint(request_uow(request), int(request.match_info["endpoint_id"]), request_actor(request))
    return web.Response(status=204)


async def rotate_webhook_secret_route(request: web.Request) -> web.Response:
    """A new signing secret, shown only here; for 24 hours deliveries carry a signature with the old one too."""
    rotated = await rotate_secret(request_uow(request), int(request.match_info["endpoint_id"]), request_actor(request))
    return json_answer(WebhookSecretOut.of(rotated))


async def enable_webhook_endpoint(request: web.Request) -> web.Response:
    """Turn a disabled endpoint back on; what waited for it is delivered, oldest first."""
    endpoint = await enable_endpoint(request_uow(request), int(request.match_info["endpoint_id"]), request_actor(request))
    return json_answer(WebhookEndpointOut.of(endpoint))


async def test_webhook_endpoint(request: web.Request) -> web.Response:
    """Send a signed `webhook.test` message to the endpoint now and answer with how it took it."""
    _, outcome = await try_endpoint(request_uow(request), int(request.match_info["endpoint_id"]))
    return json_answer(WebhookTestOut(delivered=outcome.delivered, status=outcome.status, error=outcome.error))


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
    Operation(
        "POST", "/webhook-endpoints", post_webhook_endpoint, "Add a webhook endpoint",
        {201: ("Added; the secret is shown only now.", WebhookSecretOut)}, body=WebhookEndpointIn, tags=(WEBHOOKS,),
    ),
    Operation(
        "GET", "/webhook-endpoints", get_webhook_endpoints, "List webhook endpoints",
        {200: ("Every endpoint.", WebhookEndpointsOut)}, errors=(401,), tags=(WEBHOOKS,),
    ),
    Operation(
        "DELETE", r"/webhook-endpoints/{endpoint_id:\d+}", delete_webhook_endpoint, "Remove a webhook endpoint",
        {204: ("Removed.", None)}, errors=(401, 404), tags=(WEBHOOKS,),
    ),
    Operation(
        "POST", r"/webhook-endpoints/{endpoint_id:\d+}/rotate-secret", rotate_webhook_secret_route,
        "Rotate an endpoint's signing secret",
        {200: ("The new secret, shown only now.", WebhookSecretOut)}, errors=(401, 404), tags=(WEBHOOKS,),
    ),
    Operation(
        "POST", r"/webhook-endpoints/{endpoint_id:\d+}/enable", enable_webhook_endpoint, "Turn an endpoint back on",
        {200: ("On again.", WebhookEndpointOut)}, errors=(401, 404), tags=(WEBHOOKS,),
    ),
    Operation(
        "POST", r"/webhook-endpoints/{endpoint_id:\d+}/test", test_webhook_endpoint, "Send a test message",
        {200: ("How the endpoint took it.", WebhookTestOut)}, errors=(401, 404), tags=(WEBHOOKS,),
    ),
)
