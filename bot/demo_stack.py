"""The running demo as its parts see it: the people the sandbox page acts as, and the stack they live in.

`bot/demo.py` builds and runs it; the sandbox page (bot/web/sandbox_page.py) shows and drives it.
"""

import asyncio
import secrets
from dataclasses import dataclass, field
from datetime import date

from bot.background import run_daily_jobs
from bot.clock import SystemClock
from bot.composition import ChatDeps
from bot.demo_clock import next_day, quiet_hours_of
from bot.demo_sign_in_links import SignInLinks, link_path
from bot.sandbox import FakeBotApi, FakeChat, FakeUser

# New users get random ids in this range, so one from an earlier run is never mistaken for a new one.
NEW_USER_IDS = range(6_000_000_000, 7_000_000_000)


@dataclass(frozen=True)
class Persona:
    """Someone the sandbox page acts as: a Telegram user with a role and what the page shows about them."""

    key: str
    role: str  # "customer", "agent" or "merchant"
    user: FakeUser
    phone: str | None = None  # the number Telegram shares when they press "share my phone number"
    email: str | None = None
    order_number: str | None = None
    shows: str = ""

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.user.first_name, self.user.last_name) if part)

    def to_json(self) -> dict[str, object]:
        return {
            "key": self.key, "role": self.role, "user_id": self.user.id, "name": self.name,
            "language": self.user.language_code, "phone": self.phone, "email": self.email,
            "order_number": self.order_number, "shows": self.shows,
        }


@dataclass
class DemoCast:
    """The demo's people and the support group they meet in."""

    support_group: FakeChat
    agent: Persona
    merchant: Persona
    customers: list[Persona]

    def persona(self, key: str) -> Persona:
        for persona in (*self.customers, self.agent, self.merchant):
            if persona.key == key:
                return persona
        raise LookupError(f"no one called {key!r} in the demo")


@dataclass
class DemoStack:
    """The running demo: the sandbox server, the bot's dependencies, its people and the web address."""

    fake: FakeBotApi
    deps: ChatDeps
    clock: SystemClock
    cast: DemoCast
    sign_in_links: SignInLinks
    url: str = ""  # the web server's root, e.g. http://127.0.0.1:8080
    _day_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def sandbox_url(self) -> str:
        return f"{self.url}/sandbox"

    def console_sign_in_url(self) -> str:
        """A fresh one-time link that signs a browser in to the merchant console (bot/demo_sign_in_links.py)."""
        return f"{self.url}{link_path(self.sign_in_links.issue())}"

    def new_customer(self, first_name: str = "", language: str = "en") -> Persona:
        """A Telegram user the shop does not know yet (a fresh id each time)."""
        number = sum(1 for persona in self.cast.customers if persona.key.startswith("new-")) + 1
        user = self.fake.add_user(
            first_name.strip()[:64] or f"New customer {number}",
            language_code=language,
            user_id=NEW_USER_IDS.start + secrets.randbelow(len(NEW_USER_IDS)),
        )
        persona = Persona(f"new-{number}", "customer", user, phone=_sandbox_phone(user))
        self.cast.customers.append(persona)
        return persona

    async def next_day(self) -> date:
        """Move the demo's clock (the bot's, the workers' and the sandbox server's) a day on and run the daily jobs.

        A day on is the same time tomorrow, or tomorrow morning if that time is in quiet hours (bot/demo_clock.py).
        """
        async with self._day_lock:
            now = self.clock.now()
            self.clock.offset += next_day(now, self.clock.tz, quiet_hours_of(self.deps.settings)) - now
            await run_daily_jobs(self.deps)
            return self.clock.today()


def _sandbox_phone(user: FakeUser) -> str:
    """A made-up number for a new user, as the sandbox's Telegram would share it (matching no demo customer)."""
    return f"+49151{user.id % 10**8:08d}"
