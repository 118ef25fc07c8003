"""The life of a large import's run through a staging table, whatever it imports: begun, renewed as it goes,
committed, rolled forward once committed, and its staged rows deleted; a killed one found and finished.

A run names its process (host:pid) and is renewed as it goes. When its process was killed, the next large import
or the daily jobs find the run abandoned (its process is gone, or it has not been renewed for ABANDONED_AFTER):
they delete its rows if it was not committed, and otherwise roll it forward from where it got, as its kind says
(order_staging for orders, catalogue_staging for products and purchase orders; abandoned_imports lists them).
"""

import os
import socket
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import Table, delete, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import Actor
from bot.services.unit_of_work import UnitOfWork
from db.bulk_rows import insert_rows
from db.models import ActorType, ImportRun

DISCARD_CHUNK = 10_000  # staged rows deleted per transaction
ABANDONED_AFTER = timedelta(minutes=10)  # a run not renewed for this long is taken for dead, wherever it ran

_HOST = socket.gethostname()


@dataclass(frozen=True)
class RunKind:
    """What a kind of run stages into, and how a committed run of it is rolled forward from where it got."""

    staged: Table
    roll_forward: Callable[[UnitOfWork, int, Actor], Awaitable[object]]


class RunTakenOver(RuntimeError):
    """Another process took the run for dead: it discarded the staged rows (before the commit) or finishes it."""


async def finish_abandoned_runs(uow: UnitOfWork, kinds: Mapping[str, RunKind]) -> int:
    """Delete what killed imports left staged; roll forward the rest of those committed. How many."""
    now = uow.clock.now()
    async with uow.read_only():
        runs = (await uow.session.execute(select(ImportRun.__table__).order_by(ImportRun.id))).all()
    finished = 0
    for run in runs:
        if not _abandoned(run, now) or not await _take_over(uow, run):
            continue
        kind = kinds[run.kind]
        if run.moved_at is not None:
            await kind.roll_forward(uow, run.id, Actor(ActorType(run.actor_type), run.actor_id))
        await discard(uow, run.id, kind.staged)
        finished += 1
    return finished


def _holder() -> str:
    return f"{_HOST}:{os.getpid()}"


def _abandoned(run: Row[Any], now: datetime) -> bool:
    if now - run.alive_at > ABANDONED_AFTER:
        return True
    host, _, pid = run.holder.rpartition(":")
    if host != _HOST or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


async def _take_over(uow: UnitOfWork, run: Row[Any]) -> bool:
    """Claim an abandoned run for this process, unless another process claimed it or it came back to life."""
    runs = ImportRun.__table__
    async with uow:
        claimed = await uow.session.execute(
            update(runs)
            .where(runs.c.id == run.id, runs.c.holder == run.holder, runs.c.alive_at == run.alive_at)
            .values(holder=_holder(), alive_at=uow.clock.now())
        )
        await uow.commit()
    return bool(claimed.rowcount)


async def begin_run(uow: UnitOfWork, kind: str, actor: Actor) -> int:
    """A new run of this process, nothing staged yet: its id."""
    async with uow:
        run = ImportRun(
            kind=kind,
            actor_type=actor.type.value,
            actor_id=actor.id,
            holder=_holder(),
            alive_at=uow.clock.now(),
            settled_through=0,
        )
        uow.session.add(run)
        await uow.session.flush()
        run_id = run.id
        await uow.commit()
    return run_id


async def renew(session: AsyncSession, run_id: int, now: datetime, **values: Any) -> int:
    """Renew the run, if it is still this process's: 1, or 0 if another process took it over or discarded it."""
    runs = ImportRun.__table__
    result = await session.execute(
        update(runs).where(runs.c.id == run_id, runs.c.holder == _holder()).values(alive_at=now, **values)
    )
    return result.rowcount


async def renewed_run(session: AsyncSession, run_id: int, now: datetime) -> Row[Any]:
    """The run, renewed: its row locked, so one process at a time rolls it forward; RunTakenOver if it is not
    this process's any more."""
    if not await renew(session, run_id, now):
        raise RunTakenOver("another process took the import for dead and finishes it")
    runs = ImportRun.__table__
    return (await session.execute(select(runs).where(runs.c.id == run_id))).one()


async def stage(uow: UnitOfWork, run_id: int, staged: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """A chunk of rows into the staging table in a transaction of its own, the run renewed; then the bot's
    writers' turn. `rows` are made before the transaction, which then only writes."""
    async with uow:
        await insert_rows(uow.session, staged, columns, rows)
        await renew(uow.session, run_id, uow.clock.now())
        await uow.commit()
    await uow.let_others_write()


async def discard(uow: UnitOfWork, run_id: int, staged: Table) -> None:
    """Delete the run's staged rows, DISCARD_CHUNK per transaction, then the run."""
    while True:
        async with uow:
            deleted = await uow.session.execute(
                delete(staged).where(
                    staged.c.id.in_(select(staged.c.id).where(staged.c.run_id == run_id).limit(DISCARD_CHUNK))
                )
            )
            await uow.commit()
        if deleted.rowcount < DISCARD_CHUNK:
            break
        await uow.let_others_write()
    async with uow:
        await uow.session.execute(delete(ImportRun.__table__).where(ImportRun.__table__.c.id == run_id))
        await uow.commit()


def chunks(values: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(values)
    while chunk := list(islice(iterator, size)):
        yield chunk
