"""The console's first page: what the bot did for the shop lately (impact), and backorders by SKU with the aging
of the waiting lines."""

from aiohttp import web

from bot.i18n import N_
from bot.services.backorders.backlog_health import backlog_health
from bot.services.backorders.merchant_overview import backorder_summary
from bot.services.reporting.impact import impact_summary
from bot.web.console import impact
from bot.web.console.page import Section, deps_of, page

routes = web.RouteTableDef()
SECTION = Section("backorders", N_("Backorders"), "", routes)


@routes.get("", allow_head=False)
@routes.get("/", allow_head=False)
async def backorders_page(request: web.Request) -> web.StreamResponse:
    """The impact of the last 7 and 30 days, and backorders by SKU with the aging of the waiting lines."""
    deps = deps_of(request)
    periods = await impact_summary(deps.uow())
    summary = await backorder_summary(deps.uow())
    health = await backlog_health(deps.uow())
    confirmed = sum(sku.confirmed_lines for sku in health.by_sku.values())
    lines = sum(sku.waiting_lines for sku in summary)
    return page(
        request,
        SECTION,
        "backorders",
        summary=summary,
        health=health,
        total_lines=lines,
        total_units=sum(sku.waiting_quantity for sku in summary),
        confirmed_share=confirmed / lines if lines else None,
        impact=periods,
        impact_charts=impact,
    )
