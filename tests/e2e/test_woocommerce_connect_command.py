"""`backorder-bot connect woocommerce` run as a merchant runs it: what is wrong said in words, then connected,
webhooks registered, the store loaded, and `--status` showing it."""

from datetime import UTC, datetime

import pytest

from tests.cli_runner import run_cli
from tests.fakes.woocommerce_fixtures import running_woo_store, stock_the_store
from tests.fakes.woocommerce_store import FakeWooCommerce
from tests.webhook_receiver import serving_in_thread

NOWHERE = "http://127.0.0.1:9"  # where `serve` would listen: refuses at once, so the pings fail fast


def _connect(store: FakeWooCommerce, *extra: str, key: str | None = None) -> int:
    return run_cli(
        "connect", "woocommerce", "--url", store.base_url, "--key", key or store.key, "--secret", store.secret,
        "--public-url", NOWHERE, *extra,
    )


def test_connect_checks_loads_and_shows_its_status(cli_database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("db", "upgrade") == 0
    store = FakeWooCommerce()
    stock_the_store(store, lambda: datetime.now(UTC))
    with serving_in_thread(running_woo_store(store)):
        assert _connect(store, key="ck_wrong") == 1
        refused = capsys.readouterr().err
        assert "Not connected: the consumer key (ck_…) is wrong (WooCommerce said: Consumer key is invalid.)" in refused

        assert _connect(store) == 0
        said = capsys.readouterr()
        assert f"Connected to {store.base_url.split('//')[1]}" in said.err
        assert "order.created, order.updated, order.deleted, product.updated" in said.err
        assert "3 orders imported" in said.err
        assert store.key not in said.out + said.err and store.secret not in said.out + said.err

        assert _connect(store) == 0  # again: nothing new, no second set of webhooks
        assert "orders imported" not in capsys.readouterr().err
        assert len(store.webhooks) == 4

        assert run_cli("connect", "woocommerce", "--status") == 0
        status = capsys.readouterr().out
        assert f"woocommerce store {store.base_url}: active" in status
        assert "backfill orders: 3 of 3, done" in status
        assert store.secret not in status


def test_a_missing_key_or_a_bad_address_is_refused_before_calling(cli_database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("db", "upgrade") == 0
    assert run_cli("connect", "woocommerce", "--url", "https://shop.example.com", "--secret", "cs_x") == 1
    assert "consumer key (ck_…) with --key or WOOCOMMERCE_KEY" in capsys.readouterr().err
    assert run_cli("connect", "woocommerce", "--url", "ftp://shop.example.com", "--key", "ck_x", "--secret", "cs_x") == 1
    assert "--url must be the store's address" in capsys.readouterr().err
