"""A merchant writing a broadcast in the chat, step by step, kept in the database so a restart carries on.

audience kind → the SKUs, category or order numbers → the text in the default language → each other
language's text, or skip → preview with the exact recipient count → send (or abort at any step).

The draft lives in the merchant's TelegramUser row (conversation_state and conversation_data). Every button
carries the draft's id, so a button of an older draft, or one pressed twice, changes nothing.
"""

import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.i18n import SUPPORTED_LANGUAGES
from bot.services.audit import Actor
from bot.services.conversations.chat_session import ensure_telegram_user
from bot.services.errors import BroadcastTextTooLong
from bot.services.outreach.broadcasts import (
    MAX_TEXT_LENGTH,
    Audience,
    BroadcastView,
    checked_audience,
    count_recipients,
    count_waiting_customers,
    create_broadcast_in,
    text_length,
    waiting_categories,
)
from bot.services.unit_of_work import UnitOfWork
from db.models import TelegramUser

STATE_PREFIX = "broadcast:"
KIND = "kind"  # waiting for the audience kind (a button)
AUDIENCE = "audience"  # waiting for the SKUs, category or order numbers (text)
TEXT = "text"  # waiting for the text in the default language
TRANSLATION = "translation"  # waiting for the text in another language, or skip
PREVIEW = "preview"  # waiting for send or abort
# What a step can end in besides the stages above.
SENT = "sent"
ABORTED = "aborted"
GONE = "gone"  # the button belongs to a draft that was sent, aborted or replaced

AUDIENCE_KINDS = ("skus", "category", "orders")
_SEPARATORS = re.compile(r"[\s,;]+")


@dataclass(frozen=True)
class DraftStep:
    """Where the draft stands after a step, and what the merchant should be shown."""

    stage: str
    draft_id: int = 0
    kind: str | None = None
    audience: Audience | None = None
    recipients: int = 0
    texts: dict[str, str] = field(default_factory=dict)
    asking_language: str | None = None
    broadcast: BroadcastView | None = None
    categories: list[str] = field(default_factory=list)  # to choose from, when the audience is a category
    waiting_customers: int = 0  # an audience nobody can be reached in: how many wait on it all the same
    quiet_until: datetime | None = None  # at the preview: the shop is in quiet hours until then (shop time)


# A draft's id travels on its buttons, whose ids are 32-bit like every row id; random, so a stale button
# from an earlier draft cannot act on this one.
_DRAFT_IDS = 2**31 - 1


def in_draft(state: str | None) -> bool:
    """The conversation is a broadcast being written."""
    return bool(state and state.startswith(STATE_PREFIX))


async def start_draft(uow: UnitOfWork, telegram_user_id: int) -> DraftStep:
    """Begin a new broadcast; a draft in progress is dropped."""
    async with uow:
        user = await _locked_user(uow, telegram_user_id)
        draft_id = secrets.randbelow(_DRAFT_IDS) + 1
        _save(user, uow, KIND, {"draft": draft_id})
        await uow.commit()
    return DraftStep(KIND, draft_id)


async def choose_kind(uow: UnitOfWork, telegram_user_id: int, draft_id: int, kind: str) -> DraftStep:
    """SKUs, a category or order numbers: then ask for them."""
    if kind not in AUDIENCE_KINDS:
        raise ValueError(f"unknown audience kind {kind!r}")
    async with uow:
        user = await _locked_user(uow, telegram_user_id)
        data = _draft(user, draft_id, KIND, AUDIENCE)
        if data is None:
            return DraftStep(GONE)
        _save(user, uow, AUDIENCE, {"draft": draft_id, "kind": kind})
        categories = await waiting_categories(uow.session) if kind == "category" else []
        await uow.commit()
    return DraftStep(AUDIENCE, draft_id, kind=kind, categories=categories)


