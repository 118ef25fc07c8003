"""GET /healthz against a working and a broken database, and GET /metrics after some traffic."""

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from bot.clock import ManualClock
from bot.composition import ChatDeps
from bot.metrics import BotMetrics
from bot.sandbox import FakeBotApi
from bot.services.merchant_access.api_tokens import create_token
from bot.services.outbox import OutgoingMessage, enqueue
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from bot.telegram_app import build_application
from bot.web.app import build_web_app
from bot.web.telegram_webhook import SECRET_HEADER, WEBHOOK_PATH
from db.engine import create_engine, create_session_factory
from db.models import OutboxMessage, OutboxStatus
from tests.e2e.chat_bot import chat_settings
from tests.e2e.web_client import web_settings
from tests.shop import add_product

BROKEN_DATABASES = [
    "sqlite+aiosqlite:////nonexistent-directory/backorder.sqlite3",
    "postgresql+asyncpg://postgres@127.0.0.1:1/nobody_listens_here",
]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text exposition: (name, sorted labels) → value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.fixture
async def broken_client(request: pytest.FixtureRequest, clock: ManualClock, policy: ShopPolicy) -> AsyncIterator[TestClient]:
    engine = create_engine(request.param)
    deps = ChatDeps(web_settings(database_url=request.param), create_session_factory(engine), clock, policy)
    try:
        async with TestClient(TestServer(build_web_app(deps))) as client:
            yield client
    finally:
        await engine.dispose()


async def test_healthz_is_ok_when_the_database_answers(web_client: TestClient) -> None:
    async with web_client.get("/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok"}


@pytest.mark.parametrize("broken_client", BROKEN_DATABASES, indirect=True)
async def test_healthz_is_503_when_the_database_does_not_answer(broken_client: TestClient) -> None:
    async with broken_client.get("/healthz") as response:
        assert response.status == 503
        assert (await response.json())["status"] == "unavailable"


@pytest.mark.parametrize("broken_client", BROKEN_DATABASES[:1], indirect=True)
async def test_metrics_still_answer_when_the_database_does_not(broken_client: TestClient) -> None:
    async with broken_client.get("/metrics") as response:
        assert response.status == 200
        scraped = samples(await response.text())
    assert scraped[("backorder_database_up", ())] == 0


async def test_metrics_count_updates_replies_latency_outbox_and_requests(
    fake_api: FakeBotApi, session_factory, session, clock: ManualClock, policy: ShopPolicy, uow: UnitOfWork
) -> None:
    deps = ChatDeps(chat_settings(fake_api, webhook_secret="s3cret"), session_factory, clock, policy)
    application = build_application(deps)
    metrics = BotMetrics()
    await add_product(session, "HS-200")
    await enqueue(session, clock, [OutgoingMessage(chat_id=100 + n, template="eta_moved", language="en") for n in range(3)])
    await session.execute(update(OutboxMessage).where(OutboxMessage.chat_id == 100).values(status=OutboxStatus.SENT))
    await session.commit()
    token, _ = await create_token(uow, "shop")

    async with application:
        await application.start()
        async with TestClient(TestServer(build_web_app(deps, application, metrics))) as client:
            update_ = fake_api.send_command(fake_api.add_user("Ada"), "help")
            await client.post(WEBHOOK_PATH, json=update_, headers={SECRET_HEADER: "s3cret"})
            await fake_api.wait_for_reply(update_)
            await application.update_queue.join()
            for available in (1, 2):
                await client.put("/api/v1/stock/HS-200", json={"available": available}, headers={"Authorization": f"Bearer {token}"})
            await client.get("/api/v1/backorders")

            async with client.get("/metrics") as response:
                assert response.status == 200
                assert response.content_type == "text/plain"
                scraped = samples(await response.text())
        await application.stop()

    assert scraped[("backorder_telegram_updates_handled_total", ())] == 1
    assert scraped[("backorder_telegram_replies_sent_total", ())] == 1
    assert scraped[("backorder_telegram_update_handling_seconds_count", ())] == 1
    assert scraped[("backorder_telegram_update_handling_seconds_bucket", (("le", "+Inf"),))] == 1
    assert scraped[("backorder_outbox_pending", ())] == 2
    assert scraped[("backorder_outbox_messages", (("status", "sent"),))] == 1
    assert scraped[("backorder_outbox_messages", (("status", "failed"),))] == 0
    assert scraped[("backorder_database_up", ())] == 1
    stock = (("method", "PUT"), ("route", "/api/v1/stock/{sku}"), ("status", "200"))
    assert scraped[("backorder_http_requests_total", stock)] == 2
    unauthorised = (("method", "GET"), ("route", "/api/v1/backorders"), ("status", "401"))
    assert scraped[("backorder_http_requests_total", unauthorised)] == 1
    webhook = (("method", "POST"), ("route", WEBHOOK_PATH), ("status", "200"))
    assert scraped[("backorder_http_requests_total", webhook)] == 1


class SendsSoFar:
    """Counts as the outbox workers keep them."""

    def as_dict(self) -> dict[str, int]:
        return {"sent": 41, "failed": 1, "blocked": 2}


async def test_metrics_show_the_outbox_sends_by_result(web_deps: ChatDeps) -> None:
    metrics = BotMetrics()
    metrics.count_sends(SendsSoFar())

    async with TestClient(TestServer(build_web_app(web_deps, metrics=metrics))) as client:
        async with client.get("/metrics") as response:
            scraped = samples(await response.text())

    assert {labels: value for (name, labels), value in scraped.items() if name == "backorder_outbox_sends_total"} == {
        (("result", "sent"),): 41, (("result", "failed"),): 1, (("result", "blocked"),): 2
    }
