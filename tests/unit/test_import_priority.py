"""`backorder-bot import` runs at a lower CPU priority than the bot beside it, so on a small machine the bot's replies
do not wait for a CPU behind a large import; importing again in the same process does not lower it further."""

import subprocess
import sys

from bot.cli import IMPORT_NICENESS

IN_A_PROCESS_OF_ITS_OWN = """
import os
from bot import cli
before = os.nice(0)
cli._yield_the_cpu()
cli._yield_the_cpu()
print(before, os.nice(0))
"""


def test_an_import_lowers_its_process_cpu_priority_once() -> None:
    printed = subprocess.run(
        [sys.executable, "-c", IN_A_PROCESS_OF_ITS_OWN], capture_output=True, text=True, check=True
    ).stdout
    before, after = map(int, printed.split())
    assert after == max(before, IMPORT_NICENESS)
    assert after > 0
