"""Screens whose size grows with data: split into pages that each fit Telegram's limits, or cut to fit."""

from collections.abc import Callable, Sequence

from bot.i18n import Translator
from bot.render.callback_data import Action, button
from bot.render.screen import Screen, inline
from bot.render.screen_limits import text_fits

# Ten items and a row of page buttons keep a keyboard a thumb can use, and ten lines read at a glance.
MAX_ITEMS_PER_PAGE = 10


def page_ranges(count: int, render: Callable[[range], str], per_page: int = MAX_ITEMS_PER_PAGE) -> list[range]:
    """The items each page holds, in order: as many as `render` fits within the text limits, at most `per_page`.

    `render(items)` is the page's whole text for those items, so headings and the "items 21–30 of 90" line
    are counted too. A page always holds at least one item (callers keep single items far below the limit).
    """
    pages: list[range] = []
    start = 0
    while start < count:
        end = start + most_that_fit(min(per_page, count - start), lambda size: text_fits(render(range(start, start + size))))
        pages.append(range(start, end))
        start = end
    return pages or [range(0)]


def one_page(
    count: int, text_of: Callable[[range], str], page: int, action: Action, t: Translator, per_page: int
) -> Screen:
    """Page `page` of a list without a button per item (the nearest page if there is no such page), turned by `action`."""
    pages = page_ranges(count, text_of, per_page)
    number = min(max(page, 1), len(pages))
    row = page_buttons(number, len(pages), action, t)
    return Screen(text_of(pages[number - 1]), inline(row) if row else None)


def page_buttons(page: int, pages: int, action: Action, t: Translator) -> list[tuple[str, str]]:
    """‹ Previous / Next › for page `page` (1 = first) of `pages`, empty when there is only one.

    From the third page on, "« 1" jumps back to the first; up to the third from last, "N »" jumps to the
    last, so the far end of a long list is one tap away, not a tap per page.
    """
    row = []
    if page > 2:
        row.append(("« 1", button(action, 1)))
    if page > 1:
        row.append((t.gettext("‹ Previous"), button(action, page - 1)))
    if page < pages:
        row.append((t.gettext("Next ›"), button(action, page + 1)))
    if page < pages - 1:
        row.append((f"{pages} »", button(action, pages)))
    return row


def items_shown(shown: range, total: int, t: Translator) -> str:
    """'Items 21–30 of 90' (numbered from 1)."""
    return t.gettext("Items {first}–{last} of {total}").format(first=shown.start + 1, last=shown.stop, total=total)


def cut_to_fit(head: Sequence[str], items: Sequence[str], tail: Sequence[str], more: Callable[[int], str]) -> str:
    """Head, as many items as fit the text limits, `more(left out)` if any were, and tail; joined by lines."""

    def text(shown: int) -> str:
        left_out = [more(len(items) - shown)] if shown < len(items) else []
        return "\n".join([*head, *items[:shown], *left_out, *tail])

    return text(most_that_fit(len(items), lambda shown: text_fits(text(shown)), least=0))


def most_that_fit(most: int, fits: Callable[[int], bool], least: int = 1) -> int:
    """The largest count from `least` to `most` that fits (`least` if none does): a binary search, as each try parses."""
    if fits(most):
        return most
    good, bad = least, most
    while bad - good > 1:
        middle = (good + bad) // 2
        if fits(middle):
            good = middle
        else:
            bad = middle
    return good
