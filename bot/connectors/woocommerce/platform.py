"""WooCommerce as a platform the bot connects to (bot/connectors/registry.py)."""

from collections.abc import Mapping

from bot.connectors.registry import Platform
from bot.connectors.woocommerce.adapter import WooCommerceAdapter, WooCommerceWebhookVerifier
from bot.services.connectors import ConnectionConfig


def _adapter(config: ConnectionConfig) -> WooCommerceAdapter:
    return WooCommerceAdapter(config.shop, config.credentials, config.settings)


def _verifier(config: ConnectionConfig) -> WooCommerceWebhookVerifier:
    return WooCommerceWebhookVerifier(config.credentials)


def _shop_of(headers: Mapping[str, str]) -> str | None:
    # X-WC-Webhook-Source is WordPress's home URL, which may differ from the API's address (www., a subfolder):
    # the platform's one connection takes every delivery, and its signature proves which store sent it.
    return None


PLATFORM = Platform("woocommerce", _adapter, _verifier, _shop_of)
