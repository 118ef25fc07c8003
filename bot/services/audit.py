"""Who did what: the actor of a change and the audit entry written with it, and when the shop last changed."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.unit_of_work import UnitOfWork
from db.bulk_rows import insert_rows
from db.models import ActorType, AuditEntry


@dataclass(frozen=True)
class Actor:
    type: ActorType
    id: str | None = None

    @classmethod
    def customer(cls, customer_id: int) -> "Actor":
        return cls(ActorType.CUSTOMER, str(customer_id))

    @classmethod
    def agent(cls, telegram_user_id: int) -> "Actor":
        return cls(ActorType.AGENT, str(telegram_user_id))

    @classmethod
    def merchant(cls, name: str | None = None) -> "Actor":
        return cls(ActorType.MERCHANT, name)

    @classmethod
    def system(cls) -> "Actor":
        return cls(ActorType.SYSTEM)


def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: object,
    at: datetime,
    **details: Any,
) -> None:
    """Add an audit entry to the current transaction, so it commits or rolls back with the change."""
    session.add(
        AuditEntry(
            at=at,
            actor_type=actor.type,
            actor_id=actor.id,
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id),
            details=details,
        )
    )


@dataclass(frozen=True, slots=True)
class AuditFact:
    """One change for record_all: what was done to which entity, with its details."""

    action: str
    entity_type: str
    entity_id: object
    details: dict[str, Any]


_AUDIT_COLUMNS = ("at", "actor_type", "actor_id", "action", "entity_type", "entity_id", "details")


async def record_all(session: AsyncSession, actor: Actor, at: datetime, facts: Iterable[AuditFact]) -> None:
    """Audit entries for many changes at once, written as sets (an import's thousands of rows), uncommitted.

    `facts` may be a generator: entries are written as they come, so an import's audit trail is never held whole.
    """
    rows = (
        (at, actor.type, actor.id, fact.action, fact.entity_type, str(fact.entity_id), fact.details) for fact in facts
    )
    await insert_rows(session, AuditEntry.__table__, _AUDIT_COLUMNS, rows)


async def last_change_at(uow: UnitOfWork) -> datetime | None:
    """The time of the newest audit entry; None for a shop where nothing has happened yet."""
    async with uow:
        return await uow.session.scalar(select(func.max(AuditEntry.at)))