async def give_audience(uow: UnitOfWork, telegram_user_id: int, text: str) -> DraftStep:
    """The SKUs, category or order numbers typed; AudienceInvalid names what the shop does not know.

    An audience nobody can be reached in stays at this step (`recipients` 0) for another try.
    """
    async with uow:
        user = await _locked_user(uow, telegram_user_id)
        data = _draft(user, None, AUDIENCE)
        if data is None:
            return DraftStep(GONE)
        step = await _audience_given(uow, user, data, parse_audience(data["kind"], text))
        await uow.commit()
    return step


async def give_category(uow: UnitOfWork, telegram_user_id: int, draft_id: int, number: int) -> DraftStep:
    """A category picked by its button: `number` counts from 0 in the alphabetical list the merchant was shown."""
    async with uow:
        user = await _locked_user(uow, telegram_user_id)
        data = _draft(user, draft_id, AUDIENCE)
        if data is None or data.get("kind") != "category":
            return DraftStep(GONE)
        categories = await waiting_categories(uow.session)
        if not 0 <= number < len(categories):  # no longer waiting since the list was shown: ask again
            return DraftStep(AUDIENCE, draft_id, kind="category", categories=categories)
        step = await _audience_given(uow, user, data, Audience(category=categories[number]))
        await uow.commit()
    return step


async def _audience_given(uow: UnitOfWork, user: TelegramUser, data: dict[str, Any], audience: Audience) -> DraftStep:
    """On to the text if the audience reaches anyone; else the same step again, saying how many wait on it."""
    audience = await checked_audience(uow.session, audience)
    recipients = await count_recipients(uow.session, audience)
    if recipients == 0:
        waiting = await count_waiting_customers(uow.session, audience)
        return DraftStep(AUDIENCE, data["draft"], kind=data["kind"], audience=audience, waiting_customers=waiting)
    _save(user, uow, TEXT, data | {"audience": audience.to_json(), "recipients": recipients})
    return DraftStep(TEXT, data["draft"], kind=data["kind"], audience=audience, recipients=recipients)


async def give_text(uow: UnitOfWork, telegram_user_id: int, text: str) -> DraftStep:
    """The text in the language asked for: the default one first, then each other one (or skip)."""
    text = text.strip()
    async with uow:
        user = await _locked_user(uow, telegram_user_id)
        data = _draft(user, None, TEXT, TRANSLATION)
        if data is None:
            return DraftStep(GONE)
        language = data.get("asking") or uow.policy.default_language
        if text_length(text) > MAX_TEXT_LENGTH:
            raise BroadcastTextTooLong(language, MAX_TEXT_LENGTH)
        data["texts"] = dict(data.get("texts") or {}) | {language: text}
        step = await _next_question(uow, user, data)
        await uow.commit()
    return step


async def skip_translation(uow: UnitOfWork, telegram_user_id: int, draft_id: int) -> DraftStep:
    """No text in the language asked for: its customers get the default language's."""
    async with uow:
        user = await _locked_user(uow, telegram_user_id)
        data = _draft(user, draft_id, TRANSLATION)
        if data is None:
            return DraftStep(GONE)
        data["skipped"] = list(data.get("skipped") or []) + [data["asking"]]
        step = await _next_question(uow, user, data)
        await uow.commit()
    return step


async def send_draft(
    uow: UnitOfWork,
    telegram_user_id: int,
    draft_id: int,
    actor: Actor,
    *,
    progress_chat_id: int | None = None,
    progress_message_id: int | None = None,
    urgent: bool = False,
) -> DraftStep:
    """Create the previewed broadcast and close the draft, in one transaction; a second press finds it gone.
    An urgent one goes out through the shop's quiet hours."""
    async with uow:
        user = await _locked_user(uow, telegram_user_id)
        data = _draft(user, draft_id, PREVIEW)
        if data is None:
            return DraftStep(GONE)
        view = await create_broadcast_in(
            uow,
            Audience.from_json(data["audience"]),
            data["texts"],
            actor,
            progress_chat_id=progress_chat_id,
            progress_message_id=progress_message_id,
            urgent=urgent,
        )
        _save(user, uow, None, {})
        await uow.commit()
    return DraftStep(SENT, draft_id, broadcast=view, recipients=view.recipient_count, texts=view.texts)


