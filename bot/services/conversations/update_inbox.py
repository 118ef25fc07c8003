"""Updates Telegram delivered by webhook, kept until handled, so any instance behind a load balancer can handle
them once and each chat's in the order Telegram numbered them.

The webhook stores an update before answering 200; whichever instance holds the chat's lease (job_leases) then
handles the chat's stored updates oldest first and deletes each once handled. An update found already begun by
another instance was cut off when that instance died: its claim in processed_updates is taken back, so it is
handled again rather than lost (its reply, if one had gone out, may then arrive twice).
"""

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.services.unit_of_work import UnitOfWork
from db.models import ProcessedUpdate, WebhookUpdate


@dataclass(frozen=True)
class WaitingUpdate:
    update_id: int
    payload: dict[str, Any]
    started_by: str | None


def chat_lease(chat_key: int) -> str:
    """The name of the lease whose holder handles a chat's updates."""
    return f"updates-of-chat:{chat_key}"


async def store_update(uow: UnitOfWork, update_id: int, chat_key: int, payload: dict[str, Any]) -> None:
    """Keep a received update until it is handled; Telegram delivering it again changes nothing."""
    async with uow.connection() as connection:
        await uow.commit_with(
            _store_statement(connection.dialect.name),
            {"update_id": update_id, "chat_key": chat_key, "payload": payload, "received_at": uow.clock.now()},
        )


async def waiting_updates(uow: UnitOfWork, chat_key: int, limit: int) -> list[WaitingUpdate]:
    """The chat's stored updates, oldest first."""
    async with uow.connection(read_only=True) as connection:
        rows = (await connection.execute(_WAITING, {"chat_key": chat_key, "limit": limit})).all()
    return [WaitingUpdate(row.update_id, row.payload, row.started_by) for row in rows]


async def begin_handling(uow: UnitOfWork, waiting: WaitingUpdate, holder: str) -> None:
    """Note that `holder` handles the update now; one begun by another instance, which died, is handled again."""
    async with uow.connection() as connection:
        if waiting.started_by is not None and waiting.started_by != holder:
            await connection.execute(_UNCLAIM, {"update_id": waiting.update_id})
        await uow.commit_with(_BEGIN, {"begun": waiting.update_id, "holder": holder})


async def finish_handling(uow: UnitOfWork, update_id: int) -> None:
    """The update is handled: forget it (processed_updates remembers its id)."""
    async with uow.connection():
        await uow.commit_with(_FINISH, {"update_id": update_id})


async def chats_with_updates_waiting(uow: UnitOfWork, received_before: datetime, limit: int = 100) -> list[int]:
    """Chats with updates stored before `received_before` and not handled: their instance may have died."""
    async with uow.connection(read_only=True) as connection:
        rows = (await connection.execute(_STALE_CHATS, {"before": received_before, "limit": limit})).all()
    return [row.chat_key for row in rows]


@cache
def _store_statement(dialect_name: str) -> Any:
    insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    return insert(WebhookUpdate).values(
        update_id=bindparam("update_id"), chat_key=bindparam("chat_key"),
        payload=bindparam("payload", type_=WebhookUpdate.payload.type),
        received_at=bindparam("received_at", type_=WebhookUpdate.received_at.type),
    ).on_conflict_do_nothing(index_elements=[WebhookUpdate.update_id])


_WAITING = (
    select(WebhookUpdate.update_id, WebhookUpdate.payload, WebhookUpdate.started_by)
    .where(WebhookUpdate.chat_key == bindparam("chat_key"))
    .order_by(WebhookUpdate.update_id)
    .limit(bindparam("limit"))
)
_UNCLAIM = delete(ProcessedUpdate).where(ProcessedUpdate.update_id == bindparam("update_id"))
_BEGIN = update(WebhookUpdate).where(WebhookUpdate.update_id == bindparam("begun")).values(started_by=bindparam("holder"))
_FINISH = delete(WebhookUpdate).where(WebhookUpdate.update_id == bindparam("update_id"))
_STALE_CHATS = (
    select(WebhookUpdate.chat_key)
    .where(WebhookUpdate.received_at < bindparam("before", type_=WebhookUpdate.received_at.type))
    .group_by(WebhookUpdate.chat_key)
    .order_by(WebhookUpdate.chat_key)
    .limit(bindparam("limit"))
)
