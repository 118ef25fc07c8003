"""/privacy: what the bot keeps and why, the customer's data as a file, and forgetting them."""

from bot.i18n import Translator
from bot.render.callback_data import Action, button
from bot.render.screen import Screen, inline

EXPORT_FILE_NAME = "my-data.json"


def privacy_overview(t: Translator) -> Screen:
    """What is kept, why and for how long, with the two buttons."""
    text = "\n\n".join(
        [
            t.gettext("<b>Your data</b>"),
            t.gettext(
                "I keep your name, e-mail and phone as the shop gave them, your Telegram id and language, your"
                " orders and their delivery dates, and your messages to our support team."
            ),
            t.gettext(
                "I need them to find your orders, tell you about delays and let a person help you. Orders and"
                " refunds are kept as bookkeeping law requires; chat records go after a few months."
            ),
        ]
    )
    return Screen(
        text,
        inline(
            [(t.gettext("Send me my data"), button(Action.PRIVACY_EXPORT))],
            [(t.gettext("Forget me"), button(Action.PRIVACY_FORGET_ASK))],
        ),
    )


def export_caption(t: Translator) -> str:
    return t.gettext("Everything I have stored about you.")


def nothing_stored(t: Translator) -> Screen:
    return Screen(t.gettext("I have nothing stored about you."))


def forget_confirmation(t: Translator) -> Screen:
    """The last question before erasing: what goes and what stays."""
    return Screen(
        t.gettext(
            "Forget you? Your name, e-mail, phone and chats will be erased and this chat unlinked from your"
            " orders. Your orders and refunds stay with the shop, without your name. This cannot be undone."
        ),
        inline(
            [
                (t.gettext("Yes, forget me"), button(Action.PRIVACY_FORGET_CONFIRM)),
                (t.gettext("Keep my data"), button(Action.PRIVACY)),
            ]
        ),
    )


def forgotten(t: Translator) -> Screen:
    return Screen(t.gettext("Done: I have forgotten you. If you write again, we start afresh."))
