"""Open support tickets with how long each has waited, and the ratings of the last 30 days."""

from datetime import timedelta

from aiohttp import web

from bot.i18n import N_
from bot.services.support.ticket_ratings import ticket_ratings
from bot.services.support.tickets import ticket_queue
from bot.web.console.page import Section, deps_of, page

routes = web.RouteTableDef()
SECTION = Section("tickets", N_("Tickets"), "/tickets", routes)
RATINGS_PERIOD = timedelta(days=30)


@routes.get("/tickets", allow_head=False)
async def tickets_page(request: web.Request) -> web.StreamResponse:
    """Open tickets with how long each has waited, and the ratings of the last 30 days."""
    deps = deps_of(request)
    target = deps.settings.response_target_minutes
    return page(
        request,
        SECTION,
        "tickets",
        queue=await ticket_queue(deps.uow(), target),
        ratings=await ticket_ratings(deps.uow(), deps.clock.now() - RATINGS_PERIOD),
        target_minutes=target,
        days=RATINGS_PERIOD.days,
    )
