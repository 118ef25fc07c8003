"""The Telegram application: every handler the bot has, registered in one place."""

import logging

from telegram import BotCommand, MenuButtonWebApp, Update, WebAppInfo
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.composition import ChatDeps
from bot.console_button import MENU_BUTTONS_KEY, MenuButtons
from bot.handlers import (
    agent_tools,
    free_text,
    human,
    intake,
    language,
    linking,
    membership,
    merchant,
    notifications,
    orders,
    other_messages,
    privacy,
    support,
)
from bot.handlers.buttons import button_pressed
from bot.i18n import SUPPORTED_LANGUAGES, translator
from bot.memory import settle_for_serving
from bot.support.desk import install_support_desk, start_support_desk, stop_support_desk
from bot.telegram_errors import RetryingRateLimiter
from bot.telegram_http import AiohttpRequest
from bot.update_order import ChatOrderedUpdates

log = logging.getLogger(__name__)

# Connections for the bot's calls other than getUpdates: as many as updates are handled at once, and more
# for the support desk's relays, which run beside them.
BOT_CONNECTIONS = 32
SUPPORT_HANDLERS = -2  # the handler group of the support desk: before the intake (-1)


class BackorderApplication(Application):  # type: ignore[type-arg]
    """PTB's Application, setting the localised command menus whenever it is initialised.

    Not `post_init`: PTB runs that only inside run_polling()/run_webhook(), and we start the updater
    ourselves (bot/telegram_jobs.py, the end-to-end harness), so the menus would never be set.
    """

    async def initialize(self) -> None:
        await super().initialize()
        await _announce_commands(self)
        await self.bot_data[MENU_BUTTONS_KEY].offer_console(self.bot)
        await announce_mini_app(self)

    async def start(self) -> None:
        await super().start()
        await start_support_desk(self)  # checks the support group, starts the relay worker
        settle_for_serving()

    async def stop(self) -> None:
        await stop_support_desk(self)
        await super().stop()


