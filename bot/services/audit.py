"""Who did what: the actor of a change and the audit entry written with it, and when the shop last changed."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.unit_of_work import UnitOfWork
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


_AUDIT_CHUNK = 2000  # entries per INSERT: an import's audit trail never sits in memory as one statement


@dataclass(frozen=True, slots=True)
class AuditFact:
    """One change for record_all: what was done to which entity, with its details."""

    action: str
    entity_type: str
    entity_id: object
    details: dict[str, Any]


async def record_all(session: AsyncSession, actor: Actor, at: datetime, facts: Iterable[AuditFact]) -> None:
    """Audit entries for many changes at once, written as sets (an import's thousands of rows), uncommitted."""
    rows: list[dict[str, Any]] = []
    for fact in facts:
        rows.append(
            {
                "at": at,
                "actor_type": actor.type,
                "actor_id": actor.id,
                "action": fact.action,
                "entity_type": fact.entity_type,
                "entity_id": str(fact.entity_id),
                "details": fact.details,
            }
        )
        if len(rows) == _AUDIT_CHUNK:
            await session.execute(insert(AuditEntry.__table__), rows)
            rows = []
    if rows:
        await session.execute(insert(AuditEntry.__table__), rows)


async def last_change_at(uow: UnitOfWork) -> datetime | None:
    """The time of the newest audit entry; None for a shop where nothing has happened yet."""
    async with uow:
        return await uow.session.scalar(select(func.max(AuditEntry.at)))
