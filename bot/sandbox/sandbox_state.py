"""What the sandbox's Telegram holds: users, chats, messages, topics, files, queued updates and recorded requests.

The Bot API server (bot_api_server.py), the simulated users (simulated_users.py) and the transcript
(transcript.py) all read and change this one state; every change bumps `version` and wakes whoever waits.
"""

import asyncio
import copy
import itertools
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypedDict

from bot.sandbox.bot_api_errors import bad_request
from bot.sandbox.chat_objects import JSON, CallbackAnswer, ChatMessage, FakeChat, FakeUser, RecordedRequest
from bot.sandbox.faults import Fault, FaultPlan
from bot.sandbox.rate_limits import RateLimiter, RateLimits, RateLimitViolation

DEFAULT_TOKEN = "7000000001:sandbox-token-not-a-secret"
TOPIC_ICON_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)


@dataclass
class StoredMessage:
    chat_id: int
    from_bot: bool
    data: JSON
    edit_count: int = 0

    def snapshot(self) -> ChatMessage:
        return ChatMessage.snapshot(self.chat_id, self.data["message_id"], self.from_bot, self.data, self.edit_count)


@dataclass
class Topic:
    thread_id: int
    name: str
    icon_color: int
    icon_custom_emoji_id: str | None = None
    closed: bool = False
    deleted: bool = False

    def to_api(self) -> JSON:
        topic: JSON = {"message_thread_id": self.thread_id, "name": self.name, "icon_color": self.icon_color}
        if self.icon_custom_emoji_id:
            topic["icon_custom_emoji_id"] = self.icon_custom_emoji_id
        return topic


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    info: JSON = field(default_factory=dict)

    def to_api(self) -> JSON:
        return {"file_id": self.file_id, "file_unique_id": self.file_unique_id, "file_size": len(self.content), "file_path": self.file_path}


@dataclass
class QueuedUpdate:
    update: JSON
    delivered: bool = False


@dataclass
class PendingCallbackQuery:
    chat_id: int
    message_id: int
    answer: CallbackAnswer | None = None


@dataclass
class ChatState:
    """What a chat holds besides its messages."""

    chat: FakeChat
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    last_message_id: int = 0
    topics: dict[int, Topic] = field(default_factory=dict)
    reply_keyboard: JSON | None = None
    last_action: str | None = None
    started: bool = False
    blocked: bool = False
    members: dict[int, str] = field(default_factory=dict)


class SandboxOptions(TypedDict, total=False):
    """How the sandbox's bot is named and behaves, and the clocks it reads."""

    bot_username: str
    bot_name: str
    privacy_mode: bool
    now: Callable[[], datetime] | None
    monotonic: Callable[[], float]


