"""The impact summary on the console's home page, over HTTP: the figures of a known month in both periods, its
charts drawn inline, and the same page in German."""

import re

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import ManualClock
from tests.e2e.test_console_http import Console, console, console_deps, signed_in, token  # noqa: F401 - fixtures
from tests.impact_history import add_impact_history


def impact_row(html: str, row_id: str) -> list[str]:
    """The cells of one row of the impact table, as text."""
    row = re.search(rf'<tr id="{row_id}">(.*?)</tr>', html, re.S)
    assert row, row_id
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td>(.*?)</td>", row.group(1), re.S)]


async def test_the_home_page_shows_what_the_last_7_and_30_days_did(
    signed_in: Console, session: AsyncSession, clock: ManualClock
) -> None:
    await add_impact_history(session, clock)

    home = await signed_in.get("/console")

    assert home.status == 200
    assert "Impact Last 7 days Last 30 days" in home.text
    assert impact_row(home.html, "impact-kept-waiting") == ["1 of 2", "2 of 4"]
    assert impact_row(home.html, "impact-swaps") == ["1 · €178.00", "2 · €218.00"]
    assert impact_row(home.html, "impact-cancellations") == ["1", "2"]
    assert impact_row(home.html, "impact-refunds-owed") == ["€209.00", "€259.00"]
    assert impact_row(home.html, "impact-refunds-paid") == ["€50.00", "€50.00"]
    assert impact_row(home.html, "impact-tickets") == ["2 / 1", "3 / 2"]
    assert impact_row(home.html, "impact-ratings") == ["1 (5.0 ★)", "2 (4.0 ★)"]
    assert impact_row(home.html, "impact-etas-met") == ["33 % (1 of 3)", "50 % (2 of 4)"]
    # The charts are drawn in the page: no script, no image from elsewhere.
    assert home.html.count('<svg class="chart split-bars"') == 2
    assert "<title>Kept waiting: 2</title>" in home.html and "<title>Shipped later: 2</title>" in home.html


async def test_the_impact_summary_speaks_german(signed_in: Console, session: AsyncSession, clock: ManualClock) -> None:
    await add_impact_history(session, clock)

    home = await signed_in.get("/console", lang="de")

    assert "Wirkung Letzte 7 Tage Letzte 30 Tage" in home.text
    assert impact_row(home.html, "impact-kept-waiting") == ["1 von 2", "2 von 4"]
    assert impact_row(home.html, "impact-swaps") == ["1 · 178,00 €", "2 · 218,00 €"]
    assert impact_row(home.html, "impact-ratings") == ["1 (5,0 ★)", "2 (4,0 ★)"]
    assert "<title>Weiter gewartet: 2</title>" in home.html


async def test_a_new_shop_shows_dashes_not_errors(signed_in: Console) -> None:
    home = await signed_in.get("/console")

    assert home.status == 200
    assert impact_row(home.html, "impact-etas-met") == ["–", "–"]
    assert impact_row(home.html, "impact-refunds-owed") == ["–", "–"]
