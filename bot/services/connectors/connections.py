"""A shop's store connection: saved when connecting, read by the jobs, marked failing or healthy as calls go."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import Actor, record
from bot.services.unit_of_work import UnitOfWork
from db.models import AuditEntry, StoreConnection, StoreConnectionStatus, StoreLink, StoreWebhook

MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class ConnectionConfig:
    """What an adapter is built from. `credentials` are secrets: never log or show them."""

    id: int
    platform: str
    shop: str
    credentials: dict[str, Any]
    settings: dict[str, Any]
    status: StoreConnectionStatus
    last_sync_at: datetime | None = None

    def same_store(self, other: "ConnectionConfig") -> bool:
        """Whether an adapter built for one serves the other (same store, credentials and settings)."""
        return (self.id, self.platform, self.shop, self.credentials, self.settings) == (
            other.id, other.platform, other.shop, other.credentials, other.settings
        )

    @property
    def refunds_by_hand(self) -> bool:
        return bool(self.settings.get("refunds_by_hand"))

    def __repr__(self) -> str:  # keeps the credentials out of logs and tracebacks
        return f"ConnectionConfig(id={self.id}, platform={self.platform!r}, shop={self.shop!r})"


async def save_connection(
    uow: UnitOfWork, platform: str, shop: str, credentials: dict[str, Any], settings: dict[str, Any], actor: Actor
) -> ConnectionConfig:
    """Create the connection to a store, or update its credentials and settings; audited without the secrets."""
    async with uow:
        session, now = uow.session, uow.clock.now()
        connection = (
            await session.execute(
                select(StoreConnection).where(StoreConnection.platform == platform, StoreConnection.shop == shop)
            )
        ).scalar_one_or_none()
        if connection is None:
            connection = StoreConnection(
                platform=platform, shop=shop, credentials=credentials, settings=settings,
                status=StoreConnectionStatus.ACTIVE, fanned_out_transaction=0, fanned_out_event=0, created_at=now,
                updated_at=now,
            )
            session.add(connection)
            await session.flush()
        else:
            connection.credentials, connection.settings, connection.updated_at = credentials, settings, now
            connection.status, connection.last_error = StoreConnectionStatus.ACTIVE, None
        record(session, actor, "store.connected", "store_connection", connection.id, at=now, platform=platform, shop=shop, settings=settings)
        await uow.commit()
        return _config(connection)


async def connection_config(uow: UnitOfWork, platform: str, shop: str | None = None) -> ConnectionConfig | None:
    """The platform's connection (of that shop, when given) that is not disconnected."""
    query = select(StoreConnection).where(
        StoreConnection.platform == platform, StoreConnection.status != StoreConnectionStatus.DISCONNECTED
    )
    if shop is not None:
        query = query.where(StoreConnection.shop == shop)
    async with uow.read_only():
        connection = (await uow.session.scalars(query.order_by(StoreConnection.id).limit(1))).first()
        return _config(connection) if connection is not None else None


async def connection_by_id(uow: UnitOfWork, connection_id: int) -> ConnectionConfig | None:
    async with uow.read_only():
        connection = await uow.session.get(StoreConnection, connection_id)
        return _config(connection) if connection is not None else None


async def live_connections(uow: UnitOfWork) -> list[ConnectionConfig]:
    """Every connection the background jobs serve."""
    async with uow.read_only():
        connections = await uow.session.scalars(
            select(StoreConnection)
            .where(StoreConnection.status != StoreConnectionStatus.DISCONNECTED)
            .order_by(StoreConnection.id)
        )
        return [_config(connection) for connection in connections]


async def note_store_health(uow: UnitOfWork, connection_id: int, error: str | None) -> None:
    """After a call to the store: failing with its error message, or healthy again."""
    async with uow:
        now = uow.clock.now()
        values: dict[str, Any] = (
            {"status": StoreConnectionStatus.ACTIVE}
            if error is None
            else {"status": StoreConnectionStatus.FAILING, "last_error": error[:MAX_ERROR_CHARS], "last_error_at": now}
        )
        await uow.session.execute(
            update(StoreConnection)
            .where(StoreConnection.id == connection_id, StoreConnection.status != StoreConnectionStatus.DISCONNECTED)
            .values(**values)
        )
        await uow.commit()


