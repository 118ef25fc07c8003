"""Each console form acts once: a double click, a reload of the answer or a resubmit repeats nothing.

Every form that changes something carries a random `form_id` (`form_once()` in the templates). The first post
of a form claims it, as the merchant API claims an Idempotency-Key; a second post of the same form waits for
the first and is sent where the first one was: the same "done" notice, or the section's page when the first
answer was a page of its own (a webhook secret is shown once, never replayed). A form sent again with other
values (the browser's back button, then an edit) is a new request and runs.
"""

import asyncio
import re
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.services.merchant_access.idempotent_requests import (
    Answered,
    Claimed,
    RequestKey,
    release_claim,
    store_answer,
)
from bot.services.unit_of_work import UnitOfWork
from bot.web.app_keys import DEPS
from bot.web.console.auth import CONSOLE_SESSION, see_other
from bot.web.console.render import FORM_ID_FIELD
from bot.web.idempotency import claim_when_free, request_fingerprint

_FORM_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
_SECTION = re.compile(r"/console/[a-z-]+")


@web.middleware
async def once_per_form(request: web.Request, handler: Handler) -> web.StreamResponse:
    session = request.get(CONSOLE_SESSION)
    if request.method != "POST" or session is None:
        return await handler(request)
    form_id = (await request.post()).get(FORM_ID_FIELD)
    if not isinstance(form_id, str) or not _FORM_ID.fullmatch(form_id):
        return await handler(request)
    new_uow = request.config_dict[DEPS].uow
    fingerprint = request_fingerprint("POST", request.path, await request.read())
    key = RequestKey(session.token.id, f"console-form:{form_id}", "POST", request.path[:300], fingerprint)
    outcome = await claim_when_free(new_uow, key)
    if isinstance(outcome, Answered):
        return see_other(outcome.body["location"])
    if not isinstance(outcome, Claimed):
        return await handler(request)  # the same form with other values: a new request
    try:
        response = await handler(request)
    except web.HTTPException as answer:
        await asyncio.shield(_keep_or_release(new_uow, outcome.claim_id, answer, request.path))
        raise
    except BaseException:
        await asyncio.shield(release_claim(new_uow(), outcome.claim_id))
        raise
    await _keep_or_release(new_uow, outcome.claim_id, response, request.path)
    return response


async def _keep_or_release(new_uow: Callable[[], UnitOfWork], claim_id: int, answer: web.StreamResponse, path: str) -> None:
    """Remember where a done form led; forget a refused or failed one, so the corrected form can be sent."""
    location = _where_it_led(answer, path)
    if location is None:
        await release_claim(new_uow(), claim_id)
    else:
        await store_answer(new_uow(), claim_id, answer.status, {"location": location})


def _where_it_led(answer: web.StreamResponse, path: str) -> str | None:
    """The page a repeat of this form is sent to: the redirect's target, or the section of a page shown once."""
    if answer.status in (302, 303) and answer.headers.get("Location", "").startswith("/console"):
        return answer.headers["Location"]
    if 200 <= answer.status < 300:
        section = _SECTION.match(path)
        return section.group(0) if section else "/console"
    return None
