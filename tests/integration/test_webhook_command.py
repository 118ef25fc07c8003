"""`backorder-bot webhook add|list|test|rotate-secret|remove` against a receiver verifying with `standardwebhooks`."""

import pytest

from db.migrate import upgrade
from tests.cli_runner import run_cli
from tests.webhook_receiver import Receiver, receiver_in_thread


def test_a_merchant_adds_lists_tests_rotates_and_removes_an_endpoint(
    cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    upgrade(cli_database)
    with receiver_in_thread(Receiver()) as receiver:
        assert run_cli("webhook", "add", receiver.url, "--events", "line.*,refund.paid") == 0
        added = capsys.readouterr()
        receiver.secret = added.out.strip()
        assert run_cli("webhook", "list") == 0
        listed = capsys.readouterr().out
        assert run_cli("webhook", "test", "1") == 0
        tested = capsys.readouterr().out
        assert run_cli("webhook", "rotate-secret", "1") == 0
        rotated = capsys.readouterr().out.strip()
        assert run_cli("webhook", "test", "1") == 0  # still verifies with the old secret during the overlap
        capsys.readouterr()
        receiver.secret = rotated
        assert run_cli("webhook", "test", "1") == 0
        capsys.readouterr()
        assert run_cli("webhook", "remove", "1") == 0
        removed = capsys.readouterr().out

    assert receiver.secret.startswith("whsec_") and "it is not shown again" in added.err
    assert "Webhook endpoint 1 added for line.*, refund.paid" in added.err
    assert listed.startswith(f"1  {receiver.url}  active  events: line.*, refund.paid  waiting: 0")
    assert tested == f"{receiver.url} answered 204: the endpoint works.\n"
    assert [message.type for message in receiver.received] == ["webhook.test"] * 3
    assert receiver.refused == 0
    assert removed == "Webhook endpoint 1 removed; nothing more is sent to it.\n"


def test_a_bad_url_or_event_type_is_refused_and_an_unreachable_endpoint_fails_its_test(
    cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    upgrade(cli_database)

    assert run_cli("webhook", "add", "ftp://example.com/hooks") == 1
    assert "'ftp://example.com/hooks' is not a web address" in capsys.readouterr().err
    assert run_cli("webhook", "add", "https://example.com/hooks", "--events", "line.exploded") == 1
    assert "'line.exploded' is not an event type" in capsys.readouterr().err
    assert run_cli("webhook", "add", "http://127.0.0.1:9/hooks") == 0
    capsys.readouterr()
    assert run_cli("webhook", "test", "1") == 1
    assert "did not take the test message: ClientConnectorError" in capsys.readouterr().err
    assert run_cli("webhook", "remove", "7") == 1
    assert capsys.readouterr().err == "There is no webhook endpoint 7.\n"
