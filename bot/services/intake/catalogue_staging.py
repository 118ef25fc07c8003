"""A large products or purchase-orders import written through a staging table, so the bot's own writes never wait
long behind it (on SQLite; on PostgreSQL such a batch is written in one transaction, which blocks no other writer).

The importer checks the file beside the bot's writers and plans every write: the suppliers to add, the rows to
insert and update, the audit entries, the SKUs to allocate and give ETAs. The plan goes into staged_import_rows a
chunk per transaction, as steps in the order they are written, each row a JSON payload. One short transaction then
commits the run: it checks that nobody added one of the file's SKUs or references meanwhile and marks it committed.
Until then the shop holds nothing of the file, and a failed or cancelled import deletes its staged rows at once.
From then on the run is finished whatever happens: each step's rows are written into the shop a chunk per
transaction (the last step, allocating and recomputing ETAs, a few SKUs at a time), the bot's writers getting in
between, and the staged rows are deleted. A killed run is finished or discarded as import_runs says.

One table with a JSON payload, not a typed table per importer as for orders: an orders import's move is set-based
SQL from its typed rows, but these writes go through Python either way (suppliers by name, audit details, changes),
and one table serves every step of both importers.
"""

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import InstrumentedAttribute

from bot.memory import collector_paused
from bot.services.audit import Actor
from bot.services.backorders.allocation import AllocationChange, allocate_stock_of
from bot.services.backorders.eta import EtaMove
from bot.services.backorders.notifications import notify_stock_and_eta_changes
from bot.services.errors import ImportRejected, RowProblem
from bot.services.intake.import_records import ImportProgress
from bot.services.intake.import_runs import RunKind, RunTakenOver, begin_run, chunks, discard, renew, renewed_run, stage
from bot.services.intake.shop_lookup import recompute_for_reasons
from bot.services.purchasing.suppliers import supplier_ids_by_name
from bot.services.unit_of_work import UnitOfWork
from db.models import ActorType, StagedImportRow

STAGE_CHUNK = 3000  # rows staged per transaction
# Staged rows written into the shop per transaction, and SKUs allocated and given ETAs per transaction, by database:
# few on SQLite, whose one write lock the bot's writers wait for. (PostgreSQL writes such a batch in one transaction
# unless STAGED_FROM says otherwise; then it writes each step at once.)
WRITE_ROWS = {"sqlite": 2000, "postgresql": 10**9}
SETTLE_SKUS = {"sqlite": 20, "postgresql": 10**9}
# The batch size from which products and purchase orders are written through the staging table, by database.
STAGED_FROM: dict[str, int | None] = {"sqlite": 5000, "postgresql": None}

_COLUMNS = ("run_id", "step", "row", "adds", "payload")


@dataclass(frozen=True, slots=True)
class Staged:
    """A planned write: the step that writes it, the file's row, the SKU or reference it adds, its JSON payload."""

    step: int
    row: int
    payload: Any
    adds: str | None = None


@dataclass
class Settled:
    """The stock allocated and the ETAs moved as a run was written."""

    allocations: list[AllocationChange] = field(default_factory=list)
    eta_moves: list[EtaMove] = field(default_factory=list)


# Writes a chunk of a step's payloads into the shop, in the caller's transaction, at the run's commit time.
StepWriter = Callable[[UnitOfWork, Actor, datetime, list[Any]], Awaitable[Settled | None]]


@dataclass(frozen=True)
class Step:
    write: StepWriter
    per_transaction: Mapping[str, int] = field(default_factory=lambda: WRITE_ROWS)


@dataclass(frozen=True)
class CatalogueKind:
    """An importer's staged run: its steps by number, the shop's column what it adds goes into, the step whose rows
    count as the file's rows written (one a written record), and what a row added meanwhile is told."""

    name: str
    steps: tuple[Step, ...]
    added_to: InstrumentedAttribute[str]
    counted_step: int
    added_meanwhile: str  # with {key}

    def run_kind(self) -> RunKind:
        return RunKind(StagedImportRow.__table__, partial(roll_forward, self))


def staged_from(uow: UnitOfWork) -> int | None:
    return STAGED_FROM[uow.session_dialect()]


async def write_staged(
    uow: UnitOfWork,
    kind: CatalogueKind,
    planned: Iterable[Staged],
    records: int,
    actor: Actor,
    progress: ImportProgress,
) -> Settled:
    """Stage the planned writes (in step order) and commit the run; then write them into the shop, in chunks.

    Raises ImportRejected, writing nothing, if another writer added one of the file's keys before the commit.
    """
    table = StagedImportRow.__table__
    run_id = await begin_run(uow, kind.name, actor)
    # Staged rows and their decoded payloads outlive a chunk's awaits, so they kept setting off the collector's full
    # passes, each walking every object the import holds (the whole file's records): about 3 s of the 10 s a
    # 100,000-row products import took. Only a batch of STAGED_FROM rows or more comes here: the command-line
    # import's own process, or a merchant API batch that large, whose process's other tasks run meanwhile.
    with collector_paused():
        try:
            counted = await _stage(uow, kind, run_id, planned, progress)
            await _commit(uow, kind, run_id)
        except BaseException:
            await discard(uow, run_id, table)
            raise
        progress.rows_written(records - counted)  # the file's rows that change nothing
        settled = await roll_forward(kind, uow, run_id, actor)
    await discard(uow, run_id, table)
    return settled


