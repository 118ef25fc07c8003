"""Swapping a waiting item for an in-stock alternative in the chat: the offers, the swap, and when it cannot be made."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.i18n import Translator
from bot.services.audit import Actor
from bot.services.backorders.eta import recompute_all_etas
from bot.services.purchasing.stock import set_available_stock
from bot.services.unit_of_work import UnitOfWork
from db.models import LineStatus, OrderLine, Product
from tests.e2e.chat_driver import CustomerChat, Pressed, link_chat, read_all
from tests.e2e.chat_shop import ANNA_ORDER, HEADSET, AnnasShop, annas_backorder
from tests.shop import add_customer, add_order, add_product, add_substitute

ITEM = f"{HEADSET} × 1"
LITE = "Studio Wireless Lite"


@dataclass(frozen=True)
class Offers:
    shop: AnnasShop
    lite: Product


async def headset_with_alternatives(session: AsyncSession, uow: UnitOfWork, chat: CustomerChat) -> Offers:
    """Anna's €149 headset, and four in-stock products that could stand in for it (three are offered)."""
    shop = await annas_backorder(session, uow)
    wired = await add_product(session, "HS-120", name="Studio Wired Headset", price=8900, tags=["headset"], available=5)
    await add_substitute(session, shop.headset, wired)  # the merchant's own choice comes first
    lite = await add_product(session, "HS-150", name=LITE, price=15900, tags=["headset", "wireless"], available=3)
    await add_product(session, "HS-149", name="Studio Pro Headset (boxed)", price=14900, tags=["headset"], available=1)
    await add_product(session, "SP-1", name="Desk Speaker", price=9900, available=2)
    await add_product(session, "HS-300", name="Sold Out Headset", price=14900, tags=["headset", "wireless"])
    await add_product(session, "HS-900", name="Flagship Headset", price=19900, tags=["headset", "wireless"], available=9)
    await session.commit()
    await link_chat(session, shop.anna, chat)
    return Offers(shop, lite)


async def open_alternatives(chat: CustomerChat, t: Translator) -> Pressed:
    [order_list] = await chat.command("orders")
    card = await chat.press(order_list, ITEM)
    return await chat.press(card.message, t.gettext("Alternatives"))


async def lines(session_factory: async_sessionmaker[AsyncSession]) -> list[tuple[int, LineStatus, int | None]]:
    rows = await read_all(
        session_factory, select(OrderLine.product_id, OrderLine.status, OrderLine.substitute_for_line_id).order_by(OrderLine.id)
    )
    return [tuple(row) for row in rows]


def money(amount_minor: int, t: Translator) -> str:
    return t.money(amount_minor, "EUR")


async def test_up_to_three_in_stock_alternatives_with_price_and_difference(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, t: Translator, language: str
) -> None:
    await headset_with_alternatives(session, uow, chat)

    offers = (await open_alternatives(chat, t)).message

    assert offers.text.split("\n") == [
        t.gettext("These can ship now instead:"),
        "• Studio Wired Headset — {} ({})".format(
            money(8900, t), t.gettext("{amount} cheaper — we refund the difference").format(amount=money(6000, t))
        ),
        f"• {LITE} — {money(15900, t)} ({t.gettext('{amount} more — we cover the difference').format(amount=money(1000, t))})",
        f"• Studio Pro Headset (boxed) — {money(14900, t)} ({t.gettext('same price')})",
    ]
    assert {"en": "€10.00", "de": "10,00\xa0€"}[language] in offers.text
    assert offers.button_labels == ["Studio Wired Headset", LITE, "Studio Pro Headset (boxed)", t.gettext("« Back")]


async def test_picking_and_confirming_swaps_the_item_for_one_ready_to_ship(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory, t: Translator
) -> None:
    offers = await headset_with_alternatives(session, uow, chat)
    listed = await open_alternatives(chat, t)

    asked = await chat.press(listed.message, LITE)
    done = await chat.press(asked.message, t.gettext("Yes, swap it"))

    assert asked.message.text.split("\n") == [
        t.gettext("Swap your item for <b>{name}</b>?").format(name=LITE).replace("<b>", "").replace("</b>", ""),
        t.gettext("{amount} more — we cover the difference").format(amount=money(1000, t)) + ".",
        t.gettext("It is in stock and ships right away."),
    ]
    assert done.message.text == t.gettext(
        "Done: you now get {quantity} × <b>{name}</b> on order {order}. It is ready to ship."
    ).format(quantity=1, name=LITE, order=ANNA_ORDER).replace("<b>", "").replace("</b>", "")
    assert done.message.message_id == listed.message.message_id and done.new == []
    assert await lines(session_factory) == [
        (offers.shop.headset.id, LineStatus.SUBSTITUTED, None),
        (offers.lite.id, LineStatus.ALLOCATED, offers.shop.line_id),
    ]


