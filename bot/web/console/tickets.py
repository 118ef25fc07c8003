"""Open support tickets with how long each has waited, the ratings of the last 30 days, and a ticket's context.

Agents signed in through the Telegram Mini App see these pages and no other (read-only: they answer and act in
the support group, as before).
"""

from datetime import timedelta

from aiohttp import web
from markupsafe import Markup

from bot.i18n import N_
from bot.render.support import context_card
from bot.services.errors import TicketNotFound
from bot.services.support.ticket_ratings import ticket_ratings
from bot.services.support.tickets import ticket_context, ticket_queue
from bot.web.console.auth import open_to_agents
from bot.web.console.page import Section, deps_of, page
from bot.web.console.render import t

routes = web.RouteTableDef()
SECTION = Section("tickets", N_("Tickets"), "/tickets", routes, for_agents=True)
RATINGS_PERIOD = timedelta(days=30)


@routes.get("/tickets", allow_head=False)
@open_to_agents
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


@routes.get(r"/tickets/{ticket_id:\d{1,18}}", allow_head=False)
@open_to_agents
async def ticket_page(request: web.Request) -> web.StreamResponse:
    """One ticket's context, as the support group's first post in its topic shows it."""
    deps = deps_of(request)
    try:
        context = await ticket_context(deps.uow(), int(request.match_info["ticket_id"]))
    except TicketNotFound as missing:
        raise web.HTTPNotFound() from missing
    # The card is the group's Telegram HTML (<b>, <i>, <a>), with every value from the database escaped in it.
    card = Markup(context_card(context, deps.clock.tz, t()).text)
    return page(request, SECTION, "ticket", ticket=context.ticket, card=card)
