"""A linked customer's backorders in the chat: the list, one item's card with its ETA explained, order numbers."""

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import ManualClock
from bot.i18n import Translator
from bot.services.audit import Actor
from bot.services.backorders.cancel import cancel_line
from bot.services.backorders.eta import recompute_all_etas
from bot.services.fulfilment.refunds import list_refunds, mark_refund_paid
from bot.services.fulfilment.shipments import Parcel, ShipmentItem, ShipmentRequest, record_shipment
from bot.services.purchasing.purchase_orders import move_purchase_order, receive_purchase_order
from bot.services.unit_of_work import UnitOfWork
from tests.e2e.chat_driver import CustomerChat, link_chat
from tests.e2e.chat_shop import ANNA_ORDER, HEADSET, PURCHASE_ORDER, annas_backorder, annas_linked_backorder
from tests.shop import add_order, add_product

ITEM = f"{HEADSET} × 1"


def list_heading(waiting: int, t: Translator) -> str:
    return t.ngettext("<b>{n} item is waiting for stock</b>", "<b>{n} items are waiting for stock</b>", waiting).format(
        n=waiting
    ).removeprefix("<b>").removesuffix("</b>")


async def test_orders_and_start_show_a_linked_customer_the_waiting_items(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, t: Translator
) -> None:
    await annas_linked_backorder(session, uow, chat)

    [from_orders] = await chat.command("orders")
    [from_start] = await chat.command("start")

    for order_list in (from_orders, from_start):
        assert order_list.text.startswith(list_heading(1, t))
        assert t.gettext("• {item} — order {order} — ships {date}").format(
            item=ITEM, order=ANNA_ORDER, date=t.date(date(2026, 12, 4))
        ) in order_list.text
        assert order_list.button_labels == [ITEM]


async def test_the_card_explains_the_eta_with_the_place_in_line(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, t: Translator, language: str
) -> None:
    shop = await annas_backorder(session, uow, ahead=2, behind=9)
    await link_chat(session, shop.anna, chat)
    [order_list] = await chat.command("orders")

    card = (await chat.press(order_list, ITEM)).message

    lines = card.text.split("\n")
    assert lines[0] == ITEM
    assert lines[1] == t.gettext("Order {order} · {status}").format(order=ANNA_ORDER, status=t.gettext("waiting for stock"))
    assert lines[2] == t.ngettext("Waiting for {n} day.", "Waiting for {n} days.", 26).format(n=26)
    expected = {
        "en": "Supplier delivery due 3\xa0Dec — you are number 3 of 12 in the queue. Expected to ship on 4\xa0Dec"
        " (supplier date confirmed).",
        "de": "Wareneingang erwartet am 3.\xa0Dez. – du bist auf Platz 3 von 12. Voraussichtlich am 4.\xa0Dez."
        " versandbereit (Termin vom Lieferanten bestätigt).",
    }
    assert lines[3] == expected[language]
    assert len(lines) == 4  # the first ETA a line got is no change to explain
    assert card.button_labels == [
        t.gettext("Cancel"), t.gettext("Alternatives"), t.gettext("Talk to a person"), t.gettext("« Back")
    ]


async def test_an_eta_without_a_supplier_shipment_is_marked_estimated(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, t: Translator
) -> None:
    shop = await annas_backorder(session, uow)
    mixer = await add_product(session, "MX-500", name="ProMix Stand Mixer", category="kitchen", lead_time_days=21)
    await add_order(session, shop.anna, [(mixer, 1)], number="1050")
    await session.commit()
    await recompute_all_etas(uow)
    await link_chat(session, shop.anna, chat)
    [order_list] = await chat.command("orders")

    card = (await chat.press(order_list, "ProMix Stand Mixer × 1")).message

    around = t.date(date(2026, 12, 18))  # today, 27 Nov, and the supplier's 21 days
    assert t.gettext("• {item} — order {order} — ships {date}").format(
        item="ProMix Stand Mixer × 1", order="1050", date=t.gettext("around {date} (estimated)").format(date=around)
    ) in order_list.text
    assert {
        "en": "No supplier delivery is booked yet — you are number 1 of 1 in the queue. Judging by the supplier's usual"
        " delivery time, it should be ready to ship around 18\xa0Dec (estimated).",
        "de": "Noch kein Wareneingang gebucht – du bist auf Platz 1 von 1. Nach der üblichen Lieferzeit des Lieferanten"
        " ist der Artikel voraussichtlich um den 18.\xa0Dez. versandbereit (geschätzt).",
    }[t.language] in card.text
    assert t.gettext("estimated") not in order_list.text.split("\n")[1]  # the headset's ETA is confirmed


