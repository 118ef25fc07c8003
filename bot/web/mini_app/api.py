"""The Mini App's JSON API: the signed-in customer's items, and cancel, alternatives and a person for one of them.

    GET  /mini-app/api/items                               the timelines, or how to link an unlinked chat
    GET  /mini-app/api/lines/{line}/cancel                 what a cancel would do (the chat's confirmation)
    POST /mini-app/api/lines/{line}/cancel                 cancel it (idempotent, as in the chat)
    GET  /mini-app/api/lines/{line}/alternatives           in-stock alternatives
    GET  /mini-app/api/lines/{line}/alternatives/{product} what swapping to one would do
    POST /mini-app/api/lines/{line}/alternatives/{product} swap (idempotent, as in the chat)
    POST /mini-app/api/lines/{line}/person                 a ticket about the item, or how to reach a person

Every request carries Telegram's `initData` (bot/web/mini_app/sign_in.py); the customer is the one linked to
its user, and every line id is checked against them by the same services the chat calls, so a forged id
answers 404 like a line that does not exist.
"""

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from bot.composition import ChatDeps
from bot.i18n import Translator
from bot.render import alternatives as alternatives_screen
from bot.render import cancel as cancel_screen
from bot.render import conversation
from bot.render.support import ticket_opened
from bot.services.audit import Actor
from bot.services.backorders.alternatives import list_alternatives, pick_alternative
from bot.services.backorders.cancel import cancel_line, preview_cancel
from bot.services.backorders.timeline import get_timeline
from bot.services.conversations.chat_session import get_chat_session, resolve_language
from bot.services.errors import AlternativeNotOffered, DomainError
from bot.services.support.tickets import Escalation, EscalationKind, open_ticket
from bot.support.desk import ticket_policy
from bot.telegram_init_data import InitDataRejected
from bot.web.app_keys import DEPS
from bot.web.json_errors import error_response
from bot.web.mini_app.sign_in import init_data_of, not_signed_in
from bot.web.mini_app.timeline_json import JSON, plain, timeline_json

API_PREFIX = "/mini-app/api"
_LINE = API_PREFIX + r"/lines/{line_id:\d{1,9}}"


@dataclass(frozen=True)
class _Visitor:
    """Who opened the Mini App: their Telegram user, the customer linked to it (if any), and their language."""

    telegram_user_id: int
    customer_id: int | None
    language: str  # en or de
    t: Translator


class _Answered(Exception):
    """Ends a request early with this response (aiohttp's own HTTP exceptions would lose their JSON body)."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def _answering(handler: Callable[[web.Request], Awaitable[web.Response]]) -> Callable[[web.Request], Awaitable[web.Response]]:
    @functools.wraps(handler)
    async def answer(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except _Answered as answered:
            return answered.response

    return answer


def add_mini_app_api(app: web.Application) -> None:
    app.router.add_get(API_PREFIX + "/items", _answering(items))
    app.router.add_get(_LINE + "/cancel", _answering(cancel_question))
    app.router.add_post(_LINE + "/cancel", _answering(cancel))
    app.router.add_get(_LINE + "/alternatives", _answering(alternatives))
    app.router.add_get(_LINE + r"/alternatives/{product_id:\d{1,9}}", _answering(swap_question))
    app.router.add_post(_LINE + r"/alternatives/{product_id:\d{1,9}}", _answering(swap))
    app.router.add_post(_LINE + "/person", _answering(person))


def _deps(request: web.Request) -> ChatDeps:
    return request.config_dict[DEPS]


async def _visitor(request: web.Request) -> _Visitor:
    """The signed-in visitor; 401 for a request Telegram did not sign for this bot lately."""
    try:
        user = init_data_of(request).user
    except InitDataRejected as rejected:
        raise _Answered(not_signed_in(rejected)) from None
    if user is None:
        raise _Answered(not_signed_in(InitDataRejected("no user")))
    deps = _deps(request)
    session = await get_chat_session(deps.uow(), user.id)
    customer = session.customer
    language = resolve_language(
        session.language, customer.language if customer else None,
        user.language_code or session.telegram_language_code, deps.settings.default_language,
    )
    t = deps.settings.voice.translator(language, deps.clock.today())
    return _Visitor(user.id, customer.id if customer else None, language, t)


async def _customer(request: web.Request) -> tuple[_Visitor, int]:
    """The visitor and their customer; 403 for a chat not linked to one."""
    visitor = await _visitor(request)
    if visitor.customer_id is None:
        raise _Answered(error_response(403, "not_linked", plain(conversation.not_linked(visitor.t).text)))
    return visitor, visitor.customer_id


def _refused(refused: DomainError, t: Translator) -> web.Response:
    """A refusal in the customer's words; 404 for a line that is not theirs, whether it exists or not."""
    status = 404 if refused.code in ("line_not_found", "order_not_found") else 409
    return error_response(status, refused.code, t.phrase(refused.phrase))


def _line_id(request: web.Request) -> int:
    return int(request.match_info["line_id"])


