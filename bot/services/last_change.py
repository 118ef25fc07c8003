"""When the shop's data last changed, read from the audit log (every change writes an entry)."""

from datetime import datetime

from sqlalchemy import func, select

from bot.services.unit_of_work import UnitOfWork
from db.models import AuditEntry


async def last_change_at(uow: UnitOfWork) -> datetime | None:
    """The time of the newest audit entry; None for a shop where nothing has happened yet."""
    async with uow:
        return await uow.session.scalar(select(func.max(AuditEntry.at)))
