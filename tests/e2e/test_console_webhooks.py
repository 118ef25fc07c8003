"""The console's Webhooks page through the real aiohttp app, against a receiver that verifies every message with the
`standardwebhooks` library: add an endpoint (its secret shown once), send a test message, rotate the secret with an
overlap, see an endpoint disabled by 410 Gone or a day of failures with its last error, turn it back on, remove it."""

import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.services.event_log import EventType, emit
from bot.services.unit_of_work import UnitOfWork
from bot.services.webhooks.deliveries import endpoint_target
from bot.webhook_delivery import WebhookSender, WebhookWorker
from db.models import WebhookDelivery, WebhookEndpoint, WebhookEndpointStatus
from tests.e2e.test_console_http import Console, Page, console, console_deps, count, signed_in, token  # noqa: F401 - fixtures
from tests.webhook_receiver import Receiver, running_receiver

Sessions = async_sessionmaker[AsyncSession]
SECRET = re.compile(r'<code id="secret">(whsec_[A-Za-z0-9+/=]+)</code>')


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async for running in running_receiver(Receiver()):
        yield running


async def add(console: Console, url: str, *families: str, other: str = "") -> Page:
    form = [("csrf", await console.csrf()), ("url", url), *(("types", family) for family in families), ("other_types", other)]
    return await console.post("/console/webhooks", form)


async def subscribed(console: Console, receiver: Receiver) -> int:
    """Add the receiver as an endpoint for every event, give it the secret shown, and return the endpoint's id."""
    added = await add(console, receiver.url)
    receiver.secret = shown_secret(added)
    return int(re.findall(r'data-endpoint="(\d+)"', added.html)[0])


def shown_secret(page: Page) -> str:
    [secret] = SECRET.findall(page.html)
    return secret


def endpoint_row(page: Page, endpoint_id: int) -> str:
    row = re.search(rf'<tr data-endpoint="{endpoint_id}">.*?</tr>', page.html, re.S)
    assert row, f"no endpoint {endpoint_id} on the page"
    return Page(200, row.group(0), {}).text


async def deliver_once(uow: UnitOfWork, endpoint_id: int, order_number: str = "1042") -> None:
    """An event, and one round of the webhook worker for the endpoint."""
    async with uow:
        emit(uow.session, EventType.LINE_SHIPPED, uow.clock.now(), {"order_number": order_number}, order_number)
        await uow.commit()
    target = await endpoint_target(uow, endpoint_id)
    assert target is not None
    async with WebhookSender() as sender:
        await WebhookWorker(lambda: uow, sender).deliver_due(target)


async def test_an_endpoint_added_in_the_console_shows_its_secret_once_and_a_test_message_verifies(
    signed_in: Console, receiver: Receiver, session_factory: Sessions
) -> None:
    added = await add(signed_in, receiver.url, "line.*", "refund.*", other="ticket.closed")

    assert added.status == 201
    receiver.secret = shown_secret(added)
    assert "Copy it into your receiver's settings now: the console cannot show it again." in added.text
    async with session_factory() as check:
        [endpoint] = (await check.scalars(select(WebhookEndpoint))).all()
    assert (endpoint.url, endpoint.event_types, endpoint.secret) == (receiver.url, ["line.*", "refund.*", "ticket.closed"], receiver.secret)
    listed = await signed_in.get("/console/webhooks")
    assert receiver.secret not in listed.html  # shown once
    assert "line.*, refund.*, ticket.closed active not yet" in endpoint_row(listed, endpoint.id)

    tested = await signed_in.post(f"/console/webhooks/{endpoint.id}/test", {"csrf": listed.field("csrf")})

    assert tested.status == 200
    assert f"{receiver.url} answered 204 to the test message: the endpoint works." in tested.text
    [message] = receiver.received
    assert message.type == "webhook.test" and message.data == {"endpoint_id": endpoint.id}


async def test_a_test_message_to_a_dead_endpoint_says_what_went_wrong(signed_in: Console, receiver: Receiver) -> None:
    receiver.then = 503
    endpoint_id = await subscribed(signed_in, receiver)

    tested = await signed_in.post(f"/console/webhooks/{endpoint_id}/test", {"csrf": await signed_in.csrf()})

    assert f"{receiver.url} did not take the test message: HTTP 503: receiver says no" in tested.text
    assert "every event" in endpoint_row(tested, endpoint_id)


