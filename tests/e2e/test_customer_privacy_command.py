"""`backorder-bot customer export|erase` against a real database file."""

import json
import sqlite3

import pytest

from bot.config import get_settings

from tests.cli_runner import run_cli


@pytest.mark.usefixtures("cli_database")
def test_export_then_erase_a_demo_customer(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("db", "upgrade") == 0
    assert run_cli("seed", "--demo") == 0
    capsys.readouterr()

    assert run_cli("customer", "export", "--email", "Anna@Example.com") == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["data"]["customers"][0]["name"] == "Anna Klein"
    assert "1042" in [order["number"] for order in exported["data"]["orders"]]

    assert run_cli("customer", "erase", "--email", "anna@example.com") == 0
    assert "erased" in capsys.readouterr().out
    assert run_cli("customer", "erase", "--email", "anna@example.com") == 0
    assert "nothing changed" in capsys.readouterr().out

    assert run_cli("customer", "export", "--email", "anna@example.com") == 1
    assert "Nothing is stored about that person" in capsys.readouterr().err


@pytest.mark.usefixtures("cli_database")
def test_the_person_must_be_named_one_way(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("customer", "export") == 2
    assert run_cli("customer", "erase", "--email", "a@example.com", "--telegram-id", "5") == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_export_then_erase_one_of_the_shops_people(
    cli_database: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli("db", "upgrade") == 0
    with sqlite3.connect(cli_database.removeprefix("sqlite+aiosqlite:///")) as database:  # an agent's canned reply
        database.execute(
            "INSERT INTO canned_replies (key, language, text, created_by, created_at)"
            " VALUES ('late', 'de', 'Es dauert noch.', 6100001, '2026-11-27 09:00:00.000000')"
        )
    monkeypatch.setenv("AGENT_USER_IDS", "[6100001]")
    get_settings.cache_clear()
    capsys.readouterr()

    assert run_cli("staff", "export", "--telegram-id", "6100001") == 0
    exported = json.loads(capsys.readouterr().out)
    assert [reply["created_by"] for reply in exported["data"]["canned_replies"]] == [6100001]
    assert run_cli("staff", "erase", "--telegram-id", "6100001") == 0
    erased = capsys.readouterr().out
    assert run_cli("staff", "erase", "--telegram-id", "6100001") == 0
    again = capsys.readouterr().out

    assert "Erased" in erased and "Still listed in AGENT_USER_IDS" in erased
    assert "nothing changed" in again
    assert run_cli("staff", "export", "--telegram-id", "6100001") == 1
    assert "Nothing is stored about that person" in capsys.readouterr().err
