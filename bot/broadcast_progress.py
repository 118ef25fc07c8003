"""Keeps a merchant's broadcast progress message in Telegram up to date while the outbox delivers it.

Run `update_broadcast_progress_messages` every few seconds next to the outbox workers, in one process at a
time (bot/background.py): each broadcast still sending that was started from Telegram
gets its message edited to the current numbers, and once nothing is left to send, to the final tally
(sent, failed, blocked), and the broadcast is marked done.
"""

import logging

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from bot.i18n import translator
from bot.render.merchant import progress
from bot.services.backorders.notifications import chat_language
from bot.services.outreach.broadcasts import BroadcastView, broadcast_progress, sending_broadcasts
from bot.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


async def broadcast_progress_text(uow: UnitOfWork, broadcast_id: int, language: str) -> str:
    """The progress message's text for the broadcast as it stands now (done once nothing is left to send)."""
    return progress(await broadcast_progress(uow, broadcast_id), translator(language)).text


async def update_broadcast_progress_messages(bot: Bot, uow: UnitOfWork, *, shown: dict[int, str] | None = None) -> int:
    """Edit the progress message of every broadcast still sending; returns how many messages were edited.

    `shown` (broadcast id → text last shown), kept between calls, saves edits that would change nothing.
    """
    shown = {} if shown is None else shown
    edited = 0
    for sending in await sending_broadcasts(uow, with_progress_message=True):
        view = await broadcast_progress(uow, sending.id)
        language = await chat_language(uow, view.progress_chat_id or 0)
        text = progress(view, translator(language)).text
        if shown.get(view.id) == text:
            continue
        if await _edit(bot, view, text):
            edited += 1
        shown[view.id] = text
        if view.pending == 0:
            shown.pop(view.id, None)  # done: it will not be asked about again
    return edited


async def _edit(bot: Bot, view: BroadcastView, text: str) -> bool:
    try:
        await bot.edit_message_text(
            text, chat_id=view.progress_chat_id, message_id=view.progress_message_id, parse_mode=ParseMode.HTML
        )
    except BadRequest as refused:
        # The same numbers as shown already; or the merchant deleted the message, which is theirs to do.
        if "not modified" not in str(refused).lower():
            log.info("broadcast %s: progress message not editable: %s", view.id, refused)
        return False
    except TelegramError as failed:
        log.warning("broadcast %s: could not update its progress message: %s", view.id, failed)
        return False
    return True
