"""A whole store's file at once: thousands of rows checked, written as sets, allocated in queue order, all or
nothing — and a dry run that writes nothing at all."""

import asyncio
import io
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.jobs import TerminalProgress
from bot.services.audit import Actor
from bot.services.errors import ImportRejected, RowProblem
from bot.services.intake.csv_import import import_orders, import_products
from bot.services.unit_of_work import UnitOfWork
from db.migrate import upgrade
from db.models import AuditEntry, ImportRun, LineStatus, OrderLine
from tests.cli_runner import run_cli
from tests.row_counts import row_counts

Sessions = async_sessionmaker[AsyncSession]
MERCHANT = Actor.merchant("test")
SKUS = 40


def products_file() -> str:
    rows = [f"P-{n},Product {n},bench,{10 + n}.50,EUR,21,{n % 4 * 5}" for n in range(SKUS)]
    return "sku,name,category,price,currency,lead_time_days,available\n" + "\n".join(rows) + "\n"


def orders_file(orders: int, first_number: int = 100000, customer: str = "c") -> str:
    """Two lines per order, a customer for every three orders, placed over October in a shuffled order."""
    rows = ["order_number,placed_at,customer_email,customer_name,customer_phone,sku,quantity,unit_price,currency"]
    for n in range(orders):
        person = n % (orders // 3 + 1)
        for k in range(2):
            rows.append(
                f"{first_number + n},2026-10-{1 + (n * 7) % 28:02d}T10:{n % 60:02d}:00+01:00,"
                f"{customer}{person}@example.com,Customer {person},0151 2{person:07d},"
                f"P-{(n * 7 + k * 13) % SKUS},{1 + k},10.50,EUR"
            )
    return "\n".join(rows) + "\n"


async def test_a_bad_row_at_the_end_of_a_large_file_writes_nothing(uow: UnitOfWork, session_factory: Sessions) -> None:
    await import_products(uow, products_file(), MERCHANT)
    before = await row_counts(session_factory)
    text = orders_file(2500) + "999999,2026-10-01,z@example.com,Z,,P-1,lots,10.50,EUR\n"

    with pytest.raises(ImportRejected) as refusal:
        await import_orders(uow, text, MERCHANT, "DE")

    assert refusal.value.problems == (RowProblem(5002, "quantity", "'lots' is not a whole number"),)
    assert await row_counts(session_factory) == before


async def test_every_line_of_a_large_file_is_served_in_queue_order_or_waits_with_an_eta(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    await import_products(uow, products_file(), MERCHANT)

    result = await import_orders(uow, orders_file(2500), MERCHANT, "DE")

    assert (len(result.created), result.customers_created) == (2500, 834)
    async with session_factory() as session:
        queue = (
            await session.execute(
                select(OrderLine.product_id, OrderLine.status, OrderLine.eta).order_by(
                    OrderLine.product_id, OrderLine.queued_at, OrderLine.id
                )
            )
        ).all()
        audited = len((await session.execute(select(AuditEntry).where(AuditEntry.action == "order.imported"))).all())
    assert (len(queue), audited) == (5000, 2500)
    served_after_waiting: list[int] = []
    waiting_seen: set[int] = set()
    for product_id, status, eta in queue:
        if status == LineStatus.BACKORDERED:
            assert eta is not None
            waiting_seen.add(product_id)
        elif product_id in waiting_seen and status == LineStatus.ALLOCATED:
            served_after_waiting.append(product_id)
    assert served_after_waiting == []  # stock went to the front of each SKU's queue
    allocated = sum(change.allocated_now for change in result.allocations)
    assert allocated == sum(n % 4 * 5 for n in range(SKUS))  # every SKU's stock was handed out


async def test_a_large_file_imported_again_changes_nothing(uow: UnitOfWork, session_factory: Sessions) -> None:
    await import_products(uow, products_file(), MERCHANT)
    text = orders_file(2500)
    await import_orders(uow, text, MERCHANT, "DE")
    before = await row_counts(session_factory)

    again = await import_orders(uow, text, MERCHANT, "DE")

    assert not again.changed and len(again.unchanged) == 2500
    assert await row_counts(session_factory) == before


async def test_a_dry_run_reports_what_would_change_and_writes_nothing(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    await import_products(uow, products_file(), MERCHANT)
    before = await row_counts(session_factory)

    result = await import_orders(uow, orders_file(300), MERCHANT, "DE", dry_run=True)

    assert (len(result.created), result.customers_created) == (300, 101)
    assert result.allocations and result.eta_moves
    assert await row_counts(session_factory) == before


def test_the_import_command_checks_a_file_without_writing_with_dry_run(
    cli_database: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    upgrade(cli_database)
    (tmp_path / "products.csv").write_text(products_file())

    code = run_cli("import", "products", str(tmp_path / "products.csv"), "--dry-run")
    repeated = run_cli("import", "products", str(tmp_path / "products.csv"), "--dry-run")

    out = capsys.readouterr().out
    assert (code, repeated) == (0, 0)
    assert out.count(f"Dry run, nothing was written. products.csv: products {SKUS} created.") == 2


def test_the_import_command_lists_the_first_hundred_problems_and_the_total(
    cli_database: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    upgrade(cli_database)
    rows = [f"P-{n},Product {n},bench,free,EUR,21" for n in range(250)]
    (tmp_path / "products.csv").write_text("sku,name,category,price,currency,lead_time_days\n" + "\n".join(rows))

    assert run_cli("import", "products", str(tmp_path / "products.csv")) == 1

    err = capsys.readouterr().err
    assert "250 problem(s) in 250 row(s)" in err
    assert "row 101, price" in err and "row 102, price" not in err
    assert "… and 150 more problem(s)" in err


async def test_a_killed_import_leaves_nothing_half_written(
    database_url: str, session_factory: Sessions, tmp_path: Path
) -> None:
    await _run_cli(database_url, tmp_path, "import", "products", _write(tmp_path / "products.csv", products_file()))
    # How long an import of this size takes on this machine, now (other order numbers and customers, so it
    # leaves the file below new), so the kill lands halfway on a fast machine or a slow one.
    earlier = _write(tmp_path / "earlier.csv", orders_file(10000, first_number=700000, customer="earlier-c"))
    started = time.monotonic()
    await _run_cli(database_url, tmp_path, "import", "orders", earlier)
    whole_import = time.monotonic() - started
    before = await row_counts(session_factory)
    orders = _write(tmp_path / "orders.csv", orders_file(10000))

    importing = await asyncio.create_subprocess_exec(
        *_cli_command("import", "orders", orders), env=os.environ | {"DATABASE_URL": database_url}, cwd=tmp_path
    )
    await asyncio.sleep(whole_import / 2)
    importing.send_signal(signal.SIGKILL)
    await importing.wait()

    assert importing.returncode == -signal.SIGKILL, "the import finished before it could be killed"
    # Killed before its run was committed, the shop is as it was; after, part or all of the file is in, and the
    # committed run waits in the staging table: the next import clears an uncommitted one's rows, and finishes a
    # committed one.
    killed = await row_counts(session_factory)
    added = [killed[table] - before[table] for table in ("orders", "order_lines", "customers")]
    async with session_factory() as session:
        committed = (await session.execute(select(ImportRun.id).where(ImportRun.moved_at.is_not(None)))).first()
    assert added in ([0, 0, 0], [10000, 20000, 3334]) or committed is not None
    await _run_cli(database_url, tmp_path, "import", "orders", orders)
    after = await row_counts(session_factory)
    assert [after[table] - before[table] for table in ("orders", "order_lines", "customers")] == [10000, 20000, 3334]
    assert [after["import_runs"], after["staged_order_lines"]] == [0, 0]
    async with session_factory() as session:
        unsettled = await session.execute(
            select(OrderLine.id).where(OrderLine.status != LineStatus.ALLOCATED, OrderLine.eta.is_(None)).limit(1)
        )
        assert unsettled.first() is None, "a waiting line has no ETA"


async def _run_cli(database_url: str, tmp_path: Path, *argv: str) -> None:
    command = await asyncio.create_subprocess_exec(
        *_cli_command(*argv),
        env=os.environ | {"DATABASE_URL": database_url},
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
    )
    assert await command.wait() == 0


def _cli_command(*argv: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from bot.cli import main; main(sys.argv[1:])", *argv]


def _write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_a_long_import_shows_its_progress_on_a_terminal_and_nothing_elsewhere(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    await import_products(uow, products_file(), MERCHANT)
    text = orders_file(3000)
    terminal, pipe = Terminal(), io.StringIO()

    with TerminalProgress.for_file(text, terminal) as progress:
        await import_orders(uow, text, MERCHANT, "DE", dry_run=True, progress=progress)
    with TerminalProgress.for_file(text, pipe) as quiet:
        await import_orders(uow, text, MERCHANT, "DE", progress=quiet)

    drawn = terminal.getvalue()
    assert "checking rows" in drawn and "writing" in drawn and "/12000" in drawn
    assert pipe.getvalue() == ""
