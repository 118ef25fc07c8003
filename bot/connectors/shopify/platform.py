"""Shopify as a platform the bot connects to (bot/connectors/registry.py)."""

from collections.abc import Mapping
from datetime import datetime, timezone

from bot.connectors.registry import Platform
from bot.connectors.shopify.adapter import ShopifyAdapter
from bot.connectors.shopify.webhook_signing import SHOP_HEADER, ShopifyWebhookVerifier
from bot.services.connectors import ConnectionConfig


def _verifier(config: ConnectionConfig) -> ShopifyWebhookVerifier:
    """The client secret, and during an hour after a rotation the one before it."""
    secrets = [config.credentials.get("client_secret", "")]
    until = config.credentials.get("previous_client_secret_until")
    if until and datetime.fromisoformat(until) > datetime.now(timezone.utc):
        secrets.append(config.credentials.get("previous_client_secret", ""))
    return ShopifyWebhookVerifier(secrets)


def _shop_of(headers: Mapping[str, str]) -> str | None:
    shop = headers.get(SHOP_HEADER)
    return shop.strip().lower() if shop else None


PLATFORM = Platform("shopify", ShopifyAdapter, _verifier, _shop_of)
