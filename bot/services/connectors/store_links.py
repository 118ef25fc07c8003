"""The store's ids against ours (SKU, order number, line id), and the newest version of each the bot applied."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.services.unit_of_work import UnitOfWork
from db.models import StoreLink

_CHUNK = 500


@dataclass(frozen=True)
class Link:
    kind: str  # product, variant, inventory_item, stock, order, line, fulfillment
    store_id: str
    our_key: str
    store_updated_at: datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)


async def links_by_store_id(uow: UnitOfWork, connection_id: int, kind: str, store_ids: Iterable[str]) -> dict[str, Link]:
    return await _links(uow, connection_id, kind, StoreLink.store_id, store_ids, lambda link: link.store_id)


async def links_by_our_key(uow: UnitOfWork, connection_id: int, kind: str, our_keys: Iterable[str]) -> dict[str, Link]:
    return await _links(uow, connection_id, kind, StoreLink.our_key, our_keys, lambda link: link.our_key)


async def links_by_data(uow: UnitOfWork, connection_id: int, kind: str, name: str, values: Iterable[str]) -> list[Link]:
    """The links of a kind whose data has `name` set to one of `values` (read through all the connection's links of
    that kind: for the few ids a webhook names, not for a backfill's thousands)."""
    wanted = sorted({value for value in values if value})
    if not wanted:
        return []
    async with uow.read_only():
        rows = await uow.session.execute(
            select(StoreLink.store_id, StoreLink.our_key, StoreLink.store_updated_at, StoreLink.data).where(
                StoreLink.connection_id == connection_id, StoreLink.kind == kind,
                StoreLink.data[name].as_string().in_(wanted),
            )
        )
        return [Link(kind, store_id, our_key, store_updated_at, dict(data or {})) for store_id, our_key, store_updated_at, data in rows]


async def _links(uow: UnitOfWork, connection_id: int, kind: str, column: Any, values: Iterable[str], key: Any) -> dict[str, Link]:
    wanted = sorted({value for value in values if value})
    found: dict[str, Link] = {}
    if not wanted:
        return found
    async with uow.read_only():
        for start in range(0, len(wanted), _CHUNK):
            # Columns, not ORM objects: a backfill reads tens of thousands of links, and identity-mapping each
            # one cost more than the query.
            rows = await uow.session.execute(
                select(StoreLink.store_id, StoreLink.our_key, StoreLink.store_updated_at, StoreLink.data).where(
                    StoreLink.connection_id == connection_id, StoreLink.kind == kind, column.in_(wanted[start : start + _CHUNK])
                )
            )
            for store_id, our_key, store_updated_at, data in rows:
                link = Link(kind, store_id, our_key, store_updated_at, dict(data or {}))
                found[key(link)] = link
    return found


async def save_links(uow: UnitOfWork, connection_id: int, links: Sequence[Link]) -> None:
    """Add new links and update known ones: our key, a newer version time, and the data merged in."""
    if not links:
        return
    by_kind: dict[str, dict[str, Link]] = {}
    for link in links:
        by_kind.setdefault(link.kind, {})[link.store_id] = link
    known = {kind: await links_by_store_id(uow, connection_id, kind, wanted) for kind, wanted in by_kind.items()}
    new_rows, changed_rows = [], []
    for kind, wanted in by_kind.items():
        for store_id, link in wanted.items():
            before = known[kind].get(store_id)
            if before is None:
                new_rows.append(
                    {"connection_id": connection_id, "kind": kind, "store_id": store_id, "our_key": link.our_key,
                     "store_updated_at": link.store_updated_at, "data": link.data}
                )
                continue
            after = Link(
                kind, store_id, link.our_key,
                max(filter(None, (before.store_updated_at, link.store_updated_at)), default=None),
                {**before.data, **link.data},
            )
            if after != before:
                changed_rows.append(
                    {"b_connection": connection_id, "b_kind": kind, "b_store_id": store_id, "our_key": after.our_key,
                     "store_updated_at": after.store_updated_at, "data": after.data}
                )
    async with uow:
        session = uow.session
        dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
        for start in range(0, len(new_rows), _CHUNK):
            # Another worker may have linked the same id a moment ago: its row stands.
            statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(StoreLink).on_conflict_do_nothing()
            await session.execute(statement, new_rows[start : start + _CHUNK])
        if changed_rows:
            table = StoreLink.__table__
            await session.execute(
                update(table)
                .where(
                    table.c.connection_id == bindparam("b_connection"),
                    table.c.kind == bindparam("b_kind"),
                    table.c.store_id == bindparam("b_store_id"),
                )
                .values(our_key=bindparam("our_key"), store_updated_at=bindparam("store_updated_at"), data=bindparam("data")),
                changed_rows,
            )
        await uow.commit()


__all__ = ["Link", "links_by_data", "links_by_our_key", "links_by_store_id", "save_links"]
