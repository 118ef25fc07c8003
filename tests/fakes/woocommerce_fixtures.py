"""pytest fixtures for the fake WooCommerce store (tests/fakes/woocommerce_store.py)."""

from collections.abc import AsyncIterator

import pytest

from tests.fakes.woocommerce_store import FakeWooCommerce


@pytest.fixture
async def woo_store() -> AsyncIterator[FakeWooCommerce]:
    """A running fake store with no products, orders or webhooks yet."""
    store = FakeWooCommerce()
    await store.start()
    try:
        yield store
    finally:
        await store.stop()
