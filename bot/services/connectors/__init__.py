"""Online stores (Shopify, WooCommerce) kept in step with the bot both ways: connections, backfill, the received
webhooks' queue, the store's data applied through the other rooms' use cases, and write-back of the changes made
here. The adapters that speak each platform's wire format live in bot/connectors/."""

from bot.services.connectors.backfill import RESOURCES, BackfillState, advance_backfill, backfill_states, start_backfill
from bot.services.connectors.connections import (
    ConnectionConfig,
    connection_by_id,
    connection_config,
    forget_shop,
    live_connections,
    note_store_health,
    note_synced,
    save_connection,
)
from bot.services.connectors.status import ConnectionStatus, WriteBackProblem, connection_statuses
from bot.services.connectors.store_adapter import StoreAdapter, WebhookVerifier
from bot.services.connectors.store_sync import (
    SyncReport,
    apply_orders,
    apply_products,
    apply_stock_counts,
    apply_store_changes,
    store_actor,
)
from bot.services.connectors.webhook_queue import (
    QueuedWebhook,
    WebhookOutcome,
    claim_webhooks,
    finish_webhooks,
    forget_old_webhooks,
    queue_webhooks,
)
from bot.services.connectors.write_back import (
    WriteBackJob,
    claim_write_backs,
    fan_out_write_backs,
    finish_write_back,
    note_text,
    retry_failed_write_backs,
)

__all__ = [
    "RESOURCES", "BackfillState", "ConnectionConfig", "ConnectionStatus", "QueuedWebhook", "StoreAdapter", "SyncReport",
    "WebhookOutcome", "WebhookVerifier", "WriteBackJob", "WriteBackProblem", "advance_backfill", "apply_orders",
    "apply_products", "apply_stock_counts", "apply_store_changes", "backfill_states", "claim_webhooks",
    "claim_write_backs", "connection_by_id", "connection_config", "connection_statuses", "fan_out_write_backs",
    "finish_webhooks", "finish_write_back", "forget_old_webhooks", "forget_shop", "live_connections",
    "note_store_health", "note_synced", "note_text", "queue_webhooks", "retry_failed_write_backs", "save_connection",
    "start_backfill", "store_actor",
]
