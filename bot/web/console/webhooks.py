"""Webhooks: the shop's endpoints with their event filters and how each is doing (active, or disabled and why, the
last error and the last delivery), and the forms to add one (its secret shown once), send it a test message,
rotate its secret with an overlap, turn it back on or remove it — the use cases the CLI and the API use.
"""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDictProxy

from bot.i18n import N_
from bot.services.audit import Actor
from bot.services.errors import DomainError, InvalidFeedQuery
from bot.services.event_log import EVENT_TYPES, parse_types
from bot.services.unit_of_work import UnitOfWork
from bot.services.webhooks.endpoints import (
    EndpointWithSecret,
    add_endpoint,
    enable_endpoint,
    list_endpoints,
    remove_endpoint,
    rotate_secret,
)
from bot.web.console.auth import CONSOLE_PREFIX, console_session, see_other
from bot.web.console.page import Section, deps_of, page, refusal_status, text
from bot.webhook_delivery import try_endpoint

routes = web.RouteTableDef()
SECTION = Section("webhooks", N_("Webhooks"), "/webhooks", routes)
FAMILIES = tuple(dict.fromkeys(event_type.split(".")[0] + ".*" for event_type in EVENT_TYPES))
OVERLAPS = {"1": timedelta(hours=1), "24": timedelta(hours=24), "168": timedelta(days=7)}  # hours: how long
_ENDPOINT = "/webhooks/{endpoint_id:\\d{1,12}}"


@routes.get("/webhooks", allow_head=False)
async def webhooks_page(request: web.Request) -> web.StreamResponse:
    """Every endpoint and how it is doing, with its actions, and the form to add one."""
    return await _webhooks(request, 200)


async def _webhooks(request: web.Request, status: int, **shown: Any) -> web.StreamResponse:
    shown.setdefault("error", None)
    return page(
        request,
        SECTION,
        "webhooks",
        status,
        endpoints=await list_endpoints(deps_of(request).uow()),
        families=[(family, [t for t in EVENT_TYPES if t.startswith(family[:-1])]) for family in FAMILIES],
        done=_done_notice(request.query),
        secret=shown.pop("secret", None),
        tested=shown.pop("tested", None),
        typed=shown.pop("typed", {}),
        **shown,
    )


@routes.post("/webhooks")
async def add(request: web.Request) -> web.StreamResponse:
    """Register an endpoint and show its signing secret on this answer only (never in a URL or a later page)."""
    form = await request.post()
    url = text(form, "url").strip()
    typed = {"url": url, "families": form.getall("types", []), "other_types": text(form, "other_types")}
    try:
        types = _event_types(form)
    except InvalidFeedQuery:
        return await _webhooks(
            request, 422, typed=typed,
            error=N_("Name event types as the feed does, such as line.shipped or refund.*; see the list below."),
        )
    try:
        added = await add_endpoint(deps_of(request).uow(), url, types, console_session(request).actor)
    except DomainError as refused:
        return await _webhooks(request, 422, typed=typed, error=refused.phrase)
    return await _webhooks(request, 201, secret=_secret(added, "added"))


@routes.post(f"{_ENDPOINT}/test")
async def send_test_message(request: web.Request) -> web.StreamResponse:
    """Send the endpoint a signed webhook.test message now and show how it answered."""
    endpoint_id = int(request.match_info["endpoint_id"])
    try:
        target, outcome = await try_endpoint(deps_of(request).uow(), endpoint_id)
    except DomainError as refused:
        return await _webhooks(request, refusal_status(refused), error=refused.phrase)
    tested = {"id": endpoint_id, "url": target.url, "status": outcome.status, "error": outcome.error}
    return await _webhooks(request, 200, tested=tested)


@routes.post(f"{_ENDPOINT}/rotate")
async def rotate(request: web.Request) -> web.StreamResponse:
    """A new secret, shown on this answer only; the old one keeps signing beside it for the overlap chosen."""
    form = await request.post()
    overlap = OVERLAPS.get(text(form, "overlap_hours"))
    if overlap is None:
        return await _webhooks(request, 422, error=N_("Choose how long the old secret keeps signing."))
    try:
        rotated = await rotate_secret(
            deps_of(request).uow(), int(request.match_info["endpoint_id"]), console_session(request).actor, overlap
        )
    except DomainError as refused:
        return await _webhooks(request, refusal_status(refused), error=refused.phrase)
    return await _webhooks(request, 200, secret=_secret(rotated, "rotated"))


@routes.post(f"{_ENDPOINT}/enable")
async def enable(request: web.Request) -> web.StreamResponse:
    """Turn a disabled endpoint back on; what waited for it is delivered, oldest first."""
    return await _change(request, "enabled", enable_endpoint)


@routes.post(f"{_ENDPOINT}/remove")
async def remove(request: web.Request) -> web.StreamResponse:
    """Remove the endpoint and what was still to be delivered to it."""
    return await _change(request, "removed", remove_endpoint)


async def _change(request: web.Request, done: str, use_case: Callable[[UnitOfWork, int, Actor], Awaitable[object]]) -> web.StreamResponse:
    """Apply `use_case` to the endpoint in the path, then show the list saying what was `done`."""
    endpoint_id = int(request.match_info["endpoint_id"])
    try:
        await use_case(deps_of(request).uow(), endpoint_id, console_session(request).actor)
    except DomainError as refused:
        return await _webhooks(request, refusal_status(refused), error=refused.phrase)
    return see_other(f"{CONSOLE_PREFIX}/webhooks?{urlencode({'done': done, 'id': endpoint_id})}")


def _event_types(form: MultiDictProxy[Any]) -> list[str]:
    """The families ticked and the types typed, checked; none means every event. InvalidFeedQuery if one is unknown."""
    ticked = [value for value in form.getall("types", []) if isinstance(value, str)]
    return list(dict.fromkeys(parse_types(",".join([*ticked, text(form, "other_types")]))))


def _secret(created: EndpointWithSecret, kind: str) -> dict[str, Any]:
    endpoint = created.endpoint
    return {"kind": kind, "id": endpoint.id, "url": endpoint.url, "value": created.secret, "until": endpoint.rotating_until}


def _done_notice(query: MultiDictProxy[str]) -> dict[str, Any] | None:
    kind, endpoint_id = query.get("done"), query.get("id", "")
    if kind not in ("enabled", "removed") or not endpoint_id.isdigit() or len(endpoint_id) > 12:
        return None
    return {"kind": kind, "id": int(endpoint_id)}
