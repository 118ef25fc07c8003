"""Commands the bot prints for a person to copy: they run as printed, venv activated or not."""

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.cli_command import cli_command

VENV_BIN = Path(sys.executable).parent


def without_the_venv_on_path() -> dict[str, str]:
    """The environment of a shell in which the virtual environment is not activated."""
    folders = [folder for folder in os.environ.get("PATH", "").split(os.pathsep) if Path(folder).absolute() != VENV_BIN.absolute()]
    return {**os.environ, "PATH": os.pathsep.join(folders or [os.defpath])}


def test_a_printed_command_runs_in_a_shell_where_the_venv_is_not_activated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shell = without_the_venv_on_path()
    monkeypatch.setenv("PATH", shell["PATH"])
    command = cli_command("token", "create", "--help")
    ran = subprocess.run(command, shell=True, cwd=tmp_path, env=shell, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert "--name" in ran.stdout


def test_a_command_for_a_page_names_the_script_relative_to_the_folder_and_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", without_the_venv_on_path()["PATH"])
    folder = VENV_BIN.parent.parent
    program, *arguments = shlex.split(cli_command("token", "create", "--name", "console", folder=folder))
    assert not Path(program).is_absolute()  # a page read elsewhere shows no path of this machine
    assert (folder / program).samefile(VENV_BIN / "backorder-bot")
    assert build_parser().parse_args(arguments).name == "console"


def test_settings_and_arguments_are_quoted_for_the_shell() -> None:
    command = cli_command("token", "create", "--name", "shop sync; rm -rf /", environment={"DATABASE_URL": "sqlite+aiosqlite:///my demo.sqlite3"})
    words = shlex.split(command)
    assert words[0] == "DATABASE_URL=sqlite+aiosqlite:///my demo.sqlite3"
    assert words[2:] == ["token", "create", "--name", "shop sync; rm -rf /"]
