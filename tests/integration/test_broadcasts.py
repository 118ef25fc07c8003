"""Broadcasts: exactly the customers an audience names, once each, in their language; progress, cancel, new ETA."""

import asyncio
from datetime import date

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.audit import Actor
from bot.services.backorders.eta import recompute_all_etas
from bot.services.errors import AudienceInvalid, BroadcastNotFound, BroadcastTextMissing, UnsupportedLanguage
from bot.services.merchant_access.api_tokens import create_token
from bot.services.merchant_access.idempotent_requests import RequestKey
from bot.services.outbox import PRIORITY_BROADCAST
from bot.services.outreach.broadcasts import (
    AlreadySent,
    Audience,
    BroadcastSent,
    NotSent,
    broadcast_progress,
    cancel_broadcast,
    create_broadcast,
    preview_broadcast,
    send_broadcast_once,
)
from bot.services.unit_of_work import UnitOfWork
from db.models import (
    Broadcast,
    BroadcastStatus,
    Customer,
    EtaBasis,
    EtaChange,
    LineStatus,
    Order,
    OrderLine,
    OutboxMessage,
    OutboxStatus,
    Product,
    TelegramUser,
)
from tests.shop import T0, add_chat_customer, add_order, add_product, minutes_after

Sessions = async_sessionmaker[AsyncSession]
MERCHANT = Actor.merchant("shop")
TEXTS = {"en": "The headsets arrive next week.", "de": "Die Kopfhörer kommen nächste Woche."}


async def shop(session: AsyncSession) -> dict[str, Customer]:
    """Headsets (audio) and a mixer (kitchen); who waits for what:

    anna (en) two headset orders · ben (de) headset and mixer · clara (en) mixer · una (unlinked) headset ·
    blake (blocked) headset · quinn (opted out) headset · sam (headset allocated, not waiting)
    """
    headset = await add_product(session, "HS-200", price=14900, category="audio")
    await add_product(session, "HS-120", price=8900, category="audio")
    mixer = await add_product(session, "MX-500", price=34900, category="kitchen")
    people = {
        "anna": await add_chat_customer(session, "Anna Klein", 5001),
        "ben": await add_chat_customer(session, "Ben Carter", 5002, "de"),
        "clara": await add_chat_customer(session, "Clara Schmidt", 5003),
        "una": await add_chat_customer(session, "Una Linked", None),
        "blake": await add_chat_customer(session, "Blake Blocked", 5005, bot_blocked=True),
        "quinn": await add_chat_customer(session, "Quinn Quiet", 5006, notifications_opt_out=True),
        "sam": await add_chat_customer(session, "Sam Shipped", 5007),
    }
    orders = [
        ("anna", headset, "1001"),
        ("anna", headset, "1002"),
        ("ben", headset, "1003"),
        ("ben", mixer, "1004"),
        ("clara", mixer, "1005"),
        ("una", headset, "1006"),
        ("blake", headset, "1007"),
        ("quinn", headset, "1008"),
    ]
    for index, (who, product, number) in enumerate(orders):
        await add_order(session, people[who], [(product, 1)], placed_at=minutes_after(T0, index), number=number)
    await add_order(session, people["sam"], [(headset, 1)], allocated=[1], number="1009")
    await session.commit()
    return people


async def outbox(sessions: Sessions) -> list[OutboxMessage]:
    async with sessions() as session:
        return list((await session.execute(select(OutboxMessage).order_by(OutboxMessage.customer_id))).scalars())


