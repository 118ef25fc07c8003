"""Per-user chat bookkeeping lives in the database: it outlasts a unit of work, an engine, a duplicate update."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.services.conversations.chat_session import (
    choose_language,
    claim_update,
    claim_update_in,
    forget_old_updates,
    HelpAfterMisunderstanding,
    get_chat_session,
    misunderstood_message,
    record_misunderstood,
    reset_misunderstood,
    resolve_language,
    set_conversation_state,
    touch_user,
)
from bot.services.errors import UnsupportedLanguage
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from db.engine import create_engine, create_session_factory
from db.models import AuditEntry, Customer, TelegramUser
from tests.shop import add_customer

USER = 5001


async def test_a_user_never_seen_has_an_empty_session_and_no_row(uow: UnitOfWork, session_factory) -> None:
    chat = await get_chat_session(uow, USER)

    assert (chat.language, chat.state, chat.data, chat.customer) == (None, None, {}, None)
    assert chat.misunderstood_in_a_row == 0
    async with session_factory() as reader:
        assert await reader.get(TelegramUser, USER) is None


async def test_touching_a_user_remembers_chat_and_telegram_language(uow: UnitOfWork, session_factory) -> None:
    await touch_user(uow, USER, chat_id=USER, telegram_language_code="de-AT")
    await touch_user(uow, USER, chat_id=9, telegram_language_code=None)  # Telegram left it out this time

    chat = await get_chat_session(uow, USER)
    assert chat.telegram_language_code == "de-AT"
    async with session_factory() as reader:
        user = await reader.get(TelegramUser, USER)
        assert user is not None and user.chat_id == 9


async def test_conversation_state_survives_a_new_unit_of_work_and_engine(
    uow: UnitOfWork, clock: ManualClock, database_url: str, session_factory
) -> None:
    await set_conversation_state(uow, USER, "awaiting_email", {"order_number": "BD-1001", "step": 2})

    assert (await get_chat_session(UnitOfWork(session_factory, clock), USER)).state == "awaiting_email"
    restarted_engine = create_engine(database_url)
    try:
        chat = await get_chat_session(UnitOfWork(create_session_factory(restarted_engine), clock), USER)
    finally:
        await restarted_engine.dispose()
    assert (chat.state, chat.data) == ("awaiting_email", {"order_number": "BD-1001", "step": 2})

    await set_conversation_state(uow, USER, None, None)
    cleared = await get_chat_session(uow, USER)
    assert (cleared.state, cleared.data) == (None, {})


async def test_a_state_name_too_long_to_store_is_refused(uow: UnitOfWork) -> None:
    with pytest.raises(ValueError):
        await set_conversation_state(uow, USER, "x" * 41, {})


async def test_the_misunderstood_streak_counts_up_and_resets(uow: UnitOfWork) -> None:
    assert [await record_misunderstood(uow, USER) for _ in range(3)] == [1, 2, 3]
    assert (await get_chat_session(uow, USER)).misunderstood_in_a_row == 3

    await reset_misunderstood(uow, USER)

    assert (await get_chat_session(uow, USER)).misunderstood_in_a_row == 0
    assert await record_misunderstood(uow, USER) == 1


@pytest.mark.parametrize("before_person", [2, 4])
async def test_the_shops_policy_says_after_how_many_misunderstood_messages_a_person_takes_over(
    session_factory, clock, before_person: int
) -> None:
    uow = UnitOfWork(session_factory, clock, ShopPolicy(misunderstood_before_person=before_person))

    answers = [await misunderstood_message(uow, USER) for _ in range(before_person + 1)]

    full, short, person = HelpAfterMisunderstanding.FULL, HelpAfterMisunderstanding.SHORT, HelpAfterMisunderstanding.PERSON
    assert answers == [full] + [short] * (before_person - 2) + [person, person]


# --- language ------------------------------------------------------------------------------------------------


async def test_choosing_a_language_stores_it_for_the_chat_and_the_linked_customer(
    uow: UnitOfWork, session: AsyncSession, session_factory
) -> None:
    anna = await add_customer(session, "Anna Klein", email="anna@example.com")
    anna.telegram_user_id = USER
    await session.commit()

    assert await choose_language(uow, USER, "DE") == "de"

    chat = await get_chat_session(uow, USER)
    assert chat.language == "de" and chat.customer is not None and chat.customer.language == "de"
    async with session_factory() as reader:
        entry = await reader.scalar(select(AuditEntry).where(AuditEntry.action == "language_chosen"))
        assert entry is not None and entry.entity_id == str(anna.id) and entry.details["new"] == "de"


async def test_choosing_without_a_linked_customer_changes_only_the_chat(uow: UnitOfWork, session_factory) -> None:
    await choose_language(uow, USER, "en")

    assert (await get_chat_session(uow, USER)).language == "en"
    async with session_factory() as reader:
        assert (await reader.scalars(select(Customer))).all() == []


@pytest.mark.parametrize("language", ["fr", "", "english", "de-DE"])
async def test_a_language_the_chat_does_not_speak_is_refused(uow: UnitOfWork, language: str) -> None:
    with pytest.raises(UnsupportedLanguage) as refused:
        await choose_language(uow, USER, language)

    assert refused.value.code == "unsupported_language"
    assert (await get_chat_session(uow, USER)).language is None


@pytest.mark.parametrize(
    ("stored", "customer", "telegram", "expected"),
    [
        ("de", "en", "en-US", "de"),  # the user's own choice wins
        (None, "de", "en-US", "de"),  # then what the shop knows of the customer
        (None, "de-DE", "en", "de"),
        (None, None, "de-AT", "de"),  # then Telegram's language
        (None, "fr", "DE", "de"),  # unsupported ones are skipped
        (None, None, "fr-FR", "en"),  # then the shop's default
        (None, None, None, "en"),
        ("it", None, None, "en"),
    ],
)
def test_the_answer_language_is_the_first_supported_one_in_order(stored, customer, telegram, expected) -> None:
    assert resolve_language(stored, customer, telegram, default="en") == expected


def test_the_shop_default_is_used_as_given() -> None:
    assert resolve_language(None, None, "fr", default="de") == "de"


# --- duplicate updates ---------------------------------------------------------------------------------------


async def test_an_update_is_claimed_once(uow: UnitOfWork) -> None:
    assert await claim_update(uow, 900_000_001) is True
    assert await claim_update(uow, 900_000_001) is False
    assert await claim_update(uow, 900_000_002) is True


async def test_a_claim_made_inside_work_that_rolls_back_is_undone(uow: UnitOfWork, clock: ManualClock) -> None:
    async with uow:
        assert await claim_update_in(uow.session, 77, clock.now()) is True
        # the handler's work failed: no commit

    assert await claim_update(uow, 77) is True


async def test_two_simultaneous_claims_of_one_update_give_exactly_one_winner(
    session_factory: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    # Claim other updates side by side first, so each racer below has its own ready connection.
    await asyncio.gather(*(claim_update(UnitOfWork(session_factory, clock), 1_000 + n) for n in range(2)))

    for update_id in range(5):
        claims = await asyncio.gather(*(claim_update(UnitOfWork(session_factory, clock), update_id) for _ in range(2)))
        assert sorted(claims) == [False, True]


async def test_forgetting_old_updates_keeps_recent_ones(uow: UnitOfWork, clock: ManualClock) -> None:
    await claim_update(uow, 1)
    clock.advance(days=2)
    await claim_update(uow, 2)

    assert await forget_old_updates(uow, older_than=clock.now() - timedelta(days=1)) == 1

    assert await claim_update(uow, 2) is False
    assert await claim_update(uow, 1) is True  # forgotten, so no longer recognised
