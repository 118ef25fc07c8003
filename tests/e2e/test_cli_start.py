"""Starting the `backorder-bot` command: its help, a missing or unreachable database, and unsafe settings."""

import os
from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.config import Settings
from tests.cli_runner import run_cli

COMMANDS = [
    ["demo"], ["db"], ["db", "upgrade"], ["seed"], ["import"], ["run"], ["deliver"], ["serve"],
    ["token"], ["token", "create"], ["token", "list"], ["token", "revoke"], ["link"],
]
SETTINGS = {name.upper() for name in Settings.model_fields}
UNREACHABLE_URL = "postgresql+asyncpg://shop:hunter2@127.0.0.1:1/shop"  # nothing listens on port 1


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_explains_itself_and_names_the_settings_it_reads(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args([*command, "--help"])
    help_text = " ".join(capsys.readouterr().out.split())

    description = help_text.split("options:")[0].split("]", 1)[-1]
    assert len(description.split()) >= 12, description
    named = help_text.split("settings it reads (environment or .env): ")[1].split(", ")
    assert named and set(named) <= SETTINGS


def test_run_in_an_empty_folder_says_to_create_the_database_and_leaves_no_file(
    cli_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:abc")

    assert run_cli("run") == 2

    assert "Run `backorder-bot db upgrade` first" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


def test_db_upgrade_says_whether_it_created_the_schema_or_found_it_current(
    cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli("db", "upgrade") == 0
    assert capsys.readouterr().out.startswith("Created the database schema")

    assert run_cli("db", "upgrade") == 0
    assert capsys.readouterr().out.startswith("The database is already up to date")


@pytest.mark.parametrize("command", [["db", "upgrade"], ["run"], ["token", "list"]], ids=" ".join)
def test_an_unreachable_database_is_one_line_naming_it_with_the_password_masked(
    command: list[str], cli_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE_URL)
    monkeypatch.setenv("BOT_TOKEN", "123:abc")

    assert run_cli(*command) == 2

    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Traceback" not in error
    assert error.startswith("Cannot reach the database at postgresql+asyncpg://shop:***@127.0.0.1:1/shop: ")
    assert "hunter2" not in error


@pytest.mark.parametrize("secret_key", ["", "too-short", "x" * 31])
def test_run_refuses_a_secret_key_under_32_bytes_and_says_how_to_make_one(
    secret_key: str, cli_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:abc")
    monkeypatch.setenv("SECRET_KEY", secret_key)
    assert run_cli("db", "upgrade") == 0
    capsys.readouterr()

    assert run_cli("run") == 2

    error = capsys.readouterr().err
    assert "SECRET_KEY" in error and "at least 32" in error
    assert "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'" in error
