"""Fixtures for the Shopify tests: a running fake store with a small catalogue, its connection saved in the test
database, and an adapter that waits no real seconds (bulk polling, retries and throttling are still exercised)."""

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from bot.clock import ManualClock
from bot.connectors.shopify.adapter import ShopifyAdapter
from bot.services.audit import Actor
from bot.services.connectors import ConnectionConfig, save_connection
from bot.services.unit_of_work import UnitOfWork
from tests.fakes.shopify_store import LOCATION_ID, FakeShopify, running_shopify


class Naps:
    """An injectable sleep that records the waits asked for and yields to the loop without waiting them."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        import asyncio

        self.waits.append(seconds)
        await asyncio.sleep(0)


def stocked_store(clock: ManualClock, **taxes: object) -> FakeShopify:
    """Three products: HS-200 sold out (two orders wait for it), HS-120 in stock, MX-500 sold out.

    `taxes` sets the store's tax_rate and taxes_included (none by default).
    """
    store = FakeShopify(**taxes)  # type: ignore[arg-type]
    store.add_variant("HS-200", "Studio Pro Wireless Headset", "149.00", 0)
    store.add_variant("HS-120", "Studio Wired Headset", "89.00", 5)
    store.add_variant("MX-500", "ProMix Stand Mixer", "349.00", 1)
    now = clock.now()
    store.add_order(1001, "anna@example.com", [("HS-200", 1), ("HS-120", 1)], placed_at=now - timedelta(days=5))
    store.add_order(1002, "ben@example.com", [("HS-200", 2)], placed_at=now - timedelta(days=4), name="Ben Carter", locale="en")
    store.add_order(1003, "cleo@example.com", [("MX-500", 2)], placed_at=now - timedelta(days=3), name="Cleo Park", locale="en")
    return store


@pytest.fixture
async def shopify(clock: ManualClock) -> AsyncIterator[FakeShopify]:
    async for running in running_shopify(stocked_store(clock)):
        yield running


async def connect(uow: UnitOfWork, store: FakeShopify, **settings: object) -> ConnectionConfig:
    credentials = {"access_token": store.token, "client_secret": store.client_secret}
    options = {"api_base_url": store.url, "currency": store.currency, "phone_region": "DE", "location_id": str(LOCATION_ID), **settings}
    return await save_connection(uow, "shopify", store.shop, credentials, options, Actor.merchant("test"))


@pytest.fixture
async def shopify_connection(uow: UnitOfWork, shopify: FakeShopify) -> ConnectionConfig:
    return await connect(uow, shopify)


@pytest.fixture
def naps() -> Naps:
    return Naps()


@pytest.fixture
async def shopify_adapter(shopify_connection: ConnectionConfig, naps: Naps) -> AsyncIterator[ShopifyAdapter]:
    adapter = ShopifyAdapter(shopify_connection, poll_seconds=0.01, sleep=naps, retry_delays=(0.01, 0.01, 0.01))
    yield adapter
    await adapter.aclose()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)
