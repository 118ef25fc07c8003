"""The daily jobs run in one process at a time however many serve the bot, once a shop day, and another
process takes them over when the one running them dies."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.background import JOB_LEASE, run_daily_jobs_once_a_day
from bot.clock import ManualClock
from bot.composition import ChatDeps
from bot.config import Settings
from bot.services.job_leases import hold_lease, record_run, release_lease
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from db.engine import create_engine, create_session_factory

CHECK_EVERY = 0.01


@pytest.fixture
async def processes(engine: AsyncEngine, database_url: str, clock: ManualClock, policy: ShopPolicy) -> AsyncIterator[list[ChatDeps]]:
    """Three bot processes: each with its own engine and connections, the same database and time."""
    engines = [create_engine(database_url) for _ in range(3)]
    yield [ChatDeps(Settings(database_url=database_url), create_session_factory(e), clock, policy) for e in engines]
    for engine in engines:
        await engine.dispose()


class CountingJob:
    """Stands in for the daily jobs: counts its runs and which process made them."""

    def __init__(self) -> None:
        self.runs: list[str] = []

    def for_process(self, name: str):  # noqa: ANN201 - a job as background.py takes it
        async def job(deps: ChatDeps) -> None:
            self.runs.append(name)

        return job


async def settle(rounds: int = 30) -> None:
    for _ in range(rounds):
        await asyncio.sleep(CHECK_EVERY)


async def test_a_lease_is_held_by_one_process_until_it_runs_out(uow: UnitOfWork, clock: ManualClock) -> None:
    assert await hold_lease(uow, "daily-jobs", "a", timedelta(seconds=60)) is not None
    assert await hold_lease(uow, "daily-jobs", "b", timedelta(seconds=60)) is None
    assert await hold_lease(uow, "daily-jobs", "a", timedelta(seconds=60)) is not None  # renewed

    clock.advance(seconds=61)  # a stopped renewing: it died
    taken = await hold_lease(uow, "daily-jobs", "b", timedelta(seconds=60))
    assert taken is not None and taken.last_run_on is None
    # The old holder, back from a long pause, may not record a run it no longer holds the lease for.
    assert not await record_run(uow, "daily-jobs", "a", clock.today())
    assert await record_run(uow, "daily-jobs", "b", clock.today())
    assert await hold_lease(uow, "daily-jobs", "a", timedelta(seconds=60)) is None

    await release_lease(uow, "daily-jobs", "b")  # a clean stop hands it on at once
    handed_on = await hold_lease(uow, "daily-jobs", "a", timedelta(seconds=60))
    assert handed_on is not None and handed_on.last_run_on == clock.today()


async def test_three_processes_run_the_daily_jobs_once_a_day(processes: list[ChatDeps], clock: ManualClock) -> None:
    job = CountingJob()
    tasks = [
        asyncio.create_task(run_daily_jobs_once_a_day(deps, f"p{i}", job.for_process(f"p{i}"), check_every=CHECK_EVERY))
        for i, deps in enumerate(processes)
    ]
    try:
        await settle()
        assert len(job.runs) == 1

        clock.advance(days=1)
        await settle()
        assert len(job.runs) == 2, job.runs  # whichever process holds the lease now: once for the new day
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_another_process_takes_the_daily_jobs_over_when_their_holder_dies(
    processes: list[ChatDeps], clock: ManualClock
) -> None:
    # A process took the lease and was killed before it ran the jobs: nobody renews or releases it.
    assert await hold_lease(processes[0].uow(), "daily-jobs", "killed", JOB_LEASE) is not None
    job = CountingJob()
    survivor = asyncio.create_task(
        run_daily_jobs_once_a_day(processes[1], "survivor", job.for_process("survivor"), check_every=CHECK_EVERY)
    )
    try:
        await settle()
        assert job.runs == []  # the lease is still the dead process's

        clock.advance(seconds=JOB_LEASE.total_seconds() + 1)
        await settle()
        assert job.runs == ["survivor"]
    finally:
        survivor.cancel()
        await asyncio.gather(survivor, return_exceptions=True)


async def test_a_failed_run_is_tried_again_and_recorded_only_once_it_succeeds(
    processes: list[ChatDeps], clock: ManualClock
) -> None:
    attempts: list[int] = []

    async def flaky(deps: ChatDeps) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("the database went away")

    task = asyncio.create_task(run_daily_jobs_once_a_day(processes[0], "p0", flaky, check_every=CHECK_EVERY))
    try:
        await settle()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert len(attempts) == 2
    held = await hold_lease(processes[1].uow(), "daily-jobs", "p1", JOB_LEASE)
    assert held is not None and held.last_run_on == clock.today()  # released on stop, and today is done
