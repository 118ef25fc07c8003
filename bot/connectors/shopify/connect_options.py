"""`backorder-bot connect shopify`'s options as a connection to save: the shop checked, secrets from the command
line or the environment."""

import argparse
import re
from datetime import datetime, timedelta, timezone

from bot.config import Settings
from bot.connect_jobs import NewConnection

SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
# Shopify may go on signing webhooks with the old client secret for up to an hour after a rotation.
PREVIOUS_SECRET_OVERLAP = timedelta(hours=1)


def shopify_connection(args: argparse.Namespace, settings: Settings) -> NewConnection:
    """The connection the options describe; ValueError naming what is missing or wrong."""
    shop = (args.shop or "").strip().lower().removeprefix("https://").rstrip("/")
    if not SHOP_DOMAIN.match(shop):
        raise ValueError("--shop must be the shop's NAME.myshopify.com domain (Shopify admin > Settings > Domains).")
    token = args.token or settings.shopify_access_token
    if not token:
        raise ValueError("Give the custom app's Admin API access token with --token or SHOPIFY_ACCESS_TOKEN.")
    secret = args.client_secret or settings.shopify_client_secret
    if not secret:
        raise ValueError(
            "Give the custom app's client secret with --client-secret or SHOPIFY_CLIENT_SECRET: Shopify signs its"
            " webhooks with it."
        )
    credentials = {"access_token": token, "client_secret": secret}
    if args.previous_client_secret:
        until = datetime.now(timezone.utc) + PREVIOUS_SECRET_OVERLAP
        credentials |= {"previous_client_secret": args.previous_client_secret, "previous_client_secret_until": until.isoformat()}
    options = {
        "refunds_by_hand": bool(args.refunds_by_hand),
        "default_lead_time_days": args.lead_time_days,
        "phone_region": settings.default_phone_region,
    }
    if args.api_base_url:
        options["api_base_url"] = args.api_base_url
    return NewConnection("shopify", shop, credentials, options)
