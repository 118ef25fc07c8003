"""`backorder-bot connect shopify` against the fake Shopify: connected with a progress summary, refused with the
reason (wrong token, missing scope, bad shop name), `--status` showing the connection; secrets never printed."""

from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, text

from bot.clock import ManualClock
from tests.cli_runner import run_cli
from tests.fakes.shopify_fixtures import stocked_store
from tests.fakes.shopify_store import FakeShopify, shopify_in_thread


@pytest.fixture
def store() -> FakeShopify:
    return stocked_store(ManualClock(datetime.now(timezone.utc)))


def _connect(store: FakeShopify, *extra: str, token: str | None = None) -> int:
    return run_cli(
        "connect", "shopify", "--shop", store.shop, "--token", token or store.token, "--client-secret", store.client_secret,
        "--api-base-url", store.url, *extra,
    )


def test_connect_checks_registers_and_backfills_then_status_shows_it(
    cli_database: str, store: FakeShopify, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli("db", "upgrade") == 0
    with shopify_in_thread(store):
        assert _connect(store, "--public-url", "https://bot.example.com") == 0
        out = capsys.readouterr()
        assert "Connected to Backorder Demo (backorder-demo.myshopify.com, EUR)." in out.err
        assert "Webhooks registered at https://bot.example.com/connectors/shopify/webhooks" in out.err
        assert "3 orders imported" in out.err
        assert len(store.subscriptions) == 10

        assert run_cli("connect", "shopify", "--status") == 0
        status = capsys.readouterr().out
        assert "shopify store backorder-demo.myshopify.com: active" in status
        assert "backfill orders: 3 of 3, done" in status
        assert "refunds in the store" in status
        assert "gave up" not in status

        assert run_cli("connect", "shopify", "--retry-failed") == 0
        assert "backorder-demo.myshopify.com: no write-back had given up." in capsys.readouterr().out
    assert store.token not in out.err + out.out + status and store.client_secret not in out.err + status
    engine = create_engine(cli_database.replace("+aiosqlite", ""))
    with engine.connect() as connection:
        audit = " ".join(str(row) for row in connection.execute(text("SELECT details FROM audit_log")))
        settings = connection.execute(text("SELECT settings FROM store_connections")).scalar_one()
    engine.dispose()
    assert store.token not in audit and store.client_secret not in audit
    assert '"location_id": "24826418"' in settings and '"currency": "EUR"' in settings  # learned from the shop


def test_a_wrong_token_is_refused_with_the_reason(
    cli_database: str, store: FakeShopify, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli("db", "upgrade")
    with shopify_in_thread(store):
        assert _connect(store, token="shpat_wrong") == 1
    assert "did not accept the access token" in capsys.readouterr().err
    assert run_cli("connect", "shopify", "--status") == 1  # nothing was saved


def test_a_missing_scope_is_named(cli_database: str, store: FakeShopify, capsys: pytest.CaptureFixture[str]) -> None:
    run_cli("db", "upgrade")
    store.scopes = tuple(scope for scope in store.scopes if scope != "write_order_edits")
    with shopify_in_thread(store):
        assert _connect(store) == 1
    assert "write_order_edits" in capsys.readouterr().err


def test_a_shop_that_is_not_a_myshopify_domain_is_refused(cli_database: str, capsys: pytest.CaptureFixture[str]) -> None:
    run_cli("db", "upgrade")
    assert run_cli("connect", "shopify", "--shop", "https://example.com", "--token", "t", "--client-secret", "s") == 1
    assert "NAME.myshopify.com" in capsys.readouterr().err