async def items(request: web.Request) -> web.Response:
    """The page's data: the customer's timelines and the page's words, or how to link this chat."""
    visitor = await _visitor(request)
    t = visitor.t
    body: JSON = {"language": visitor.language, "linked": visitor.customer_id is not None, "words": _words(t)}
    if visitor.customer_id is None:
        body["how_to_link"] = plain(conversation.not_linked(t).text)
        return web.json_response(body, headers=_PRIVATE)
    deps = _deps(request)
    timeline = await get_timeline(deps.uow(), visitor.customer_id)
    body |= timeline_json(timeline, t, deps.clock.tz)
    return web.json_response(body, headers=_PRIVATE)


# What the page shows is one customer's: no cache may keep it.
_PRIVATE = {"Cache-Control": "no-store"}


def _words(t: Translator) -> dict[str, str]:
    """The page's own words, in the visitor's language (the sentences come with the data)."""
    return {
        "title": t.gettext("Your items"),
        "waiting": t.gettext("Waiting for stock"),
        "resolved": t.gettext("Recently resolved"),
        "nothing": t.gettext("Good news: nothing on your orders is waiting for stock."),
        "changes": t.gettext("Date changes"),
        "cancel": t.gettext("Cancel"),
        "alternatives": t.gettext("Alternatives"),
        "person": t.gettext("Talk to a person"),
        "yes_cancel": t.gettext("Yes, cancel"),
        "keep": t.gettext("No, keep waiting"),
        "yes_swap": t.gettext("Yes, swap it"),
        "back": t.gettext("« Back"),
        "track": t.gettext("Track parcel"),
        "to_chat": t.gettext("Back to the chat"),
        "failed": t.gettext("That did not work. Please try again."),
        "queue": t.gettext("Your place in line"),
    }


async def cancel_question(request: web.Request) -> web.Response:
    visitor, customer = await _customer(request)
    try:
        preview = await preview_cancel(_deps(request).uow(), customer, _line_id(request))
    except DomainError as refused:
        return _refused(refused, visitor.t)
    return web.json_response({"question": plain(cancel_screen.confirm_cancel(preview, visitor.t).text)}, headers=_PRIVATE)


async def cancel(request: web.Request) -> web.Response:
    visitor, customer = await _customer(request)
    try:
        result = await cancel_line(_deps(request).uow(), customer, _line_id(request), Actor.customer(customer))
    except DomainError as refused:
        return _refused(refused, visitor.t)
    return web.json_response({"done": plain(cancel_screen.cancelled(result, visitor.t).text)}, headers=_PRIVATE)


async def alternatives(request: web.Request) -> web.Response:
    visitor, customer = await _customer(request)
    t = visitor.t
    try:
        result = await list_alternatives(_deps(request).uow(), customer, _line_id(request))
    except DomainError as refused:
        return _refused(refused, t)
    screen = alternatives_screen.alternatives_list(result, t)
    offers = [
        {
            "product_id": alternative.product_id,
            "name": alternative.name,
            "price": t.money(alternative.unit_price_minor, alternative.currency),
            "note": alternatives_screen.price_note(alternative, t),
        }
        for alternative in result.alternatives
    ]
    intro = plain(screen.text).splitlines()[0] if offers else plain(screen.text)
    return web.json_response({"intro": intro, "alternatives": offers}, headers=_PRIVATE)


async def swap_question(request: web.Request) -> web.Response:
    visitor, customer = await _customer(request)
    line_id, product_id = _line_id(request), int(request.match_info["product_id"])
    try:
        result = await list_alternatives(_deps(request).uow(), customer, line_id)
        chosen = next((a for a in result.alternatives if a.product_id == product_id), None)
        if chosen is None:
            raise AlternativeNotOffered()
    except DomainError as refused:
        return _refused(refused, visitor.t)
    question = alternatives_screen.confirm_pick(line_id, chosen, visitor.t)
    return web.json_response({"question": plain(question.text)}, headers=_PRIVATE)


async def swap(request: web.Request) -> web.Response:
    visitor, customer = await _customer(request)
    line_id, product_id = _line_id(request), int(request.match_info["product_id"])
    try:
        result = await pick_alternative(_deps(request).uow(), customer, line_id, product_id, Actor.customer(customer))
    except DomainError as refused:
        return _refused(refused, visitor.t)
    return web.json_response({"done": plain(alternatives_screen.swapped(result, visitor.t).text)}, headers=_PRIVATE)


async def person(request: web.Request) -> web.Response:
    """A ticket about the item, answered in the chat (the support group's relay worker posts it there)."""
    visitor, customer = await _customer(request)
    settings = _deps(request).settings
    policy = ticket_policy(settings)
    if policy is None:
        return web.json_response({"done": plain(conversation.reach_a_person(settings.support_contact, visitor.t).text)})
    # A private chat's id is its user's id.
    escalation = Escalation(EscalationKind.ITEM, _line_id(request))
    try:
        opened = await open_ticket(_deps(request).uow(), customer, visitor.telegram_user_id, escalation, policy)
    except DomainError as refused:
        return _refused(refused, visitor.t)
    screen = ticket_opened(opened.ticket, opened.answer, opened.created, visitor.t)
    return web.json_response({"done": plain(screen.text)}, headers=_PRIVATE)
