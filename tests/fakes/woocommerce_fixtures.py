"""pytest fixtures for the fake WooCommerce store (tests/fakes/woocommerce_store.py): the store, a small
catalogue with open orders, its connection saved in the test database, and an adapter that waits no real seconds."""

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.connectors.woocommerce.adapter import WooCommerceAdapter
from bot.connectors.woocommerce.rest_client import RetryPolicy
from bot.connectors.worker import ConnectorWorker
from bot.services.audit import Actor
from bot.services.connectors import ConnectionConfig, save_connection
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from tests.fakes.woocommerce_store import FakeWooCommerce

WEBHOOK_SECRET = "woo-webhook-secret-for-tests"


@pytest.fixture
async def woo_store() -> AsyncIterator[FakeWooCommerce]:
    """A running fake store with no products, orders or webhooks yet."""
    async for running in running_woo_store(FakeWooCommerce()):
        yield running


def stock_the_store(store: FakeWooCommerce, clock: Callable[[], datetime]) -> None:
    """HS-200 sold out (notify: checkout marks backorders), HS-120 in stock, MX-500 one left; three open orders."""
    store.now = clock
    store.add_product("HS-200", "Studio Pro Wireless Headset", "149.00", stock=0, backorders="notify", category="audio")
    store.add_product("HS-120", "Studio Wired Headset", "89.00", stock=5, backorders="notify", category="audio")
    store.add_product("MX-500", "ProMix Stand Mixer", "349.00", stock=1, backorders="notify", category="kitchen")
    now = clock()
    store.place_order([("HS-200", 1), ("HS-120", 1)], email="anna@example.com", first_name="Anna", last_name="Klein",
                      phone="0151 23456789", country="DE", number="1001", created=now - timedelta(days=5))
    store.place_order([("HS-200", 2)], email="ben@example.com", first_name="Ben", last_name="Carter",
                      phone="+44 20 7946 0321", country="GB", number="1002", created=now - timedelta(days=4))
    store.place_order([("MX-500", 2)], email="cleo@example.com", first_name="Cleo", last_name="Park",
                      phone="", country="GB", number="1003", created=now - timedelta(days=3))


@pytest.fixture
async def woo_stocked(woo_store: FakeWooCommerce, clock: ManualClock) -> FakeWooCommerce:
    stock_the_store(woo_store, clock.now)
    return woo_store


async def woo_connect(uow: UnitOfWork, store: FakeWooCommerce, **settings: object) -> ConnectionConfig:
    credentials = {"key": store.key, "secret": store.secret, "webhook_secret": WEBHOOK_SECRET}
    options = {"currency": store.currency, "phone_region": "DE", **settings}
    return await save_connection(uow, "woocommerce", store.base_url, credentials, options, Actor.merchant("test"))


@pytest.fixture
async def woo_connection(uow: UnitOfWork, woo_stocked: FakeWooCommerce) -> ConnectionConfig:
    return await woo_connect(uow, woo_stocked)


async def _no_wait(seconds: float) -> None:
    pass


def woo_adapter_for(config: ConnectionConfig) -> WooCommerceAdapter:
    """The connection's adapter, retrying without real waits."""
    return WooCommerceAdapter(config.shop, config.credentials, config.settings, sleep=_no_wait, retry=RetryPolicy(2, 0))


@pytest.fixture
async def woo_worker(
    session_factory: async_sessionmaker[AsyncSession], clock: ManualClock, policy: ShopPolicy
) -> AsyncIterator[ConnectorWorker]:
    """The connector's background work on the WooCommerce adapters, a pass at a time, without the periodic reconcile."""
    running = ConnectorWorker(lambda: UnitOfWork(session_factory, clock, policy), woo_adapter_for, reconcile_every=None)
    yield running
    await running.aclose()


@pytest.fixture
async def woo_adapter(woo_connection: ConnectionConfig) -> AsyncIterator[WooCommerceAdapter]:
    adapter = woo_adapter_for(woo_connection)
    yield adapter
    await adapter.aclose()


async def running_woo_store(store: FakeWooCommerce) -> AsyncIterator[FakeWooCommerce]:
    """The store started, then stopped; with tests.webhook_receiver.serving_in_thread for the command's tests."""
    await store.start()
    try:
        yield store
    finally:
        await store.stop()