def build_application(chat_deps: ChatDeps, *, rate_limiter: RetryingRateLimiter | None = None) -> Application:
    """The bot, talking to the Bot API server named by TELEGRAM_API_BASE_URL.

    `rate_limiter` defaults to one that keeps to Telegram's flood limits and retries failed calls.
    Updates of different chats are handled concurrently, each chat's and user's in order (bot/update_order.py).
    Its Bot API calls go over aiohttp (bot/telegram_http.py).
    """
    settings = chat_deps.settings
    api = settings.telegram_api_base_url.rstrip("/")
    application = (
        ApplicationBuilder()
        .application_class(BackorderApplication)
        .token(settings.bot_token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .request(AiohttpRequest(BOT_CONNECTIONS))
        .get_updates_request(AiohttpRequest())
        .rate_limiter(rate_limiter or RetryingRateLimiter(max_retries=3))
        .concurrent_updates(ChatOrderedUpdates())
        .build()
    )
    application.bot_data["deps"] = chat_deps
    application.bot_data[MENU_BUTTONS_KEY] = MenuButtons(settings, chat_deps.mini_app_url)
    register_handlers(application)
    return application


def register_handlers(application: Application) -> None:
    """The bot's whole surface."""
    private = filters.ChatType.PRIVATE
    desk = install_support_desk(application)
    if desk is not None:
        # The support group, and customers with an open ticket, come before the intake: these handlers claim
        # their updates themselves (with what they relay) and stop there.
        in_group = filters.Chat(chat_id=desk.chat_id)
        for commands, agent_command in (
            ("close", agent_tools.close_command),
            ("assign", agent_tools.assign_command),
            ("cancel", agent_tools.cancel_command),
            (["alternatives", "alt"], agent_tools.alternatives_command),
            ("eta", agent_tools.eta_command),
            ("reply", agent_tools.reply_command),
            ("canned", agent_tools.canned_command),
            ("queue", agent_tools.queue_command),
        ):
            application.add_handler(CommandHandler(commands, agent_command, filters=in_group), group=SUPPORT_HANDLERS)
        application.add_handler(CallbackQueryHandler(agent_tools.agent_button, pattern=agent_tools.is_agent_payload), group=SUPPORT_HANDLERS)
        application.add_handler(MessageHandler(in_group & filters.UpdateType.MESSAGE, agent_tools.group_message), group=SUPPORT_HANDLERS)
        application.add_handler(MessageHandler(in_group, agent_tools.other_update), group=SUPPORT_HANDLERS)
        application.add_handler(
            MessageHandler(private & filters.UpdateType.MESSAGE & ~filters.COMMAND, support.customer_message), group=SUPPORT_HANDLERS
        )
    application.add_handler(TypeHandler(Update, intake.take_in), group=-1)
    application.add_handler(ChatMemberHandler(membership.bot_membership_changed, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_handler(MessageHandler(filters.UpdateType.EDITED, other_messages.edited))
    application.add_handler(CommandHandler("start", linking.start, filters=private))
    application.add_handler(CommandHandler(["orders", "status"], orders.orders, filters=private))
    application.add_handler(CommandHandler(["support", "human"], human.support, filters=private))
    application.add_handler(CommandHandler("language", language.language, filters=private))
    application.add_handler(CommandHandler("logout", linking.logout, filters=private))
    application.add_handler(CommandHandler("help", free_text.help_command, filters=private))
    application.add_handler(CommandHandler("notifications", notifications.notifications, filters=private))
    application.add_handler(CommandHandler("privacy", privacy.privacy, filters=private))
    application.add_handler(CommandHandler("backorders", merchant.backorders, filters=private))
    application.add_handler(CommandHandler("reorder", merchant.reorder, filters=private))
    application.add_handler(CommandHandler("broadcast", merchant.broadcast, filters=private))
    application.add_handler(CallbackQueryHandler(button_pressed))
    application.add_handler(MessageHandler(private & filters.CONTACT, linking.contact_shared))
    # A merchant's text may be the next step of a broadcast being written; anything else goes on to free text.
    application.add_handler(
        MessageHandler(
            private & filters.TEXT & ~filters.COMMAND & merchant.FromMerchant(application), merchant.text_message
        )
    )
    application.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, free_text.text_message))
    application.add_handler(MessageHandler(private & filters.COMMAND, free_text.help_command))
    application.add_handler(MessageHandler(private & ~filters.TEXT, other_messages.non_text))
    application.add_error_handler(intake.on_error)


def command_menu(language: str) -> list[BotCommand]:
    t = translator(language)
    return [
        BotCommand("orders", t.gettext("My waiting items and their ship dates")),
        BotCommand("notifications", t.gettext("Choose which updates I send")),
        BotCommand("support", t.gettext("Talk to a person")),
        BotCommand("language", t.gettext("Change language")),
        BotCommand("help", t.gettext("What I can do")),
        BotCommand("logout", t.gettext("Disconnect this chat")),
        BotCommand("privacy", t.gettext("Your data: see it or have it erased")),
    ]


async def _announce_commands(application: Application) -> None:
    """Localised command menus; a server that refuses them must not stop the bot."""
    for language in SUPPORTED_LANGUAGES:
        try:
            await application.bot.set_my_commands(
                command_menu(language), language_code=None if language == "en" else language
            )
        except TelegramError as refused:
            log.warning("could not set the %s command menu: %s", language, refused)


async def announce_mini_app(application: Application) -> None:  # type: ignore[type-arg]
    """The chat menu button opening the customers' Mini App, where one is served; a refusal must not stop the bot.

    Telegram's default for every private chat (per-chat buttons, such as a merchant's, stand above it); it
    is named in the shop's language, as one text serves every chat: a customer who speaks another language
    gets a button of their own when they write (bot/console_button.py).
    """
    deps: ChatDeps = application.bot_data["deps"]
    if deps.mini_app_url is None:
        return
    t = translator(deps.settings.default_language)
    try:
        await application.bot.set_chat_menu_button(
            menu_button=MenuButtonWebApp(t.gettext("Track my items"), WebAppInfo(deps.mini_app_url))
        )
    except TelegramError as refused:
        log.warning("could not set the Mini App's menu button: %s", refused)
