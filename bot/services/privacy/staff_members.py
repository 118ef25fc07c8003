"""The shop's own people (merchants in MERCHANT_USER_IDS, agents in the support group), known by their Telegram
id: what is stored about them, exported or erased on request.

Their trace is their Telegram id and the actor names built from it (`agent:ID`, `merchant:telegram:ID`): on
tickets they took or closed, relays they wrote, canned replies, broadcasts, audit entries, messages the bot
sent them and their own chat state. STAFF_COLUMNS (personal_data.py) lists those columns; erasure replaces
them by a value that names no one and keeps what was done, so the shop stays accountable for it.
"""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from bot.services.audit import Actor, record
from bot.services.merchant_access.api_tokens import TELEGRAM_CONSOLE_ROLES, telegram_console_token_name
from bot.services.privacy.customer_export import EXPORT_FORMAT, plain_value
from bot.services.privacy.personal_data import PERSONAL_DETAIL_KEYS, STAFF_COLUMNS
from bot.services.privacy.subjects import PersonNotFound
from bot.services.unit_of_work import UnitOfWork
from db.models import (
    ActorType,
    ApiToken,
    AuditEntry,
    Broadcast,
    CannedReply,
    LinkAttempt,
    OutboxMessage,
    OutboxStatus,
    TelegramUser,
    Ticket,
    TicketMessage,
)

ERASED = "erased"  # what an erased person's id becomes where a text names them


@dataclass(frozen=True)
class StaffErasureResult:
    """What erasure changed, per table; `erased` is False when nothing (left) named the person."""

    erased: bool
    changed: dict[str, int] = field(default_factory=dict)


def _actor_names(telegram_user_id: int) -> list[str]:
    """How tickets and broadcasts write an agent or a merchant in the chat as the one who acted."""
    return [f"agent:{telegram_user_id}", f"merchant:telegram:{telegram_user_id}"]


def _rows(telegram_user_id: int) -> dict[type, ColumnElement[bool]]:
    """Per table of STAFF_COLUMNS: the rows that name the person."""
    names = _actor_names(telegram_user_id)
    return {
        TelegramUser: TelegramUser.telegram_user_id == telegram_user_id,
        LinkAttempt: LinkAttempt.telegram_user_id == telegram_user_id,
        AuditEntry: or_(
            and_(AuditEntry.actor_type == ActorType.AGENT, AuditEntry.actor_id == str(telegram_user_id)),
            and_(AuditEntry.actor_type == ActorType.MERCHANT, AuditEntry.actor_id == f"telegram:{telegram_user_id}"),
        ),
        Ticket: or_(Ticket.assignee_telegram_id == telegram_user_id, Ticket.closed_by.in_(names)),
        TicketMessage: TicketMessage.author_telegram_id == telegram_user_id,
        CannedReply: CannedReply.created_by == telegram_user_id,
        Broadcast: or_(Broadcast.created_by.in_(names), Broadcast.progress_chat_id == telegram_user_id),
        OutboxMessage: OutboxMessage.chat_id == telegram_user_id,  # a private chat's id is its user's
        ApiToken: ApiToken.name.in_([telegram_console_token_name(role, telegram_user_id) for role in TELEGRAM_CONSOLE_ROLES]),
    }


async def export_staff_member(uow: UnitOfWork, telegram_user_id: int) -> dict[str, Any]:
    """One document with what is stored about the person, a section per table; PersonNotFound if nothing is."""
    async with uow.read_only():
        sections: dict[str, list[dict[str, Any]]] = {}
        for model, where in _rows(telegram_user_id).items():
            table = model.__tablename__
            columns = [model.__table__.c[name] for name in STAFF_COLUMNS[table]]
            found = await uow.session.execute(
                select(*columns).where(where).order_by(*model.__table__.primary_key.columns)
            )
            sections[table] = [{key: plain_value(value) for key, value in row._mapping.items()} for row in found]
        if not any(sections.values()):
            raise PersonNotFound()
        return {"format": EXPORT_FORMAT, "exported_at": uow.clock.now().isoformat(), "data": sections}


async def erase_staff_member(uow: UnitOfWork, telegram_user_id: int, actor: Actor) -> StaffErasureResult:
    """Remove the person's Telegram id and name from everything stored, keeping what was done; idempotent."""
    rows = _rows(telegram_user_id)
    async with uow:
        session = uow.session
        changed: dict[str, int] = {}
        for model in (TelegramUser, LinkAttempt):
            changed[model.__tablename__] = (await session.execute(delete(model).where(rows[model]))).rowcount
        names = _actor_names(telegram_user_id)
        statements = {
            "outbox_messages": [
                update(OutboxMessage)
                .where(rows[OutboxMessage], OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
                .values(status=OutboxStatus.CANCELLED, lease_expires_at=None, worker_id=None),
                update(OutboxMessage).where(rows[OutboxMessage]).values(chat_id=0, params={}, last_error=None),
            ],
            "tickets": [
                update(Ticket).where(Ticket.assignee_telegram_id == telegram_user_id).values(assignee_telegram_id=None),
                update(Ticket).where(Ticket.closed_by.in_(names)).values(closed_by=f"agent:{ERASED}"),
            ],
            "ticket_messages": [update(TicketMessage).where(rows[TicketMessage]).values(author_telegram_id=0)],
            "api_tokens": [
                update(ApiToken)
                .where(rows[ApiToken])
                .values(
                    name=func.replace(ApiToken.name, str(telegram_user_id), ERASED),
                    revoked_at=func.coalesce(ApiToken.revoked_at, uow.clock.now()),
                )
            ],
            "canned_replies": [update(CannedReply).where(rows[CannedReply]).values(created_by=0)],
            "broadcasts": [
                update(Broadcast).where(Broadcast.created_by.in_(names)).values(created_by=f"merchant:{ERASED}"),
                update(Broadcast)
                .where(Broadcast.progress_chat_id == telegram_user_id)
                .values(progress_chat_id=None, progress_message_id=None),
            ],
        }
        for table, table_statements in statements.items():
            for statement in table_statements:
                changed[table] = changed.get(table, 0) + (await session.execute(statement)).rowcount
        entries = list(await session.scalars(select(AuditEntry).where(rows[AuditEntry])))
        for entry in entries:
            entry.actor_id = ERASED if entry.actor_type == ActorType.AGENT else f"telegram:{ERASED}"
            entry.details = {key: value for key, value in entry.details.items() if key not in PERSONAL_DETAIL_KEYS}
        changed["audit_log"] = len(entries)
        if not any(changed.values()):
            return StaffErasureResult(erased=False)
        # The entry names no one: how much was changed, never whose.
        record(session, actor, "staff_member.erased", "staff_member", ERASED, at=uow.clock.now(), **changed)
        await uow.commit()
        return StaffErasureResult(erased=True, changed=changed)


def staff_tables() -> list[str]:
    """The tables the export and erasure of a staff member cover (checked against STAFF_COLUMNS by a test)."""
    return [model.__tablename__ for model in _rows(0)]
