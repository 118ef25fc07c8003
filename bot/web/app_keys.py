"""What the web server's handlers find on the application (`request.config_dict[KEY]`)."""

from aiohttp import web
from telegram.ext import Application

from bot.composition import ChatDeps
from bot.metrics import BotMetrics
from bot.webhook_inbox import WebhookInbox

DEPS = web.AppKey("deps", ChatDeps)
METRICS = web.AppKey("metrics", BotMetrics)
WEBHOOK_INBOX = web.AppKey("webhook_inbox", WebhookInbox)
TELEGRAM = web.AppKey("telegram", Application)  # type: ignore[type-arg]  # the bot, where this process runs it