async def forget_shop(uow: UnitOfWork, connection_id: int, actor: Actor) -> None:
    """The shop asked to be forgotten: credentials, store ids and queued payloads go; orders stay (bookkeeping)."""
    async with uow:
        session, now = uow.session, uow.clock.now()
        connection = await session.get(StoreConnection, connection_id, with_for_update=True)
        if connection is None:
            return
        connection.credentials, connection.status, connection.updated_at = {}, StoreConnectionStatus.DISCONNECTED, now
        await session.execute(delete(StoreLink).where(StoreLink.connection_id == connection_id))
        await session.execute(
            update(StoreWebhook).where(StoreWebhook.connection_id == connection_id).values(payload=None)
        )
        record(session, actor, "store.forgotten", "store_connection", connection_id, at=now, shop=connection.shop)
        await uow.commit()


def _config(connection: StoreConnection) -> ConnectionConfig:
    return ConnectionConfig(
        connection.id, connection.platform, connection.shop, dict(connection.credentials), dict(connection.settings),
        connection.status, connection.last_sync_at,
    )


async def note_synced(uow: UnitOfWork, connection_id: int, until: datetime) -> None:
    """The store's changes up to `until` are applied (a reconcile's high-water mark)."""
    async with uow:
        await uow.session.execute(
            update(StoreConnection).where(StoreConnection.id == connection_id).values(last_sync_at=until)
        )
        await uow.commit()


WEBHOOKS_REVIVED = "store.webhooks_revived"
WEBHOOKS_STILL_OFF = "store.webhooks_still_off"


async def note_webhooks_checked(
    uow: UnitOfWork, connection_id: int, revived: list[str], still_off: list[str], error: str | None, actor: Actor
) -> None:
    """Audit webhooks the store had turned off: set active again, or still off (shown by --status until mended).

    A check that finds the same webhooks still off for the same reason as the last one adds nothing.
    """
    if not revived and not still_off and not await _webhooks_off(uow, connection_id):
        return
    async with uow:
        session, now = uow.session, uow.clock.now()
        last = await _last_webhook_check(session, connection_id)
        if still_off:
            details = {"topics": still_off, "error": (error or "")[:MAX_ERROR_CHARS]}
            if last != (WEBHOOKS_STILL_OFF, details):
                record(session, actor, WEBHOOKS_STILL_OFF, "store_connection", connection_id, at=now, **details)
        elif revived or (last is not None and last[0] == WEBHOOKS_STILL_OFF):
            record(session, actor, WEBHOOKS_REVIVED, "store_connection", connection_id, at=now, topics=revived)
        await uow.commit()


async def webhooks_still_off(uow: UnitOfWork, connection_id: int) -> tuple[list[str], str] | None:
    """The webhooks the last check found off and could not turn on, with the store's answer; None when all are on."""
    async with uow.read_only():
        last = await _last_webhook_check(uow.session, connection_id)
    if last is None or last[0] != WEBHOOKS_STILL_OFF:
        return None
    return list(last[1].get("topics", [])), str(last[1].get("error", ""))


async def _webhooks_off(uow: UnitOfWork, connection_id: int) -> bool:
    return await webhooks_still_off(uow, connection_id) is not None


async def _last_webhook_check(session: AsyncSession, connection_id: int) -> tuple[str, dict[str, Any]] | None:
    """The action and details of the connection's last audited webhook check."""
    row = (
        await session.execute(
            select(AuditEntry.action, AuditEntry.details)
            .where(
                AuditEntry.entity_type == "store_connection",
                AuditEntry.entity_id == str(connection_id),
                AuditEntry.action.in_([WEBHOOKS_REVIVED, WEBHOOKS_STILL_OFF]),
            )
            .order_by(AuditEntry.id.desc())
            .limit(1)
        )
    ).first()
    return (row[0], dict(row[1] or {})) if row is not None else None
