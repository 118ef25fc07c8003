"""Linking a Telegram chat to a customer: on proof only, one neutral answer to every failure, limited tries."""

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.services.conversations.chat_session import (
    HelpAfterMisunderstanding,
    get_chat_session,
    misunderstood_message,
    set_conversation_state,
)
from bot.services.conversations.link_tokens import SigningKeyMissing
from bot.services.conversations.linking import (
    NOT_MATCHED,
    LinkReason,
    build_link_for_order,
    link_by_order_email,
    link_by_phone,
    link_by_token,
    linked_customer,
    unlink,
)
from bot.services.errors import OrderNotFound
from bot.services.unit_of_work import UnitOfWork
from db.engine import create_engine, create_session_factory
from db.models import ActorType, AuditEntry, Customer, LinkAttempt, Order
from tests.shop import add_customer, add_order, add_product

SECRET = "test secret key, long and random enough"
BOT = "BackorderDeskBot"
ANNA_TG = 7001
MALLORY_TG = 6666


@dataclass(frozen=True)
class Shop:
    anna_id: int
    ben_id: int
    anna_order: str
    ben_order: str


@pytest.fixture
async def shop(session: AsyncSession) -> Shop:
    headphones = await add_product(session, "HP-1")
    anna = await add_customer(session, "Anna Klein", email="anna.klein@example.com", phone="+491701234567")
    ben = await add_customer(session, "Ben Roth", email="ben.roth@example.com", phone="+491709876543")
    anna_order = await add_order(session, anna, [(headphones, 1)], number="BD-1001")
    ben_order = await add_order(session, ben, [(headphones, 2)], number="BD-2002")
    await session.commit()
    return Shop(anna.id, ben.id, anna_order.number, ben_order.number)


async def read(session_factory: async_sessionmaker[AsyncSession], statement: Any) -> list[Any]:
    """Rows as committed, through a session of their own (an open one would hold SQLite's write lock)."""
    async with session_factory() as reader:
        return list((await reader.execute(statement)).all())


async def telegram_user_of(session_factory: async_sessionmaker[AsyncSession], customer_id: int) -> int | None:
    [(telegram_user_id,)] = await read(
        session_factory, select(Customer.telegram_user_id).where(Customer.id == customer_id)
    )
    return telegram_user_id


async def attempts(session_factory: async_sessionmaker[AsyncSession], telegram_user_id: int) -> list[bool]:
    rows = await read(
        session_factory,
        select(LinkAttempt.succeeded).where(LinkAttempt.telegram_user_id == telegram_user_id).order_by(LinkAttempt.id),
    )
    return [succeeded for (succeeded,) in rows]


async def audit_of(session_factory: async_sessionmaker[AsyncSession], customer_id: int) -> list[AuditEntry]:
    rows = await read(
        session_factory,
        select(AuditEntry)
        .where(AuditEntry.entity_type == "customer", AuditEntry.entity_id == str(customer_id))
        .order_by(AuditEntry.id),
    )
    return [entry for (entry,) in rows]


async def fail_once(uow: UnitOfWork, telegram_user_id: int = MALLORY_TG) -> Any:
    return await link_by_order_email(uow, telegram_user_id, telegram_user_id, "BD-1001", "guess@example.com")


async def warm_up(session_factory: async_sessionmaker[AsyncSession], clock: ManualClock, racers: int) -> None:
    """Open (and prepare statements on) a connection per racer, so racers run side by side, not one ahead."""
    await asyncio.gather(*(fail_once(UnitOfWork(session_factory, clock), telegram_user_id=1) for _ in range(racers)))


# --- order number and e-mail -------------------------------------------------------------------------------


async def test_order_number_and_email_link_the_chat(uow: UnitOfWork, shop: Shop, session_factory) -> None:
    result = await link_by_order_email(uow, ANNA_TG, ANNA_TG, "BD-1001", "anna.klein@example.com")

    assert result.linked and result.reason == LinkReason.LINKED
    assert result.customer is not None and (result.customer.id, result.customer.name) == (shop.anna_id, "Anna Klein")
    assert result.order_number == "BD-1001"
    assert await linked_customer(uow, ANNA_TG) == result.customer
    assert await telegram_user_of(session_factory, shop.anna_id) == ANNA_TG
    assert await attempts(session_factory, ANNA_TG) == [True]
    [entry] = await audit_of(session_factory, shop.anna_id)
    assert (entry.action, entry.actor_type) == ("telegram_linked", ActorType.CUSTOMER)
    assert entry.actor_id == str(shop.anna_id)
    assert entry.details["method"] == "order_email" and entry.details["telegram_user_id"] == ANNA_TG


