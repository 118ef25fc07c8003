"""With every logger at DEBUG, a customer's whole journey leaves no name, e-mail address, phone number or
message text of theirs in any log record: linking, free text, a ticket relayed both ways, an orders import,
merchant API calls with bad bodies, a privacy export and a failing statement."""

import logging
from datetime import datetime, timezone
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.composition import ChatDeps
from bot.sandbox import FakeUser
from bot.services.audit import Actor
from bot.services.errors import ImportRejected
from bot.services.intake.csv_import import import_orders
from bot.services.merchant_access.api_tokens import create_token
from bot.services.unit_of_work import UnitOfWork
from bot.web.app import build_web_app, web_runner
from db.models import Customer
from tests.e2e.chat_driver import CustomerChat
from tests.e2e.chat_shop import ANNA_EMAIL, ANNA_ORDER, annas_backorder
from tests.e2e.support_driver import SupportGroup, tickets

pytestmark = pytest.mark.parametrize("language", ["de"])

PHONE = "+4915123456789"
CUSTOMER_TEXT = "Mein Nachbar Jonas Brandt hat auch eins bestellt, wann kommt meins?"
AGENT_TEXT = "Hallo, Ihr Kopfhörer kommt am Donnerstag, versprochen."
FREE_TEXT = "Guten Tag, hier schreibt Frau Klein wegen der Lieferung"
IMPORTED = ("Bruno Beispiel", "bruno.beispiel@example.org", "+4917098765432")
SECRETS = (
    ANNA_EMAIL, PHONE, "0151 23456789", "15123456789", "Anna", "Klein",
    CUSTOMER_TEXT, "Jonas Brandt", AGENT_TEXT, "Donnerstag", FREE_TEXT, "Frau Klein", *IMPORTED, "17098765432",
)


class ServedAsInProduction(TestServer):
    """aiohttp's test server, but run by the runner `serve` and `demo` use (no access log)."""

    async def _make_runner(self, **options: Any) -> web.AppRunner:
        return web_runner(self.app, **options)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every logger at DEBUG, from before the bot starts."""
    caplog.set_level(logging.DEBUG)
    # SQLAlchemy keeps its own loggers at WARNING unless told otherwise: told, as `echo="debug"` would.
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")
    return caplog


def _rendered(record: logging.LogRecord) -> str:
    """The record as a log handler would write it, with its traceback."""
    return logging.Formatter("%(name)s %(message)s").format(record)


async def test_no_personal_data_reaches_the_logs_at_debug(
    logs: pytest.LogCaptureFixture, chat: CustomerChat, desk: SupportGroup, agent: FakeUser,
    session: AsyncSession, uow: UnitOfWork, session_factory: async_sessionmaker[AsyncSession], web_deps: ChatDeps,
) -> None:
    await annas_backorder(session, uow, phone=PHONE)
    # The chat: a wrong guess, then linking by order number and e-mail address; free text; a ticket both ways.
    await chat.send(f"{ANNA_ORDER} anna.klein@example.net")
    await chat.send(f"{ANNA_ORDER} {ANNA_EMAIL}")
    await chat.send(FREE_TEXT)
    await chat.command("support")
    [ticket] = await tickets(session_factory)
    await chat.send(CUSTOMER_TEXT)
    await desk.write(agent, AGENT_TEXT, thread_id=int(ticket.topic_thread_id))
    # The merchant's side: an import, and API calls (bad bodies among them) that carry personal data.
    name, email, phone = IMPORTED
    orders = (
        "order_number,placed_at,customer_email,customer_name,customer_phone,sku,quantity,unit_price,currency\n"
        f"7001,2026-11-20,{email},{name},{phone},HS-200,1,149.00,EUR\n"
    )
    imported = await import_orders(uow, orders, Actor.merchant("test"), "DE")
    with pytest.raises(ImportRejected) as refused:
        await import_orders(uow, orders.replace(",1,149.00", ",zero,149.00"), Actor.merchant("test"), "DE")
    logging.getLogger("bot.cli").warning("import refused", exc_info=refused.value)
    plaintext, _ = await create_token(uow, "Anna's laptop")
    headers = {"Authorization": f"Bearer {plaintext}"}
    async with TestClient(ServedAsInProduction(build_web_app(web_deps))) as client:
        bad_order = {"orders": [{"number": "7002", "customer": {"email": ANNA_EMAIL, "name": "Anna Klein", "phone": PHONE}}]}
        statuses = [
            (await client.post("/api/v1/orders", json=bad_order, headers=headers)).status,
            (await client.post("/api/v1/orders", data=f'{{"email": "{ANNA_EMAIL}"', headers=headers)).status,
            (await client.get("/api/v1/customers/export", params={"email": ANNA_EMAIL}, headers=headers)).status,
        ]
    # A statement the database refuses, logged as an entry point logs an unexpected failure.
    async with session_factory() as failing:
        failing.add(Customer(name="Anna Klein", email=ANNA_EMAIL, phone=PHONE, created_at=datetime.now(timezone.utc)))
        with pytest.raises(IntegrityError) as duplicate:
            await failing.commit()
    logging.getLogger("bot.web").error("request failed", exc_info=duplicate.value)

    assert CUSTOMER_TEXT in [message.text for message in desk.bot_messages(int(ticket.topic_thread_id))]
    assert chat.fake.bot_messages(chat.chat_id)[-1].text == AGENT_TEXT
    assert imported.changed and refused.value.problems
    assert statuses == [422, 422, 200]
    every_record = logs.get_records("setup") + logs.get_records("call")
    loggers = {record.name.split(".")[0] for record in every_record}
    assert {"telegram", "sqlalchemy", "bot"} <= loggers  # the libraries did talk at DEBUG
    leaks = [
        (record.name, secret) for record in every_record for secret in SECRETS if secret in _rendered(record)
    ]
    assert leaks == []
