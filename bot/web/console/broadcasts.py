"""Broadcasts: the composer with its live recipient count, the preview, sending once, and following delivery."""

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from bot.i18n import N_, SUPPORTED_LANGUAGES
from bot.services.backorders.backlog_health import backlog_health
from bot.services.backorders.merchant_overview import backorder_summary
from bot.services.errors import DomainError, NotFound
from bot.services.merchant_access.idempotent_requests import RequestKey
from bot.services.outreach.broadcast_drafts import parse_audience
from bot.services.outreach.broadcasts import (
    AlreadySent,
    Audience,
    BroadcastSent,
    BroadcastView,
    broadcast_progress,
    cancel_broadcast,
    checked_texts,
    preview_broadcast,
    send_broadcast_once,
    sending_broadcasts,
)
from bot.web.console.auth import CONSOLE_PREFIX, console_session, see_other
from bot.web.console.page import FORM_KEY, Section, deps_of, form_date, page, quiet_until, text
from bot.web.console.render import words

log = logging.getLogger(__name__)

routes = web.RouteTableDef()
SECTION = Section("broadcasts", N_("Broadcasts"), "/broadcasts", routes)


@dataclass(frozen=True)
class BroadcastForm:
    """The composer's fields, as typed."""

    skus: list[str] = field(default_factory=list)
    category: str = ""
    orders: str = ""
    texts: dict[str, str] = field(default_factory=dict)
    new_eta: str = ""
    form_key: str = ""
    urgent: bool = False  # through the shop's quiet hours

    @classmethod
    def read(cls, form: MultiDictProxy[Any]) -> "BroadcastForm":
        return cls(
            skus=[value for value in form.getall("sku", []) if isinstance(value, str) and value.strip()],
            category=text(form, "category").strip(),
            orders=text(form, "orders").strip(),
            texts={language: text(form, f"text_{language}") for language in SUPPORTED_LANGUAGES},
            new_eta=text(form, "new_eta").strip(),
            form_key=text(form, "form_key"),
            urgent=text(form, "urgent") == "yes",
        )

    @property
    def audience(self) -> Audience:
        return Audience(
            skus=self.skus,
            category=self.category or None,
            order_numbers=parse_audience("orders", self.orders).order_numbers,
        )

    def fingerprint(self) -> str:
        content = [self.skus, self.category, self.orders, self.texts, self.new_eta, self.urgent]
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode("utf-8")).hexdigest()


@routes.get("/broadcasts", allow_head=False)
async def broadcasts_page(request: web.Request) -> web.StreamResponse:
    """The composer, and the broadcasts still being delivered."""
    return await _composer(request, BroadcastForm(), 200)


@routes.get("/broadcasts/recipients", allow_head=False)
async def recipients(request: web.Request) -> web.StreamResponse:
    """How many customers the audience in the query reaches now (for the composer's live count)."""
    form = BroadcastForm(
        skus=request.query.getall("sku", []),
        category=request.query.get("category", "").strip(),
        orders=request.query.get("orders", ""),
    )
    if form.audience.cleaned().is_empty:
        return web.json_response({"recipients": None, "error": None})
    try:
        count = await preview_broadcast(deps_of(request).uow(), form.audience)
    except DomainError as refused:
        return web.json_response({"recipients": None, "error": words(refused.phrase)}, status=422)
    return web.json_response({"recipients": count, "error": None})


@routes.post("/broadcasts")
async def compose(request: web.Request) -> web.StreamResponse:
    """The composer's buttons: preview (checks everything, counts recipients), edit again, or send."""
    posted = await request.post()
    form, action = BroadcastForm.read(posted), posted.get("action")
    if action == "send":
        return await _send(request, form)
    if action == "edit":
        return await _composer(request, form, 200)
    deps = deps_of(request)
    try:
        texts = checked_texts(form.texts, deps.settings.default_language)
        new_eta = _optional_date(form.new_eta)
        count = await preview_broadcast(deps.uow(), form.audience)
    except DomainError as refused:
        return await _composer(request, form, 422, error=refused.phrase)
    return page(
        request,
        SECTION,
        "broadcast_preview",
        form=replace(form, form_key=secrets.token_urlsafe(18)),
        texts=texts,
        new_eta=new_eta,
        recipient_count=count,
        default_language=deps.settings.default_language,
        quiet_until=quiet_until(request),
        quiet_hours=deps.policy.quiet_hours,
    )