@pytest.mark.parametrize(
    ("audience", "expected"),
    [
        (Audience(skus=["HS-200"]), {"anna", "ben"}),
        (Audience(skus=["HS-200", "MX-500"]), {"anna", "ben", "clara"}),
        (Audience(category="Kitchen"), {"ben", "clara"}),
        (Audience(order_numbers=["1002", "1005", "1006", "1009"]), {"anna", "clara"}),
        (Audience(skus=["HS-120"]), set()),
    ],
)
async def test_the_audience_is_every_reachable_customer_waiting_on_it_once(
    session: AsyncSession, session_factory: Sessions, uow: UnitOfWork, audience: Audience, expected: set[str]
) -> None:
    people = await shop(session)

    count = await preview_broadcast(uow, audience)
    view = await create_broadcast(uow, audience, TEXTS, MERCHANT)

    reached = {message.customer_id for message in await outbox(session_factory)}
    assert reached == {people[name].id for name in expected}
    assert count == view.recipient_count == len(await outbox(session_factory)) == len(expected)
    assert view.pending == len(expected)
    if not expected:
        assert view.status == BroadcastStatus.DONE and view.finished_at is not None


async def test_each_customer_gets_the_text_in_their_language_or_the_default_one(
    session: AsyncSession, session_factory: Sessions, uow: UnitOfWork
) -> None:
    people = await shop(session)
    # Clara chose German in the chat; her stored language says English.
    session.add(TelegramUser(telegram_user_id=5003, language="de", conversation_data={}, created_at=T0, updated_at=T0))
    # Anna's language is unknown and her Telegram speaks French, which the shop does not.
    await session.execute(update(Customer).where(Customer.id == people["anna"].id).values(language=None))
    session.add(
        TelegramUser(telegram_user_id=5001, telegram_language_code="fr", conversation_data={}, created_at=T0, updated_at=T0)
    )
    await session.commit()

    view = await create_broadcast(uow, Audience(skus=["HS-200", "MX-500"]), TEXTS, MERCHANT)

    by_customer = {message.customer_id: message for message in await outbox(session_factory)}
    assert {people[name].id: by_customer[people[name].id].params["text"] for name in ("anna", "ben", "clara")} == {
        people["anna"].id: TEXTS["en"],
        people["ben"].id: TEXTS["de"],
        people["clara"].id: TEXTS["de"],
    }
    first = by_customer[people["ben"].id]
    assert (first.template, first.language, first.chat_id, first.broadcast_id, first.priority, first.optional) == (
        "broadcast",
        "de",
        5002,
        view.id,
        PRIORITY_BROADCAST,
        True,
    )

    english_only = await create_broadcast(uow, Audience(skus=["MX-500"]), {"en": "Mixers soon."}, MERCHANT)
    async with session_factory() as check:
        texts = (await check.scalars(select(OutboxMessage.params).where(OutboxMessage.broadcast_id == english_only.id))).all()
    assert [params["text"] for params in texts] == ["Mixers soon.", "Mixers soon."]


async def test_an_audience_must_name_things_the_shop_has(session: AsyncSession, uow: UnitOfWork) -> None:
    await shop(session)

    with pytest.raises(AudienceInvalid) as unknown:
        await preview_broadcast(uow, Audience(skus=["HS-200", "NOPE-1"], category="garden", order_numbers=["9999"]))
    assert (unknown.value.unknown_skus, unknown.value.unknown_orders, unknown.value.unknown_category) == (
        ("NOPE-1",),
        ("9999",),
        "garden",
    )
    with pytest.raises(AudienceInvalid):
        await create_broadcast(uow, Audience(skus=[" ", ""]), TEXTS, MERCHANT)


async def test_the_default_language_text_is_required_and_languages_must_be_spoken(
    session: AsyncSession, session_factory: Sessions, uow: UnitOfWork
) -> None:
    await shop(session)

    with pytest.raises(BroadcastTextMissing):
        await create_broadcast(uow, Audience(skus=["HS-200"]), {"de": "Nur Deutsch", "en": "  "}, MERCHANT)
    with pytest.raises(UnsupportedLanguage):
        await create_broadcast(uow, Audience(skus=["HS-200"]), {"en": "Hi", "fr": "Salut"}, MERCHANT)
    assert await outbox(session_factory) == []


