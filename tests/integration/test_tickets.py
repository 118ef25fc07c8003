"""Tickets on a real database: one open per customer, the context card's data, relay bookkeeping that loses
nothing and sends nothing twice, agents' actions with their Telegram id, closing, rating and the queue."""

from datetime import datetime, timezone

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.business_hours import parse_business_hours
from bot.clock import ManualClock
from bot.services.audit import Actor
from bot.services.backorders.cancel import cancel_line
from bot.services.conversations.chat_session import claim_update, record_misunderstood
from bot.services.errors import (
    CannedReplyNotFound,
    InvalidCannedReply,
    InvalidRating,
    LineNotFound,
    TicketClosed,
    TicketNotFound,
    TicketStillOpen,
)
from bot.services.support.canned_replies import canned_reply_for, list_canned_replies, save_canned_reply
from bot.services.support.ticket_relay import (
    MAX_RELAY_ATTEMPTS,
    RELAY_LEASE,
    begin_relay_attempt,
    pending_relays,
    queue_agent_message,
    queue_customer_message,
    relay_delivered,
    relay_failed,
)
from bot.services.support.tickets import (
    Escalation,
    EscalationKind,
    TicketPolicy,
    assign_ticket,
    attach_topic,
    close_ticket,
    expected_answer,
    find_ticket,
    open_ticket,
    rate_ticket,
    ticket_context,
    ticket_queue,
    unposted_tickets,
)
from bot.services.unit_of_work import UnitOfWork
from db.models import (
    ActorType,
    Customer,
    LineStatus,
    RelayDirection,
    RelayStatus,
    TelegramUser,
    Ticket,
    TicketMessage,
    TicketStatus,
)
from tests import readback
from tests.shop import T0, add_customer, add_order, add_product, minutes_after

Sessions = async_sessionmaker[AsyncSession]

SUPPORT_CHAT = -1001234
AGENT = 7001
OTHER_AGENT = 7002
WORKER = "relay-worker-1"
POLICY = TicketPolicy(SUPPORT_CHAT, parse_business_hours(""), response_target_minutes=30)
ASKED = Escalation(EscalationKind.ASKED)


async def _customer(session: AsyncSession, name: str = "Anna Klein", telegram_user_id: int = 5001) -> Customer:
    customer = await add_customer(session, name)
    customer.telegram_user_id = telegram_user_id
    customer.language = "de"
    await session.commit()
    return customer


async def _customer_with_order(session: AsyncSession, telegram_user_id: int = 5001) -> tuple[int, int]:
    """A linked customer waiting for a headset on order 1042: (customer id, line id)."""
    headset = await add_product(session, "HS-200", price=14900, name="Studio Pro Wireless Headset")
    customer = await _customer(session, telegram_user_id=telegram_user_id)
    order = await add_order(session, customer, [(headset, 1)], number="1042")
    await session.commit()
    return customer.id, order.lines[0].id


async def _tickets(sessions: Sessions) -> list[Ticket]:
    async with sessions() as session:
        return list(await session.scalars(select(Ticket).order_by(Ticket.id)))


async def _relays(sessions: Sessions) -> list[TicketMessage]:
    async with sessions() as session:
        return list(await session.scalars(select(TicketMessage).order_by(TicketMessage.id)))


# ---- opening and continuing -----------------------------------------------------------------------


