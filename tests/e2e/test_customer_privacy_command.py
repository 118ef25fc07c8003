"""`backorder-bot customer export|erase` against a real database file."""

import json

import pytest

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
