"""The `backorder-bot connect` jobs: connect an online store (check the credentials, register the webhooks, load
products, open orders and stock with a progress bar), or show how a connection is doing (`--status`).

Each returns the process exit code: 0 done, 1 refused or the store unreachable (the reason on stderr).
"""

import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

from tqdm import tqdm

from bot.config import Settings
from bot.connectors.backfill_run import run_backfill
from bot.connectors.registry import platform
from bot.services.audit import Actor
from bot.services.connectors import (
    ConnectionConfig,
    ConnectionStatus,
    SyncReport,
    connection_statuses,
    retry_failed_write_backs,
    save_connection,
)
from bot.services.connectors.store_records import StoreRefused, StoreUnavailable
from bot.wiring import unit_of_work
from db.models import StoreConnectionStatus

CLI_ACTOR = Actor.merchant("cli")
WEBHOOK_PATH = "/connectors/{platform}/webhooks"


@dataclass(frozen=True)
class NewConnection:
    """What the command line says about the store to connect; `credentials` are secrets."""

    platform: str
    shop: str
    credentials: dict[str, Any]
    settings: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"NewConnection(platform={self.platform!r}, shop={self.shop!r})"


async def connect_store(settings: Settings, new: NewConnection, public_url: str, *, stream: TextIO | None = None) -> int:
    """Check the credentials, save the connection, register the webhooks and run (or resume) the backfill."""
    out = stream or sys.stderr
    found = platform(new.platform)
    draft = ConnectionConfig(0, new.platform, new.shop, new.credentials, new.settings, StoreConnectionStatus.ACTIVE)
    adapter = found.adapter(draft)
    stage = "Not connected"
    try:
        identity = await adapter.check_credentials()
        stage = "Connected, then stopped"
        print(f"Connected to {identity.name} ({identity.shop}, {identity.currency}).", file=out)
        async with unit_of_work(settings) as uow:
            options = {**new.settings, **identity.settings, "currency": identity.currency}
            config = await save_connection(uow, new.platform, new.shop, new.credentials, options, CLI_ACTOR)
            adapter = await _rebuilt(adapter, found.adapter, config)
            if public_url:
                address = public_url.rstrip("/") + WEBHOOK_PATH.format(platform=new.platform)
                topics = await adapter.register_webhooks(address)
                print(f"Webhooks registered at {address}: {', '.join(topics)}.", file=out)
            else:
                print(
                    "No PUBLIC_URL (or --public-url) given: webhooks are not registered, so the store's changes only"
                    " arrive with the periodic reconcile. Run connect again with it.",
                    file=out,
                )
            with TerminalBackfillProgress(out) as progress:
                report = await run_backfill(uow, adapter, config, progress)
        print(describe_report(report), file=out)
        return 0
    except StoreRefused as refused:
        print(f"{stage}: {refused.message}", file=sys.stderr)
        return 1
    except StoreUnavailable as down:
        print(
            f"{stage}: the store could not be reached ({down.message}). Run the command again: it carries on where"
            " it stopped.",
            file=sys.stderr,
        )
        return 1
    finally:
        await adapter.aclose()


async def _rebuilt(adapter: Any, build: Any, config: ConnectionConfig) -> Any:
    """The adapter again for the saved connection (it has an id now)."""
    await adapter.aclose()
    return build(config)


def describe_report(report: SyncReport) -> str:
    counts = ", ".join(f"{count} {what}" for what, count in sorted(report.counts.items())) or "nothing changed"
    lines = [f"Backfill done: {counts}."]
    shown = report.problems[:20]
    lines += [f"  - {problem}" for problem in shown]
    if len(report.problems) > len(shown):
        lines.append(f"  … and {len(report.problems) - len(shown)} more")
    return "\n".join(lines)


