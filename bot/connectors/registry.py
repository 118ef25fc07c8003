"""The store platforms the bot can connect to, each with how to build its adapter and its webhook verifier."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import import_module

from bot.services.connectors import ConnectionConfig, StoreAdapter, WebhookVerifier


@dataclass(frozen=True)
class Platform:
    name: str
    adapter: Callable[[ConnectionConfig], StoreAdapter]
    verifier: Callable[[ConnectionConfig], WebhookVerifier]
    # The shop a webhook request names (e.g. Shopify's X-Shopify-Shop-Domain), to find its connection; None when
    # the platform's requests name none: then the platform's one connection takes it.
    shop_of: Callable[[Mapping[str, str]], str | None]


# Each platform's package has a module `platform` with a PLATFORM; one line here per platform.
PLATFORM_MODULES: tuple[str, ...] = ("bot.connectors.shopify.platform", "bot.connectors.woocommerce.platform")


def platforms() -> dict[str, Platform]:
    """Every platform, by name; loaded here so each adapter package stays unaware of the others."""
    found = (import_module(name).PLATFORM for name in PLATFORM_MODULES)
    return {each.name: each for each in found}


def platform(name: str) -> Platform:
    found = platforms().get(name)
    if found is None:
        raise KeyError(f"no store platform called {name!r}")
    return found
