"""The first load of a store's products, orders and stock, page by page: each page's cursor is saved after the
page is applied, so an interrupted backfill resumes where it stopped, and a page applied twice changes nothing."""

from dataclasses import dataclass

from sqlalchemy import select

from bot.services.unit_of_work import UnitOfWork
from db.models import StoreBackfill

RESOURCES = ("products", "orders", "stock")  # in this order: orders name products, stock goes to waiting orders


@dataclass(frozen=True)
class BackfillState:
    resource: str
    cursor: str | None
    done: int
    total: int | None
    finished: bool


async def start_backfill(uow: UnitOfWork, connection_id: int, resource: str) -> BackfillState:
    """Where the resource's backfill stands: resumed when interrupted, begun again when it had finished."""
    async with uow:
        session, now = uow.session, uow.clock.now()
        state = await session.get(StoreBackfill, (connection_id, resource), with_for_update=True)
        if state is None:
            state = StoreBackfill(
                connection_id=connection_id, resource=resource, cursor=None, done=0, finished=False, started_at=now,
                updated_at=now,
            )
            session.add(state)
        elif state.finished:  # run again: from the start; every page it applies again changes nothing
            state.cursor, state.done, state.total, state.finished = None, 0, None, False
            state.started_at = state.updated_at = now
            state.finished_at = None
        await uow.commit()
        return _state(state)


async def advance_backfill(
    uow: UnitOfWork, connection_id: int, resource: str, next_cursor: str | None, applied: int, total: int | None
) -> BackfillState:
    """A page is applied: remember the next cursor, or that the resource is done when there is none."""
    async with uow:
        session, now = uow.session, uow.clock.now()
        state = await session.get(StoreBackfill, (connection_id, resource), with_for_update=True)
        assert state is not None, "start_backfill comes first"
        state.cursor, state.done, state.updated_at = next_cursor, state.done + applied, now
        if total is not None:
            state.total = total
        if next_cursor is None:
            state.finished, state.finished_at = True, now
        await uow.commit()
        return _state(state)


async def backfill_states(uow: UnitOfWork, connection_id: int) -> list[BackfillState]:
    async with uow.read_only():
        states = {
            state.resource: _state(state)
            for state in (
                await uow.session.scalars(select(StoreBackfill).where(StoreBackfill.connection_id == connection_id))
            ).all()
        }
    return [states[resource] for resource in RESOURCES if resource in states]


def _state(state: StoreBackfill) -> BackfillState:
    return BackfillState(state.resource, state.cursor, state.done, state.total, state.finished)
