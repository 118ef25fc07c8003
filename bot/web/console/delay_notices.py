"""Delay notices of the last 90 days, newest first, with what the customers answered."""

from datetime import timedelta

from aiohttp import web

from bot.i18n import N_
from bot.services.backorders.delay_notices import list_delay_notices
from bot.web.console.page import Section, deps_of, page

routes = web.RouteTableDef()
SECTION = Section("delay-notices", N_("Delay notices"), "/delay-notices", routes)
DELAY_NOTICES_SHOWN = timedelta(days=90)


@routes.get("/delay-notices", allow_head=False)
async def delay_notices_page(request: web.Request) -> web.StreamResponse:
    """Delay notices of the last 90 days, newest first, with what the customers answered."""
    deps = deps_of(request)
    notices = await list_delay_notices(deps.uow(), deps.clock.now() - DELAY_NOTICES_SHOWN)
    notices.reverse()
    answers: dict[str, int] = {"agreed": 0, "cancelled": 0, "auto_cancelled": 0, "awaiting": 0, "silent": 0}
    for notice in notices:
        if notice.response is not None:
            answers[notice.response.value] += 1
        else:
            answers["silent" if notice.silence_is_consent else "awaiting"] += 1
    return page(request, SECTION, "delay_notices", notices=notices, answers=answers, days=DELAY_NOTICES_SHOWN.days)