class SandboxState:
    """The sandbox's Telegram as data, with the changes every audience makes to it."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "backorder_desk_bot",
        bot_name: str = "Backorder Desk",
        privacy_mode: bool = True,
        now: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        self.bot_user = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
        }
        self.privacy_mode = privacy_mode
        self._now = now or (lambda: datetime.now(timezone.utc))
        self.monotonic = monotonic
        self.closing = False

        self.chat_states: dict[int, ChatState] = {}
        self.known_users: dict[int, FakeUser] = {}
        self._user_ids = itertools.count(5_000_001)
        self._group_ids = itertools.count(1)
        self._update_ids = itertools.count(100_000_001)
        self._query_ids = itertools.count(4_000_000_000_000_000_001)
        self._file_ids = itertools.count(1)
        self.queue: list[QueuedUpdate] = []
        self._updates: list[JSON] = []
        self.deliveries: Counter[int] = Counter()
        self._reply_marks: dict[int, tuple[int, int]] = {}
        self.recorded: list[RecordedRequest] = []
        self.callback_queries: dict[str, PendingCallbackQuery] = {}
        self.command_lists: dict[tuple[str, str], list[JSON]] = {}
        self.profile_settings: dict[tuple[str, str], JSON] = {}
        self.menu_buttons: dict[int | None, JSON] = {}  # chat id (None: the default) -> its menu button
        self.webhook_settings: JSON = {}
        self.files: dict[str, StoredFile] = {}
        self.fault_plan = FaultPlan()
        self.rate_limiter: RateLimiter | None = None
        self.sent_message_count = 0
        self.version = 0
        self.changed = asyncio.Event()

    def notify(self) -> None:
        self.version += 1
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()

    def chat_state(self, chat_id: Any) -> ChatState:
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            found = next((s for s in self.chat_states.values() if s.chat.username and f"@{s.chat.username}".lower() == chat_id.lower()), None)
        else:
            try:
                found = self.chat_states.get(int(chat_id))
            except (TypeError, ValueError):
                found = None
        if found is None:
            raise bad_request("chat not found")
        return found

    def new_message(self, state: ChatState, sender: JSON, content: JSON, thread_id: int | None, reply_to: JSON | None) -> JSON:
        state.last_message_id += 1
        message: JSON = {"message_id": state.last_message_id, "from": sender, "chat": state.chat.to_api(), "date": self.timestamp()}
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
            if reply_to is None and thread_id in state.messages:
                reply_to = without_reply(state.messages[thread_id].data)
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        message.update(content)
        return message

    def store(self, state: ChatState, message: JSON, *, from_bot: bool) -> None:
        state.messages[message["message_id"]] = StoredMessage(state.chat.id, from_bot, message)

    def post_service_message(self, state: ChatState, sender: JSON, content: JSON, thread_id: int) -> JSON:
        message = self.new_message(state, sender, content, None, None)
        message["message_thread_id"] = thread_id
        message["is_topic_message"] = True
        self.store(state, message, from_bot=sender is self.bot_user)
        self.notify()
        return message

    def create_topic(self, state: ChatState, name: str, color: int, emoji_id: str | None, sender: JSON) -> Topic:
        created: JSON = {"name": name, "icon_color": color}
        if emoji_id:
            created["icon_custom_emoji_id"] = emoji_id
        thread_id = state.last_message_id + 1
        self.post_service_message(state, sender, {"forum_topic_created": created}, thread_id)
        topic = Topic(thread_id, name, color, emoji_id)
        state.topics[thread_id] = topic
        return topic

    def remove_topic(self, state: ChatState, topic: Topic) -> None:
        topic.deleted = True
        for message_id, stored in list(state.messages.items()):
            if stored.data.get("message_thread_id") == topic.thread_id:
                del state.messages[message_id]
        self.notify()

    def new_file(self, kind: str, content: bytes, *, file_name: str | None = None, mime_type: str | None = None) -> StoredFile:
        number = next(self._file_ids)
        extension = {"photo": "jpg", "sticker": "webp", "voice": "oga"}.get(kind, (file_name or "file.bin").rsplit(".", 1)[-1])
        info: JSON = {}
        if file_name:
            info["file_name"] = file_name
        if mime_type or kind == "voice":
            info["mime_type"] = mime_type or "audio/ogg"
        stored = StoredFile(f"{kind}-{number:08d}-sandbox", f"u{number:08d}", f"{kind}s/file_{number}.{extension}", content, info)
        self.files[stored.file_id] = stored
        return stored

    def timestamp(self) -> int:
        return int(self._now().timestamp())

    def enqueue(self, payload: JSON, state: ChatState) -> JSON:
        update = {"update_id": next(self._update_ids), **payload}
        self.queue.append(QueuedUpdate(update))
        self._updates.append(update)
        self._reply_marks[update["update_id"]] = (state.chat.id, state.last_message_id)
        self.notify()
        return update

    # ---- faults and limits ---------------------------------------------------------------------

    def inject_fault(self, method: str, fault: Fault, *, chat_id: int | str | None = None, times: int = 1) -> None:
        """Answer the next `times` calls of `method` (to `chat_id`, if given) with `fault`."""
        self.fault_plan.add(method, fault, chat_id, times)

    def clear_faults(self) -> None:
        self.fault_plan.clear()

    def enforce_rate_limits(self, limits: RateLimits | None = RateLimits()) -> None:
        """Refuse messages beyond Telegram's limits with 429 retry_after (None switches it off)."""
        self.rate_limiter = RateLimiter(limits, self.monotonic) if limits else None

    @property
    def rate_limit_violations(self) -> list[RateLimitViolation]:
        return list(self.rate_limiter.violations) if self.rate_limiter else []


def without_reply(message: JSON) -> JSON:
    """A message as quoted inside another: Telegram nests replies one level deep only."""
    return {key: copy.deepcopy(value) for key, value in message.items() if key != "reply_to_message"}



def media_object(kind: str, stored: StoredFile, *, emoji: str | None = None, duration: int | None = 1) -> Any:
    """The Bot API object of a stored photo, sticker, voice note or document."""
    base = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": len(stored.content)}
    if kind == "photo":
        return [{**base, "width": 90, "height": 90}, {**base, "width": 800, "height": 800}]
    if kind == "sticker":
        sticker = {**base, "type": "regular", "width": 512, "height": 512, "is_animated": False, "is_video": False}
        if emoji:
            sticker["emoji"] = emoji
        return sticker
    if kind == "voice":
        return {**base, "duration": duration, "mime_type": stored.info.get("mime_type", "audio/ogg")}
    return {**base, **stored.info}


def commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
    if isinstance(scope, str):
        scope = json.loads(scope)
    scope = dict(scope or {"type": "default"})
    for key in ("chat_id", "user_id"):
        if isinstance(scope.get(key), str) and scope[key].lstrip("-").isdigit():
            scope[key] = int(scope[key])
    return json.dumps(scope, sort_keys=True), str(language_code or "")
