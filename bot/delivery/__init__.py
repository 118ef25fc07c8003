"""Delivery of the outbox: the workers that send every message the bot writes first, within Telegram's limits."""

from bot.delivery.rate_limits import FloodControl, FloodControlRateLimiter
from bot.delivery.shared_flood_limit import SharedFloodControl, flood_control_for
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
    "DeliveryPolicy", "DeliveryStats", "FloodControl", "FloodControlRateLimiter", "Outcome", "OutboxWorker", "SharedFloodControl",
    "flood_control_for", "give_way_to", "outbox_bot", "start_outbox_workers",
]
