"""The `backorder-bot` jobs that load data: the demo store and a merchant's CSV exports.

Each job prints a short summary and returns the process exit code: 0 done, 1 refused (the reasons on stderr).
"""

import sys
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

from bot.config import Settings
from bot.services.audit import Actor
from bot.services.errors import LISTED_PROBLEMS, DomainError, ImportRejected
from bot.services.intake.csv_import import (
    ImportResult,
    ShipmentImport,
    import_orders,
    import_products,
    import_purchase_orders,
    import_shipments,
)
from bot.services.intake.demo_store import DemoSummary, seed_demo_store
from bot.services.intake.import_records import ImportProgress, NoProgress
from bot.services.unit_of_work import UnitOfWork
from bot.wiring import unit_of_work

IMPORT_ACTOR = Actor.merchant("csv-import")
_NOUNS = {"products": "products", "orders": "orders", "purchase-orders": "purchase orders"}


async def seed_demo(settings: Settings) -> int:
    """Load the demo store into an empty database; a second run says so and changes nothing."""
    async with unit_of_work(settings) as uow:
        try:
            summary = await seed_demo_store(uow)
        except DomainError as refused:
            print(refused.message, file=sys.stderr)
            return 1
    print(describe_demo(summary))
    return 0


async def import_csv(settings: Settings, kind: str, path: Path, *, dry_run: bool = False) -> int:
    """Import one CSV export of `kind` (products, orders, purchase-orders, shipments); all of it or none.

    With `dry_run`, the file is checked and what it would change is reported; nothing is written.
    """
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as unreadable:
        print(f"Cannot read {path}: {unreadable.strerror or unreadable}.", file=sys.stderr)
        return 1
    except UnicodeDecodeError as bad:
        line = bad.object[: bad.start].count(b"\n") + 1
        print(
            f"{path} is not UTF-8 text (first odd byte on line {line}). Save it as \"CSV UTF-8\" and import it again.",
            file=sys.stderr,
        )
        return 1
    async with unit_of_work(settings) as uow:
        with TerminalProgress.for_file(text) as progress:
            try:
                if kind == "shipments":
                    shipments = await import_shipments(uow, text, IMPORT_ACTOR, dry_run=dry_run)
                    summary = describe_shipments(path, shipments)
                else:
                    summary = describe_import(path, await _import(uow, kind, text, settings, dry_run, progress))
            except ImportRejected as rejected:
                progress.close()
                print(describe_rejection(path, rejected), file=sys.stderr)
                return 1
    print(("Dry run, nothing was written. " if dry_run else "") + summary)
    return 0


async def _import(
    uow: UnitOfWork, kind: str, text: str, settings: Settings, dry_run: bool, progress: ImportProgress
) -> ImportResult:
    options = {"dry_run": dry_run, "progress": progress}
    if kind == "products":
        return await import_products(uow, text, IMPORT_ACTOR, **options)
    if kind == "orders":
        return await import_orders(uow, text, IMPORT_ACTOR, settings.default_phone_region, **options)
    if kind == "purchase-orders":
        return await import_purchase_orders(uow, text, IMPORT_ACTOR, **options)
    raise ValueError(f"unknown import kind {kind!r}")


class TerminalProgress:
    """A progress bar on stderr for an import of many rows (rows checked, then written, and the time left);
    silent unless stderr is a terminal, so logs and pipes get only the summary."""

    SMALL_FILE = 5000  # rows: checked and written in a moment, a bar would only flicker

    def __init__(self, rows: int, stream: TextIO) -> None:
        self._rows = rows
        self._bar = tqdm(total=2 * rows, desc="checking rows", unit=" rows", file=stream, leave=False)

    @classmethod
    def for_file(cls, text: str, stream: TextIO | None = None) -> "TerminalProgress | _Quiet":
        stream = stream or sys.stderr
        rows = max(text.rstrip("\n").count("\n"), 0)  # data rows: lines after the header
        return cls(rows, stream) if stream.isatty() and rows >= cls.SMALL_FILE else _Quiet()

    def rows_checked(self, count: int) -> None:
        self._bar.update(count)

    def rows_written(self, count: int) -> None:
        if self._bar.desc != "writing":
            self._bar.set_description("writing")
            self._bar.n = self._rows
        self._bar.update(count)

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> "TerminalProgress":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class _Quiet(NoProgress):
    def close(self) -> None:
        pass

    def __enter__(self) -> "_Quiet":
        return self

    def __exit__(self, *_: object) -> None:
        pass


def describe_import(path: Path, result: ImportResult) -> str:
    noun = _NOUNS[result.kind]
    if not (result.changed or result.unchanged):
        return f"{path.name}: the file has no {noun} in it; nothing changed."
    if not result.changed:
        return f"{path.name}: nothing changed; all {len(result.unchanged)} {noun} were already up to date."
    counts = [
        f"{len(keys)} {label}"
        for keys, label in (
            (result.created, "created"),
            (result.updated, "updated"),
            (result.cancelled, "cancelled"),
            (result.unchanged, "unchanged"),
        )
        if keys
    ]
    effects = []
    if result.customers_created:
        effects.append(_count(result.customers_created, "new customer"))
    if result.allocations:
        allocated = sum(change.allocated_now for change in result.allocations)
        effects.append(_count(allocated, "unit") + " allocated from stock")
    if result.eta_moves:
        effects.append(_count(len(result.eta_moves), "ETA") + " set or moved")
    return f"{path.name}: {noun} {', '.join(counts)}." + (f" Also: {'; '.join(effects)}." if effects else "")


def describe_shipments(path: Path, result: ShipmentImport) -> str:
    if not (result.recorded or result.repeated):
        return f"{path.name}: the file has no shipments in it; nothing changed."
    if not result.recorded:
        return f"{path.name}: nothing changed; all {_count(len(result.repeated), 'shipment')} had been recorded before."
    units = sum(line.quantity for shipment in result.recorded for line in shipment.lines)
    text = f"{path.name}: {_count(len(result.recorded), 'shipment')} recorded ({_count(units, 'unit')} shipped)."
    if result.repeated:
        text += f" {_count(len(result.repeated), 'shipment')} had been recorded before and did not change."
    return text


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def describe_rejection(path: Path, rejected: ImportRejected) -> str:
    rows = sorted({problem.row for problem in rejected.problems})
    lines = [
        f"{path.name} was not imported and nothing was changed: {len(rejected.problems)} problem(s) in"
        f" {len(rows)} row(s). Row 1 is the header."
    ]
    for problem in rejected.problems[:LISTED_PROBLEMS]:
        where = f"row {problem.row}, {problem.field}" if problem.field else f"row {problem.row}"
        lines.append(f"  {where}: {problem.reason}")
    if len(rejected.problems) > LISTED_PROBLEMS:
        lines.append(f"  … and {len(rejected.problems) - LISTED_PROBLEMS} more problem(s); fix these and import again.")
    return "\n".join(lines)


def describe_demo(summary: DemoSummary) -> str:
    if not summary.created:
        return "The demo store is already loaded; nothing changed."
    return (
        f"Demo store loaded: {summary.products} products, {summary.customers} customers, {summary.orders} orders"
        f" ({summary.waiting_lines} items waiting), {summary.purchase_orders} open purchase orders."
        f" Try it as {summary.try_as} (see README, \"Demo store\")."
    )
