"""Where each Telegram user's conversation stands, kept in the database so a restart carries on.

Language, conversation state, the "did not understand you" streak, and which updates were already handled.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import SUPPORTED_LANGUAGES
from bot.services import audit
from bot.services.audit import Actor
from bot.services.errors import UnsupportedLanguage
from bot.services.unit_of_work import UnitOfWork
from db.models import Customer, ProcessedUpdate, TelegramUser

MAX_STATE_LENGTH = 40  # telegram_users.conversation_state


@dataclass(frozen=True)
class CustomerRef:
    """The customer a chat is linked to, as every handler needs it."""

    id: int
    name: str
    language: str | None


@dataclass(frozen=True)
class ChatSession:
    language: str | None  # chosen with /language
    telegram_language_code: str | None
    state: str | None
    data: dict[str, Any] = field(default_factory=dict)
    misunderstood_in_a_row: int = 0
    customer: CustomerRef | None = None


async def get_chat_session(uow: UnitOfWork, telegram_user_id: int) -> ChatSession:
    """The user's language, conversation state and linked customer; defaults for a user never seen."""
    async with uow.read_only():
        user = await uow.session.get(TelegramUser, telegram_user_id)
        customer = await customer_ref_for(uow.session, telegram_user_id)
        if user is None:
            return ChatSession(language=None, telegram_language_code=None, state=None, customer=customer)
        return ChatSession(
            language=user.language,
            telegram_language_code=user.telegram_language_code,
            state=user.conversation_state,
            data=dict(user.conversation_data or {}),
            misunderstood_in_a_row=user.misunderstood_in_a_row,
            customer=customer,
        )


async def touch_user(uow: UnitOfWork, telegram_user_id: int, chat_id: int, telegram_language_code: str | None) -> None:
    """Remember the user's chat and Telegram language, creating the user on first contact."""
    async with uow:
        now = uow.clock.now()
        insert = _insert_for(uow.session)
        statement = insert(TelegramUser).values(
            _new_user_values(telegram_user_id, chat_id, now) | {"telegram_language_code": telegram_language_code}
        )
        changes: dict[str, Any] = {"chat_id": chat_id, "updated_at": now}
        if telegram_language_code is not None:  # Telegram leaves it out sometimes; keep what we knew
            changes["telegram_language_code"] = telegram_language_code
        await uow.session.execute(
            statement.on_conflict_do_update(index_elements=[TelegramUser.telegram_user_id], set_=changes)
        )
        await uow.commit()


async def set_conversation_state(
    uow: UnitOfWork, telegram_user_id: int, state: str | None, data: dict[str, Any] | None = None
) -> None:
    """Where the conversation stands (None: nowhere in particular) and what it has gathered so far."""
    if state is not None and len(state) > MAX_STATE_LENGTH:
        raise ValueError(f"conversation state names are at most {MAX_STATE_LENGTH} characters: {state!r}")
    async with uow:
        user = await ensure_telegram_user(uow.session, telegram_user_id, None, uow.clock.now())
        user.conversation_state = state
        user.conversation_data = dict(data or {})
        user.updated_at = uow.clock.now()
        await uow.commit()


async def choose_language(uow: UnitOfWork, telegram_user_id: int, language: str) -> str:
    """Store the user's chosen language, and on the linked customer too, so e-mails and chat agree."""
    chosen = language.strip().lower()
    if chosen not in SUPPORTED_LANGUAGES:
        raise UnsupportedLanguage(language)
    async with uow:
        now = uow.clock.now()
        user = await ensure_telegram_user(uow.session, telegram_user_id, None, now)
        user.language = chosen
        user.updated_at = now
        customer = await uow.session.scalar(select(Customer).where(Customer.telegram_user_id == telegram_user_id))
        if customer is not None and customer.language != chosen:
            audit.record(
                uow.session,
                Actor.customer(customer.id),
                "language_chosen",
                "customer",
                customer.id,
                at=now,
                old=customer.language,
                new=chosen,
            )
            customer.language = chosen
        await uow.commit()
    return chosen


def resolve_language(
    stored_choice: str | None, customer_language: str | None, telegram_language_code: str | None, default: str
) -> str:
    """The language to answer in: the user's choice, else the customer's, else Telegram's, else the shop's."""
    for candidate in (stored_choice, customer_language, telegram_language_code):
        supported = _supported(candidate)
        if supported is not None:
            return supported
    return default


async def record_misunderstood(uow: UnitOfWork, telegram_user_id: int) -> int:
    """Count one more message in a row the bot did not understand; returns the new count."""
    async with uow:
        now = uow.clock.now()
        await ensure_telegram_user(uow.session, telegram_user_id, None, now)
        count = await uow.session.scalar(
            update(TelegramUser)
            .where(TelegramUser.telegram_user_id == telegram_user_id)
            .values(misunderstood_in_a_row=TelegramUser.misunderstood_in_a_row + 1, updated_at=now)
            .returning(TelegramUser.misunderstood_in_a_row)
        )
        await uow.commit()
    assert count is not None
    return count