async def test_messages_not_understood_before_linking_do_not_bring_a_person_closer(uow: UnitOfWork, shop: Shop) -> None:
    before = [await misunderstood_message(uow, ANNA_TG) for _ in range(2)]
    await link_by_order_email(uow, ANNA_TG, ANNA_TG, "BD-1001", "anna.klein@example.com")

    assert before == [HelpAfterMisunderstanding.FULL, HelpAfterMisunderstanding.PERSON]
    assert await misunderstood_message(uow, ANNA_TG) is HelpAfterMisunderstanding.FULL


async def test_email_case_spaces_and_a_hash_before_the_number_do_not_matter(uow: UnitOfWork, shop: Shop) -> None:
    result = await link_by_order_email(uow, ANNA_TG, ANNA_TG, " #BD-1001 ", "  Anna.KLEIN@Example.COM ")

    assert result.linked and result.customer is not None and result.customer.id == shop.anna_id


async def test_unknown_order_and_wrong_email_get_one_identical_neutral_answer(
    uow: UnitOfWork, shop: Shop, session_factory
) -> None:
    unknown_order = await link_by_order_email(uow, MALLORY_TG, MALLORY_TG, "BD-9999", "anna.klein@example.com")
    wrong_email = await link_by_order_email(uow, MALLORY_TG, MALLORY_TG, "BD-1001", "mallory@example.com")
    someone_elses_email = await link_by_order_email(uow, MALLORY_TG, MALLORY_TG, "BD-1001", "ben.roth@example.com")

    assert unknown_order == wrong_email == someone_elses_email == NOT_MATCHED
    assert not unknown_order.linked and unknown_order.reason == "not_matched"
    assert await linked_customer(uow, MALLORY_TG) is None
    assert await attempts(session_factory, MALLORY_TG) == [False, False, False]


# --- the signed link from the confirmation e-mail ----------------------------------------------------------


def start_payload(url: str) -> str:
    prefix = f"https://t.me/{BOT}?start="
    assert url.startswith(prefix), url
    return url.removeprefix(prefix)


async def test_the_confirmation_email_link_links_the_chat(uow: UnitOfWork, shop: Shop) -> None:
    url = await build_link_for_order(uow, "BD-2002", SECRET, "@" + BOT, ttl_days=30)

    result = await link_by_token(uow, 8002, 8002, start_payload(url), SECRET)

    assert result.linked and result.order_number == "BD-2002"
    assert result.customer is not None and result.customer.id == shop.ben_id


async def test_an_expired_tampered_or_foreign_link_gets_the_neutral_answer(
    uow: UnitOfWork, shop: Shop, clock: ManualClock, session_factory
) -> None:
    token = start_payload(await build_link_for_order(uow, "BD-2002", SECRET, BOT, ttl_days=1))
    foreign = start_payload(await build_link_for_order(uow, "BD-2002", "another shop's key", BOT, ttl_days=1))
    flipped = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]

    results = [
        await link_by_token(uow, MALLORY_TG, MALLORY_TG, flipped, SECRET),
        await link_by_token(uow, MALLORY_TG, MALLORY_TG, foreign, SECRET),
        await link_by_token(uow, MALLORY_TG, MALLORY_TG, "hello", SECRET),
    ]
    clock.advance(days=1)
    results.append(await link_by_token(uow, MALLORY_TG, MALLORY_TG, token, SECRET))

    assert results == [NOT_MATCHED] * 4
    assert await telegram_user_of(session_factory, shop.ben_id) is None


