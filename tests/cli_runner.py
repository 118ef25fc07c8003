"""Running the real `backorder-bot` command in a test, against a SQLite file of its own."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import cli
from bot.cli import main
from bot.config import get_settings


@pytest.fixture
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """DATABASE_URL for the command: a fresh, unmigrated SQLite file, whichever backend the other tests use."""
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.sqlite3"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)  # so no stray .env is read
    # An import would lower the CPU priority of the test worker it runs in, for all its later tests.
    monkeypatch.setattr(cli, "IMPORT_NICENESS", 0)
    get_settings.cache_clear()  # the settings are read once per process
    yield url
    get_settings.cache_clear()


def run_cli(*argv: str) -> int:
    """The command's exit code."""
    try:
        main(list(argv))
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 1
    return 0
