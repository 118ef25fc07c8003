"""Jobs that must run in one process at a time, however many run the bot: a lease row per job, with takeover.

A process holds a job's lease while it renews it; one that dies stops renewing, and once the lease has run out
any other process takes the job over. The row also keeps the shop day the job last completed, so a daily job
runs once a day even when its holder changes in between. A plain row rather than a PostgreSQL advisory lock,
so SQLite behaves the same and nothing depends on keeping one connection open for the lease's whole life.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, or_, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.services.unit_of_work import UnitOfWork
from db.models import JobLease


@dataclass(frozen=True)
class HeldLease:
    """The caller holds the job's lease; the shop day the job last completed (None if never)."""

    last_run_on: date | None


async def hold_lease(uow: UnitOfWork, job: str, holder: str, lease: timedelta) -> HeldLease | None:
    """Take or renew `job`'s lease for `holder` for `lease` from now; None while another live process holds it."""
    async with uow.connection() as connection:
        now = uow.clock.now()
        row = (
            await uow.commit_with(
                _take_statement(connection.dialect.name),
                {"name": job, "holder": holder, "expires_at": now + lease, "now": now},
            )
        ).one_or_none()
    return None if row is None else HeldLease(row.last_run_on)


async def record_run(uow: UnitOfWork, job: str, holder: str, day: date) -> bool:
    """Note that `job` completed for `day`; False if `holder` lost the lease meanwhile (the note is not made)."""
    async with uow.connection():
        done = await uow.commit_with(_RECORD_RUN, {"job": job, "holder_id": holder, "day": day})
    return bool(done.rowcount)


async def release_lease(uow: UnitOfWork, job: str, holder: str) -> None:
    """Give the lease up now (a clean stop), so another process need not wait for it to run out."""
    async with uow.connection():
        await uow.commit_with(_RELEASE, {"job": job, "holder_id": holder, "now": uow.clock.now()})


@cache
def _take_statement(dialect_name: str) -> Any:
    insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    new = insert(JobLease).values(
        name=bindparam("name"), holder=bindparam("holder"), expires_at=bindparam("expires_at", type_=JobLease.expires_at.type)
    )
    # ON CONFLICT DO UPDATE locks the row and checks the WHERE on its latest version: of two processes
    # taking an expired lease at once, one gets it and the other's update does nothing.
    return new.on_conflict_do_update(
        index_elements=[JobLease.name],
        set_={JobLease.holder: new.excluded.holder, JobLease.expires_at: new.excluded.expires_at},
        where=or_(JobLease.holder == new.excluded.holder, JobLease.expires_at <= bindparam("now", type_=JobLease.expires_at.type)),
    ).returning(JobLease.last_run_on)


_RECORD_RUN = (
    update(JobLease)
    .where(JobLease.name == bindparam("job"), JobLease.holder == bindparam("holder_id"))
    .values(last_run_on=bindparam("day", type_=JobLease.last_run_on.type))
)
_RELEASE = (
    update(JobLease)
    .where(JobLease.name == bindparam("job"), JobLease.holder == bindparam("holder_id"))
    .values(expires_at=bindparam("now", type_=JobLease.expires_at.type))
)


async def drop_lease(uow: UnitOfWork, job: str, holder: str) -> None:
    """Give the lease up and forget the row: for short-lived jobs (one chat's updates) rather than daily ones."""
    async with uow.connection():
        await uow.commit_with(_DROP, {"job": job, "holder_id": holder})


_DROP = delete(JobLease).where(JobLease.name == bindparam("job"), JobLease.holder == bindparam("holder_id"))