@pytest.mark.parametrize(
    ("url", "families", "other", "says"),
    [
        ("ftp://shop.example.com/hooks", (), "", "'ftp://shop.example.com/hooks' is not a web address starting with https:// or http://."),
        ("https://shop.example.com/hooks", ("line.*",), "line.exploded", "Name event types as the feed does"),
        ("https://shop.example.com/hooks", ("gossip.*",), "", "Name event types as the feed does"),
    ],
)
async def test_a_bad_endpoint_is_refused_with_what_was_typed_kept(
    signed_in: Console, session_factory: Sessions, url: str, families: tuple[str, ...], other: str, says: str
) -> None:
    answer = await add(signed_in, url, *families, other=other)

    assert answer.status == 422
    assert says in answer.text
    assert f'value="{url}"' in answer.html and SECRET.search(answer.html) is None
    assert await count(session_factory, WebhookEndpoint) == 0


async def test_rotating_shows_the_new_secret_and_the_old_one_signs_beside_it_for_the_overlap_chosen(
    signed_in: Console, receiver: Receiver, uow: UnitOfWork
) -> None:
    endpoint_id = await subscribed(signed_in, receiver)
    old = receiver.secret

    rotated = await signed_in.post(f"/console/webhooks/{endpoint_id}/rotate", {"csrf": await signed_in.csrf(), "overlap_hours": "1"})
    refused = await signed_in.post(f"/console/webhooks/{endpoint_id}/rotate", {"csrf": await signed_in.csrf(), "overlap_hours": "9999"})

    assert rotated.status == 200
    new = shown_secret(rotated)
    assert new != old
    # Today 27 Nov 2026, 10:00 in Berlin: the old secret signs until 11:00.
    assert f"New signing secret for endpoint {endpoint_id}, shown only now; the old one keeps signing beside it until 27 Nov 2026, 11:00" in rotated.text
    assert "The previous secret signs too until 27 Nov 2026, 11:00." in endpoint_row(rotated, endpoint_id)
    target = await endpoint_target(uow, endpoint_id)
    assert target is not None and target.secrets == (new, old)
    assert refused.status == 422 and "Choose how long the old secret keeps signing." in refused.text
    # A message signed with both verifies with either, as a receiver mid-change holds one of them.
    receiver.secret = old
    await signed_in.post(f"/console/webhooks/{endpoint_id}/test", {"csrf": await signed_in.csrf()})
    receiver.secret = new
    await signed_in.post(f"/console/webhooks/{endpoint_id}/test", {"csrf": await signed_in.csrf()})
    assert (len(receiver.received), receiver.refused) == (2, 0)


async def test_an_endpoint_that_answered_410_shows_as_disabled_with_why_and_can_be_turned_back_on(
    signed_in: Console, receiver: Receiver, uow: UnitOfWork, clock: ManualClock
) -> None:
    endpoint_id = await subscribed(signed_in, receiver)
    receiver.script = [410]

    await deliver_once(uow, endpoint_id)

    page = await signed_in.get("/console/webhooks")
    row = endpoint_row(page, endpoint_id)
    assert "disabled The endpoint answered 410 Gone: it asked to be sent nothing more." in row
    assert "Last error: HTTP 410: receiver says no" in row and "1 delivery waiting" in row
    german = endpoint_row(await signed_in.get("/console/webhooks", lang="de"), endpoint_id)
    assert "deaktiviert" in german and "410 Gone" in german and "Letzter Fehler: HTTP 410" in german

    enabled = await signed_in.post(f"/console/webhooks/{endpoint_id}/enable", {"csrf": page.field("csrf")})

    assert enabled.status == 303
    after = await signed_in.get(enabled.location, lang="en")
    assert f"Endpoint {endpoint_id} is on again; what waited for it is delivered, oldest first." in after.text
    assert "active" in endpoint_row(after, endpoint_id)
    clock.advance(seconds=10)  # past the first retry's pause
    target = await endpoint_target(uow, endpoint_id)
    assert target is not None
    async with WebhookSender() as sender:
        await WebhookWorker(lambda: uow, sender).deliver_due(target)
    assert [message.type for message in receiver.received] == ["line.shipped", "line.shipped"]  # refused, then taken