class HelpAfterMisunderstanding(StrEnum):
    """How to answer a message the bot did not understand, by how many came in a row."""

    FULL = "full"  # the first: everything the bot can do
    SHORT = "short"  # again: only the way forward, not the whole greeting once more
    PERSON = "person"  # as many in a row as the shop allows: a person takes over


async def misunderstood_message(uow: UnitOfWork, telegram_user_id: int) -> HelpAfterMisunderstanding:
    """Count a message the bot did not understand, and say how to answer it under the shop's policy."""
    in_a_row = await record_misunderstood(uow, telegram_user_id)
    if in_a_row >= uow.policy.misunderstood_before_person:
        return HelpAfterMisunderstanding.PERSON
    return HelpAfterMisunderstanding.FULL if in_a_row == 1 else HelpAfterMisunderstanding.SHORT


async def reset_misunderstood(uow: UnitOfWork, telegram_user_id: int) -> None:
    """The bot understood the user again."""
    async with uow:
        await uow.session.execute(
            update(TelegramUser)
            .where(TelegramUser.telegram_user_id == telegram_user_id, TelegramUser.misunderstood_in_a_row != 0)
            .values(misunderstood_in_a_row=0, updated_at=uow.clock.now())
        )
        await uow.commit()


async def claim_update(uow: UnitOfWork, update_id: int) -> bool:
    """True the first time an update is claimed, False for a duplicate delivery (even a concurrent one).

    The claim commits at once: an update whose handling then fails is not handled again (at most once).
    """
    async with uow:
        claimed = await claim_update_in(uow.session, update_id, uow.clock.now())
        await uow.commit()
    return claimed


async def claim_update_in(session: AsyncSession, update_id: int, at: datetime) -> bool:
    """claim_update inside the caller's transaction, so the claim commits or rolls back with its work."""
    insert = _insert_for(session)
    claimed = await session.scalar(
        insert(ProcessedUpdate)
        .values(update_id=update_id, processed_at=at)
        .on_conflict_do_nothing(index_elements=[ProcessedUpdate.update_id])
        .returning(ProcessedUpdate.update_id)
    )
    return claimed is not None


async def forget_old_updates(uow: UnitOfWork, older_than: datetime) -> int:
    """Drop the record of updates handled before `older_than`; Telegram does not redeliver them that late."""
    async with uow:
        result = await uow.session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < older_than))
        await uow.commit()
    return result.rowcount  # type: ignore[attr-defined, no-any-return]


async def customer_ref_for(session: AsyncSession, telegram_user_id: int) -> CustomerRef | None:
    """The customer this Telegram user is linked to, if any."""
    row = (
        await session.execute(
            select(Customer.id, Customer.name, Customer.language).where(Customer.telegram_user_id == telegram_user_id)
        )
    ).one_or_none()
    return None if row is None else CustomerRef(id=row.id, name=row.name, language=row.language)


async def ensure_telegram_user(
    session: AsyncSession, telegram_user_id: int, chat_id: int | None, at: datetime, *, lock: bool = False
) -> TelegramUser:
    """The user's row, created if missing (a concurrent creation is not an error); `lock` holds it till commit.

    Locking the row serialises everything one Telegram user does that must not interleave, such as linking.
    """
    insert = _insert_for(session)
    await session.execute(
        insert(TelegramUser)
        .values(_new_user_values(telegram_user_id, chat_id, at))
        .on_conflict_do_nothing(index_elements=[TelegramUser.telegram_user_id])
    )
    query = select(TelegramUser).where(TelegramUser.telegram_user_id == telegram_user_id)
    if lock:
        query = query.with_for_update()
    user = await session.scalar(query.execution_options(populate_existing=True))
    assert user is not None
    return user


def _new_user_values(telegram_user_id: int, chat_id: int | None, at: datetime) -> dict[str, Any]:
    return {
        "telegram_user_id": telegram_user_id,
        "chat_id": chat_id,
        "conversation_data": {},
        "misunderstood_in_a_row": 0,
        "created_at": at,
        "updated_at": at,
    }


def _supported(language: str | None) -> str | None:
    """The supported language a code names ('de-AT' → 'de'), or None."""
    if not language:
        return None
    prefix = language.strip().lower().replace("_", "-").split("-")[0]
    return prefix if prefix in SUPPORTED_LANGUAGES else None


def _insert_for(session: AsyncSession) -> Any:
    """The dialect's INSERT, which has ON CONFLICT; both backends spell it the same way."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