async def _stage(
    uow: UnitOfWork, kind: CatalogueKind, run_id: int, planned: Iterable[Staged], progress: ImportProgress
) -> int:
    """The planned writes into the staging table, STAGE_CHUNK per transaction: how many of the file's rows."""
    counted = 0
    for chunk in chunks(planned, STAGE_CHUNK):
        rows = [(run_id, given.step, given.row, given.adds, given.payload) for given in chunk]
        await stage(uow, run_id, StagedImportRow.__table__, _COLUMNS, rows)
        written = sum(1 for given in chunk if given.step == kind.counted_step)
        progress.rows_written(written)
        counted += written
    return counted


async def _commit(uow: UnitOfWork, kind: CatalogueKind, run_id: int) -> None:
    """From here the run goes into the shop whole; ImportRejected if another writer added one of its keys."""
    now = uow.clock.now()
    staged = StagedImportRow.__table__
    async with uow:
        session = uow.session
        before_first = select(func.min(staged.c.id) - 1).where(staged.c.run_id == run_id).scalar_subquery()
        if not await renew(session, run_id, now, moved_at=now, moved_through=before_first):
            raise RunTakenOver("the import was taken for dead and its rows discarded; import the file again")
        clashes = (
            await session.execute(
                select(staged.c.row, staged.c.adds)
                .where(staged.c.run_id == run_id, staged.c.adds.is_not(None), exists().where(kind.added_to == staged.c.adds))
                .order_by(staged.c.id)
            )
        ).all()
        if clashes:
            raise ImportRejected([
                RowProblem(row, kind.added_to.key, kind.added_meanwhile.format(key=key)) for row, key in clashes
            ])
        await uow.commit()


async def roll_forward(kind: CatalogueKind, uow: UnitOfWork, run_id: int, actor: Actor) -> Settled:
    """Write the committed run's staged rows into the shop from where it got, a chunk of one step per transaction."""
    settled = Settled()
    while (done := await _write_chunk(uow, kind, run_id)) is not None:
        settled.allocations += done.allocations
        settled.eta_moves += done.eta_moves
        await uow.let_others_write()
    return settled


async def _write_chunk(uow: UnitOfWork, kind: CatalogueKind, run_id: int) -> Settled | None:
    """The run's next chunk of staged rows (of one step) into the shop, in one transaction; None once all are in."""
    staged = StagedImportRow.__table__
    async with uow:
        session = uow.session
        run = await renewed_run(session, run_id, uow.clock.now())  # locks the run's row: one writer at a time
        ours = (staged.c.run_id == run_id) & (staged.c.id > run.moved_through)
        step = (await session.execute(select(staged.c.step).where(ours).order_by(staged.c.id).limit(1))).scalar()
        if step is None:
            return None
        size = kind.steps[step].per_transaction[uow.session_dialect()]
        rows = (
            await session.execute(
                select(staged.c.id, staged.c.payload).where(ours, staged.c.step == step).order_by(staged.c.id).limit(size)
            )
        ).all()
        actor = Actor(ActorType(run.actor_type), run.actor_id)
        done = await kind.steps[step].write(uow, actor, run.moved_at, [payload for _, payload in rows])
        await renew(session, run_id, uow.clock.now(), moved_through=rows[-1].id)
        await uow.commit()
    return done or Settled()


# Steps both importers have.


def supplier_names(step: int, names: Iterable[str]) -> Iterator[Staged]:
    """The suppliers a file names, staged to be added first if the shop has none of that name yet."""
    return (Staged(step, 0, name) for name in sorted(set(names)))


async def write_suppliers(uow: UnitOfWork, actor: Actor, now: datetime, names: list[str]) -> None:
    await supplier_ids_by_name(uow.session, names, actor, now)


def settling(step: int, allocated: Iterable[int], reasons: Mapping[int, str]) -> Iterator[Staged]:
    """The SKUs (product ids) to allocate stock to in queue order, and those to recompute ETAs of, with the reason."""
    allocating = set(allocated)
    for product_id in sorted(allocating | set(reasons)):
        yield Staged(step, 0, [product_id, product_id in allocating, reasons.get(product_id)])


async def write_settling(uow: UnitOfWork, actor: Actor, now: datetime, skus: list[Any]) -> Settled:
    """Allocate the SKUs' stock, recompute their ETAs for their reasons, and tell the customers concerned."""
    session = uow.session
    allocations = await allocate_stock_of(session, uow.clock, actor, [sku for sku, allocate, _ in skus if allocate])
    reasons = {sku: reason for sku, _, reason in skus if reason}
    moves = await recompute_for_reasons(session, uow.clock, uow.policy, reasons)
    await notify_stock_and_eta_changes(uow, allocations, moves)
    return Settled(allocations, list(moves))


SETTLE_STEP = Step(write_settling, SETTLE_SKUS)
