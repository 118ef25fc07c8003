"""The backfill's progress on a terminal: a bar per resource that follows the pages; nothing on a pipe."""

import io

from bot.connect_jobs import TerminalBackfillProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_shows_a_bar_per_resource_that_follows_the_pages() -> None:
    screen = Terminal()
    with TerminalBackfillProgress(screen) as progress:
        progress.page_done("orders", 0, None)
        progress.page_done("orders", 250, 10_000)
        progress.page_done("orders", 500, 10_000)
    shown = screen.getvalue()
    assert "orders" in shown and "500/10000" in shown


def test_a_pipe_gets_no_bar() -> None:
    piped = io.StringIO()
    with TerminalBackfillProgress(piped) as progress:
        progress.page_done("orders", 250, 10_000)
    assert piped.getvalue() == ""