async def test_a_cheaper_alternative_names_the_refund_with_german_nouns_intact(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, t: Translator
) -> None:
    await headset_with_alternatives(session, uow, chat)
    listed = await open_alternatives(chat, t)

    asked = await chat.press(listed.message, "Studio Wired Headset")
    done = await chat.press(asked.message, t.gettext("Yes, swap it"))

    refund_note = t.gettext("{amount} cheaper — we refund the difference").format(amount=money(6000, t))
    assert asked.message.text.split("\n")[1] == refund_note[0].upper() + refund_note[1:] + "."
    assert done.message.text.split("\n")[-1] == t.ngettext(
        "We'll refund {amount} to your original payment method within {days} day.",
        "We'll refund {amount} to your original payment method within {days} days.",
        14,
    ).format(amount=money(6000, t), days=14)


async def test_an_alternative_that_sold_out_before_the_confirmation_is_said_plainly(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory, t: Translator
) -> None:
    offers = await headset_with_alternatives(session, uow, chat)
    listed = await open_alternatives(chat, t)
    asked = await chat.press(listed.message, LITE)
    await set_available_stock(uow, "HS-150", 0, Actor.merchant())  # someone else bought the last three

    refused = await chat.press(asked.message, t.gettext("Yes, swap it"))

    assert [message.text for message in refused.new] == [t.gettext("Sorry, that alternative has just sold out.")]
    assert refused.message.text.split("\n")[0] == ITEM  # the item's card again, still waiting
    assert await lines(session_factory) == [(offers.shop.headset.id, LineStatus.BACKORDERED, None)]


async def test_a_week_old_confirmation_shows_the_current_state_and_does_nothing(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, clock: ManualClock, session_factory, t: Translator
) -> None:
    offers = await headset_with_alternatives(session, uow, chat)
    listed = await open_alternatives(chat, t)
    asked = await chat.press(listed.message, LITE)

    clock.advance(days=8)
    pressed = await chat.press(asked.message, t.gettext("Yes, swap it"))

    assert [message.text for message in pressed.new] == [t.gettext("That button has expired — here is the current state.")]
    assert pressed.message.text.split("\n")[0] == ITEM
    assert t.gettext("Cancel") in pressed.message.button_labels
    assert await lines(session_factory) == [(offers.shop.headset.id, LineStatus.BACKORDERED, None)]


async def test_a_week_old_message_opened_again_today_can_still_swap(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, clock: ManualClock, session_factory, t: Translator
) -> None:
    offers = await headset_with_alternatives(session, uow, chat)
    [order_list] = await chat.command("orders")

    clock.advance(days=8)
    card = await chat.press(order_list, ITEM)
    listed = await chat.press(card.message, t.gettext("Alternatives"))
    asked = await chat.press(listed.message, LITE)
    done = await chat.press(asked.message, t.gettext("Yes, swap it"))

    assert done.new == []
    assert await lines(session_factory) == [
        (offers.shop.headset.id, LineStatus.SUBSTITUTED, None),
        (offers.lite.id, LineStatus.ALLOCATED, offers.shop.line_id),
    ]


async def test_with_no_alternative_of_the_same_kind_the_card_says_so_and_offers_a_person(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, t: Translator
) -> None:
    shop = await annas_backorder(session, uow)
    # In stock, in the same category and cheaper, but not a headset: no alternative for one.
    await add_product(session, "SP-1", name="Desk Speaker", price=9900, tags=["speaker", "wireless"], available=2)
    await add_product(session, "CB-1", name="Braided Cable", price=990, available=50)
    await session.commit()
    await link_chat(session, shop.anna, chat)

    offers = (await open_alternatives(chat, t)).message
    person = await chat.press(offers, t.gettext("Talk to a person"))

    assert offers.text.split("\n") == [
        t.gettext("Sorry, there is no in-stock alternative for this item right now."),
        t.gettext("A person from our team can look for one with you."),
    ]
    assert offers.button_labels == [t.gettext("Talk to a person"), t.gettext("« Back")]
    assert person.message.text.startswith(
        t.gettext("A person will gladly help: please write to {contact} and mention your order number.").split("{")[0]
    )


async def test_after_swapping_one_of_two_the_list_shows_what_is_actually_coming(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, t: Translator, language: str
) -> None:
    anc = await add_product(session, "EB-300", name="AirBeat ANC Earbuds", price=12900, tags=["earbuds", "wireless"])
    lite = await add_product(session, "EB-150", name="AirBeat Lite", price=7900, tags=["earbuds", "wireless"], available=5)
    await add_substitute(session, anc, lite)
    ben = await add_customer(session, "Ben Carter")
    await add_order(session, ben, [(anc, 2)], allocated=[1], number="1043")
    await session.commit()
    await recompute_all_etas(uow)
    await link_chat(session, ben, chat)
    [order_list] = await chat.command("orders")
    card = await chat.press(order_list, "AirBeat ANC Earbuds × 2")
    offers = await chat.press(card.message, t.gettext("Alternatives"))
    asked = await chat.press(offers.message, "AirBeat Lite")
    await chat.press(asked.message, t.gettext("Yes, swap it"))

    [after] = await chat.command("orders")

    ready = {"en": "ready to ship", "de": "versandbereit"}[language]
    lines = after.text.split("\n")
    assert lines[0] == {"en": "Recently resolved", "de": "Kürzlich erledigt"}[language]  # no blank line first
    assert sorted(lines[1:]) == [f"• AirBeat ANC Earbuds × 1 — {ready}", f"• AirBeat Lite × 1 — {ready}"]
