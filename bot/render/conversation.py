"""Welcome, linking, help and the short polite answers to everything else."""

from html import escape

from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove

from bot.i18n import Translator
from bot.render.callback_data import LANGUAGE_CODES, Action, button
from bot.render.screen import Screen, inline


def _share_phone_keyboard(t: Translator) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [[KeyboardButton(t.gettext("📱 Share my phone number"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def welcome_unlinked(shop_name: str, t: Translator) -> Screen:
    text = t.gettext(
        "Hi! I'm {shop}'s assistant. I can tell you when your items ship, cancel them or find an alternative.\n\n"
        "First, let's find your order: tap “Share my phone number”, or send me your order number."
    ).format(shop=escape(shop_name))
    return Screen(text, _share_phone_keyboard(t))


def link_ways(t: Translator) -> Screen:
    """The two ways to connect an order, for a chat that was welcomed already."""
    text = t.gettext("To find your order, tap “Share my phone number” or send me your order number.")
    return Screen(text, _share_phone_keyboard(t))


def ask_email(order_number: str, t: Translator) -> Screen:
    return Screen(
        t.gettext("Thanks! Now the e-mail address you used for order {order}, please.").format(order=escape(order_number))
    )


def ask_order_number(t: Translator) -> Screen:
    return Screen(t.gettext("Please send me your order number first (you find it in your confirmation e-mail)."))


def linked(name: str, t: Translator) -> Screen:
    if not name.strip():
        return Screen(t.gettext("Thanks — you're connected. Here are your orders:"), ReplyKeyboardRemove())
    first_name = escape(name.split()[0])
    return Screen(t.gettext("Thanks, {name} — you're connected. Here are your orders:").format(name=first_name), ReplyKeyboardRemove())


def link_failed(t: Translator) -> Screen:
    return Screen(
        t.gettext("Sorry, I couldn't match those details to an order. Please check them and try again."),
        None,
    )


def link_rate_limited(minutes: int, t: Translator) -> Screen:
    return Screen(
        t.ngettext(
            "Too many attempts. Please try again in {n} minute.",
            "Too many attempts. Please try again in {n} minutes.",
            minutes,
        ).format(n=minutes)
    )


def contact_not_own(t: Translator) -> Screen:
    return Screen(t.gettext("Please share your own phone number with the button below."), None)


def logged_out(t: Translator) -> Screen:
    return Screen(t.gettext("You're logged out. Your orders are safe — send /start to connect again."))


def not_linked(t: Translator) -> Screen:
    return Screen(t.gettext("I don't know your orders yet. Send /start to connect them."))


def help_menu(t: Translator) -> Screen:
    text = t.gettext(
        "I can help with items that are waiting for stock:\n"
        "/orders — see them with their ship dates\n"
        "/notifications — choose which updates I send\n"
        "/support — talk to a person\n"
        "/language — Sprache ändern / change language\n"
        "/logout — disconnect this chat\n"
        "You can also just write, e.g. “where is my order 1042?”"
    )
    return Screen(text, inline([(t.gettext("My orders"), button(Action.ORDERS))]))


def reach_a_person(contact: str, t: Translator) -> Screen:
    return Screen(
        t.gettext("A person will gladly help: please write to {contact} and mention your order number.").format(
            contact=escape(contact)
        ),
        inline([(t.gettext("« My orders"), button(Action.ORDERS))]),
    )


def non_text(t: Translator) -> Screen:
    return Screen(t.gettext("Thanks! I can only read text, though. Try /orders or /help."))


def too_long(t: Translator) -> Screen:
    return Screen(t.gettext("That's a long message! Please keep it short, or use /support to reach a person."))


def edited(t: Translator) -> Screen:
    return Screen(t.gettext("I only read new messages — please send your change as a new message."))


def greeting(t: Translator) -> Screen:
    return Screen(t.gettext("Hello! How can I help?"), help_menu(t).keyboard)


def thanks(t: Translator) -> Screen:
    return Screen(t.gettext("You're welcome!"))


def order_not_found(order_number: str, t: Translator) -> Screen:
    return Screen(
        t.gettext("I couldn't find order {order} on your account.").format(order=escape(order_number)),
        inline([(t.gettext("My orders"), button(Action.ORDERS))]),
    )


def choose_language(t: Translator) -> Screen:
    names = {"en": "English", "de": "Deutsch"}
    row = [(names[code], button(Action.LANGUAGE, number)) for number, code in LANGUAGE_CODES.items()]
    return Screen(t.gettext("Which language would you like?"), inline(row))


def language_set(t: Translator) -> Screen:
    return Screen(t.gettext("Done — I'll write in English from now on."))


def stale_button(t: Translator) -> Screen:
    return Screen(t.gettext("That button has expired — here is the current state."))


def invalid_button(t: Translator) -> Screen:
    """A button that no longer works; its text is shown as the pressed button's alert."""
    return Screen(t.gettext("Sorry, that button doesn't work any more."))


def move_to_private(bot_username: str | None, t: Translator) -> Screen:
    link = f"https://t.me/{bot_username}" if bot_username else ""
    return Screen(t.gettext("Happy to help — but orders are private, so please write to me directly: {link}").format(link=link))


def something_went_wrong(t: Translator) -> Screen:
    return Screen(t.gettext("Sorry, something went wrong on our side. Please try again in a moment."))
