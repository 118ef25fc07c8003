"""The `backorder-bot webhook` jobs: add, list, remove, test, rotate-secret and enable merchant webhook endpoints.

Each prints what it did and returns the process exit code: 0 done, 1 refused (the reason on stderr).
"""

import sys
from collections.abc import Awaitable, Callable

from bot.config import Settings
from bot.services.audit import Actor
from bot.services.errors import DomainError
from bot.services.event_log import parse_types
from bot.services.unit_of_work import UnitOfWork
from bot.services.webhooks.endpoints import (
    EndpointView,
    add_endpoint,
    enable_endpoint,
    list_endpoints,
    remove_endpoint,
    rotate_secret,
)
from bot.webhook_delivery import try_endpoint
from bot.wiring import unit_of_work

CLI_ACTOR = Actor.merchant("cli")


async def _refusing(settings: Settings, job: Callable[[UnitOfWork], Awaitable[int]]) -> int:
    """Run `job` on the configured database; a refusal's reason goes to stderr with exit code 1."""
    async with unit_of_work(settings) as uow:
        try:
            return await job(uow)
        except DomainError as refused:
            print(refused.message, file=sys.stderr)
            return 1


async def add_webhook(settings: Settings, url: str, events: str) -> int:
    """Register an endpoint and print its secret, the only time it is shown."""

    async def job(uow: UnitOfWork) -> int:
        added = await add_endpoint(uow, url, parse_types(events), CLI_ACTOR)
        print(
            f"Webhook endpoint {added.endpoint.id} added for {_types(added.endpoint)}. Copy its signing secret now:"
            " it is not shown again.",
            file=sys.stderr,
        )
        print(added.secret)
        return 0

    return await _refusing(settings, job)


async def list_webhooks(settings: Settings) -> int:
    async with unit_of_work(settings) as uow:
        endpoints = await list_endpoints(uow)
    if not endpoints:
        print("No webhook endpoints yet; `backorder-bot webhook add URL --events line.*,refund.*` adds one.")
        return 0
    print("\n".join(describe_endpoint(endpoint) for endpoint in endpoints))
    return 0


def describe_endpoint(endpoint: EndpointView) -> str:
    lines = [f"{endpoint.id}  {endpoint.url}  {endpoint.status.value}  events: {_types(endpoint)}"
             f"  waiting: {endpoint.pending_deliveries}"]
    if endpoint.disabled_reason:
        lines.append(f"    disabled: {endpoint.disabled_reason}")
        if endpoint.last_error:
            lines.append(f"    last error: {endpoint.last_error}")
    elif endpoint.failing_since:
        lines.append(f"    failing since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC: {endpoint.last_error}")
    if endpoint.rotating_until:
        lines.append(f"    the previous secret still signs until {endpoint.rotating_until:%Y-%m-%d %H:%M} UTC")
    return "\n".join(lines)


async def remove_webhook(settings: Settings, endpoint_id: int) -> int:
    async def job(uow: UnitOfWork) -> int:
        await remove_endpoint(uow, endpoint_id, CLI_ACTOR)
        print(f"Webhook endpoint {endpoint_id} removed; nothing more is sent to it.")
        return 0

    return await _refusing(settings, job)


async def rotate_webhook_secret(settings: Settings, endpoint_id: int) -> int:
    async def job(uow: UnitOfWork) -> int:
        rotated = await rotate_secret(uow, endpoint_id, CLI_ACTOR)
        print(
            f"New signing secret for webhook endpoint {endpoint_id}; deliveries carry a signature with the old one"
            f" too until {rotated.endpoint.rotating_until:%Y-%m-%d %H:%M} UTC. Copy it now: it is not shown again.",
            file=sys.stderr,
        )
        print(rotated.secret)
        return 0

    return await _refusing(settings, job)


async def enable_webhook(settings: Settings, endpoint_id: int) -> int:
    async def job(uow: UnitOfWork) -> int:
        endpoint = await enable_endpoint(uow, endpoint_id, CLI_ACTOR)
        print(f"Webhook endpoint {endpoint.id} is on again; what waited for it is delivered, oldest first.")
        return 0

    return await _refusing(settings, job)


async def test_webhook(settings: Settings, endpoint_id: int) -> int:
    """Send a signed webhook.test message to the endpoint now and say how it answered."""

    async def job(uow: UnitOfWork) -> int:
        target, outcome = await try_endpoint(uow, endpoint_id)
        if outcome.delivered:
            print(f"{target.url} answered {outcome.status}: the endpoint works.")
            return 0
        print(f"{target.url} did not take the test message: {outcome.error}", file=sys.stderr)
        return 1

    return await _refusing(settings, job)


def _types(endpoint: EndpointView) -> str:
    return ", ".join(endpoint.event_types) or "every event"