async def test_a_customer_has_one_open_ticket_and_asking_again_continues_it(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    customer_id, line_id = await _customer_with_order(session)

    first = await open_ticket(uow, customer_id, 5001, Escalation(EscalationKind.ITEM, line_id), POLICY)
    again = await open_ticket(uow, customer_id, 5001, ASKED, POLICY)

    assert first.created and not again.created
    assert again.ticket.id == first.ticket.id
    [ticket] = await _tickets(session_factory)
    assert (ticket.status, ticket.reason, ticket.support_chat_id) == (TicketStatus.OPEN, f"item:{line_id}", SUPPORT_CHAT)
    assert first.ticket.escalation == Escalation(EscalationKind.ITEM, line_id)
    assert first.ticket.language == "de"
    [opened] = await readback.audit_entries(session_factory, "ticket.opened")
    assert (opened.actor_type, opened.actor_id, opened.entity_id) == (ActorType.CUSTOMER, str(customer_id), str(ticket.id))


async def test_a_closed_ticket_is_not_continued_the_next_request_opens_a_new_one(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    customer_id, _ = await _customer_with_order(session)
    first = await open_ticket(uow, customer_id, 5001, ASKED, POLICY)
    await close_ticket(uow, first.ticket.id, Actor.agent(AGENT))

    second = await open_ticket(uow, customer_id, 5001, ASKED, POLICY)

    assert second.created and second.ticket.id != first.ticket.id
    assert [t.status for t in await _tickets(session_factory)] == [TicketStatus.CLOSED, TicketStatus.OPEN]


async def test_a_ticket_about_someone_elses_item_is_refused_and_nothing_is_opened(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    _, line_id = await _customer_with_order(session)
    stranger = await _customer(session, "Ben Carter", telegram_user_id=5002)

    with pytest.raises(LineNotFound):
        await open_ticket(uow, stranger.id, 5002, Escalation(EscalationKind.ITEM, line_id), POLICY)

    assert await _tickets(session_factory) == []


async def test_opening_a_ticket_ends_the_run_of_misunderstood_messages(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, clock: ManualClock
) -> None:
    customer_id, _ = await _customer_with_order(session)
    await record_misunderstood(uow, 5001)
    assert await record_misunderstood(uow, 5001) == 2

    await open_ticket(uow, customer_id, 5001, Escalation(EscalationKind.MISUNDERSTOOD), POLICY)

    async with session_factory() as check:
        user = await check.get_one(TelegramUser, 5001)
        assert user.misunderstood_in_a_row == 0


@pytest.mark.parametrize(
    ("now", "within", "back", "days"),
    [
        (datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc), 30, None, 0),  # Friday 10:00 in Berlin: at work
        (datetime(2026, 11, 27, 17, 30, tzinfo=timezone.utc), None, datetime(2026, 11, 30, 9, 0), 3),  # Friday 18:30
        (datetime(2026, 11, 28, 11, 0, tzinfo=timezone.utc), None, datetime(2026, 11, 30, 9, 0), 2),  # Saturday
        (datetime(2026, 11, 30, 6, 0, tzinfo=timezone.utc), None, datetime(2026, 11, 30, 9, 0), 0),  # Monday 07:00
        (datetime(2026, 12, 1, 16, 30, tzinfo=timezone.utc), None, datetime(2026, 12, 2, 9, 0), 1),  # Tuesday 17:30
    ],
)
def test_the_answer_is_promised_within_the_target_at_work_else_for_when_the_team_is_back(
    clock: ManualClock, now: datetime, within: int | None, back: datetime | None, days: int
) -> None:
    clock.current = now
    policy = TicketPolicy(SUPPORT_CHAT, parse_business_hours("Mon-Fri 09:00-17:00"), response_target_minutes=30)

    answer = expected_answer(clock, policy)

    assert answer.within_minutes == within
    assert (answer.back_at.replace(tzinfo=None) if answer.back_at else None) == back
    assert answer.days_until_back == days
    if answer.back_at is not None:
        assert answer.back_at.utcoffset() == clock.tz.utcoffset(back)  # told in the shop's time zone


# ---- the context card ------------------------------------------------------------------------------


async def test_the_context_card_has_the_orders_every_waiting_line_the_reason_and_only_the_customers_own_recent_actions(
    uow: UnitOfWork, session: AsyncSession, clock: ManualClock
) -> None:
    headset = await add_product(session, "HS-200", price=14900, name="Studio Pro Wireless Headset")
    mixer = await add_product(session, "MX-500", price=34900, name="ProMix Stand Mixer")
    cable = await add_product(session, "CB-1", price=900, name="Braided Cable")
    customer = await _customer(session)
    first = await add_order(session, customer, [(headset, 1), (cable, 2)], number="1042")
    second = await add_order(session, customer, [(mixer, 1)], number="1050", placed_at=minutes_after(T0, 60))
    await session.commit()
    cable_line, mixer_line = first.lines[1].id, second.lines[0].id
    await cancel_line(uow, customer.id, cable_line, Actor.customer(customer.id))
    await cancel_line(uow, customer.id, mixer_line, Actor.merchant("shop"))  # not the customer's doing
    opened = await open_ticket(uow, customer.id, 5001, Escalation(EscalationKind.REFUSED, cable_line, "line_not_cancellable"), POLICY)

    context = await ticket_context(uow, opened.ticket.id)

    assert [order.number for order in context.orders] == ["1050", "1042"]
    assert [line.sku for line in context.waiting] == ["HS-200"]
    assert context.reason_line is not None and context.reason_line.status is LineStatus.CANCELLED
    assert context.ticket.escalation == Escalation(EscalationKind.REFUSED, cable_line, "line_not_cancellable")
    assert [(a.action, a.details["sku"]) for a in context.recent_actions] == [("line.cancelled", "CB-1")]
    assert context.email == customer.email


# ---- relaying ---------------------------------------------------------------------------------------


async def test_a_customer_message_is_queued_with_the_claim_of_its_update_exactly_once(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    customer_id, _ = await _customer_with_order(session)
    opened = await open_ticket(uow, customer_id, 5001, ASKED, POLICY)
    await attach_topic(uow, opened.ticket.id, 77, 78)

    queued = await queue_customer_message(uow, 900001, 5001, 5001, 15)
    again = await queue_customer_message(uow, 900001, 5001, 5001, 15)  # Telegram delivered the update twice

    assert queued is not None and not queued.duplicate
    assert again is not None and again.duplicate
    [relay] = await _relays(session_factory)
    assert (relay.direction, relay.status, relay.target_chat_id, relay.target_thread_id) == (
        RelayDirection.TO_AGENTS, RelayStatus.PENDING, SUPPORT_CHAT, 77,
    )  # fmt: skip
    assert not await claim_update(uow, 900001)  # the update was claimed with the relay


async def test_without_an_open_ticket_nothing_is_queued_and_the_update_is_left_for_the_bot(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    await _customer_with_order(session)

    assert await queue_customer_message(uow, 900002, 5001, 5001, 15) is None

    assert await _relays(session_factory) == []
    assert await claim_update(uow, 900002)  # the intake can still claim it


async def test_an_agents_message_is_the_first_response_and_is_audited_with_the_agents_telegram_id(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, clock: ManualClock
) -> None:
    customer_id, _ = await _customer_with_order(session)
    opened = await open_ticket(uow, customer_id, 5001, ASKED, POLICY)
    clock.advance(minutes=12)

    first = await queue_agent_message(uow, 900003, opened.ticket.id, AGENT, SUPPORT_CHAT, 40)
    clock.advance(minutes=5)
    await queue_agent_message(uow, 900004, opened.ticket.id, OTHER_AGENT, SUPPORT_CHAT, 41)

    [ticket] = await _tickets(session_factory)
    assert ticket.first_response_at == minutes_after(opened.ticket.opened_at, 12)
    relays = await _relays(session_factory)
    assert [(r.direction, r.author_telegram_id, r.target_chat_id) for r in relays] == [
        (RelayDirection.TO_CUSTOMER, AGENT, 5001), (RelayDirection.TO_CUSTOMER, OTHER_AGENT, 5001),
    ]  # fmt: skip
    replies = await readback.audit_entries(session_factory, "ticket.replied")
    assert [(e.actor_type, e.actor_id, e.details["relay_id"]) for e in replies] == [
        (ActorType.AGENT, str(AGENT), first.relay_id), (ActorType.AGENT, str(OTHER_AGENT), relays[1].id),
    ]  # fmt: skip


async def test_nothing_is_relayed_to_the_customer_of_a_closed_ticket(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    customer_id, _ = await _customer_with_order(session)
    opened = await open_ticket(uow, customer_id, 5001, ASKED, POLICY)
    await close_ticket(uow, opened.ticket.id, Actor.agent(AGENT))

    with pytest.raises(TicketClosed):
        await queue_agent_message(uow, 900005, opened.ticket.id, AGENT, SUPPORT_CHAT, 40)

    assert await _relays(session_factory) == []
    assert await queue_customer_message(uow, 900006, 5001, 5001, 16) is None


async def test_a_delivered_relay_is_not_attempted_again(uow: UnitOfWork, session: AsyncSession, session_factory: Sessions) -> None:
    customer_id, _ = await _customer_with_order(session)
    opened = await open_ticket(uow, customer_id, 5001, ASKED, POLICY)
    await attach_topic(uow, opened.ticket.id, 77, 78)
    queued = await queue_customer_message(uow, 900007, 5001, 5001, 15)
    assert queued is not None and queued.relay_id is not None

    job = await begin_relay_attempt(uow, queued.relay_id, WORKER)
    assert job is not None
    assert (job.attempt, job.target_chat_id, job.target_thread_id, job.source_message_id) == (1, SUPPORT_CHAT, 77, 15)
    await relay_delivered(uow, queued.relay_id, 101)

    assert await begin_relay_attempt(uow, queued.relay_id, WORKER) is None
    assert await pending_relays(uow) == []
    [relay] = await _relays(session_factory)
    assert (relay.status, relay.target_message_id, relay.attempts) == (RelayStatus.DELIVERED, 101, 1)


async def test_a_replaced_topic_takes_the_pending_messages_with_it(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    customer_id, _ = await _customer_with_order(session)
    opened = await open_ticket(uow, customer_id, 5001, ASKED, POLICY)
    await attach_topic(uow, opened.ticket.id, 77, 78)
    queued = await queue_customer_message(uow, 900008, 5001, 5001, 15)
    assert queued is not None and queued.relay_id is not None

    replaced = await attach_topic(uow, opened.ticket.id, 90, 91, replacing_thread_id=77)
    stale = await attach_topic(uow, opened.ticket.id, 95, 96, replacing_thread_id=77)  # a second reopening of 77

    assert (replaced.topic_thread_id, stale.topic_thread_id) == (90, 90)
    job = await begin_relay_attempt(uow, queued.relay_id, WORKER)
    assert job is not None and job.target_thread_id == 90
    [entry] = await readback.audit_entries(session_factory, "ticket.topic_reopened")
    assert (entry.details["thread_id"], entry.details["previous_thread_id"]) == (90, 77)


async def test_in_a_group_without_topics_a_customer_message_replies_to_the_ticket_card(
    uow: UnitOfWork, session: AsyncSession
) -> None:
    customer_id, _ = await _customer_with_order(session)
    opened = await open_ticket(uow, customer_id, 5001, ASKED, POLICY)
    assert await unposted_tickets(uow, SUPPORT_CHAT) == [opened.ticket.id]
    await attach_topic(uow, opened.ticket.id, None, 55)
    queued = await queue_customer_message(uow, 900009, 5001, 5001, 15)
    assert queued is not None and queued.relay_id is not None

    job = await begin_relay_attempt(uow, queued.relay_id, WORKER)

    assert job is not None and (job.target_thread_id, job.reply_to_message_id, job.ticket_posted) == (None, 55, True)
    assert await unposted_tickets(uow, SUPPORT_CHAT) == []


async def test_a_failure_a_retry_can_mend_stays_pending_until_the_attempts_run_out(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, clock: ManualClock
) -> None:
    customer_id, _ = await _customer_with_order(session)
    opened = await open_ticket(uow, customer_id, 5001, ASKED, POLICY)
    queued = await queue_agent_message(uow, 900010, opened.ticket.id, AGENT, SUPPORT_CHAT, 40)
    assert queued.relay_id is not None

    outcomes = []
    for _ in range(MAX_RELAY_ATTEMPTS):
        job = await begin_relay_attempt(uow, queued.relay_id, WORKER)
        assert job is not None
        failure = await relay_failed(uow, queued.relay_id, WORKER, "Bad Gateway", retry=True)
        assert failure is not None
        outcomes.append((failure.first_failure, failure.gave_up))
        clock.advance(minutes=5)  # the longest pause between attempts

    assert outcomes == [(True, False)] + [(False, False)] * (MAX_RELAY_ATTEMPTS - 2) + [(False, True)]
    [relay] = await _relays(session_factory)
    assert (relay.status, relay.attempts, relay.last_error) == (RelayStatus.FAILED, MAX_RELAY_ATTEMPTS, "Bad Gateway")
    assert await begin_relay_attempt(uow, queued.relay_id, WORKER) is None


async def test_a_customer_who_blocked_the_bot_fails_the_relay_at_once_and_is_marked_blocked(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    customer_id, _ = await _customer_with_order(session)
    opened = await open_ticket(uow, customer_id, 5001, ASKED, POLICY)
    queued = await queue_agent_message(uow, 900011, opened.ticket.id, AGENT, SUPPORT_CHAT, 40)
    assert queued.relay_id is not None
    await begin_relay_attempt(uow, queued.relay_id, WORKER)

    failure = await relay_failed(uow, queued.relay_id, WORKER, "Forbidden: bot was blocked by the user", retry=False, blocked=True)
    assert failure is not None

    assert (failure.first_failure, failure.gave_up, failure.direction) == (True, True, RelayDirection.TO_CUSTOMER)
    [relay] = await _relays(session_factory)
    assert relay.status is RelayStatus.FAILED
    async with session_factory() as check:
        assert (await check.get_one(Customer, customer_id)).bot_blocked
    assert [e.entity_id for e in await readback.audit_entries(session_factory, "bot_blocked")] == [str(customer_id)]


async def test_a_pending_relay_of_a_crashed_process_is_found_and_its_next_attempt_counted(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, clock: ManualClock
) -> None:
    customer_id, _ = await _customer_with_order(session)
    await open_ticket(uow, customer_id, 5001, ASKED, POLICY)
    queued = await queue_customer_message(uow, 900012, 5001, 5001, 15)
    assert queued is not None and queued.relay_id is not None
    await begin_relay_attempt(uow, queued.relay_id, WORKER)  # the attempt that died with its process
    clock.advance(seconds=RELAY_LEASE.total_seconds())

    assert await pending_relays(uow) == [queued.relay_id]
    job = await begin_relay_attempt(uow, queued.relay_id, "relay-worker-after-restart")
    assert job is not None and job.attempt == 2 and not job.ticket_posted


# ---- finding tickets from the support group ----------------------------------------------------------


async def test_a_ticket_is_found_by_its_topic_its_card_or_a_relayed_message(uow: UnitOfWork, session: AsyncSession) -> None:
    customer_id, _ = await _customer_with_order(session)
    opened = await open_ticket(uow, customer_id, 5001, ASKED, POLICY)
    await attach_topic(uow, opened.ticket.id, 77, 78)
    queued = await queue_customer_message(uow, 900013, 5001, 5001, 15)
    assert queued is not None and queued.relay_id is not None
    await begin_relay_attempt(uow, queued.relay_id, WORKER)
    await relay_delivered(uow, queued.relay_id, 120)

    by_topic = await find_ticket(uow, SUPPORT_CHAT, thread_id=77)
    by_card = await find_ticket(uow, SUPPORT_CHAT, reply_to_message_id=78)
    by_relay = await find_ticket(uow, SUPPORT_CHAT, reply_to_message_id=120)

    assert [t.id if t else None for t in (by_topic, by_card, by_relay)] == [opened.ticket.id] * 3
    assert await find_ticket(uow, SUPPORT_CHAT, thread_id=5) is None
    assert await find_ticket(uow, -999, thread_id=77) is None  # another group


# ---- agents' actions, closing and rating -------------------------------------------------------------


async def test_assigning_is_audited_and_assigning_again_changes_nothing(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    customer_id, _ = await _customer_with_order(session)
    opened = await open_ticket(uow, customer_id, 5001, ASKED, POLICY)

    first = await assign_ticket(uow, opened.ticket.id, AGENT)
    again = await assign_ticket(uow, opened.ticket.id, AGENT)
    taken = await assign_ticket(uow, opened.ticket.id, OTHER_AGENT)

    assert (first.already, again.already, taken.already, taken.previous_assignee) == (False, True, False, AGENT)
    entries = await readback.audit_entries(session_factory, "ticket.assigned")
    assert [(e.actor_type, e.actor_id) for e in entries] == [(ActorType.AGENT, str(AGENT)), (ActorType.AGENT, str(OTHER_AGENT))]


async def test_closing_records_who_closed_and_closing_again_is_a_no_op(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, clock: ManualClock
) -> None:
    customer_id, _ = await _customer_with_order(session)
    opened = await open_ticket(uow, customer_id, 5001, ASKED, POLICY)
    stranger = await _customer(session, "Ben Carter", telegram_user_id=5002)

    with pytest.raises(TicketNotFound):
        await close_ticket(uow, opened.ticket.id, Actor.customer(stranger.id), customer_id=stranger.id)
    closed = await close_ticket(uow, opened.ticket.id, Actor.customer(customer_id), customer_id=customer_id)
    again = await close_ticket(uow, opened.ticket.id, Actor.agent(AGENT))

    assert (closed.already_closed, again.already_closed) == (False, True)
    [ticket] = await _tickets(session_factory)
    assert (ticket.status, ticket.closed_at, ticket.closed_by) == (TicketStatus.CLOSED, clock.now(), f"customer:{customer_id}")
    assert len(await readback.audit_entries(session_factory, "ticket.closed")) == 1
    with pytest.raises(TicketClosed):
        await assign_ticket(uow, opened.ticket.id, AGENT)


async def test_a_closed_ticket_is_rated_once_by_its_own_customer(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    customer_id, _ = await _customer_with_order(session)
    opened = await open_ticket(uow, customer_id, 5001, ASKED, POLICY)
    stranger = await _customer(session, "Ben Carter", telegram_user_id=5002)

    with pytest.raises(TicketStillOpen):
        await rate_ticket(uow, customer_id, opened.ticket.id, 5)
    await close_ticket(uow, opened.ticket.id, Actor.agent(AGENT))
    with pytest.raises(InvalidRating):
        await rate_ticket(uow, customer_id, opened.ticket.id, 6)
    with pytest.raises(TicketNotFound):
        await rate_ticket(uow, stranger.id, opened.ticket.id, 1)
    first = await rate_ticket(uow, customer_id, opened.ticket.id, 4)
    second = await rate_ticket(uow, customer_id, opened.ticket.id, 1)

    assert (first.stars, first.already_rated, second.stars, second.already_rated) == (4, False, 4, True)
    [ticket] = await _tickets(session_factory)
    assert ticket.rating == 4
    [entry] = await readback.audit_entries(session_factory, "ticket.rated")
    assert entry.details == {"stars": 4}


async def test_the_queue_shows_age_assignee_and_which_tickets_waited_past_the_target_without_an_answer(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, clock: ManualClock
) -> None:
    await add_product(session, "HS-200", price=14900)
    anna = await _customer(session, "Anna Klein", telegram_user_id=5001)
    ben = await _customer(session, "Ben Carter", telegram_user_id=5002)
    clara = await _customer(session, "Clara Schmidt", telegram_user_id=5003)
    annas = await open_ticket(uow, anna.id, 5001, ASKED, POLICY)
    clock.advance(minutes=10)
    bens = await open_ticket(uow, ben.id, 5002, ASKED, POLICY)
    claras = await open_ticket(uow, clara.id, 5003, ASKED, POLICY)
    await close_ticket(uow, claras.ticket.id, Actor.agent(AGENT))
    await assign_ticket(uow, bens.ticket.id, AGENT)
    await queue_agent_message(uow, 900014, bens.ticket.id, AGENT, SUPPORT_CHAT, 40)
    clock.advance(minutes=25)

    queue = await ticket_queue(uow, response_target_minutes=30)

    assert [(t.id, t.customer_name, t.waited_minutes, t.assignee_telegram_id, t.answered, t.overdue) for t in queue] == [
        (annas.ticket.id, "Anna Klein", 35, None, False, True),
        (bens.ticket.id, "Ben Carter", 25, AGENT, True, False),
    ]


# ---- canned replies ---------------------------------------------------------------------------------


async def test_canned_replies_are_kept_per_language_and_sent_in_the_customers_else_the_default(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    saved = await save_canned_reply(uow, "Delay", "en", "Sorry for the wait!", AGENT)
    await save_canned_reply(uow, "delay", "de", "Entschuldige die Wartezeit!", OTHER_AGENT)
    replaced = await save_canned_reply(uow, "delay", "en", "Sorry for the long wait!", AGENT)
    await save_canned_reply(uow, "thanks", "en", "Thanks for your patience.", AGENT)

    assert (saved.reply.key, saved.replaced, replaced.replaced) == ("delay", False, True)
    assert [(r.key, r.language) for r in await list_canned_replies(uow)] == [("delay", "de"), ("delay", "en"), ("thanks", "en")]
    assert (await canned_reply_for(uow, "delay", "de")).text == "Entschuldige die Wartezeit!"
    assert (await canned_reply_for(uow, "DELAY", "en")).text == "Sorry for the long wait!"
    assert (await canned_reply_for(uow, "thanks", "de")).text == "Thanks for your patience."  # no German: the default
    with pytest.raises(CannedReplyNotFound):
        await canned_reply_for(uow, "refund", "de")
    entries = await readback.audit_entries(session_factory, "canned_reply.saved")
    assert [(e.actor_id, e.entity_id, e.details["replaced"]) for e in entries] == [
        (str(AGENT), "delay/en", False), (str(OTHER_AGENT), "delay/de", False), (str(AGENT), "delay/en", True),
        (str(AGENT), "thanks/en", False),
    ]  # fmt: skip


@pytest.mark.parametrize(("key", "language", "text"), [("no spaces", "en", "x"), ("ok", "fr", "x"), ("ok", "en", "  ")])
async def test_a_canned_reply_needs_a_plain_key_a_spoken_language_and_a_text(
    uow: UnitOfWork, session_factory: Sessions, key: str, language: str, text: str
) -> None:
    with pytest.raises(InvalidCannedReply):
        await save_canned_reply(uow, key, language, text, AGENT)

    assert await list_canned_replies(uow) == []


async def test_a_customer_writing_again_unblocks_them(uow: UnitOfWork, session: AsyncSession, session_factory: Sessions) -> None:
    customer_id, _ = await _customer_with_order(session)
    await open_ticket(uow, customer_id, 5001, ASKED, POLICY)
    async with session_factory() as change:
        await change.execute(update(Customer).where(Customer.id == customer_id).values(bot_blocked=True))
        await change.commit()

    await queue_customer_message(uow, 900015, 5001, 5001, 15)

    async with session_factory() as check:
        assert not (await check.get_one(Customer, customer_id)).bot_blocked
