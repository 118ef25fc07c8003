"""The connected online stores: health, last webhook, backfill, write-backs and what is failing, as --status says."""

from aiohttp import web

from bot.i18n import N_
from bot.services.connectors import connection_statuses
from bot.web.console.page import Section, deps_of, page

routes = web.RouteTableDef()
SECTION = Section("stores", N_("Store"), "/stores", routes)


@routes.get("/stores", allow_head=False)
async def stores_page(request: web.Request) -> web.StreamResponse:
    """Each connected store and how it is doing."""
    return page(request, SECTION, "stores", stores=await connection_statuses(deps_of(request).uow()))
