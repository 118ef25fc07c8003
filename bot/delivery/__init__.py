"""Delivery of the outbox: the workers that send every message the bot writes first, within Telegram's limits."""

from bot.delivery.rate_limits import FloodControl, FloodControlRateLimiter, flood_control_for
from bot.delivery.worker import (
    DeliveryPolicy,
    DeliveryStats,
    OutboxWorker,
    Outcome,
    give_way_to,
    outbox_bot,
    start_outbox_workers,
)

__all__ = [
    "DeliveryPolicy", "DeliveryStats", "FloodControl", "FloodControlRateLimiter", "Outcome", "OutboxWorker",
    "flood_control_for", "give_way_to", "outbox_bot", "start_outbox_workers",
]
