"""How every stored column relates to a person, so export and erasure cannot silently miss a new one.

tests/unit/test_personal_data_classification.py fails when a column of db/models.py is missing here.
"""

from enum import StrEnum


class Treatment(StrEnum):
    """What erasure does to a column of a row belonging to the person."""

    KEEP = "keep"  # not about a person, or bookkeeping the law makes the shop keep (it loses its link to a name)
    PSEUDONYMISE = "pseudonymise"  # replaced in place by a value that names no one
    CLEAR = "clear"  # set to NULL, or a neutral value where the column cannot be NULL
    DELETE_ROW = "delete_row"  # the row goes as a whole
    SCRUB = "scrub"  # personal keys are taken out of the JSON; the rest is kept


_KEEP, _PSEUDO, _CLEAR, _DELETE, _SCRUB = (
    Treatment.KEEP,
    Treatment.PSEUDONYMISE,
    Treatment.CLEAR,
    Treatment.DELETE_ROW,
    Treatment.SCRUB,
)


def _all(treatment: Treatment, *columns: str) -> dict[str, Treatment]:
    return dict.fromkeys(columns, treatment)


# table -> column -> treatment. Tables holding nothing about any person are listed too, all KEEP, so a new
# column on them still has to be looked at.
COLUMNS: dict[str, dict[str, Treatment]] = {
    "customers": {
        **_all(_KEEP, "id", "created_at", "bot_blocked"),
        **_all(_PSEUDO, "name", "email"),
        **_all(_CLEAR, "phone", "language", "telegram_user_id", "notifications_opt_out"),
    },
    "telegram_users": _all(
        _DELETE,
        "telegram_user_id", "chat_id", "language", "telegram_language_code", "conversation_state",
        "conversation_data", "misunderstood_in_a_row", "created_at", "updated_at",
    ),
    "link_attempts": _all(_DELETE, "id", "telegram_user_id", "method", "succeeded", "at"),
    "orders": _all(_KEEP, "id", "number", "customer_id", "placed_at", "currency", "promised_ship_by", "created_at"),
    "order_lines": _all(
        _KEEP,
        "id", "order_id", "product_id", "quantity", "unit_price_minor", "status", "allocated_quantity",
        "cancelled_quantity", "substituted_quantity", "queued_at", "eta", "eta_basis", "eta_purchase_order_id",
        "substitute_for_line_id", "resolved_at", "created_at", "updated_at", "shipped_quantity", "added_tax_ppm",
    ),
    "eta_changes": _all(_KEEP, "id", "line_id", "old_eta", "new_eta", "old_basis", "new_basis", "reason", "changed_at"),
    "refunds": _all(
        _KEEP, "id", "line_id", "amount_minor", "currency", "reason", "status", "created_at", "paid_at", "payment_reference"
    ),
    "shipments": _all(
        _KEEP, "id", "order_id", "carrier", "tracking_number", "tracking_url", "shipped_at", "created_at"
    ),
    "shipment_lines": _all(_KEEP, "shipment_id", "line_id", "quantity"),
    # Events name orders, SKUs and amounts, never a name, e-mail or phone number, so the shop's systems can keep them.
    "events": _all(_KEEP, "id", "public_id", "type", "occurred_at", "order_number", "payload", "transaction_number"),
    "webhook_endpoints": _all(
        _KEEP,
        "id", "url", "event_types", "secret", "previous_secret", "previous_secret_expires_at", "status",
        "disabled_reason", "failing_since", "last_error", "last_success_at", "fanned_out_transaction",
        "fanned_out_event", "created_at",
    ),
    "webhook_deliveries": _all(
        _KEEP,
        "id", "endpoint_id", "event_id", "ordering_key", "status", "attempts", "next_attempt_at", "lease_expires_at",
        "last_status", "last_error", "created_at", "delivered_at",
    ),
    "delay_notices": _all(
        _KEEP,
        "id", "line_id", "sequence", "promised_ship_by", "new_ship_by", "respond_by", "notified_at", "response",
        "responded_at",
    ),
    "tickets": {
        **_all(
            _KEEP,
            "id", "customer_id", "status", "reason", "support_chat_id", "topic_thread_id", "context_message_id",
            "assignee_telegram_id", "opened_at", "first_response_at", "closed_at", "closed_by", "rating", "rated_at",
        ),
        **_all(_CLEAR, "customer_chat_id", "resolved_button_message_id"),
    },
    "ticket_messages": _all(
        _DELETE,
        "id", "ticket_id", "direction", "author_telegram_id", "source_chat_id", "source_message_id", "target_chat_id",
        "target_thread_id", "target_message_id", "status", "attempts", "next_attempt_at", "lease_expires_at",
        "worker_id", "last_error", "created_at", "delivered_at",
    ),
    "outbox_messages": {
        **_all(
            _KEEP,
            "id", "customer_id", "broadcast_id", "template", "language", "optional", "dedupe_key", "priority",
            "status", "attempts", "not_before", "lease_expires_at", "worker_id", "telegram_message_id", "created_at",
            "sent_at",
        ),
        **_all(_CLEAR, "chat_id", "params", "last_error"),
    },
    "audit_log": {
        **_all(_KEEP, "id", "at", "actor_type", "actor_id", "action", "entity_type", "entity_id"),
        "details": _SCRUB,
    },
    # Nothing about a customer below: the catalogue, purchasing, merchant tokens and the agents' own tools.
    "products": _all(
        _KEEP, "id", "sku", "name", "category", "price_minor", "currency", "tags", "lead_time_days", "created_at",
        "updated_at", "supplier_id",
    ),
    "suppliers": _all(
        _KEEP, "id", "name", "contact", "lead_time_days", "eta_slip_days", "created_at", "updated_at"
    ),
    "product_substitutes": _all(_KEEP, "product_id", "substitute_id", "rank"),
    "stock_levels": _all(_KEEP, "product_id", "available", "updated_at"),
    "purchase_orders": _all(
        _KEEP,
        "id", "reference", "product_id", "quantity", "received_quantity", "expected_on", "status", "created_at",
        "updated_at", "supplier_id", "first_expected_on", "date_moves", "received_on",
    ),
    "purchase_order_receipts": _all(
        _KEEP, "id", "purchase_order_id", "quantity", "idempotency_key", "ready_line_ids", "received_at"
    ),
    "processed_updates": _all(_KEEP, "update_id", "processed_at"),  # ids only; purged by retention
    # A large import's lines (customers' names, e-mails, phones) for the minutes until they move into the shop's
    # own tables; deleted then, or by the next import or the daily jobs if the import was killed.
    "staged_order_lines": _all(
        _KEEP,
        "id", "run_id", "row", "order_number", "placed_at", "email", "customer_name", "phone", "language",
        "product_id", "quantity", "unit_price_minor", "added_tax_ppm", "currency", "order_details",
    ),
    # A large products or purchase-orders import's planned writes (products, suppliers' names, purchase orders: no
    # person's data) for the minutes until they are written into the shop; deleted then, as staged_order_lines.
    "staged_import_rows": _all(_KEEP, "id", "run_id", "step", "row", "adds", "payload"),
    "import_runs": _all(
        _KEEP, "id", "kind", "actor_type", "actor_id", "holder", "alive_at", "moved_at", "moved_through",
        "known_customers_through", "settled_through",
    ),
    "job_leases": _all(_KEEP, "name", "holder", "expires_at", "last_run_on"),
    "flood_lanes": _all(_KEEP, "lane", "next_turn_at", "paused_until", "pushed_at", "pushed_by", "reply_early_at", "last_started_at"),
    # A chat id with the second its next message may go; deleted a minute later by the senders themselves.
    "flood_chats": _all(_KEEP, "chat_id", "free_at"),
    # An outbox turn booked for a chat, deleted as it is sent (or a minute later, if its sender died).
    "flood_turns": _all(_KEEP, "id", "lane", "at", "chat_id"),
    # An update as Telegram sent it (a customer's words) for the moments until it is handled, then deleted.
    "webhook_updates": _all(_KEEP, "update_id", "chat_key", "payload", "received_at", "started_by"),
    "api_tokens": _all(_KEEP, "id", "name", "token_hash", "prefix", "created_at", "last_used_at", "revoked_at"),
    # Responses replayed to a merchant's retry may quote a customer; retention purges them (not per person).
    "idempotent_requests": _all(
        _KEEP, "id", "token_id", "key", "method", "path", "request_hash", "status_code", "response_body", "created_at"
    ),
    "broadcasts": _all(
        _KEEP,
        "id", "created_by", "audience", "texts", "new_eta", "status", "recipient_count", "progress_chat_id",
        "progress_message_id", "created_at", "finished_at", "urgent",
    ),
    "canned_replies": _all(_KEEP, "id", "key", "language", "text", "created_by", "created_at"),
    # The online store's connection: its credentials are the merchant's secrets, never a customer's data.
    "store_connections": _all(
        _KEEP,
        "id", "platform", "shop", "credentials", "settings", "status", "last_error", "last_error_at", "last_webhook_at",
        "last_sync_at", "fanned_out_transaction", "fanned_out_event", "created_at", "updated_at",
    ),
    "store_backfills": _all(
        _KEEP, "connection_id", "resource", "cursor", "done", "total", "finished", "started_at", "updated_at", "finished_at"
    ),
    # Store ids against SKUs, order numbers and line ids: nothing personal.
    "store_links": _all(_KEEP, "id", "connection_id", "kind", "store_id", "our_key", "store_updated_at", "data"),
    # A received webhook's payload may name a customer; it is cleared as soon as it is applied (seconds later).
    "store_webhooks": _all(
        _KEEP,
        "id", "connection_id", "delivery_key", "topic", "resource_id", "resource_updated_at", "payload", "status",
        "attempts", "next_attempt_at", "lease_expires_at", "last_error", "received_at", "processed_at",
    ),
    "store_write_backs": _all(
        _KEEP,
        "id", "connection_id", "event_id", "kind", "order_number", "status", "attempts", "next_attempt_at",
        "lease_expires_at", "last_error", "steps", "created_at", "done_at",
    ),
}