async def test_an_endpoint_failing_for_a_day_shows_as_failing_then_disabled_with_its_last_error(
    signed_in: Console, receiver: Receiver, uow: UnitOfWork, clock: ManualClock, token: str
) -> None:
    endpoint_id = await subscribed(signed_in, receiver)
    receiver.then = 500

    await deliver_once(uow, endpoint_id)
    failing = endpoint_row(await signed_in.get("/console/webhooks"), endpoint_id)
    for order_number in ("1043", "1044"):  # a new order's event is due at once; the day runs on
        clock.advance(hours=13)
        await deliver_once(uow, endpoint_id, order_number)

    assert "failing since 27 Nov 2026, 10:00 Last error: HTTP 500: receiver says no" in failing
    await signed_in.sign_in(token)  # a day later the console session has expired
    disabled = endpoint_row(await signed_in.get("/console/webhooks"), endpoint_id)
    assert "disabled Every delivery failed for a day. Last error: HTTP 500: receiver says no" in disabled
    assert "Turn back on" in disabled


async def test_removing_an_endpoint_drops_it_and_what_waited_for_it(
    signed_in: Console, receiver: Receiver, uow: UnitOfWork, session_factory: Sessions
) -> None:
    endpoint_id = await subscribed(signed_in, receiver)
    receiver.then = 500
    await deliver_once(uow, endpoint_id)

    removed = await signed_in.post(f"/console/webhooks/{endpoint_id}/remove", {"csrf": await signed_in.csrf()})
    again = await signed_in.post(f"/console/webhooks/{endpoint_id}/remove", {"csrf": await signed_in.csrf()})

    assert removed.status == 303
    assert f"Endpoint {endpoint_id} removed; nothing more is sent to it." in (await signed_in.get(removed.location)).text
    assert again.status == 404 and f"There is no webhook endpoint {endpoint_id}." in again.text
    assert await count(session_factory, WebhookEndpoint) == await count(session_factory, WebhookDelivery) == 0


@pytest.mark.parametrize("action", ["test", "rotate", "enable", "remove"])
async def test_an_unknown_endpoint_is_a_404(signed_in: Console, action: str) -> None:
    for endpoint_id in ("4242", "999999999999"):
        answer = await signed_in.post(
            f"/console/webhooks/{endpoint_id}/{action}", {"csrf": await signed_in.csrf(), "overlap_hours": "24"}
        )
        assert answer.status == 404 and f"There is no webhook endpoint {endpoint_id}." in answer.text


async def test_the_forms_need_the_console_s_form_token(
    signed_in: Console, receiver: Receiver, session_factory: Sessions
) -> None:
    endpoint_id = await subscribed(signed_in, receiver)

    forged_add = await signed_in.post("/console/webhooks", {"url": "https://evil.example/hooks"})
    forged_rotate = await signed_in.post(f"/console/webhooks/{endpoint_id}/rotate", {"overlap_hours": "24"})
    forged_remove = await signed_in.post(
        f"/console/webhooks/{endpoint_id}/remove", {"csrf": await signed_in.csrf()}, Origin="https://evil.example"
    )

    assert forged_add.status == forged_rotate.status == forged_remove.status == 403
    async with session_factory() as check:
        [endpoint] = (await check.scalars(select(WebhookEndpoint))).all()
    assert (endpoint.url, endpoint.previous_secret, endpoint.status) == (receiver.url, None, WebhookEndpointStatus.ACTIVE)


async def test_reloading_the_page_that_showed_a_new_secret_adds_no_second_endpoint(
    signed_in: Console, receiver: Receiver, session_factory: Sessions
) -> None:
    page = await signed_in.get("/console/webhooks")
    form = [("csrf", page.field("csrf")), ("form_id", page.field("form_id")), ("url", receiver.url), ("types", "line.*")]

    added = await signed_in.post("/console/webhooks", form)
    reloaded = await signed_in.post("/console/webhooks", form)

    assert added.status == 201 and shown_secret(added)
    assert (reloaded.status, reloaded.location) == (303, "/console/webhooks")
    assert not SECRET.findall((await signed_in.get(reloaded.location)).html)
    async with session_factory() as check:
        assert len((await check.scalars(select(WebhookEndpoint))).all()) == 1
