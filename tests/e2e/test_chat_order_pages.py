"""A big customer's order list: pages that fit Telegram's limits, turned in place, every item reachable."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import Translator
from bot.render.callback_data import Action, parse_callback_data
from bot.sandbox import ChatMessage
from bot.services.backorders.eta import recompute_all_etas
from bot.services.unit_of_work import UnitOfWork
from db.models import LineStatus, Order, OrderLine
from tests.e2e.chat_driver import CustomerChat, link_chat, read_scalar
from tests.shop import T0, add_customer, add_order, add_product, minutes_after

ORDERS = 25
LINES_PER_ORDER = 4  # 100 waiting lines in all


def product_name(index: int) -> str:
    # Long, and different in their first words, as the buttons show the start of a name.
    return f"Model {index:03d} Ergonomic Height-Adjustable Desk Lamp with Wireless Charger and USB-C Hub, Anthracite"


async def office_buyer(session: AsyncSession, uow: UnitOfWork, chat: CustomerChat) -> list[Order]:
    """A reseller with 25 orders of 4 different lamps each, all waiting for stock, linked to `chat`."""
    buyer = await add_customer(session, "Olga Office")
    orders = []
    for number in range(ORDERS):
        lamps = [
            await add_product(session, f"LAMP-{number * LINES_PER_ORDER + index:03d}", name=product_name(number * LINES_PER_ORDER + index))
            for index in range(LINES_PER_ORDER)
        ]
        orders.append(
            await add_order(session, buyer, [(lamp, 2) for lamp in lamps], placed_at=minutes_after(T0, number), number=f"20{number:02d}")
        )
    await session.commit()
    await recompute_all_etas(uow)
    await link_chat(session, buyer, chat)
    return orders


def items_line(first: int, last: int, t: Translator) -> str:
    return t.gettext("Items {first}–{last} of {total}").format(first=first, last=last, total=ORDERS * LINES_PER_ORDER)


def item_buttons(message: ChatMessage) -> list[int]:
    """The line ids of the item buttons under the list."""
    ids = []
    for row in message.inline_keyboard:
        for button in row:
            data = parse_callback_data(button["callback_data"])
            if data.action is Action.LINE:
                ids.append(data.ids[0])
    return ids


async def test_a_customer_with_100_waiting_items_goes_to_page_3_opens_an_item_and_cancels_it(
    chat: CustomerChat,
    session: AsyncSession,
    uow: UnitOfWork,
    session_factory: async_sessionmaker[AsyncSession],
    t: Translator,
    language: str,
) -> None:
    orders = await office_buyer(session, uow, chat)
    lines = [line for order in orders for line in order.lines]

    [page_1] = await chat.command("orders")
    page_2 = (await chat.press(page_1, t.gettext("Next ›"))).message
    pressed = await chat.press(page_2, t.gettext("Next ›"))
    page_3 = pressed.message
    card = (await chat.press(page_3, f"{product_name(20)[:39]}…")).message
    asked = (await chat.press(card, t.gettext("Cancel"))).message
    done = (await chat.press(asked, t.gettext("Yes, cancel"))).message

    heading = t.ngettext("<b>{n} item is waiting for stock</b>", "<b>{n} items are waiting for stock</b>", 100).format(n=100)
    assert page_1.text.split("\n")[:2] == [heading.removeprefix("<b>").removesuffix("</b>"), items_line(1, 10, t)]
    assert page_1.button_labels[-2:] == [t.gettext("Next ›"), "10 »"]
    assert items_line(11, 20, t) in page_2.text
    assert page_2.button_labels[-3:] == [t.gettext("‹ Previous"), t.gettext("Next ›"), "10 »"]
    assert page_3.button_labels[-4:] == ["« 1", t.gettext("‹ Previous"), t.gettext("Next ›"), "10 »"]
    # The pages turn in place: one message, edited, nothing new in the chat.
    assert page_3.message_id == page_1.message_id and pressed.new == []
    assert {"en": "Items 21–30 of 100", "de": "Artikel 21–30 von 100"}[language] in page_3.text.split("\n")
    assert item_buttons(page_3) == [line.id for line in lines[20:30]]
    # Four items of one order on a page read better under the order's number.
    assert t.gettext("Order {order}").format(order="2005") in page_3.text.split("\n")
    assert card.text.split("\n")[0] == f"{product_name(20)} × 2"
    assert done.text.startswith(t.gettext("Done:") + " ")
    assert await read_scalar(session_factory, select(OrderLine.status).where(OrderLine.id == lines[20].id)) == LineStatus.CANCELLED
    assert await read_scalar(session_factory, select(OrderLine.status).where(OrderLine.id == lines[21].id)) == LineStatus.BACKORDERED


async def test_every_item_is_on_exactly_one_page_and_back_from_an_item_returns_to_its_page(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, t: Translator
) -> None:
    orders = await office_buyer(session, uow, chat)
    lines = [line for order in orders for line in order.lines]

    [page] = await chat.command("orders")
    seen = item_buttons(page)
    while t.gettext("Next ›") in page.button_labels:
        page = (await chat.press(page, t.gettext("Next ›"))).message
        seen += item_buttons(page)
    last_page = page
    card = (await chat.press(last_page, f"{product_name(95)[:39]}…")).message
    back = (await chat.press(card, t.gettext("« Back"))).message
    first = (await chat.press(back, t.gettext("‹ Previous"))).message

    assert seen == [line.id for line in lines]
    assert t.gettext("Next ›") not in last_page.button_labels
    assert items_line(91, 100, t) in back.text
    assert items_line(81, 90, t) in first.text


async def test_the_last_item_of_a_long_list_is_two_taps_away(chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, t: Translator) -> None:
    orders = await office_buyer(session, uow, chat)
    lines = [line for order in orders for line in order.lines]

    [first_page] = await chat.command("orders")
    last_page = (await chat.press(first_page, "10 »")).message
    again = (await chat.press(last_page, "« 1")).message
    last_again = (await chat.press(again, "10 »")).message
    card = (await chat.press(last_again, f"{product_name(99)[:39]}…")).message

    assert items_line(91, 100, t) in last_page.text
    assert last_page.button_labels[-2:] == ["« 1", t.gettext("‹ Previous")]
    assert card.text.split("\n")[0].startswith(product_name(99))
    assert item_buttons(again) == [line.id for line in lines[:10]]


async def test_a_forged_page_number_shows_the_nearest_page(chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, t: Translator) -> None:
    await office_buyer(session, uow, chat)
    [page_1] = await chat.command("orders")

    far = (await chat.press_data(page_1, "c1:op:999999")).message
    zero = (await chat.press_data(far, "c1:op:0")).message

    assert items_line(91, 100, t) in far.text
    assert items_line(1, 10, t) in zero.text


async def test_the_same_item_on_two_orders_has_buttons_that_name_the_order(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork
) -> None:
    buyer = await add_customer(session, "Olga Office")
    lamp = await add_product(session, "LAMP-1", name="LED Desk Lamp")
    await add_order(session, buyer, [(lamp, 1)], number="2001")
    await add_order(session, buyer, [(lamp, 1)], placed_at=minutes_after(T0, 1), number="2002")
    await session.commit()
    await recompute_all_etas(uow)
    await link_chat(session, buyer, chat)

    [order_list] = await chat.command("orders")

    assert order_list.button_labels == ["LED Desk Lamp × 1 · 2001", "LED Desk Lamp × 1 · 2002"]


async def test_an_order_number_typed_shows_a_page_of_that_order_and_how_many_more_the_list_holds(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, t: Translator, language: str
) -> None:
    buyer = await add_customer(session, "Olga Office")
    lamps = [await add_product(session, f"LAMP-{index:02d}", name=product_name(index)) for index in range(12)]
    await add_order(session, buyer, [(lamp, 1) for lamp in lamps], number="3001")
    await session.commit()
    await recompute_all_etas(uow)
    await link_chat(session, buyer, chat)

    [order] = await chat.send("where is 3001?")
    full_list = (await chat.press(order, t.gettext("My orders"))).message

    assert {"en": "…and 2 more under My orders.", "de": "…und 2 weitere unter „Meine Bestellungen“."}[language] in order.text
    assert len(item_buttons(order)) == 10 and order.button_labels[-1] == t.gettext("My orders")
    assert items_line(1, 10, t).replace(str(ORDERS * LINES_PER_ORDER), "12") in full_list.text
