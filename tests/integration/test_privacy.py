"""Export and erasure of one person's data, against the real database."""

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import BigInteger, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import Actor, record
from bot.services.event_log import read_events
from bot.services.privacy import (
    PersonNotFound,
    SubjectQuery,
    erase_customer,
    export_customer,
)
from bot.services.privacy.personal_data import PERSONAL_TABLES
from bot.services.unit_of_work import UnitOfWork
from db.models import (
    Base,
    Customer,
    DelayNotice,
    EtaChange,
    LinkAttempt,
    LinkMethod,
    Order,
    OrderLine,
    OutboxMessage,
    OutboxStatus,
    Refund,
    RefundReason,
    RelayDirection,
    Shipment,
    ShipmentLine,
    TelegramUser,
    Ticket,
    TicketMessage,
    TicketStatus,
)
from tests.shop import T0, add_customer, add_order, add_product

NAME, EMAIL, PHONE, TELEGRAM_ID, CHAT_TEXT = "Greta Sommerfeld", "greta.sommerfeld@example.com", "+4915112345678", 7_700_001, "Wo bleibt mein Paket, Greta?"
OTHER_TELEGRAM_ID = 7_700_002


async def _person_with_everything(session: AsyncSession) -> Customer:
    """A customer with a row in every table that can hold something about a person, and a bystander."""
    product = await add_product(session, "KB-1")
    greta = await add_customer(session, NAME, EMAIL, PHONE)
    greta.telegram_user_id, greta.language = TELEGRAM_ID, "de"
    bystander = await add_customer(session, "Otto Normal", "otto@example.com", "+4915100000000")
    bystander.telegram_user_id = OTHER_TELEGRAM_ID
    order = await add_order(session, greta, [(product, 2)], number="1042")
    await add_order(session, bystander, [(product, 1)], number="1043")
    line = (await session.scalars(select(OrderLine).where(OrderLine.order_id == order.id))).one()
    session.add_all(
        [
            TelegramUser(
                telegram_user_id=TELEGRAM_ID, chat_id=TELEGRAM_ID, language="de", conversation_state="awaiting_email",
                conversation_data={"typed": EMAIL}, created_at=T0, updated_at=T0,
            ),
            TelegramUser(telegram_user_id=OTHER_TELEGRAM_ID, chat_id=OTHER_TELEGRAM_ID, created_at=T0, updated_at=T0),
            LinkAttempt(telegram_user_id=TELEGRAM_ID, method=LinkMethod.PHONE, succeeded=True, at=T0),
            EtaChange(line_id=line.id, old_eta=None, new_eta=date(2026, 12, 1), reason="purchase_order", changed_at=T0),
            Refund(line_id=line.id, amount_minor=1000, currency="EUR", reason=RefundReason.CANCELLED, created_at=T0),
            DelayNotice(line_id=line.id, sequence=1, promised_ship_by=date(2026, 11, 20), notified_at=T0),
            OutboxMessage(
                chat_id=TELEGRAM_ID, customer_id=greta.id, template="eta_changed", params={"name": NAME},
                language="de", status=OutboxStatus.SENT, not_before=T0, created_at=T0, sent_at=T0,
            ),
            OutboxMessage(
                chat_id=TELEGRAM_ID, customer_id=greta.id, template="eta_changed", params={"name": NAME},
                language="de", status=OutboxStatus.PENDING, not_before=T0 + timedelta(days=1), created_at=T0,
            ),
        ]
    )
    shipment = Shipment(order_id=order.id, carrier="DHL", tracking_number="T-1", shipped_at=T0, created_at=T0)
    session.add(shipment)
    await session.flush()
    session.add(ShipmentLine(shipment_id=shipment.id, line_id=line.id, quantity=1))
    ticket = Ticket(
        customer_id=greta.id, customer_chat_id=TELEGRAM_ID, reason="asked_for_person", opened_at=T0, rating=4,
        status=TicketStatus.OPEN,
    )
    session.add(ticket)
    await session.flush()
    session.add(
        TicketMessage(
            ticket_id=ticket.id, direction=RelayDirection.TO_AGENTS, author_telegram_id=TELEGRAM_ID,
            source_chat_id=TELEGRAM_ID, source_message_id=5, target_chat_id=-100500, next_attempt_at=T0,
            last_error=CHAT_TEXT, created_at=T0,
        )
    )
    record(
        session, Actor.customer(greta.id), "telegram_linked", "customer", greta.id, at=T0,
        telegram_user_id=TELEGRAM_ID, method="phone",
    )
    await session.commit()
    return greta