async def test_a_link_whose_order_changed_hands_links_nobody(uow: UnitOfWork, shop: Shop, session_factory) -> None:
    token = start_payload(await build_link_for_order(uow, "BD-2002", SECRET, BOT, ttl_days=30))
    async with session_factory() as writer:  # the merchant re-assigned the order to another account
        await writer.execute(update(Order).where(Order.number == "BD-2002").values(customer_id=shop.anna_id))
        await writer.commit()

    assert await link_by_token(uow, MALLORY_TG, MALLORY_TG, token, SECRET) == NOT_MATCHED


async def test_a_link_is_only_built_for_an_existing_order_with_a_secret_key(uow: UnitOfWork, shop: Shop) -> None:
    with pytest.raises(OrderNotFound):
        await build_link_for_order(uow, "BD-9999", SECRET, BOT, ttl_days=30)
    with pytest.raises(SigningKeyMissing):
        await build_link_for_order(uow, "BD-1001", "", BOT, ttl_days=30)
    with pytest.raises(SigningKeyMissing):
        await link_by_token(uow, ANNA_TG, ANNA_TG, "AQID", "")


# --- the user's own phone number ---------------------------------------------------------------------------


@pytest.mark.parametrize("shared", ["491701234567", "+491701234567", "+49 170 123 4567", "0170 1234567"])
async def test_the_users_own_number_links_whatever_its_formatting(uow: UnitOfWork, shop: Shop, shared: str) -> None:
    result = await link_by_phone(uow, ANNA_TG, ANNA_TG, ANNA_TG, ANNA_TG, shared, "DE")

    assert result.linked and result.customer is not None and result.customer.id == shop.anna_id
    assert result.order_number is None


async def test_someone_elses_contact_card_is_refused_unchecked(uow: UnitOfWork, shop: Shop, session_factory) -> None:
    forwarded = await link_by_phone(uow, MALLORY_TG, MALLORY_TG, MALLORY_TG, ANNA_TG, "+491701234567", "DE")
    phonebook_entry = await link_by_phone(uow, MALLORY_TG, MALLORY_TG, MALLORY_TG, None, "+491701234567", "DE")
    sent_by_another = await link_by_phone(uow, MALLORY_TG, MALLORY_TG, ANNA_TG, ANNA_TG, "+491701234567", "DE")

    assert forwarded.reason == phonebook_entry.reason == sent_by_another.reason == LinkReason.NOT_OWN_CONTACT
    assert not forwarded.linked
    assert await telegram_user_of(session_factory, shop.anna_id) is None
    assert await attempts(session_factory, MALLORY_TG) == []


async def test_an_unknown_or_unreadable_number_gets_the_neutral_answer(uow: UnitOfWork, shop: Shop) -> None:
    assert await link_by_phone(uow, 8003, 8003, 8003, 8003, "+491705555555", "DE") == NOT_MATCHED
    assert await link_by_phone(uow, 8003, 8003, 8003, 8003, "12", "DE") == NOT_MATCHED


async def test_a_number_two_customers_share_links_neither(
    uow: UnitOfWork, shop: Shop, session: AsyncSession, session_factory
) -> None:
    twin = await add_customer(session, "Carla Klein", email="carla@example.com", phone="+491701234567")
    await session.commit()

    result = await link_by_phone(uow, ANNA_TG, ANNA_TG, ANNA_TG, ANNA_TG, "+491701234567", "DE")

    assert result == NOT_MATCHED
    assert await telegram_user_of(session_factory, shop.anna_id) is None
    assert await telegram_user_of(session_factory, twin.id) is None


# --- the hourly limit on failures --------------------------------------------------------------------------


async def test_after_five_failures_even_the_right_proof_is_refused_until_the_hour_is_over(
    uow: UnitOfWork, shop: Shop, clock: ManualClock, session_factory
) -> None:
    for _ in range(5):
        assert await fail_once(uow) == NOT_MATCHED

    limited = await link_by_order_email(uow, MALLORY_TG, MALLORY_TG, "BD-1001", "anna.klein@example.com")
    assert (limited.linked, limited.reason, limited.retry_after_minutes) == (False, "rate_limited", 60)
    clock.advance(minutes=59)
    still = await link_by_phone(uow, MALLORY_TG, MALLORY_TG, MALLORY_TG, MALLORY_TG, "+491709876543", "DE")
    assert (still.reason, still.retry_after_minutes) == ("rate_limited", 1)
    assert await attempts(session_factory, MALLORY_TG) == [False] * 5  # refusals do not extend the window

    clock.advance(minutes=1)
    freed = await link_by_order_email(uow, MALLORY_TG, MALLORY_TG, "BD-1001", "anna.klein@example.com")
    assert freed.linked


