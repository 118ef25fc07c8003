"""Merchant webhooks over HTTP: signed deliveries (Standard Webhooks) and the workers that send them."""

from bot.webhook_delivery.sender import WebhookSender, send_test, try_endpoint
from bot.webhook_delivery.worker import WebhookWorker, run_webhook_delivery

__all__ = ["WebhookSender", "WebhookWorker", "run_webhook_delivery", "send_test", "try_endpoint"]