async def abort_draft(uow: UnitOfWork, telegram_user_id: int, draft_id: int) -> DraftStep:
    """Drop the draft; nothing is sent."""
    async with uow:
        user = await _locked_user(uow, telegram_user_id)
        if _draft(user, draft_id, KIND, AUDIENCE, TEXT, TRANSLATION, PREVIEW) is None:
            return DraftStep(GONE)
        _save(user, uow, None, {})
        await uow.commit()
    return DraftStep(ABORTED, draft_id)


async def current_step(uow: UnitOfWork, telegram_user_id: int) -> DraftStep | None:
    """Where the merchant's draft stands, to ask again; None when there is none."""
    async with uow:
        user = await uow.session.get(TelegramUser, telegram_user_id)
        if user is None or not in_draft(user.conversation_state):
            return None
        return _step(user.conversation_state.removeprefix(STATE_PREFIX), dict(user.conversation_data or {}))


def parse_audience(kind: str, text: str) -> Audience:
    """What the merchant typed, read as the kind of audience they chose."""
    if kind == "category":
        return Audience(category=text.strip())
    values = [value.lstrip("#") for value in _SEPARATORS.split(text.strip()) if value.lstrip("#")]
    return Audience(skus=values) if kind == "skus" else Audience(order_numbers=values)


async def _next_question(uow: UnitOfWork, user: TelegramUser, data: dict[str, Any]) -> DraftStep:
    """Ask for the next language without a text yet, or show the preview with a fresh count."""
    answered = set(data.get("texts") or {}) | set(data.get("skipped") or [])
    default_language = uow.policy.default_language
    missing = [language for language in SUPPORTED_LANGUAGES if language != default_language and language not in answered]
    if missing:
        data["asking"] = missing[0]
        _save(user, uow, TRANSLATION, data)
    else:
        data.pop("asking", None)
        data["recipients"] = await count_recipients(uow.session, Audience.from_json(data["audience"]))
        _save(user, uow, PREVIEW, data)
        step = _step(PREVIEW, data)
        return replace(step, quiet_until=uow.policy.quiet_hours.end_of(uow.clock.now(), uow.clock.tz))
    return _step(user.conversation_state.removeprefix(STATE_PREFIX), data)


def _step(stage: str, data: dict[str, Any]) -> DraftStep:
    return DraftStep(
        stage,
        data.get("draft", 0),
        kind=data.get("kind"),
        audience=Audience.from_json(data["audience"]) if data.get("audience") else None,
        recipients=data.get("recipients", 0),
        texts=dict(data.get("texts") or {}),
        asking_language=data.get("asking"),
    )


async def _locked_user(uow: UnitOfWork, telegram_user_id: int) -> TelegramUser:
    """The merchant's row, locked: two presses of one merchant take turns."""
    return await ensure_telegram_user(uow.session, telegram_user_id, None, uow.clock.now(), lock=True)


def _draft(user: TelegramUser, draft_id: int | None, *stages: str) -> dict[str, Any] | None:
    """The draft's data if the user is at one of `stages` of draft `draft_id` (None: of any draft)."""
    data = dict(user.conversation_data or {})
    stage = (user.conversation_state or "").removeprefix(STATE_PREFIX)
    if not in_draft(user.conversation_state) or stage not in stages:
        return None
    if draft_id is not None and data.get("draft") != draft_id:
        return None
    return data


def _save(user: TelegramUser, uow: UnitOfWork, stage: str | None, data: dict[str, Any]) -> None:
    user.conversation_state = STATE_PREFIX + stage if stage else None
    user.conversation_data = data
    user.updated_at = uow.clock.now()
