"""Canned replies: answers agents save once per language and send with /reply KEY."""

import re
from dataclasses import dataclass

from sqlalchemy import select

from bot.i18n import N_, SUPPORTED_LANGUAGES
from bot.services.audit import Actor, record
from bot.services.errors import CannedReplyNotFound, InvalidCannedReply
from bot.services.unit_of_work import UnitOfWork
from db.models import CannedReply

KEY_PATTERN = re.compile(r"[a-z0-9_-]{1,40}")
MAX_TEXT_LENGTH = 4000  # a Telegram message is 4096; leave room for nothing to be cut


@dataclass(frozen=True)
class CannedReplyView:
    key: str
    language: str
    text: str


@dataclass(frozen=True)
class SavedCannedReply:
    reply: CannedReplyView
    replaced: bool  # an earlier text for this key and language was replaced


async def save_canned_reply(uow: UnitOfWork, key: str, language: str, text: str, agent_telegram_id: int) -> SavedCannedReply:
    """Save the reply for KEY in a language, replacing an earlier text for the same key and language."""
    key, language, text = key.strip().lower(), language.strip().lower(), text.strip()
    if not KEY_PATTERN.fullmatch(key):
        raise InvalidCannedReply(N_("A key is 1 to 40 letters, digits, - or _, e.g. delay-apology."))
    if language not in SUPPORTED_LANGUAGES:
        raise InvalidCannedReply(N_("The language is one of {languages}."), languages=", ".join(SUPPORTED_LANGUAGES))
    if not text or len(text) > MAX_TEXT_LENGTH:
        raise InvalidCannedReply(N_("The text is 1 to {limit} characters."), limit=MAX_TEXT_LENGTH)
    async with uow:
        now = uow.clock.now()
        existing = await uow.session.scalar(
            select(CannedReply).where(CannedReply.key == key, CannedReply.language == language).with_for_update()
        )
        if existing is None:
            uow.session.add(CannedReply(key=key, language=language, text=text, created_by=agent_telegram_id, created_at=now))
        elif existing.text == text:
            return SavedCannedReply(CannedReplyView(key, language, text), replaced=False)
        else:
            existing.text, existing.created_by, existing.created_at = text, agent_telegram_id, now
        record(
            uow.session, Actor.agent(agent_telegram_id), "canned_reply.saved", "canned_reply", f"{key}/{language}", at=now,
            replaced=existing is not None,
        )
        await uow.commit()
    return SavedCannedReply(CannedReplyView(key, language, text), replaced=existing is not None)


async def list_canned_replies(uow: UnitOfWork) -> list[CannedReplyView]:
    """Every saved reply, by key and language."""
    async with uow:
        rows = await uow.session.scalars(select(CannedReply).order_by(CannedReply.key, CannedReply.language))
        return [CannedReplyView(row.key, row.language, row.text) for row in rows]


async def canned_reply_for(uow: UnitOfWork, key: str, language: str | None) -> CannedReplyView:
    """The reply for KEY in the customer's language where it has one, else in the shop's default language."""
    async with uow:
        rows = await uow.session.scalars(select(CannedReply).where(CannedReply.key == key.strip().lower()))
        texts = {row.language: CannedReplyView(row.key, row.language, row.text) for row in rows}
    for wanted in (language, uow.policy.default_language):
        if wanted in texts:
            return texts[wanted]
    raise CannedReplyNotFound(key)
