"""Without Debian's chromium the browser tests are skipped, and the end of pytest's output says so."""

from pathlib import Path

import pytest

from tests.browser import conftest as browser_tests


class Reporter:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write_line(self, line: str, **markup: bool) -> None:
        self.lines.append(line)


@pytest.mark.parametrize(("installed", "said"), [(False, True), (True, False)])
def test_the_summary_says_when_chromium_is_missing(
    installed: bool, said: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chromium = tmp_path / "chromium"
    if installed:
        chromium.touch()
    monkeypatch.setattr(browser_tests, "CHROMIUM", chromium)
    reporter = Reporter()

    browser_tests.pytest_terminal_summary(reporter)  # type: ignore[arg-type]

    expected = [f"Browser tests skipped: Debian's chromium is not installed at {chromium} (sudo apt-get install chromium)."]
    assert reporter.lines == (expected if said else [])
