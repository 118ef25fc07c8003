"""Every screen whose size grows with data stays within Telegram's limits, whatever the data.

Hypothesis renders each screen with generated worst-case data — many lines, the longest names the database
holds, characters Telegram counts twice (UTF-16), markup characters that escaping lengthens — in English
and German, and checks it with the same guard every screen passes before it is sent.
"""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from telegram import InlineKeyboardMarkup

from bot.render.callback_data import Action, parse_callback_data
from bot.i18n import Translator, translator
from bot.render import alternatives, backorder_card, merchant, proactive, support
from bot.render.screen import Screen
from bot.render.screen_limits import MAX_TEXT_LENGTH, ScreenTooLarge, check_screen, text_size
from bot.services.backorders.alternatives import MAX_ALTERNATIVES, Alternative, AlternativesResult
from bot.services.backorders.merchant_overview import SkuBacklog
from bot.services.backorders.status import EtaChange, LineView
from bot.services.outreach.broadcast_drafts import DraftStep
from bot.services.outreach.broadcasts import MAX_TEXT_LENGTH as MAX_BROADCAST_LENGTH
from bot.services.outreach.broadcasts import Audience
from bot.services.support.canned_replies import MAX_TEXT_LENGTH as MAX_CANNED_LENGTH
from bot.services.support.canned_replies import CannedReplyView
from bot.services.support.tickets import RECENT_ACTIONS, CustomerAction, Escalation, EscalationKind, OrderRef, QueuedTicket, TicketContext, TicketView
from db.models import EtaBasis, LineStatus, TicketStatus

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
TODAY = date(2026, 11, 27)
# Characters that cost the most: two UTF-16 code units, markup that escaping lengthens, German letters.
WORST = st.sampled_from(["😀", "𝔄", "&", "<", "ß", "Ä", "W", " "])
LANGUAGES = st.sampled_from(["en", "de"])
# No shrinking: a worst case is reported as generated, and shrinking texts of thousands of characters takes minutes.
EXAMPLES = settings(
    max_examples=15,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


def words(longest: int) -> st.SearchStrategy[str]:
    """Text up to `longest` characters (a column's length), mostly near it: the long end is where limits break."""
    return st.one_of(st.text(WORST, min_size=max(longest - 10, 1), max_size=longest), st.text(WORST, min_size=1, max_size=longest))


def printable(longest: int) -> st.SearchStrategy[str]:
    return words(longest).filter(lambda text: text.strip() != "")


@st.composite
def line_views(draw: st.DrawFn, line_id: int, waiting: bool = True) -> LineView:
    quantity = draw(st.integers(1, 9999))
    status = draw(
        st.sampled_from([LineStatus.BACKORDERED, LineStatus.PARTIALLY_ALLOCATED])
        if waiting
        else st.sampled_from([LineStatus.ALLOCATED, LineStatus.SHIPPED, LineStatus.CANCELLED, LineStatus.SUBSTITUTED])
    )
    eta = draw(st.none() | st.dates(date(2026, 1, 1), date(2028, 12, 31)))
    history = [
        EtaChange(TODAY, TODAY + timedelta(days=9), EtaBasis.PURCHASE_ORDER, EtaBasis.LEAD_TIME, "purchase_order_moved", NOW)
    ] * draw(st.integers(0, 3))
    return LineView(
        line_id=line_id,
        order_number=draw(printable(64)),
        sku=draw(printable(64)),
        product_name=draw(printable(200)),
        quantity=quantity,
        open_quantity=quantity,
        allocated_quantity=0,
        cancelled_quantity=0,
        substituted_quantity=0,
        status=status,
        unit_price_minor=draw(st.integers(0, 10**9)),
        currency="EUR",
        placed_at=NOW - timedelta(days=400),
        days_waiting=draw(st.integers(0, 99999)),
        queue_position=draw(st.integers(1, 10**6)) if waiting else None,
        queue_size=draw(st.integers(10**6, 10**7)) if waiting else None,
        eta=eta,
        eta_basis=draw(st.sampled_from(list(EtaBasis))) if eta else None,
        purchase_order_reference=draw(printable(64)),
        purchase_order_expected_on=eta,
        resolved_at=None if waiting else NOW,
        eta_history=history,
    )


@st.composite
def customer_lists(draw: st.DrawFn) -> tuple[list[LineView], list[LineView]]:
    waiting_count = draw(st.integers(0, 130))
    resolved_count = draw(st.integers(0, 40))
    # A few drawn lines repeated stand for many: drawing 170 long names each time would be slow for nothing.
    samples = draw(st.lists(line_views(0), min_size=1, max_size=4))
    resolved_samples = draw(st.lists(line_views(0, waiting=False), min_size=1, max_size=3))
    orders = draw(st.integers(1, 40))
    waiting = [
        _with(samples[i % len(samples)], line_id=i + 1, order_number=f"{samples[i % len(samples)].order_number[:58]}#{i % orders}")
        for i in range(waiting_count)
    ]
    resolved = [_with(resolved_samples[i % len(resolved_samples)], line_id=10_000 + i) for i in range(resolved_count)]
    return waiting, resolved


def _with(line: LineView, **changes: object) -> LineView:
    return LineView(**{**line.__dict__, **changes})


def assert_fits(screen: Screen) -> None:
    try:
        check_screen(screen)
    except ScreenTooLarge as broken:
        pytest.fail(f"{broken}: {screen.text[:300]!r}…")


def item_ids(screen: Screen) -> list[int]:
    keyboard = screen.keyboard
    assert keyboard is None or isinstance(keyboard, InlineKeyboardMarkup)
    rows = keyboard.inline_keyboard if keyboard else ()
    pressed = [parse_callback_data(button.callback_data) for row in rows for button in row]
    return [data.ids[0] for data in pressed if data.action is Action.LINE]


def test_the_guard_counts_as_telegram_does_after_parsing_in_utf16_code_units() -> None:
    assert text_size("<b>Tom &amp; Jerry</b> 😀") == (14, 1)
    check_screen(Screen("😀" * (MAX_TEXT_LENGTH // 2)))
    with pytest.raises(ScreenTooLarge):
        check_screen(Screen("😀" * (MAX_TEXT_LENGTH // 2 + 1)))
    with pytest.raises(ScreenTooLarge):
        check_screen(Screen("<b>a</b>" * 101))


@EXAMPLES
@given(lists=customer_lists(), language=LANGUAGES)
def test_every_page_of_the_order_list_fits_and_every_waiting_item_is_on_one(
    lists: tuple[list[LineView], list[LineView]], language: str
) -> None:
    waiting, resolved = lists
    t = translator(language)
    seen: list[int] = []
    page = 1
    while True:
        screen = backorder_card.order_list(waiting, resolved, t, page)
        assert_fits(screen)
        seen += item_ids(screen)
        labels = [button.text for row in screen.keyboard.inline_keyboard for button in row] if screen.keyboard else []
        if t.gettext("Next ›") not in labels:
            break
        page += 1
    assert seen == [line.line_id for line in waiting]
    assert_fits(backorder_card.order_list(waiting, resolved, t, paged=False))


@EXAMPLES
@given(line=line_views(1), resolved=line_views(2, waiting=False), language=LANGUAGES)
def test_an_items_card_fits(line: LineView, resolved: LineView, language: str) -> None:
    t = translator(language)
    assert_fits(backorder_card.backorder_card(line, t))
    assert_fits(backorder_card.resolved_card(resolved, t))


@EXAMPLES
@given(
    names=st.lists(printable(200), min_size=0, max_size=MAX_ALTERNATIVES),
    product=printable(200),
    language=LANGUAGES,
)
def test_the_alternatives_list_fits(names: list[str], product: str, language: str) -> None:
    offers = [
        Alternative(i, f"SKU-{i}", name, 10**9, "EUR", 10**9, 0, 10**9, 0, False) for i, name in enumerate(names, start=1)
    ]
    result = AlternativesResult(1, "SKU", product, 9999, 10**9, "EUR", offers)
    assert_fits(alternatives.alternatives_list(result, translator(language)))


@EXAMPLES
@given(count=st.integers(0, 600), sku=printable(64), name=printable(200), reference=printable(64), language=LANGUAGES)
def test_the_merchants_backorder_summary_fits(count: int, sku: str, name: str, reference: str, language: str) -> None:
    backlog = [
        SkuBacklog(f"{sku[:60]}{i}", name, 10**6, 10**7, NOW, 99999, 10, reference, TODAY, 10**6) for i in range(count)
    ]
    assert_fits(merchant.backorder_summary(backlog, translator(language)))


@EXAMPLES
@given(
    english=printable(MAX_BROADCAST_LENGTH),
    german=printable(MAX_BROADCAST_LENGTH),
    skus=st.lists(printable(64), max_size=300),
    language=LANGUAGES,
)
def test_the_broadcast_preview_fits(english: str, german: str, skus: list[str], language: str) -> None:
    step = DraftStep("preview", 1, "skus", Audience(skus=skus), 10**6, {"en": english, "de": german})
    assert_fits(merchant.preview(step, translator(language)))
    assert_fits(merchant.ask_text(step, "de", translator(language)))


@EXAMPLES
@given(text=printable(MAX_BROADCAST_LENGTH), language=LANGUAGES)
def test_a_broadcast_as_sent_fits(text: str, language: str) -> None:
    if len(text.encode("utf-16-le")) // 2 <= MAX_BROADCAST_LENGTH:  # the service refuses longer ones
        assert_fits(proactive.render_outgoing("broadcast", {"text": text}, translator(language)))


def ticket_view(name: str) -> TicketView:
    return TicketView(
        id=10**9, customer_id=1, customer_name=name, customer_chat_id=1, language="de", status=TicketStatus.OPEN,
        escalation=Escalation(EscalationKind.ASKED), support_chat_id=1, topic_thread_id=1, context_message_id=1,
        assignee_telegram_id=None, opened_at=NOW, first_response_at=None, closed_at=None, closed_by=None, rating=None,
        resolved_button_message_id=None,
    )


@EXAMPLES
@given(
    lists=customer_lists(), name=printable(200), orders=st.integers(0, 200), actions=st.integers(0, RECENT_ACTIONS), language=LANGUAGES
)
def test_the_agents_context_card_fits(
    lists: tuple[list[LineView], list[LineView]], name: str, orders: int, actions: int, language: str
) -> None:
    waiting, _ = lists
    context = TicketContext(
        ticket=ticket_view(name),
        email="e" * 310 + "@example.com",
        phone="+4915112345678",
        orders=[OrderRef(f"{name[:60]}{i}", NOW) for i in range(orders)],
        waiting=waiting,
        reason_line=waiting[0] if waiting else None,
        recent_actions=[CustomerAction(NOW, "line.cancelled", "order_line", "1", {"sku": name[:64], "order_number": name[:64]})] * actions,
    )
    assert_fits(support.context_card(context, ZoneInfo("Europe/Berlin"), translator(language)))


@EXAMPLES
@given(count=st.integers(0, 500), name=printable(200), language=LANGUAGES)
def test_the_agents_queue_fits(count: int, name: str, language: str) -> None:
    tickets = [QueuedTicket(10**9 + i, name, NOW, 10**6, 10**12, False, True, None) for i in range(count)]
    assert_fits(support.queue(tickets, {10**12: name}, 10**4, translator(language)))


@EXAMPLES
@given(count=st.integers(0, 500), key=printable(40), text=printable(MAX_CANNED_LENGTH), language=LANGUAGES)
def test_the_canned_reply_list_fits(count: int, key: str, text: str, language: str) -> None:
    replies = [CannedReplyView(f"{key}{i}", "de", text) for i in range(count)]
    assert_fits(support.canned_list(replies, translator(language)))


@EXAMPLES
@given(product=printable(200), order=printable(64), language=LANGUAGES)
def test_the_messages_the_bot_sends_first_fit(product: str, order: str, language: str) -> None:
    common = {"order_number": order, "product_name": product, "line_id": 1, "quantity": 9999, "currency": "EUR"}
    params = {
        "eta_moved": {**common, "old_eta": "2026-12-01", "new_eta": "2027-12-01", "reason": "purchase_order_moved", "basis": "lead_time"},
        "ready_to_ship": common,
        "line_cancelled": {**common, "refund_minor": 10**9, "kept_quantity": 9999},
        "line_substituted": {**common, "new_product_name": product, "refund_minor": 10**9},
        "delay_notice": {
            **common, "notice_id": 1, "refund_minor": 10**9, "promised_ship_by": "2026-12-01", "new_ship_by": None, "respond_by": "2026-12-08",
        },
        "delay_auto_cancelled": {**common, "respond_by": "2026-12-08", "refund_minor": 10**9, "kept_quantity": 1},
    }
    for template, values in params.items():
        assert_fits(proactive.render_outgoing(template, values, translator(language)))


def _t(language: str) -> Translator:
    return translator(language)
