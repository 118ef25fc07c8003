"""How a store connection is doing, for `connect … --status` and the console: the connection, the last webhook,
the backfill, and anything failing with the store's own error message."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.services.connectors.backfill import BackfillState, backfill_states
from bot.services.connectors.connections import webhooks_still_off
from bot.services.unit_of_work import UnitOfWork
from db.models import (
    AuditEntry,
    StoreConnection,
    StoreConnectionStatus,
    StoreWebhook,
    StoreWebhookStatus,
    StoreWriteBack,
    StoreWriteBackStatus,
)

SHOWN_FAILURES = 10
DATA_REQUESTS_SHOWN_FOR = timedelta(days=30)  # Shopify expects the data within 30 days of the request


@dataclass(frozen=True)
class WriteBackProblem:
    order_number: str
    kind: str
    status: StoreWriteBackStatus
    attempts: int
    error: str | None
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class ConnectionStatus:
    id: int
    platform: str
    shop: str
    status: StoreConnectionStatus
    connected_at: datetime
    last_error: str | None
    last_error_at: datetime | None
    last_webhook_at: datetime | None
    last_sync_at: datetime | None
    settings: dict[str, object]
    backfills: list[BackfillState]
    webhooks: dict[str, int]  # by status
    write_backs: dict[str, int]  # by status
    problems: list[WriteBackProblem]  # retrying or failed, newest first
    failed_webhooks: list[tuple[str, str | None]]  # (topic, error), newest first
    data_requests: list[datetime]  # when customers asked the store for their data (last 30 days), newest first
    webhooks_off: list[str] = field(default_factory=list)  # turned off by the store, and it would not turn them on
    webhooks_off_error: str | None = None  # the store's answer to turning them on

    @property
    def given_up(self) -> int:
        """Write-backs that stopped retrying: the merchant can put them back in line."""
        return self.write_backs.get(StoreWriteBackStatus.FAILED.value, 0)

    @property
    def healthy(self) -> bool:
        return self.status is StoreConnectionStatus.ACTIVE and not self.problems and not self.failed_webhooks and not self.data_requests and not self.webhooks_off


async def connection_statuses(uow: UnitOfWork, platform: str | None = None) -> list[ConnectionStatus]:
    """Every connection (of the platform, when given), with its health."""
    async with uow.read_only():
        query = select(StoreConnection).order_by(StoreConnection.id)
        if platform is not None:
            query = query.where(StoreConnection.platform == platform)
        connections = [_Row(**{column: getattr(row, column) for column in _Row.__annotations__}) for row in (await uow.session.scalars(query)).all()]
    return [await _status(uow, connection) for connection in connections]


@dataclass(frozen=True)
class _Row:
    id: int
    platform: str
    shop: str
    status: StoreConnectionStatus
    created_at: datetime
    last_error: str | None
    last_error_at: datetime | None
    last_webhook_at: datetime | None
    last_sync_at: datetime | None
    settings: dict[str, object]


async def _status(uow: UnitOfWork, connection: "_Row") -> ConnectionStatus:
    backfills = await backfill_states(uow, connection.id)
    webhooks_off, webhooks_off_error = await webhooks_still_off(uow, connection.id) or ([], None)
    async with uow.read_only():
        session = uow.session
        webhooks = dict(
            (
                await session.execute(
                    select(StoreWebhook.status, func.count()).where(StoreWebhook.connection_id == connection.id).group_by(StoreWebhook.status)
                )
            ).all()
        )
        last_webhook_at = await session.scalar(
            select(func.max(StoreWebhook.received_at)).where(StoreWebhook.connection_id == connection.id)
        )
        write_backs = dict(
            (
                await session.execute(
                    select(StoreWriteBack.status, func.count())
                    .where(StoreWriteBack.connection_id == connection.id)
                    .group_by(StoreWriteBack.status)
                )
            ).all()
        )
        jobs = (
            await session.scalars(
                select(StoreWriteBack)
                .where(
                    StoreWriteBack.connection_id == connection.id,
                    (StoreWriteBack.status == StoreWriteBackStatus.FAILED)
                    | ((StoreWriteBack.status == StoreWriteBackStatus.PENDING) & StoreWriteBack.last_error.is_not(None)),
                )
                .order_by(StoreWriteBack.id.desc())
                .limit(SHOWN_FAILURES)
            )
        ).all()
        problems = [
            WriteBackProblem(
                job.order_number, job.kind, job.status, job.attempts, job.last_error,
                job.next_attempt_at if job.status is StoreWriteBackStatus.PENDING else None,
            )
            for job in jobs
        ]
        failed_webhooks = (
            await session.execute(
                select(StoreWebhook.topic, StoreWebhook.last_error)
                .where(
                    StoreWebhook.connection_id == connection.id,
                    (StoreWebhook.status == StoreWebhookStatus.FAILED)
                    | ((StoreWebhook.status == StoreWebhookStatus.PENDING) & StoreWebhook.last_error.is_not(None)),
                )
                .order_by(StoreWebhook.id.desc())
                .limit(SHOWN_FAILURES)
            )
        ).all()
        data_requests = list(
            (
                await session.scalars(
                    select(AuditEntry.at)
                    .where(
                        AuditEntry.action == "privacy.data_requested",
                        AuditEntry.entity_type == "store_connection",
                        AuditEntry.entity_id == str(connection.id),
                        AuditEntry.at >= uow.clock.now() - DATA_REQUESTS_SHOWN_FOR,
                    )
                    .order_by(AuditEntry.at.desc())
                )
            ).all()
        )
    return ConnectionStatus(
        id=connection.id,
        platform=connection.platform,
        shop=connection.shop,
        status=connection.status,
        connected_at=connection.created_at,
        last_error=connection.last_error,
        last_error_at=connection.last_error_at,
        last_webhook_at=max(filter(None, (last_webhook_at, connection.last_webhook_at)), default=None),
        last_sync_at=connection.last_sync_at,
        settings=dict(connection.settings),
        backfills=backfills,
        webhooks={str(status): count for status, count in webhooks.items()},
        write_backs={str(status): count for status, count in write_backs.items()},
        problems=problems,
        failed_webhooks=[(topic, error) for topic, error in failed_webhooks],
        data_requests=data_requests,
        webhooks_off=webhooks_off,
        webhooks_off_error=webhooks_off_error,
    )