class TerminalBackfillProgress:
    """A progress bar per resource on a terminal; on a pipe or log, a line per resource when it is done."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._bars: dict[str, tqdm] = {}  # type: ignore[type-arg]
        self._tty = stream.isatty()

    def page_done(self, resource: str, done: int, total: int | None) -> None:
        if not self._tty:
            return
        bar = self._bars.get(resource)
        if bar is None:
            bar = self._bars[resource] = tqdm(total=total, desc=resource, unit=f" {resource}", file=self._stream)
        if total is not None:
            bar.total = total
        bar.update(done - bar.n)

    def __enter__(self) -> "TerminalBackfillProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        for bar in self._bars.values():
            bar.close()


async def print_status(settings: Settings, platform_name: str, *, stream: TextIO | None = None) -> int:
    """Print the platform's connections: health, last webhook, backfill, write-backs and what is failing."""
    out = stream or sys.stdout
    async with unit_of_work(settings) as uow:
        statuses = await connection_statuses(uow, platform_name)
    if not statuses:
        print(f"No {platform_name} store is connected; `backorder-bot connect {platform_name} --help` says how.", file=out)
        return 1
    for status in statuses:
        print(describe_status(status), file=out)
    return 0


async def retry_failed(settings: Settings, platform_name: str, *, stream: TextIO | None = None) -> int:
    """Put the platform's given-up write-backs back in line, after the merchant mended what the store refused."""
    out = stream or sys.stdout
    async with unit_of_work(settings) as uow:
        statuses = await connection_statuses(uow, platform_name)
        if not statuses:
            print(f"No {platform_name} store is connected; `backorder-bot connect {platform_name} --help` says how.", file=out)
            return 1
        for status in statuses:
            queued = await retry_failed_write_backs(uow, status.id, CLI_ACTOR)
            print(
                f"{status.platform} store {status.shop}: "
                + (f"{queued} change(s) that had given up are queued again; `serve` writes them back to the store."
                   if queued else "no write-back had given up."),
                file=out,
            )
    return 0


def describe_status(status: ConnectionStatus) -> str:
    """The connection as `--status` and the console show it, in plain lines."""
    when = lambda at: at.strftime("%Y-%m-%d %H:%M UTC") if at else "never"  # noqa: E731
    lines = [
        f"{status.platform} store {status.shop}: {status.status.value}"
        + (f" — last error {when(status.last_error_at)}: {status.last_error}" if status.status is not StoreConnectionStatus.ACTIVE and status.last_error else ""),
        f"  connected {when(status.connected_at)}; last webhook {when(status.last_webhook_at)};"
        f" last reconcile {when(status.last_sync_at)}; refunds {'by hand' if status.settings.get('refunds_by_hand') else 'in the store'}",
    ]
    for backfill in status.backfills:
        of = f" of {backfill.total}" if backfill.total is not None else ""
        lines.append(f"  backfill {backfill.resource}: {backfill.done}{of}, {'done' if backfill.finished else 'interrupted (run connect again to resume)'}")
    lines.append("  webhooks: " + (", ".join(f"{count} {state}" for state, count in sorted(status.webhooks.items())) or "none yet"))
    lines.append("  write-backs: " + (", ".join(f"{count} {state}" for state, count in sorted(status.write_backs.items())) or "none yet"))
    for problem in status.problems:
        retry = f", next try {when(problem.next_attempt_at)}" if problem.next_attempt_at else ""
        lines.append(f"  ! {problem.kind} of order {problem.order_number} {problem.status.value} after {problem.attempts} attempt(s){retry}: {problem.error}")
    if status.given_up:
        lines.append(
            f"  ! {status.given_up} write-back(s) gave up: once the store takes them, queue them again with"
            f" `backorder-bot connect {status.platform} --retry-failed`"
        )
    if status.webhooks_off:
        lines.append(
            f"  ! the store turned off the webhooks {', '.join(status.webhooks_off)} after failed deliveries and did not"
            f" take them back ({status.webhooks_off_error}): until they are active again in the store, only the"
            " reconcile brings its changes in"
        )
    for topic, error in status.failed_webhooks:
        lines.append(f"  ! webhook {topic}: {error}")
    for asked in status.data_requests:
        lines.append(
            f"  ! a customer asked the store for their data on {when(asked)}: answer with"
            " `backorder-bot customer export --email ADDRESS` (the address is in the store's request)"
        )
    return "\n".join(lines)