async def test_export_has_every_section_with_the_persons_rows_only(uow: UnitOfWork, session: AsyncSession) -> None:
    greta = await _person_with_everything(session)

    document = await export_customer(uow, SubjectQuery(email="  Greta.Sommerfeld@Example.com "))

    data = json.loads(json.dumps(document))["data"]  # JSON all the way down
    assert list(data) == list(PERSONAL_TABLES)
    assert all(data[table] for table in PERSONAL_TABLES), [table for table in PERSONAL_TABLES if not data[table]]
    assert data["customers"] == [
        {**data["customers"][0], "name": NAME, "email": EMAIL, "phone": PHONE, "telegram_user_id": TELEGRAM_ID}
    ]
    assert [order["number"] for order in data["orders"]] == ["1042"]
    assert [user["telegram_user_id"] for user in data["telegram_users"]] == [TELEGRAM_ID]
    assert "otto" not in json.dumps(document).lower()
    assert await export_customer(uow, SubjectQuery(telegram_user_id=TELEGRAM_ID)) == document | {
        "exported_at": document["exported_at"]
    }
    assert greta.id == data["customers"][0]["id"]


async def test_export_of_someone_unknown_says_so(uow: UnitOfWork) -> None:
    with pytest.raises(PersonNotFound):
        await export_customer(uow, SubjectQuery(email="nobody@example.com"))


async def test_erasure_leaves_nothing_personal_and_keeps_the_bookkeeping(
    uow: UnitOfWork, session: AsyncSession
) -> None:
    greta = await _person_with_everything(session)

    result = await erase_customer(uow, SubjectQuery(email=EMAIL), Actor.merchant("cli"))

    assert result.erased and result.customer_id == greta.id
    needles = [NAME.lower(), *NAME.lower().split(), EMAIL, PHONE, PHONE.removeprefix("+"), CHAT_TEXT.lower()]
    found = await _stored_values_containing(session, needles, TELEGRAM_ID)
    assert found == [], found
    for query in (SubjectQuery(email=EMAIL), SubjectQuery(telegram_user_id=TELEGRAM_ID)):
        with pytest.raises(PersonNotFound):
            await export_customer(uow, query)
    assert await session.scalar(select(Customer.id).where(Customer.phone == PHONE)) is None
    # Bookkeeping stays: the order, its amounts and the refund, now tied to a pseudonym.
    kept = await export_customer(uow, SubjectQuery(email=f"erased-{greta.id}@erased.invalid"))
    assert [order["number"] for order in kept["data"]["orders"]] == ["1042"]
    assert [refund["amount_minor"] for refund in kept["data"]["refunds"]] == [1000]
    assert kept["data"]["ticket_messages"] == [] and kept["data"]["telegram_users"] == []
    assert [ticket["rating"] for ticket in kept["data"]["tickets"]] == [4]
    statuses = {message["status"] for message in kept["data"]["outbox_messages"]}
    assert statuses == {"sent", "cancelled"}  # nothing more goes out to them
    erased_entries = [entry for entry in kept["data"]["audit_log"] if entry["action"] == "customer.erased"]
    assert len(erased_entries) == 1 and erased_entries[0]["actor_id"] == "cli"
    # The bystander is untouched.
    otto = await export_customer(uow, SubjectQuery(email="otto@example.com"))
    assert otto["data"]["customers"][0]["telegram_user_id"] == OTHER_TELEGRAM_ID
    assert len(otto["data"]["telegram_users"]) == 1


