"""`backorder-bot` command lines to print for a person to copy, written so that they work as printed.

A virtual environment's scripts are not on PATH unless it is activated, so a bare `backorder-bot` is
"command not found" right after the README's install step; the script's path always runs.
"""

import os
import shlex
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

PROGRAM = "backorder-bot"


def program_path(folder: Path | None = None) -> str:
    """How a shell reaches this installation's command: its bare name if PATH finds it, else its path.

    With `folder`, the path is relative to it (for a page read elsewhere, which must not show this machine's
    absolute paths); a script outside `folder` is then named bare.
    """
    script = Path(sys.executable).parent / PROGRAM  # pip puts console scripts beside the interpreter
    if not script.exists():
        return PROGRAM
    found = shutil.which(PROGRAM)
    if found is not None and Path(found).resolve() == script.resolve():
        return PROGRAM
    if folder is None:
        return str(script.absolute())
    relative = Path(os.path.relpath(script.absolute(), folder.absolute()))
    return PROGRAM if relative.parts[0] == os.pardir else str(relative)


def cli_command(*arguments: str, environment: Mapping[str, str] | None = None, folder: Path | None = None) -> str:
    """A shell command line running `backorder-bot arguments…` with `environment` set, every part quoted."""
    assignments = [f"{name}={shlex.quote(value)}" for name, value in (environment or {}).items()]
    program = shlex.quote(program_path(folder))
    return " ".join([*assignments, program, *(shlex.quote(argument) for argument in arguments)])
