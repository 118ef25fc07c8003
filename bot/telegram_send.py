"""A rendered screen sent to Telegram, or shown in place of a message, without PTB's Message objects."""

from typing import Any

from telegram import Bot
from telegram.constants import ParseMode

from bot.render.screen import Screen
from bot.render.screen_limits import check_screen


async def post_screen(bot: Bot, method: str, screen: Screen, **parameters: Any) -> Any:
    """Call `method` (sendMessage, editMessageText) with the screen as HTML and its buttons; Telegram's answer.

    Not Bot.send_message or edit_message_text: they build PTB's Message object from the whole answer, which the
    callers never read (the outbox needs only the new message's id) and which cost a tenth of a chat update's
    handling and a fifth of a paid broadcast's send. Nor the public `Bot.do_api_request`: it warns on every
    call for a method PTB has a function for. `Bot._post` is private, hence PTB's pin below 23, and
    tests/unit/test_library_internals.py fails by name if it changes. It keeps the rest of PTB: an application's bot still goes
    through its rate limiter and retries, and Telegram's refusals still arrive as PTB's errors. Parameters
    given as None are left out. A screen over Telegram's limits raises ScreenTooLarge before anything is sent.
    """
    check_screen(screen)
    screen_parameters = {"text": screen.text, "parse_mode": ParseMode.HTML, "reply_markup": screen.keyboard}
    return await bot._post(method, parameters | screen_parameters)  # noqa: SLF001