async def test_erasing_again_changes_nothing(uow: UnitOfWork, session: AsyncSession) -> None:
    greta = await _person_with_everything(session)
    await erase_customer(uow, SubjectQuery(telegram_user_id=TELEGRAM_ID), Actor.customer(greta.id))
    before = await export_customer(uow, SubjectQuery(email=f"erased-{greta.id}@erased.invalid"))

    again_by_email = await erase_customer(uow, SubjectQuery(email=EMAIL), Actor.merchant("cli"))
    again_by_pseudonym = await erase_customer(
        uow, SubjectQuery(email=f"erased-{greta.id}@erased.invalid"), Actor.merchant("cli")
    )

    assert not again_by_email.erased and not again_by_pseudonym.erased
    after = await export_customer(uow, SubjectQuery(email=f"erased-{greta.id}@erased.invalid"))
    assert after["data"] == before["data"]


async def test_the_shops_systems_hear_of_an_erasure_once_by_the_orders_it_concerned(
    uow: UnitOfWork, session: AsyncSession
) -> None:
    greta = await _person_with_everything(session)
    orders = list(await session.scalars(select(Order.number).where(Order.customer_id == greta.id).order_by(Order.number)))
    await session.commit()  # end the read, so the erasure can write

    await erase_customer(uow, SubjectQuery(email=EMAIL), Actor.merchant("cli"))
    await erase_customer(uow, SubjectQuery(telegram_user_id=TELEGRAM_ID), Actor.merchant("cli"))
    page = await read_events(uow, after=None, types=["customer.erased"], limit=10)

    [event] = page.events
    assert orders and event.data == {"customer_id": greta.id, "order_numbers": orders, "by": "shop", "by_id": "cli"}
    assert EMAIL not in json.dumps(event.data)


async def test_an_unlinked_telegram_user_can_be_erased_too(uow: UnitOfWork, session: AsyncSession) -> None:
    session.add(TelegramUser(telegram_user_id=TELEGRAM_ID, chat_id=TELEGRAM_ID, created_at=T0, updated_at=T0))
    session.add(LinkAttempt(telegram_user_id=TELEGRAM_ID, method=LinkMethod.ORDER_EMAIL, succeeded=False, at=T0))
    await session.commit()
    exported = await export_customer(uow, SubjectQuery(telegram_user_id=TELEGRAM_ID))
    assert len(exported["data"]["link_attempts"]) == 1 and exported["data"]["customers"] == []

    result = await erase_customer(uow, SubjectQuery(telegram_user_id=TELEGRAM_ID), Actor.merchant("cli"))

    assert result.erased and result.customer_id is None
    with pytest.raises(PersonNotFound):
        await export_customer(uow, SubjectQuery(telegram_user_id=TELEGRAM_ID))


async def _stored_values_containing(session: AsyncSession, needles: list[str], telegram_id: int) -> list[str]:
    """Every stored value, in every table and column, that contains one of the needles or is the Telegram id."""
    found = []
    for table in Base.metadata.sorted_tables:
        for row in (await session.execute(select(table))).mappings():
            for column in table.columns:
                value = row[column.name]
                if value is None:
                    continue
                text = json.dumps(value, default=str).lower()
                if any(needle in text for needle in needles) or (
                    isinstance(column.type, BigInteger) and value == telegram_id
                ) or str(telegram_id) in text:
                    found.append(f"{table.name}.{column.name}={value!r}")
    return found


async def test_a_shop_platforms_redaction_can_name_the_person_by_phone(uow: UnitOfWork, session: AsyncSession) -> None:
    """The hook for a connector's redaction webhook (Shopify's customers/redact names e-mail and phone)."""
    greta = await _person_with_everything(session)
    await add_customer(session, "Hans Geteilt", "hans@example.com", "+4915199999999")
    await add_customer(session, "Ida Geteilt", "ida@example.com", "+4915199999999")
    await session.commit()

    exported = await export_customer(uow, SubjectQuery(phone=PHONE))
    result = await erase_customer(uow, SubjectQuery(phone=PHONE), Actor.merchant("shopify"))

    assert exported["data"]["customers"][0]["email"] == EMAIL
    assert result.erased and result.customer_id == greta.id
    with pytest.raises(PersonNotFound):
        await export_customer(uow, SubjectQuery(phone=PHONE))
    with pytest.raises(PersonNotFound):  # shared by two: the request must name the person by e-mail address
        await export_customer(uow, SubjectQuery(phone="+4915199999999"))
    with pytest.raises(ValueError):
        SubjectQuery(email=EMAIL, phone=PHONE)
