"""What every console section shares: its place in the navigation, rendering a signed-in page, and reading forms."""

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from bot.composition import ChatDeps
from bot.services.errors import DomainError, NotFound
from bot.web.app_keys import DEPS
from bot.web.console.auth import console_session
from bot.web.console.render import render

FORM_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")  # the random key a preview gives its confirming form


@dataclass(frozen=True)
class Section:
    """One entry of the console's navigation, and the routes of its pages (paths below /console)."""

    key: str
    label: str
    path: str
    routes: web.RouteTableDef
    for_agents: bool = False  # shown to an agent's session too (its handlers are marked open_to_agents)


NAVIGATION = web.AppKey("console_navigation", tuple[Section, ...])


def page(request: web.Request, section: Section, template: str, status: int = 200, **context: Any) -> web.Response:
    """A signed-in page, with what the layout needs: the session (for the form token), the navigation and the
    shop's time zone."""
    deps = deps_of(request)
    session = console_session(request)
    navigation = [entry for entry in request.config_dict[NAVIGATION] if entry.for_agents or not session.is_agent]
    return render(
        template, status, session=session, shop_name=deps.settings.shop_name, tz=deps.clock.tz,
        section=section.key, navigation=navigation, **context,
    )


def deps_of(request: web.Request) -> ChatDeps:
    return request.config_dict[DEPS]


def quiet_until(request: web.Request) -> datetime | None:
    """When the shop's quiet hours end, if it is in them now (shop time): optional messages wait until then."""
    deps = deps_of(request)
    return deps.policy.quiet_hours.end_of(deps.clock.now(), deps.clock.tz)


def text(form: MultiDictProxy[Any], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def form_date(value: str) -> date | None:
    """A date typed as YYYY-MM-DD; None when it is not one."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def whole_number(value: str) -> int | None:
    """A whole number of at least 1 typed into a form; None when the field is empty, ValueError when it is not one."""
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 9 or int(value) < 1:
        raise ValueError(value)
    return int(value)


def refusal_status(refused: DomainError) -> int:
    """The status of a page that shows a domain error: 404 for something unknown, else 409."""
    return 404 if isinstance(refused, NotFound) else 409
