"""Who did what: the actor of a change and the audit entry written with it, and when the shop last changed."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
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


async def last_change_at(uow: UnitOfWork) -> datetime | None:
    """The time of the newest audit entry; None for a shop where nothing has happened yet."""
    async with uow:
        return await uow.session.scalar(select(func.max(AuditEntry.at)))