async def test_progress_counts_what_the_workers_did_and_a_finished_broadcast_is_done(
    session: AsyncSession, session_factory: Sessions, uow: UnitOfWork
) -> None:
    await shop(session)
    view = await create_broadcast(uow, Audience(skus=["HS-200", "MX-500"]), TEXTS, MERCHANT)
    first, second, third = (message.id for message in await outbox(session_factory))

    await _deliver(session_factory, {first: OutboxStatus.SENT, second: OutboxStatus.BLOCKED})
    midway = await broadcast_progress(uow, view.id)
    await _deliver(session_factory, {third: OutboxStatus.FAILED})
    done = await broadcast_progress(uow, view.id)

    assert (midway.status, midway.sent, midway.blocked, midway.failed, midway.pending) == (
        BroadcastStatus.SENDING,
        1,
        1,
        0,
        1,
    )
    assert (done.status, done.sent, done.blocked, done.failed, done.pending, done.recipient_count) == (
        BroadcastStatus.DONE,
        1,
        1,
        1,
        0,
        3,
    )
    assert done.finished_at is not None
    with pytest.raises(BroadcastNotFound):
        await broadcast_progress(uow, view.id + 1000)


async def test_cancelling_stops_what_has_not_been_sent(
    session: AsyncSession, session_factory: Sessions, uow: UnitOfWork
) -> None:
    await shop(session)
    view = await create_broadcast(uow, Audience(skus=["HS-200", "MX-500"]), TEXTS, MERCHANT)
    first, second, _ = (message.id for message in await outbox(session_factory))
    await _deliver(session_factory, {first: OutboxStatus.SENT, second: OutboxStatus.SENDING})

    cancelled = await cancel_broadcast(uow, view.id, MERCHANT)
    again = await cancel_broadcast(uow, view.id, MERCHANT)

    assert (cancelled.status, cancelled.sent, cancelled.pending, cancelled.cancelled) == (
        BroadcastStatus.CANCELLED,
        1,
        1,  # the one a worker is sending still goes
        1,
    )
    assert again == cancelled
    assert [m.status for m in await outbox(session_factory)].count(OutboxStatus.CANCELLED) == 1


async def test_a_new_eta_is_set_on_every_waiting_line_of_the_audience_with_its_history(
    session: AsyncSession, session_factory: Sessions, uow: UnitOfWork
) -> None:
    await shop(session)
    await recompute_all_etas(uow)
    new_eta = date(2027, 1, 15)

    view = await create_broadcast(uow, Audience(skus=["HS-200"]), TEXTS, MERCHANT, new_eta)

    async with session_factory() as check:
        lines = (
            await check.execute(
                select(OrderLine.id, OrderLine.eta, OrderLine.eta_basis, OrderLine.status)
                .join(Product, Product.id == OrderLine.product_id)
                .where(Product.sku == "HS-200")
            )
        ).all()
        history = (await check.execute(select(EtaChange).where(EtaChange.reason == "merchant_update"))).scalars().all()
    waiting = [line for line in lines if line.status == LineStatus.BACKORDERED]
    assert len(waiting) == 6 and view.eta_lines_updated == 6  # unlinked, blocked and opted-out customers' too
    assert {(line.eta, line.eta_basis) for line in waiting} == {(new_eta, EtaBasis.LEAD_TIME)}
    assert sorted(change.line_id for change in history) == sorted(line.id for line in waiting)
    assert {(change.old_eta, change.new_eta) for change in history} == {(date(2026, 12, 18), new_eta)}


