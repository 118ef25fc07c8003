"""/notifications: the customer turns optional updates on or off, and sees which it is."""

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.chat import customer_id, deps, reply, show, tr
from bot.render import conversation
from bot.render.callback_data import CallbackData
from bot.render.notifications import notification_setting as setting_screen
from bot.services.backorders.notifications import notification_setting, set_notifications

_ON = {"on", "an", "ein", "yes", "ja"}
_OFF = {"off", "aus", "no", "nein"}


async def notifications(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/notifications [on|off]: switch, or show the current setting with a button to switch."""
    customer = customer_id(context)
    if customer is None:
        await reply(update, conversation.not_linked(tr(context)))
        return
    wanted = (context.args or [""])[0].lower()
    if wanted in _ON | _OFF:
        setting = await set_notifications(deps(context).uow(), customer, wanted in _ON)
    else:
        setting = await notification_setting(deps(context).uow(), customer)
    await reply(update, setting_screen(setting.enabled, tr(context)))


async def notifications_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    """Turn updates on (1) or off (0), in place."""
    setting = await set_notifications(deps(context).uow(), customer_id(context), bool(data.ids[0]))
    await show(update.callback_query, setting_screen(setting.enabled, tr(context)))