async def test_an_eta_backed_by_stock_on_hand_is_not_called_estimated(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, t: Translator
) -> None:
    shop = await annas_backorder(session, uow)
    cable = await add_product(session, "CB-1", name="Braided Cable", available=1)
    await add_order(session, shop.anna, [(cable, 1)], number="1051")
    await session.commit()
    await recompute_all_etas(uow)
    await link_chat(session, shop.anna, chat)
    [order_list] = await chat.command("orders")

    card = (await chat.press(order_list, "Braided Cable × 1")).message

    tomorrow = t.date(date(2026, 11, 28))
    assert t.gettext("• {item} — order {order} — ships {date}").format(
        item="Braided Cable × 1", order="1051", date=tomorrow
    ) in order_list.text.split("\n")
    assert t.gettext("Back in stock — expected to ship on {eta}.").format(eta=tomorrow) in card.text


async def test_the_card_says_when_and_why_the_eta_last_moved(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, t: Translator
) -> None:
    shop = await annas_backorder(session, uow)
    await move_purchase_order(uow, PURCHASE_ORDER, date(2026, 12, 8), Actor.merchant())
    await link_chat(session, shop.anna, chat)
    [order_list] = await chat.command("orders")

    card = (await chat.press(order_list, ITEM)).message

    assert card.text.split("\n")[-1] == t.gettext("Last change: {old} → {new}, because {reason}.").format(
        old=t.date(date(2026, 12, 4)), new=t.date(date(2026, 12, 9)), reason=t.gettext("the supplier moved its shipment")
    )
    assert t.date(date(2026, 12, 8)) in card.text  # the shipment's new due date


async def test_back_returns_to_the_list_in_the_same_message(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, t: Translator
) -> None:
    await annas_linked_backorder(session, uow, chat)
    [order_list] = await chat.command("orders")

    card = await chat.press(order_list, ITEM)
    back = await chat.press(card.message, t.gettext("« Back"))

    assert card.new == back.new == []  # no new messages: the one message changed in place
    assert card.message.message_id == back.message.message_id == order_list.message_id
    assert back.message.edit_count == 2
    assert back.message.text == order_list.text
    assert back.message.button_labels == [ITEM]
    assert card.answer is not None and back.answer is not None  # every press is answered (no endless spinner)


async def test_recently_resolved_items_are_listed(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, clock: ManualClock, t: Translator
) -> None:
    shop = await annas_backorder(session, uow)
    speaker = await add_product(session, "SPK-1", name="Pocket Speaker", price=4990)
    second = await add_order(session, shop.anna, [(speaker, 1)], number="1049")
    await session.commit()
    await recompute_all_etas(uow)
    await cancel_line(uow, shop.anna.id, second.lines[0].id, Actor.customer(shop.anna.id))
    clock.advance(days=1)
    await link_chat(session, shop.anna, chat)

    [order_list] = await chat.command("orders")

    text = order_list.text.split("\n")
    assert text[0] == list_heading(1, t)
    resolved_at = text.index(t.gettext("<b>Recently resolved</b>").removeprefix("<b>").removesuffix("</b>"))
    assert text[resolved_at + 1] == f"• Pocket Speaker × 1 — {t.gettext('cancelled')}"
    assert order_list.button_labels == [ITEM]  # only waiting items can be opened