async def test_a_large_audience_gets_one_message_per_customer(
    session: AsyncSession, session_factory: Sessions, uow: UnitOfWork
) -> None:
    headset = await add_product(session, "HS-200", price=14900)
    customers = 1200
    await session.execute(
        insert(Customer),
        [
            {"name": f"C{n}", "email": f"c{n}@example.com", "telegram_user_id": 900000 + n, "created_at": T0}
            for n in range(customers)
        ],
    )
    ids = list(await session.scalars(select(Customer.id).order_by(Customer.id)))
    await session.execute(
        insert(Order),
        [{"number": f"B{n}", "customer_id": ids[n], "placed_at": T0, "currency": "EUR", "created_at": T0} for n in range(customers)],
    )
    order_ids = list(await session.scalars(select(Order.id).order_by(Order.id)))
    # Every customer waits on two lines: still one message each.
    await session.execute(
        insert(OrderLine),
        [
            {
                "order_id": order_id,
                "product_id": headset.id,
                "quantity": 1,
                "unit_price_minor": 14900,
                "status": LineStatus.BACKORDERED,
                "allocated_quantity": 0,
                "cancelled_quantity": 0,
                "substituted_quantity": 0,
                "queued_at": T0,
                "created_at": T0,
                "updated_at": T0,
            }
            for order_id in order_ids
            for _ in range(2)
        ],
    )
    await session.commit()

    view = await create_broadcast(uow, Audience(skus=["HS-200"]), {"en": "Soon!"}, MERCHANT)

    messages = await outbox(session_factory)
    assert view.recipient_count == len(messages) == len({m.customer_id for m in messages}) == customers


async def _deliver(sessions: Sessions, statuses: dict[int, OutboxStatus]) -> None:
    """What the outbox workers would have done to these messages."""
    async with sessions() as session:
        for message_id, status in statuses.items():
            await session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(status=status))
        await session.commit()


async def send_once(uow: UnitOfWork, token_id: int, audience: Audience, *, fingerprint: str = "a" * 64):
    key = RequestKey(token_id, "console-broadcast:form-1", "POST", "/console/broadcasts", fingerprint)
    return await send_broadcast_once(uow, key, audience, TEXTS, MERCHANT)


async def broadcast_ids(sessions: Sessions) -> list[int]:
    async with sessions() as session:
        return list((await session.scalars(select(Broadcast.id))).all())


async def test_sending_the_same_request_again_finds_the_broadcast_it_created(
    session: AsyncSession, session_factory: Sessions, uow: UnitOfWork
) -> None:
    await shop(session)
    _, token = await create_token(uow, "shop")

    first = await send_once(uow, token.id, Audience(skus=["HS-200"]))
    again = await send_once(uow, token.id, Audience(skus=["HS-200"]))
    changed = await send_once(uow, token.id, Audience(skus=["MX-500"]), fingerprint="b" * 64)

    assert isinstance(first, BroadcastSent) and first.view.recipient_count == 2
    assert again == AlreadySent(first.view.id)
    assert changed == NotSent()
    assert await broadcast_ids(session_factory) == [first.view.id]
    assert len(await outbox(session_factory)) == 2


async def test_of_two_sends_racing_with_one_key_one_creates_and_the_other_finds_it(
    session: AsyncSession, session_factory: Sessions, uow: UnitOfWork, clock, policy
) -> None:
    await shop(session)
    _, token = await create_token(uow, "shop")

    outcomes = await asyncio.gather(
        *(send_once(UnitOfWork(session_factory, clock, policy), token.id, Audience(skus=["HS-200"])) for _ in range(3))
    )

    [sent] = [outcome for outcome in outcomes if isinstance(outcome, BroadcastSent)]
    assert sorted(outcomes, key=lambda outcome: isinstance(outcome, BroadcastSent)) == [
        AlreadySent(sent.view.id), AlreadySent(sent.view.id), sent
    ]
    assert await broadcast_ids(session_factory) == [sent.view.id]
    assert len(await outbox(session_factory)) == 2


async def test_a_refused_send_leaves_its_key_free_for_the_next_try(
    session: AsyncSession, session_factory: Sessions, uow: UnitOfWork
) -> None:
    await shop(session)
    _, token = await create_token(uow, "shop")

    with pytest.raises(AudienceInvalid):
        await send_once(uow, token.id, Audience(skus=["HS-300"]))
    await add_product(session, "HS-300", category="audio")
    await session.commit()
    retried = await send_once(uow, token.id, Audience(skus=["HS-300"]))

    assert isinstance(retried, BroadcastSent)
    assert await broadcast_ids(session_factory) == [retried.view.id]
