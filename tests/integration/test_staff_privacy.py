"""A merchant's or an agent's own data, found by their Telegram id: exported, then erased, against the real database."""

import json

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import Actor, record
from bot.services.privacy import PersonNotFound, erase_staff_member, export_staff_member
from bot.services.privacy.personal_data import STAFF_COLUMNS
from bot.services.unit_of_work import UnitOfWork
from bot.services.merchant_access.api_tokens import telegram_console_token_name
from db.models import (
    ApiToken,
    AuditEntry,
    Broadcast,
    BroadcastStatus,
    CannedReply,
    LinkAttempt,
    LinkMethod,
    OutboxMessage,
    OutboxStatus,
    RelayDirection,
    TelegramUser,
    Ticket,
    TicketMessage,
    TicketStatus,
)
from tests.integration.test_privacy import _stored_values_containing
from tests.shop import T0, add_customer

MARIA, OTTO = 6_100_001, 6_100_002  # an agent who is also a merchant, and a colleague
DRAFT = "Liebe Kundschaft, Maria hier: die Lieferung kommt"


async def _colleagues_at_work(session: AsyncSession) -> None:
    """Maria and Otto each leave a trace in every table that can name the shop's people."""
    customer = await add_customer(session, "Some Customer", "someone@example.com")
    for index, staff_id in enumerate((MARIA, OTTO)):
        session.add(
            TelegramUser(
                telegram_user_id=staff_id, chat_id=staff_id, language="de", conversation_state="broadcast_text",
                conversation_data={"text": DRAFT}, created_at=T0, updated_at=T0,
            )
        )
        ticket = Ticket(
            customer_id=customer.id, customer_chat_id=7_000_001, reason="asked_for_person", opened_at=T0,
            status=TicketStatus.CLOSED, assignee_telegram_id=staff_id, closed_by=f"agent:{staff_id}", closed_at=T0,
        )
        session.add(ticket)
        await session.flush()
        session.add_all(
            [
                TicketMessage(
                    ticket_id=ticket.id, direction=RelayDirection.TO_CUSTOMER, author_telegram_id=staff_id,
                    source_chat_id=-100500, source_message_id=index + 1, target_chat_id=7_000_001, next_attempt_at=T0,
                    created_at=T0,
                ),
                CannedReply(key=f"late{index}", language="de", text="Es dauert noch.", created_by=staff_id, created_at=T0),
                Broadcast(
                    created_by=f"merchant:telegram:{staff_id}", audience={"skus": ["HS-200"]}, texts={"de": DRAFT},
                    status=BroadcastStatus.DONE, progress_chat_id=staff_id, progress_message_id=9, created_at=T0,
                ),
                LinkAttempt(telegram_user_id=staff_id, method=LinkMethod.ORDER_EMAIL, succeeded=False, at=T0),
                OutboxMessage(
                    chat_id=staff_id, template="broadcast_progress", params={"text": DRAFT}, language="de",
                    status=OutboxStatus.PENDING, not_before=T0, created_at=T0,
                ),
                # The token their console sessions stand for, opened as a Telegram Mini App.
                ApiToken(
                    name=telegram_console_token_name("merchant", staff_id), token_hash=f"{index + 1:064x}",
                    prefix="bd_telegra", created_at=T0,
                ),
            ]
        )
        record(session, Actor.agent(staff_id), "ticket.assigned", "ticket", ticket.id, at=T0, telegram_user_id=staff_id)
        record(session, Actor.merchant(f"telegram:{staff_id}"), "broadcast.created", "broadcast", 1, at=T0)
    await session.commit()


async def test_a_staff_members_export_has_their_rows_and_no_customers_data(uow: UnitOfWork, session: AsyncSession) -> None:
    await _colleagues_at_work(session)

    document = json.loads(json.dumps(await export_staff_member(uow, MARIA)))

    data = document["data"]
    assert set(data) == set(STAFF_COLUMNS) and all(data.values()), [table for table in data if not data[table]]
    assert [user["conversation_data"] for user in data["telegram_users"]] == [{"text": DRAFT}]
    assert [ticket["assignee_telegram_id"] for ticket in data["tickets"]] == [MARIA]
    assert {entry["actor_id"] for entry in data["audit_log"]} == {str(MARIA), f"telegram:{MARIA}"}
    assert str(OTTO) not in json.dumps(document)
    assert "someone@example.com" not in json.dumps(document) and "7000001" not in json.dumps(document)


async def test_erasing_a_staff_member_removes_their_id_everywhere_keeps_what_they_did_and_is_idempotent(
    uow: UnitOfWork, session: AsyncSession
) -> None:
    await _colleagues_at_work(session)

    erased = await erase_staff_member(uow, MARIA, Actor.merchant("cli"))
    again = await erase_staff_member(uow, MARIA, Actor.merchant("cli"))

    assert erased.erased and not again.erased
    found = await _stored_values_containing(session, [], MARIA)
    assert found == [], found
    with pytest.raises(PersonNotFound):
        await export_staff_member(uow, MARIA)
    # What was done stays: the ticket, the relay, the canned reply, the broadcast, the audit entries.
    session.expunge_all()
    assert len(list(await session.scalars(select(Ticket)))) == 2
    assert sorted(await session.scalars(select(CannedReply.created_by))) == [0, OTTO]
    [entry] = await session.scalars(select(AuditEntry).where(AuditEntry.action == "staff_member.erased"))
    assert entry.entity_id == "erased" and str(MARIA) not in json.dumps(entry.details)
    cancelled = await session.scalar(select(OutboxMessage.status).where(OutboxMessage.chat_id == 0))
    assert cancelled == OutboxStatus.CANCELLED  # nothing more goes out to them
    erased_token = await session.scalar(select(ApiToken).where(ApiToken.name == "Telegram merchant erased (console Mini App)"))
    assert erased_token is not None and erased_token.revoked_at is not None  # their console sessions end
    # Otto is untouched.
    otto = await export_staff_member(uow, OTTO)
    assert [user["telegram_user_id"] for user in otto["data"]["telegram_users"]] == [OTTO]
    assert len(otto["data"]["audit_log"]) == 2