async def test_an_order_number_in_a_message_shows_that_order(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, t: Translator
) -> None:
    await annas_linked_backorder(session, uow, chat)

    [reply] = await chat.send(f"what about {ANNA_ORDER}?")

    assert reply.text.startswith(list_heading(1, t))
    assert f"• {ITEM} " in reply.text
    assert reply.button_labels == [ITEM]


async def test_another_customers_order_number_looks_like_one_that_does_not_exist(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, t: Translator
) -> None:
    shop = await annas_backorder(session, uow, ahead=1)
    someone_elses = shop.others[0].number
    await link_chat(session, shop.anna, chat)

    [foreign] = await chat.send(f"where is order {someone_elses}?")
    [unknown] = await chat.send("where is order 777777?")

    not_found = t.gettext("I couldn't find order {order} on your account.")
    assert foreign.text == not_found.format(order=someone_elses)
    assert unknown.text == not_found.format(order="777777")
    assert foreign.button_labels == unknown.button_labels == [t.gettext("My orders")]
    assert HEADSET not in foreign.text


async def test_a_shipped_item_shows_its_day_carrier_and_track_link_and_a_paid_refund_shows_as_paid(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, t: Translator, clock: ManualClock
) -> None:
    shop = await annas_linked_backorder(session, uow, chat)
    case = await add_product(session, "CASE-1", price=1900, name="Headset case")
    second = await add_order(session, shop.anna, [(case, 1)], number="1043")
    await session.commit()
    # Lists shown while the items waited: their item buttons are pressed again once the items are resolved.
    [while_waiting] = await chat.command("orders")
    [also_while_waiting] = await chat.command("orders")
    await receive_purchase_order(uow, PURCHASE_ORDER, Actor.merchant("shop"))
    parcel = Parcel("DHL", "00340434161094042557", "https://www.dhl.de/track?piececode=00340434161094042557")
    await record_shipment(uow, ShipmentRequest(ANNA_ORDER, [ShipmentItem("HS-200", 1)], parcel), Actor.merchant("shop"))
    await cancel_line(uow, shop.anna.id, second.lines[0].id, Actor.customer(shop.anna.id))
    [owed] = await list_refunds(uow)
    await mark_refund_paid(uow, owed.id, "PAY-1", Actor.merchant("shop"))

    [order_list] = await chat.command("orders")
    pressed = await chat.press(while_waiting, ITEM)

    day = t.date(clock.now().date())
    assert f"• {ITEM} — " + t.gettext("shipped {day}").format(day=day) + " · DHL · " + t.gettext("Track") in order_list.text
    [link] = [entity for entity in order_list.entities if entity["type"] == "text_link"]
    assert link["url"] == parcel.tracking_url
    assert "• Headset case × 1 — " + t.gettext("cancelled") + " · " + t.gettext("refund of {amount} paid").format(
        amount=t.money(1900, "EUR")
    ) in order_list.text
    assert ITEM not in order_list.button_labels  # resolved items are listed, not buttons
    # The item's card, from the button of the list shown while it waited.
    [card] = pressed.new or [pressed.message]
    assert (card.text or "").split("\n")[1] == t.gettext("Order {order} · {status}").format(
        order=ANNA_ORDER, status=t.gettext("shipped {day}").format(day=day) + " · DHL"
    )
    assert card.inline_keyboard[0][0] == {"text": t.gettext("Track parcel"), "url": parcel.tracking_url}
    refunded = await chat.press(also_while_waiting, "Headset case × 1")
    [case_card] = refunded.new or [refunded.message]
    assert (case_card.text or "").split("\n")[1] == t.gettext("Order {order} · {status}").format(
        order="1043", status=t.gettext("cancelled") + " · " + t.gettext("refund of {amount} paid").format(amount=t.money(1900, "EUR"))
    )
