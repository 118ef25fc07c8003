"""Everything stored about a person, as one JSON-ready document (the right of access)."""

from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import select

from bot.services.privacy.personal_data import PERSONAL_TABLES
from bot.services.privacy.subjects import SubjectQuery, find_subject, load_rows
from bot.services.unit_of_work import UnitOfWork
from db.models import Base

EXPORT_FORMAT = "backorder-desk.personal-data.v1"


async def export_customer(uow: UnitOfWork, query: SubjectQuery) -> dict[str, Any]:
    """One document with every row about the person, one section per table; PersonNotFound if there are none."""
    async with uow.read_only():
        session = uow.session
        subject = await find_subject(session, query)
        rows = await load_rows(session, subject)
        sections: dict[str, list[dict[str, Any]]] = {}
        for table_name in PERSONAL_TABLES:
            model = _model(table_name)
            found = await session.scalars(
                select(model).where(rows.where[model]).order_by(*model.__table__.primary_key.columns)
            )
            sections[table_name] = [_row(row) for row in found]
        return {"format": EXPORT_FORMAT, "exported_at": uow.clock.now().isoformat(), "data": sections}


def _model(table_name: str) -> type[Base]:
    return next(mapper.class_ for mapper in Base.registry.mappers if mapper.local_table.name == table_name)


def _row(row: Base) -> dict[str, Any]:
    return {prop.columns[0].name: plain_value(getattr(row, prop.key)) for prop in row.__mapper__.column_attrs}


def plain_value(value: Any) -> Any:
    """A value JSON can hold: dates as ISO 8601, enums as their value."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value