async def _send(request: web.Request, form: BroadcastForm) -> web.StreamResponse:
    """Create the broadcast once per previewed form: sending the same form again shows the first one."""
    if not FORM_KEY.fullmatch(form.form_key):
        return await _composer(request, form, 422, error=N_("Preview the broadcast before sending it."))
    deps, session = deps_of(request), console_session(request)
    key = RequestKey(
        session.token.id, f"console-broadcast:{form.form_key}", "POST", f"{CONSOLE_PREFIX}/broadcasts", form.fingerprint()
    )
    try:
        outcome = await send_broadcast_once(
            deps.uow(), key, form.audience, form.texts, session.actor, _optional_date(form.new_eta), urgent=form.urgent
        )
    except DomainError as refused:
        return await _composer(request, form, 422, error=refused.phrase)
    if isinstance(outcome, AlreadySent):
        return see_other(f"{CONSOLE_PREFIX}/broadcasts/{outcome.broadcast_id}")
    if not isinstance(outcome, BroadcastSent):
        return await _composer(
            request, form, 409, error=N_("This broadcast is already being sent, or the form was changed; check the list below.")
        )
    view = outcome.view
    log.info("console: broadcast %d to %d customers by API token %d", view.id, view.recipient_count, session.token.id)
    return see_other(f"{CONSOLE_PREFIX}/broadcasts/{view.id}")


async def _composer(request: web.Request, form: BroadcastForm, status: int, error: str | None = None) -> web.StreamResponse:
    deps = deps_of(request)
    summary = await backorder_summary(deps.uow())
    health = await backlog_health(deps.uow())
    return page(
        request,
        SECTION,
        "broadcasts",
        status,
        form=form,
        skus=summary,
        categories=health.categories,
        languages=_languages(deps.settings.default_language),
        default_language=deps.settings.default_language,
        sending=await sending_broadcasts(deps.uow()),
        error=error,
    )


@routes.get(r"/broadcasts/{broadcast_id:\d+}", allow_head=False)
async def broadcast_page(request: web.Request) -> web.StreamResponse:
    """One broadcast and its delivery; the bar follows the outbox workers until nothing is left to send."""
    view = await _broadcast(request)
    return page(request, SECTION, "broadcast", view=view, done=_delivered(view))


@routes.get(r"/broadcasts/{broadcast_id:\d+}/progress", allow_head=False)
async def broadcast_progress_json(request: web.Request) -> web.StreamResponse:
    view = await _broadcast(request)
    return web.json_response(
        {
            "id": view.id,
            "status": view.status.value,
            "recipients": view.recipient_count,
            "sent": view.sent,
            "failed": view.failed,
            "blocked": view.blocked,
            "pending": view.pending,
            "cancelled": view.cancelled,
            "held": view.held,
            "held_until": view.held_until.isoformat() if view.held_until else None,
            "urgent": view.urgent,
        },
        headers={"Cache-Control": "no-store"},
    )


@routes.post(r"/broadcasts/{broadcast_id:\d+}/cancel")
async def cancel(request: web.Request) -> web.StreamResponse:
    view = await cancel_broadcast(
        deps_of(request).uow(), int(request.match_info["broadcast_id"]), console_session(request).actor
    )
    return see_other(f"{CONSOLE_PREFIX}/broadcasts/{view.id}")


async def _broadcast(request: web.Request) -> BroadcastView:
    try:
        return await broadcast_progress(deps_of(request).uow(), int(request.match_info["broadcast_id"]))
    except NotFound as missing:
        raise web.HTTPNotFound(reason=missing.message) from None


def _delivered(view: BroadcastView) -> int:
    return view.sent + view.failed + view.blocked


def _languages(default_language: str) -> list[str]:
    """The languages a text can be written in, the shop's default first."""
    return sorted(SUPPORTED_LANGUAGES, key=lambda language: language != default_language)


def _optional_date(value: str) -> date | None:
    """A date the merchant may leave empty; DomainError when it is filled in but not a date."""
    if not value:
        return None
    day = form_date(value)
    if day is None:
        raise DomainError(N_("The new ETA must be a date (YYYY-MM-DD), or empty."))
    return day