async def test_the_limit_slides_with_the_oldest_failure(uow: UnitOfWork, shop: Shop, clock: ManualClock) -> None:
    for _ in range(5):
        await fail_once(uow)
        clock.advance(minutes=10)  # failures at :00, :10, :20, :30, :40; now :50

    assert (await fail_once(uow)).retry_after_minutes == 10
    clock.advance(minutes=10)
    assert await fail_once(uow) == NOT_MATCHED  # the :00 failure aged out; this one counts again
    assert (await fail_once(uow)).retry_after_minutes == 10  # now the :10 one must age out


async def test_the_limit_survives_a_restart(
    uow: UnitOfWork, shop: Shop, clock: ManualClock, database_url: str
) -> None:
    for _ in range(5):
        await fail_once(uow)

    restarted_engine = create_engine(database_url)
    try:
        restarted = UnitOfWork(create_session_factory(restarted_engine), clock)
        result = await link_by_order_email(restarted, MALLORY_TG, MALLORY_TG, "BD-1001", "anna.klein@example.com")
    finally:
        await restarted_engine.dispose()

    assert result.reason == LinkReason.RATE_LIMITED


async def test_the_limit_is_per_telegram_user_and_configurable(uow: UnitOfWork, shop: Shop) -> None:
    for _ in range(2):
        await link_by_order_email(uow, MALLORY_TG, MALLORY_TG, "BD-1", "x@example.com", max_failed_per_hour=2)

    third = await link_by_order_email(uow, MALLORY_TG, MALLORY_TG, "BD-1", "x@example.com", max_failed_per_hour=2)
    someone_else = await link_by_order_email(uow, ANNA_TG, ANNA_TG, "BD-1001", "anna.klein@example.com")

    assert third.reason == LinkReason.RATE_LIMITED
    assert someone_else.linked


async def test_concurrent_failures_cannot_overrun_the_limit(
    session_factory, clock: ManualClock, uow: UnitOfWork, shop: Shop
) -> None:
    for _ in range(4):
        await fail_once(uow)
    await warm_up(session_factory, clock, racers=3)

    results = await asyncio.gather(*(fail_once(UnitOfWork(session_factory, clock)) for _ in range(3)))

    assert sorted(result.reason for result in results) == ["not_matched", "rate_limited", "rate_limited"]
    assert await attempts(session_factory, MALLORY_TG) == [False] * 5


# --- relinking, repeating and unlinking --------------------------------------------------------------------


async def test_linking_the_same_customer_again_changes_nothing(uow: UnitOfWork, shop: Shop, session_factory) -> None:
    await link_by_order_email(uow, ANNA_TG, ANNA_TG, "BD-1001", "anna.klein@example.com")

    again = await link_by_phone(uow, ANNA_TG, ANNA_TG, ANNA_TG, ANNA_TG, "+491701234567", "DE")

    assert again.linked and again.reason == LinkReason.ALREADY_LINKED
    assert again.customer is not None and again.customer.id == shop.anna_id
    assert len(await audit_of(session_factory, shop.anna_id)) == 1
    assert await attempts(session_factory, ANNA_TG) == [True]


async def test_proving_another_customer_moves_the_chat_over(uow: UnitOfWork, shop: Shop, session_factory) -> None:
    await link_by_order_email(uow, ANNA_TG, ANNA_TG, "BD-1001", "anna.klein@example.com")

    moved = await link_by_order_email(uow, ANNA_TG, ANNA_TG, "BD-2002", "ben.roth@example.com")

    assert moved.linked and moved.customer is not None and moved.customer.id == shop.ben_id
    assert await telegram_user_of(session_factory, shop.anna_id) is None
    assert await telegram_user_of(session_factory, shop.ben_id) == ANNA_TG
    unlinked = (await audit_of(session_factory, shop.anna_id))[-1]
    assert (unlinked.action, unlinked.details["reason"]) == ("telegram_unlinked", "linked_to_other_customer")
    linked = (await audit_of(session_factory, shop.ben_id))[-1]
    assert (linked.action, linked.details["previous_customer_id"]) == ("telegram_linked", shop.anna_id)


