"""The demo's one-time console sign-in codes: issued, checked and used up, keeping only their SHA-256.

They live in the demo's process (bot/web/demo_sign_in.py serves the pages that use them); below the web
server so that the running demo (bot/demo_stack.py) can hand one out without importing the web server.
"""

import hashlib
import secrets
from datetime import datetime, timedelta
from urllib.parse import urlencode

from bot.clock import Clock

LINK_PATH = "/sandbox/console-sign-in"
LINK_LIFETIME = timedelta(minutes=30)


class SignInLinks:
    """The one-time codes handed out and not yet used, by their SHA-256, with when each expires."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._expiries: dict[str, datetime] = {}

    def issue(self) -> str:
        now = self._clock.now()
        self._expiries = {digest: expires for digest, expires in self._expiries.items() if expires > now}
        code = secrets.token_urlsafe(24)
        self._expiries[_digest(code)] = now + LINK_LIFETIME
        return code

    def usable(self, code: str) -> bool:
        expires = self._expiries.get(_digest(code))
        return expires is not None and expires > self._clock.now()

    def redeem(self, code: str) -> bool:
        """Use the code up: True once for a code issued here and not expired, False ever after."""
        expires = self._expiries.pop(_digest(code), None)
        return expires is not None and expires > self._clock.now()


def link_path(code: str) -> str:
    return f"{LINK_PATH}?{urlencode({'code': code})}"


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()