# Tables with rows about one person: each is a section of the export, named after the table.
PERSONAL_TABLES = (
    "customers",
    "telegram_users",
    "orders",
    "order_lines",
    "eta_changes",
    "refunds",
    "shipments",
    "shipment_lines",
    "delay_notices",
    "tickets",
    "ticket_messages",
    "link_attempts",
    "outbox_messages",
    "audit_log",
)

# Keys of audit details that identify a person; erasure takes them out of the entries about the person.
PERSONAL_DETAIL_KEYS = frozenset(
    {"telegram_user_id", "replaced_telegram_user_id", "name", "email", "phone", "chat_id", "text"}
)

# The shop's own people (merchants, agents), known by their Telegram id: per table, the columns their export
# shows and what their erasure does to each (bot/services/privacy/staff_members.py). The id and the actor
# names built from it are replaced by a value naming no one; what they did is kept, for accountability.
STAFF_COLUMNS: dict[str, dict[str, Treatment]] = {
    "telegram_users": COLUMNS["telegram_users"],
    "link_attempts": COLUMNS["link_attempts"],
    "audit_log": {
        **_all(_KEEP, "id", "at", "actor_type", "action", "entity_type", "entity_id"),
        "actor_id": _PSEUDO,
        "details": _SCRUB,
    },
    "tickets": {"id": _KEEP, "assignee_telegram_id": _CLEAR, "closed_by": _PSEUDO, "closed_at": _KEEP},
    "ticket_messages": {"id": _KEEP, "ticket_id": _KEEP, "author_telegram_id": _PSEUDO, "created_at": _KEEP},
    "canned_replies": {"id": _KEEP, "key": _KEEP, "language": _KEEP, "text": _KEEP, "created_by": _PSEUDO},
    "broadcasts": {
        **_all(_KEEP, "id", "texts", "created_at"),
        "created_by": _PSEUDO,
        **_all(_CLEAR, "progress_chat_id", "progress_message_id"),
    },
    "outbox_messages": {
        **_all(_KEEP, "id", "template", "language", "status", "created_at", "sent_at"),
        **_all(_CLEAR, "chat_id", "params", "last_error"),
    },
    # The token a Telegram user's console Mini App sessions stand for is named after them; erased, it is revoked.
    "api_tokens": {**_all(_KEEP, "id", "created_at", "revoked_at"), "name": _PSEUDO},
}

# Columns that look as if they could name one of the shop's people (a Telegram id, a chat, who did something) but
# never do: tests/unit/test_personal_data_classification.py asks every other such column to be in STAFF_COLUMNS.
NOT_STAFF = frozenset(
    {
        "customers.telegram_user_id",  # a customer's own
        "tickets.customer_chat_id",
        "tickets.support_chat_id",  # the support group
        "ticket_messages.source_chat_id",  # the customer's chat or the support group
        "ticket_messages.target_chat_id",
        "outbox_messages.telegram_message_id",  # a message's number in its chat
        "flood_chats.chat_id",  # any chat's next free second, deleted a minute later
        "flood_turns.chat_id",  # any chat's booked sending turn, deleted as it is sent
        "flood_lanes.pushed_by",  # seconds the sending turns were moved back, not a person
        "webhook_updates.started_by",  # the bot instance handling an update, not a person
        "import_runs.actor_id",  # who runs an import, for the minutes it runs; the row is deleted at its end
    }
)
