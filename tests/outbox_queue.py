"""Putting messages into the outbox and reading rows back, for the delivery tests."""

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.services.outbox import OutgoingMessage, enqueue
from db.models import Customer, OutboxMessage
from tests.shop import add_customer

Sessions = async_sessionmaker[AsyncSession]


async def queue(sessions: Sessions, clock: Clock, messages: Sequence[OutgoingMessage]) -> list[int]:
    """Queue `messages` in one committed transaction, as a service would; their ids in the order given."""
    async with sessions() as session:
        before = await session.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0)))
        await enqueue(session, clock, messages)
        ids = list(await session.scalars(select(OutboxMessage.id).where(OutboxMessage.id > before).order_by(OutboxMessage.id)))
        await session.commit()
    return ids


def broadcast_text(chat_id: int, text: str, **options: object) -> OutgoingMessage:
    """A message of the "broadcast" template, which shows `text` as it is."""
    return OutgoingMessage(chat_id=chat_id, template="broadcast", language="en", params={"text": text}, **options)  # type: ignore[arg-type]


async def add_chat_customer(sessions: Sessions, telegram_user_id: int, name: str = "Anna Klein") -> int:
    """A customer whose chat with the bot is `telegram_user_id`; returns their id."""
    async with sessions() as session:
        customer = await add_customer(session, name)
        customer.telegram_user_id = telegram_user_id
        await session.commit()
        return customer.id


async def outbox_rows(sessions: Sessions, ids: Sequence[int] | None = None) -> list[OutboxMessage]:
    """Rows as committed (each read in its own short transaction, so no write lock is held), by id."""
    async with sessions() as session:
        statement = select(OutboxMessage).order_by(OutboxMessage.id)
        if ids is not None:
            statement = statement.where(OutboxMessage.id.in_(ids))
        return list(await session.scalars(statement))


async def outbox_row(sessions: Sessions, message_id: int) -> OutboxMessage:
    [row] = await outbox_rows(sessions, [message_id])
    return row


async def customer(sessions: Sessions, customer_id: int) -> Customer:
    async with sessions() as session:
        return await session.get_one(Customer, customer_id)
