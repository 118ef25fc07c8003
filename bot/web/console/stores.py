"""The connected online stores: health, last webhook, backfill, write-backs and what is failing, as --status says,
and the button that puts write-backs that gave up back in line (as `connect … --retry-failed` does)."""

from urllib.parse import urlencode

from aiohttp import web

from bot.i18n import N_
from bot.services.connectors import connection_statuses, retry_failed_write_backs
from bot.web.console.auth import CONSOLE_PREFIX, console_session, see_other
from bot.web.console.page import Section, deps_of, page

routes = web.RouteTableDef()
SECTION = Section("stores", N_("Store"), "/stores", routes)


@routes.get("/stores", allow_head=False)
async def stores_page(request: web.Request) -> web.StreamResponse:
    """Each connected store and how it is doing."""
    retried = request.query.get("retried", "")
    return page(
        request, SECTION, "stores", stores=await connection_statuses(deps_of(request).uow()),
        retried=int(retried) if retried.isdigit() and len(retried) < 7 else None,
    )


@routes.post("/stores/{connection_id:\\d{1,12}}/retry-failed")
async def retry_failed(request: web.Request) -> web.StreamResponse:
    """Queue the store's given-up write-backs again; the page says how many."""
    queued = await retry_failed_write_backs(
        deps_of(request).uow(), int(request.match_info["connection_id"]), console_session(request).actor
    )
    return see_other(f"{CONSOLE_PREFIX}/stores?{urlencode({'retried': queued})}")
