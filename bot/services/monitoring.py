"""What the operator's health check and metrics ask the database: is it there, and how full is the outbox."""

from sqlalchemy import func, select, text

from bot.services.unit_of_work import UnitOfWork
from db.models import OutboxMessage, OutboxStatus


async def check_database(uow: UnitOfWork) -> None:
    """Raise if the database does not answer a trivial query."""
    async with uow:
        await uow.session.execute(text("SELECT 1"))


async def outbox_counts(uow: UnitOfWork) -> dict[OutboxStatus, int]:
    """How many outbox messages are in each status (every status present, zero included)."""
    async with uow:
        rows = await uow.session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        counts = {status: 0 for status in OutboxStatus}
        counts.update({OutboxStatus(status): count for status, count in rows})
        return counts
