"""`serve` (and `run`) deliver the outbox and merchant webhooks and run the daily jobs beside the bot, with nothing
else started."""

import asyncio
import logging
from datetime import date, timedelta

import pytest

from sqlalchemy import select

from bot.clock import ManualClock
from bot.sandbox import FakeBotApi
from bot.services.audit import Actor
from bot.services.event_log import EventType, emit
from bot.services.outbox import OutgoingMessage, enqueue
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from bot.services.webhooks.endpoints import add_endpoint
from bot.web_jobs import serving
from db.models import DelayNotice, LinkAttempt, LinkMethod, OutboxMessage, OutboxStatus
from tests.e2e.test_webhook import deps_for
from tests.shop import add_customer, add_order, add_product
from tests.webhook_receiver import HANGING_LIMIT, Receiver, arrival, running_receiver


async def test_a_queued_message_is_delivered_while_serving(
    fake_api: FakeBotApi, session_factory, session, clock: ManualClock, policy: ShopPolicy
) -> None:
    user = fake_api.add_user("Anna")
    fake_api.send_text(user, "hi")  # Telegram only lets a bot write to users who wrote first
    customer = await add_customer(session, "Anna Klein")
    customer.telegram_user_id = user.id
    await enqueue(
        session,
        clock,
        [OutgoingMessage(user.id, "broadcast", "en", {"text": "Your headset ships Monday."}, customer_id=customer.id)],
    )
    await session.commit()

    async with serving(deps_for(fake_api, session_factory, clock, policy), "127.0.0.1", 0):
        await fake_api.wait_until(
            lambda: any(m.text == "Your headset ships Monday." for m in fake_api.bot_messages(user.id)),
            what="the outbox message delivered",
        )

    async with session_factory() as check:
        statuses = (await check.scalars(select(OutboxMessage.status))).all()
    assert statuses == [OutboxStatus.SENT]


async def test_webhooks_are_delivered_while_serving_and_a_hanging_endpoint_holds_up_no_other(
    fake_api: FakeBotApi, session_factory, clock: ManualClock, policy: ShopPolicy, uow: UnitOfWork
) -> None:
    async for hanging in running_receiver(Receiver(then="slow")):  # takes each request and never answers in time
        async for healthy in running_receiver(Receiver()):
            hanging.secret = (await add_endpoint(uow, hanging.url, [], Actor.merchant("shop"))).secret
            healthy.secret = (await add_endpoint(uow, healthy.url, [], Actor.merchant("shop"))).secret
            async with uow:
                emit(uow.session, EventType.LINE_SHIPPED, clock.now(), {"order_number": "1042"}, "1042")
                await uow.commit()

            async with serving(deps_for(fake_api, session_factory, clock, policy), "127.0.0.1", 0):
                await arrival(lambda: bool(healthy.received and hanging.received), what="a delivery at each endpoint")

    # The healthy endpoint did not wait for the hanging one's request to time out (10 s), however loaded the machine.
    assert healthy.received[0].arrived_at - hanging.received[0].arrived_at < HANGING_LIMIT
    assert [(m.type, m.data["order_number"]) for m in healthy.received] == [("line.shipped", "1042")]
    assert len(hanging.received) == 1 and healthy.refused == hanging.refused == 0


async def test_the_daily_jobs_send_a_delay_notice_for_a_missed_promise(
    fake_api: FakeBotApi, session_factory, session, clock: ManualClock, policy: ShopPolicy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.background")
    user = fake_api.add_user("Ben")
    fake_api.send_text(user, "hi")
    headset = await add_product(session, "HS-1", lead_time_days=40)
    ben = await add_customer(session, "Ben Carter")
    ben.telegram_user_id = user.id
    order = await add_order(session, ben, [(headset, 1)], placed_at=clock.now() - timedelta(days=2))
    order.promised_ship_by = clock.today() + timedelta(days=5)
    await session.commit()

    async with serving(deps_for(fake_api, session_factory, clock, policy), "127.0.0.1", 0):
        await fake_api.wait_until(lambda: len(fake_api.bot_messages(user.id)) >= 2, timeout=10, what="the delay notice")
        # The summary is logged once the jobs after the notices (the retention purge) are done too.
        await arrival(lambda: any(r.getMessage().startswith("daily jobs") for r in caplog.records), what="the summary")

    async with session_factory() as check:
        notices = (await check.scalars(select(DelayNotice))).all()
    assert [(n.sequence, n.promised_ship_by) for n in notices] == [(1, date(2026, 12, 2))]
    # The log says what the jobs did in words, not as the services' result objects.
    [summary] = [record.getMessage() for record in caplog.records if record.getMessage().startswith("daily jobs")]
    assert "delay notices: 1 first, 0 further" in summary and "Result(" not in summary


async def test_the_daily_jobs_purge_what_is_past_its_retention_period(
    fake_api: FakeBotApi, session_factory, session, clock: ManualClock, policy: ShopPolicy
) -> None:
    old, recent = clock.now() - timedelta(days=31), clock.now() - timedelta(days=1)  # RETENTION_LINK_ATTEMPT_DAYS: 30
    session.add_all(
        [
            LinkAttempt(telegram_user_id=7_000_001, method=LinkMethod.ORDER_EMAIL, succeeded=False, at=old),
            LinkAttempt(telegram_user_id=7_000_002, method=LinkMethod.ORDER_EMAIL, succeeded=False, at=recent),
        ]
    )
    await session.commit()

    async with serving(deps_for(fake_api, session_factory, clock, policy), "127.0.0.1", 0):
        for _ in range(100):
            async with session_factory() as check:
                left = (await check.scalars(select(LinkAttempt.telegram_user_id))).all()
            if len(left) == 1:
                break
            await asyncio.sleep(0.1)

    assert left == [7_000_002]
