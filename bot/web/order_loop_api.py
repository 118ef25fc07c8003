"""The merchant API's routes for the shop's side of an order's life: the event feed, shipments, shop-side
cancels, refunds paid, the fulfilment to-do and webhook endpoints. Listed in ORDER_LOOP_OPERATIONS, served and
described beside the other routes (bot/web/merchant_api.py)."""

from aiohttp import web

from bot.services.errors import InvalidFeedQuery
from bot.services.event_log import FeedCursor, parse_types, read_events
from bot.web.api_io import json_answer, read_query, request_uow
from bot.web.json_errors import InvalidRequest, Problem
from bot.web.openapi import Operation
from bot.web.order_loop_models import EventPageOut, EventQuery

EVENTS = "events"


async def get_events(request: web.Request) -> web.Response:
    """The event log, oldest first, a page at a time; a consumer keeping `next_cursor` misses nothing."""
    query = read_query(request, EventQuery)
    try:
        after = FeedCursor.decode(query.after) if query.after is not None else None
        page = await read_events(request_uow(request), after, parse_types(query.types), query.limit)
    except InvalidFeedQuery as invalid:
        raise InvalidRequest([Problem(field=invalid.field, reason=invalid.reason)]) from None
    return json_answer(EventPageOut.of(page))


ORDER_LOOP_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET", "/events", get_events, "Read the event feed",
        {200: ("One page of events, oldest first.", EventPageOut)}, query=EventQuery, tags=(EVENTS,),
    ),
)