async def test_a_customer_proven_from_a_new_telegram_account_is_relinked_and_audited(
    uow: UnitOfWork, shop: Shop, session_factory
) -> None:
    old_phone, new_phone = 8101, 8102
    await link_by_order_email(uow, old_phone, old_phone, "BD-1001", "anna.klein@example.com")
    token = start_payload(await build_link_for_order(uow, "BD-1001", SECRET, BOT, ttl_days=30))

    result = await link_by_token(uow, new_phone, new_phone, token, SECRET)

    assert result.linked and result.replaced_telegram_user_id == old_phone
    assert await linked_customer(uow, old_phone) is None
    assert (await linked_customer(uow, new_phone)) == result.customer
    relinked = (await audit_of(session_factory, shop.anna_id))[-1]
    assert relinked.action == "telegram_relinked"
    assert relinked.details["replaced_telegram_user_id"] == old_phone
    assert relinked.details["method"] == "deep_link"


async def test_logout_unlinks_and_forgets_the_conversation(uow: UnitOfWork, shop: Shop, session_factory) -> None:
    await link_by_order_email(uow, ANNA_TG, ANNA_TG, "BD-1001", "anna.klein@example.com")
    await set_conversation_state(uow, ANNA_TG, "confirm_cancel", {"line_id": 12})

    assert await unlink(uow, ANNA_TG) is True

    assert await linked_customer(uow, ANNA_TG) is None
    chat = await get_chat_session(uow, ANNA_TG)
    assert (chat.state, chat.data, chat.customer) == (None, {}, None)
    logout = (await audit_of(session_factory, shop.anna_id))[-1]
    assert (logout.action, logout.details["reason"]) == ("telegram_unlinked", "logout")
    assert await unlink(uow, ANNA_TG) is False


async def test_two_links_at_once_leave_the_user_on_exactly_one_customer(
    session_factory, clock: ManualClock, shop: Shop
) -> None:
    await warm_up(session_factory, clock, racers=2)

    results = await asyncio.gather(
        link_by_order_email(UnitOfWork(session_factory, clock), ANNA_TG, ANNA_TG, "BD-1001", "anna.klein@example.com"),
        link_by_order_email(UnitOfWork(session_factory, clock), ANNA_TG, ANNA_TG, "BD-2002", "ben.roth@example.com"),
    )

    assert all(result.linked for result in results)
    owners = await read(session_factory, select(func.count()).where(Customer.telegram_user_id == ANNA_TG))
    assert owners == [(1,)]


async def test_a_link_written_meanwhile_by_someone_else_is_moved_not_crashed_on(
    session_factory, uow: UnitOfWork, shop: Shop, is_postgres: bool
) -> None:
    async with session_factory() as other_writer:
        await other_writer.execute(update(Customer).where(Customer.id == shop.ben_id).values(telegram_user_id=ANNA_TG))
        linking = asyncio.create_task(
            link_by_order_email(uow, ANNA_TG, ANNA_TG, "BD-1001", "anna.klein@example.com")
        )
        await until_blocked(other_writer, is_postgres)
        await other_writer.commit()
    result = await linking

    assert result.linked and result.customer is not None and result.customer.id == shop.anna_id
    assert await telegram_user_of(session_factory, shop.ben_id) is None
    assert await telegram_user_of(session_factory, shop.anna_id) == ANNA_TG


async def until_blocked(observer: AsyncSession, is_postgres: bool) -> None:
    """Wait until another transaction is waiting on a lock (on SQLite, give it a moment to queue)."""
    for _ in range(200):
        await asyncio.sleep(0.01)
        if not is_postgres:
            return
        async with observer.bind.connect() as connection:
            waiting = await connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            )
        if waiting:
            return
    raise AssertionError("the link attempt never reached the row the other transaction holds")
