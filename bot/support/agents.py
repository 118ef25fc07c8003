"""Who may act on tickets: members of the support group, optionally only those AGENT_USER_IDS names.

Membership is asked of Telegram (getChatMember) and remembered for a minute: a cache, not state, so someone
removed from the group loses access within a minute and a restart forgets nothing that matters.
"""

import logging
import time
from collections.abc import Callable, Collection

from telegram import Bot, ChatMember, ChatMemberRestricted
from telegram.constants import ChatMemberStatus
from telegram.error import BadRequest, Forbidden, TelegramError

log = logging.getLogger(__name__)

MEMBERSHIP_TTL_SECONDS = 60.0
_MEMBER_STATUSES = (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER)


class AgentDirectory:
    def __init__(
        self,
        support_chat_id: int,
        allowed_user_ids: Collection[int] = (),
        *,
        ttl_seconds: float = MEMBERSHIP_TTL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.support_chat_id = support_chat_id
        self.allowed_user_ids = frozenset(allowed_user_ids)
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._members: dict[int, tuple[bool, float]] = {}
        self._names: dict[int, str] = {}

    async def is_agent(self, bot: Bot, user_id: int) -> bool:
        """A member of the support group (and listed in AGENT_USER_IDS, where that is set)."""
        if self.allowed_user_ids and user_id not in self.allowed_user_ids:
            return False
        cached = self._members.get(user_id)
        if cached is not None and cached[1] > self._monotonic():
            return cached[0]
        try:
            member = await bot.get_chat_member(self.support_chat_id, user_id)
        except (BadRequest, Forbidden) as refused:
            log.info("user %s is not in the support group: %s", user_id, refused)
            self._remember(user_id, False)
            return False
        except TelegramError as failed:
            # Telegram could not say; refuse this once, without remembering it.
            log.warning("could not check whether user %s is an agent: %s", user_id, failed)
            return False
        self._names[user_id] = member.user.full_name
        self._remember(user_id, _is_member(member))
        return self._members[user_id][0]

    def note_name(self, user_id: int, name: str) -> None:
        self._names[user_id] = name

    async def name_of(self, bot: Bot, user_id: int) -> str:
        """An agent's name for the group to read; their id when Telegram cannot tell."""
        if user_id not in self._names:
            try:
                self._names[user_id] = (await bot.get_chat_member(self.support_chat_id, user_id)).user.full_name
            except TelegramError:
                return str(user_id)
        return self._names[user_id]

    def _remember(self, user_id: int, is_member: bool) -> None:
        self._members[user_id] = (is_member, self._monotonic() + self._ttl)


def _is_member(member: ChatMember) -> bool:
    if isinstance(member, ChatMemberRestricted):
        return member.is_member
    return member.status in _MEMBER_STATUSES
