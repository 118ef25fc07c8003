"""Reorder: what to order from suppliers and by when, the most urgent first, each with its explanation."""

from aiohttp import web

from bot.i18n import N_
from bot.render.reorder import explanation
from bot.services.purchasing.reorder_suggestions import COVER_DAYS, DEMAND_WINDOW_DAYS, reorder_suggestions
from bot.web.console.page import Section, deps_of, page
from bot.web.console.render import t

routes = web.RouteTableDef()
SECTION = Section("reorder", N_("Reorder"), "/reorder", routes)


@routes.get("/reorder", allow_head=False)
async def reorder_page(request: web.Request) -> web.StreamResponse:
    """Every SKU worth reordering, the most urgent first."""
    deps = deps_of(request)
    suggestions = await reorder_suggestions(deps.uow())
    words = t()
    return page(
        request, SECTION, "reorder", rows=[(s, explanation(s, words)) for s in suggestions], today=deps.clock.today(),
        window=DEMAND_WINDOW_DAYS, cover=COVER_DAYS,
    )
