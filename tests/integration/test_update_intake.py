"""The intake every Telegram update passes first: handled once, the user remembered, the customer and language known."""

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import ManualClock
from bot.services.conversations.chat_session import choose_language, set_conversation_state
from bot.services.conversations.update_intake import begin_update
from bot.services.unit_of_work import UnitOfWork
from db.models import Customer, ProcessedUpdate, TelegramUser
from tests.shop import add_customer

USER = 5_000_001


async def test_an_update_is_claimed_once_and_a_new_user_is_remembered(
    uow: UnitOfWork, session: AsyncSession, clock: ManualClock
) -> None:
    first = await begin_update(uow, 1, USER, USER, "de-AT")
    again = await begin_update(uow, 1, USER, USER, "de-AT")

    assert first is not None and again is None
    assert (first.telegram_user_id, first.language, first.customer_id, first.customer_name) == (USER, "de", None, None)
    assert (first.state, first.data, first.misunderstood_in_a_row) == (None, {}, 0)
    user = await session.scalar(select(TelegramUser))
    assert user is not None
    assert (user.telegram_user_id, user.chat_id, user.telegram_language_code) == (USER, USER, "de-AT")
    assert user.created_at == clock.now()
    assert (await session.scalars(select(ProcessedUpdate.update_id))).all() == [1]


async def test_a_known_user_keeps_chat_and_language_that_an_update_leaves_out(
    uow: UnitOfWork, session: AsyncSession
) -> None:
    await begin_update(uow, 1, USER, USER, "de")

    from_group = await begin_update(uow, 2, USER, None, None)  # a group message: no private chat id
    switched = await begin_update(uow, 3, USER, USER, "en-GB")

    assert from_group is not None and from_group.language == "de"
    assert switched is not None and switched.language == "en"
    user = await session.scalar(select(TelegramUser))
    assert user is not None and (user.chat_id, user.telegram_language_code) == (USER, "en-GB")


async def test_the_linked_customer_state_and_chosen_language_are_loaded(uow: UnitOfWork, session: AsyncSession) -> None:
    anna = await add_customer(session, "Anna Klein")
    anna.telegram_user_id = USER
    anna.language = "de"
    await session.commit()
    await begin_update(uow, 1, USER, USER, "en")
    await set_conversation_state(uow, USER, "awaiting_email", {"order_number": "1042"})

    customers_language = await begin_update(uow, 2, USER, USER, "en")
    await choose_language(uow, USER, "en")
    chosen_language = await begin_update(uow, 3, USER, USER, "de")

    assert customers_language is not None
    assert (customers_language.customer_id, customers_language.customer_name) == (anna.id, "Anna Klein")
    assert customers_language.language == "de"  # the customer's language before Telegram's
    assert (customers_language.state, customers_language.data) == ("awaiting_email", {"order_number": "1042"})
    assert chosen_language is not None and chosen_language.language == "en"  # a choice made with /language wins


async def test_writing_again_clears_bot_blocked_but_the_blocking_update_itself_does_not(
    uow: UnitOfWork, session: AsyncSession
) -> None:
    anna = await add_customer(session, "Anna Klein")
    anna.telegram_user_id = USER
    anna.bot_blocked = True
    await session.commit()

    await begin_update(uow, 1, USER, USER, "en", reachable=False)
    still_blocked = await session.scalar(select(Customer.bot_blocked))
    await session.rollback()
    await begin_update(uow, 2, USER, USER, "en")
    unblocked = await session.scalar(select(Customer.bot_blocked))

    assert still_blocked is True and unblocked is False


async def test_a_duplicate_changes_nothing_about_the_user(uow: UnitOfWork, session: AsyncSession) -> None:
    await begin_update(uow, 1, USER, USER, "de")
    await session.execute(update(TelegramUser).values(telegram_language_code="de"))
    await session.commit()

    assert await begin_update(uow, 1, USER, 777, "en") is None

    user = await session.scalar(select(TelegramUser))
    assert user is not None and (user.chat_id, user.telegram_language_code) == (USER, "de")
