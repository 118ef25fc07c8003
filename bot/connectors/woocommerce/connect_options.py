"""`backorder-bot connect woocommerce`'s options as a connection to save: the address checked, the key and secret
from the command line or the environment, and a new secret for the webhooks the store will sign."""

import argparse
import secrets
from urllib.parse import urlsplit

from bot.config import Settings
from bot.connect_jobs import NewConnection


def store_address(url: str) -> str:
    """The store's address as the connection keeps it: scheme, host and path, without a trailing slash."""
    given = url.strip()
    parts = urlsplit(given if "://" in given else f"https://{given}")
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"--url must be the store's address, like https://shop.example.com (got {url!r}).")
    return f"{parts.scheme}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def woocommerce_connection(args: argparse.Namespace, settings: Settings) -> NewConnection:
    """The connection the options describe; ValueError naming what is missing or wrong."""
    if not args.url:
        raise ValueError("Give the store's address with --url https://….")
    url = store_address(args.url)
    key = args.key or settings.woocommerce_key
    secret = args.secret or settings.woocommerce_secret
    if not key.startswith("ck_"):
        raise ValueError(
            "Give the REST API consumer key (ck_…) with --key or WOOCOMMERCE_KEY"
            " (WooCommerce > Settings > Advanced > REST API > Add key, with Read/Write permissions)."
        )
    if not secret.startswith("cs_"):
        raise ValueError("Give the REST API consumer secret (cs_…) with --secret or WOOCOMMERCE_SECRET.")
    # Letters, digits, - and _ only: WooCommerce decodes HTML entities (&amp; …) in a secret before it signs.
    credentials = {"key": key, "secret": secret, "webhook_secret": secrets.token_urlsafe(32)}
    options = {
        "refunds_by_hand": bool(args.refunds_by_hand),
        "default_lead_time_days": args.lead_time_days,
        "phone_region": settings.default_phone_region,
        "query_string_auth": bool(args.query_string_auth),
        "backordered_meta_keys": [label for label in args.backordered_label or [] if label],
    }
    return NewConnection("woocommerce", url, credentials, options)
