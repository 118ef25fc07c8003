"""A fake Telegram Bot API server: real HTTP, Telegram's object shapes and errors, and simulated users.

The bot under test talks to it exactly as to api.telegram.org (point `TELEGRAM_API_BASE_URL` at `url`).
Users are simulated through Python methods (and the JSON API under /sandbox-api/ for the browser demo);
everything the bot asked for is recorded, and each chat keeps a transcript as its user would see it.
Faults (429, 5xx, 403, slow answers, dropped connections) and Telegram's sending limits can be switched on.
"""

import asyncio
import copy
import inspect
import itertools
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import EllipsisType
from typing import Any, TypeVar

from aiohttp import web

from bot.sandbox.chat_objects import JSON, CallbackAnswer, ChatMessage, FakeChat, FakeUser, RecordedRequest
from bot.sandbox.faults import Fault, FaultPlan
from bot.sandbox.rate_limits import RateLimiter, RateLimits, RateLimitViolation
from bot.sandbox.sandbox_http import add_sandbox_routes
from bot.sandbox.text_entities import EntityParseError, detect_entities, parse_markup, utf16_len

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TOKEN = "7000000001:sandbox-token-not-a-secret"
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
TOPIC_ICON_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)
# Sent unless the bot asks otherwise (Bot API: "all update types except chat_member, message_reaction,
# and message_reaction_count").
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
# Parameters whose form value is always a plain string; every other form value is JSON-encoded by clients.
_STRING_PARAMS = frozenset({
    "text", "caption", "parse_mode", "callback_query_id", "url", "name", "description", "short_description",
    "language_code", "phone_number", "first_name", "last_name", "vcard", "emoji", "action", "file_id",
    "secret_token", "icon_custom_emoji_id", "title", "inline_message_id", "business_connection_id",
    "message_effect_id", "photo", "document", "sticker", "voice", "thumbnail", "ip_address",
})
_MESSAGE_SENDING = frozenset({
    "sendmessage", "sendphoto", "senddocument", "sendsticker", "sendvoice", "copymessage", "forwardmessage",
})
_CONFLICT_OTHER_POLL = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"


class ApiError(Exception):
    """An error answer of the Bot API: HTTP status, Telegram's description, optional parameters."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class SandboxError(ValueError):
    """A simulated user action that no real Telegram client could perform."""


def _bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


@dataclass
class _Upload:
    filename: str | None
    content_type: str | None
    content: bytes


@dataclass
class _Call:
    """One Bot API request: its parameters (decoded) and uploaded files."""

    method: str
    params: JSON
    uploads: dict[str, _Upload]

    def get(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    def required(self, name: str) -> Any:
        value = self.params.get(name)
        if value is None or value == "":
            raise _bad_request(f"{name} is empty")
        return value

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.params.get(name, default)
        if value is None:
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _bad_request(f"field \"{name}\" must be of type Integer") from None

    def required_int(self, name: str) -> int:
        self.required(name)
        return self.integer(name) or 0


@dataclass
class _Stored:
    chat_id: int
    from_bot: bool
    data: JSON
    edit_count: int = 0

    def snapshot(self) -> ChatMessage:
        return ChatMessage.snapshot(self.chat_id, self.data["message_id"], self.from_bot, self.data, self.edit_count)


@dataclass
class _Topic:
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
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    info: JSON = field(default_factory=dict)

    def to_api(self) -> JSON:
        return {"file_id": self.file_id, "file_unique_id": self.file_unique_id, "file_size": len(self.content), "file_path": self.file_path}


@dataclass
class _Queued:
    update: JSON
    delivered: bool = False


@dataclass
class _CallbackQuery:
    chat_id: int
    message_id: int
    answer: CallbackAnswer | None = None


@dataclass
class _ChatState:
    """What a chat holds besides its messages."""

    chat: FakeChat
    messages: dict[int, _Stored] = field(default_factory=dict)
    last_message_id: int = 0
    topics: dict[int, _Topic] = field(default_factory=dict)
    reply_keyboard: JSON | None = None
    last_action: str | None = None
    started: bool = False
    blocked: bool = False
    members: dict[int, str] = field(default_factory=dict)


class FakeBotApi:
    """The fake server. `await start()` (or `async with`) binds it to 127.0.0.1 on a free port."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "backorder_desk_bot",
        bot_name: str = "Backorder Desk",
        privacy_mode: bool = True,
        now: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        host: str = "127.0.0.1",
        port: int = 0,
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
        self._monotonic = monotonic
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self._closing = False

        self._chats: dict[int, _ChatState] = {}
        self._users: dict[int, FakeUser] = {}
        self._user_ids = itertools.count(5_000_001)
        self._group_ids = itertools.count(1)
        self._update_ids = itertools.count(100_000_001)
        self._query_ids = itertools.count(4_000_000_000_000_000_001)
        self._file_ids = itertools.count(1)
        self._queue: list[_Queued] = []
        self._updates: list[JSON] = []
        self._deliveries: Counter[int] = Counter()
        self._reply_marks: dict[int, tuple[int, int]] = {}
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._requests: list[RecordedRequest] = []
        self._callback_queries: dict[str, _CallbackQuery] = {}
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._profile: dict[tuple[str, str], JSON] = {}
        self._webhook: JSON = {}
        self._files: dict[str, _StoredFile] = {}
        self._faults = FaultPlan()
        self._rate_limiter: RateLimiter | None = None
        self.sent_message_count = 0
        self.version = 0
        self._changed = asyncio.Event()

        self._methods: dict[str, tuple[str, Callable[[_Call], Any]]] = {
            name.lower(): (name, handler) for name, handler in self._method_table().items()
        }
        self.app = web.Application(client_max_size=50 * 1024 * 1024)
        self.app.router.add_route("*", "/bot{token}/{method}", self._bot_endpoint)
        self.app.router.add_get("/file/bot{token}/{path:.+}", self._file_endpoint)
        add_sandbox_routes(self.app, self)

    # ---- lifecycle and addresses ----------------------------------------------------------------

    async def start(self) -> "FakeBotApi":
        self._closing = False
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        """Answer any waiting long poll and close the server."""
        self._closing = True
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "FakeBotApi":
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """The server root, the value for TELEGRAM_API_BASE_URL."""
        return f"http://{self._host}:{self._port}"

    @property
    def base_url(self) -> str:
        """For PTB's `ApplicationBuilder().base_url(...)`."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """For PTB's `ApplicationBuilder().base_file_url(...)`."""
        return f"{self.url}/file/bot"

    # ---- HTTP ---------------------------------------------------------------------------------

    async def _bot_endpoint(self, request: web.Request) -> web.StreamResponse:
        received = self._monotonic()
        name = request.match_info["method"]
        try:
            params, uploads = await _read_params(request)
        except ValueError as problem:
            error = _bad_request(f"can't parse request: {problem}")
            return self._answer(name, {}, received, error.status, error.body())
        if request.match_info["token"] != self.token:
            return self._answer(name, params, received, 401, ApiError(401, "Unauthorized").body())
        known = self._methods.get(name.lower())
        if known is None:
            return self._answer(name, params, received, 404, ApiError(404, "Not Found").body())
        name, handler = known
        fault = self._faults.take(name, params.get("chat_id"))
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.drop_connection:
                self._record(name, params, received, 0, {"dropped": True})
                if request.transport is not None:
                    request.transport.close()
                return web.Response(status=500)
            if fault.status is not None:
                return self._answer(name, params, received, fault.status, fault.error_body())
        try:
            result = handler(_Call(name, params, uploads))
            if inspect.isawaitable(result):
                result = await result
        except ApiError as error:
            return self._answer(name, params, received, error.status, error.body())
        return self._answer(name, params, received, 200, {"ok": True, "result": result})

    def _answer(self, method: str, params: JSON, received: float, status: int, body: JSON) -> web.Response:
        self._record(method, params, received, status, body)
        return web.json_response(body, status=status)

    def _record(self, method: str, params: JSON, received: float, status: int, body: JSON) -> None:
        self._requests.append(RecordedRequest(len(self._requests), method, params, received, status, body))
        self._notify()

    async def _file_endpoint(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            raise web.HTTPUnauthorized()
        path = request.match_info["path"]
        stored = next((f for f in self._files.values() if f.file_path == path), None)
        if stored is None:
            raise web.HTTPNotFound()
        return web.Response(body=stored.content, content_type=stored.info.get("mime_type", "application/octet-stream"))

    def _notify(self) -> None:
        self.version += 1
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    # ---- Bot API methods -----------------------------------------------------------------------

    def _method_table(self) -> dict[str, Callable[[_Call], Any]]:
        stored_true = self._store_profile
        return {
            "getMe": self._get_me,
            "logOut": lambda call: True,
            "close": lambda call: True,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "forwardMessage": self._forward_message,
            "copyMessage": self._copy_message,
            "sendPhoto": lambda call: self._send_media(call, "photo"),
            "sendDocument": lambda call: self._send_media(call, "document"),
            "sendSticker": lambda call: self._send_media(call, "sticker"),
            "sendVoice": lambda call: self._send_media(call, "voice"),
            "sendChatAction": self._send_chat_action,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyName": stored_true,
            "setMyDescription": stored_true,
            "setMyShortDescription": stored_true,
            "setChatMenuButton": stored_true,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getFile": self._get_file,
            "createForumTopic": self._create_forum_topic,
            "editForumTopic": self._edit_forum_topic,
            "closeForumTopic": lambda call: self._set_topic_closed(call, True),
            "reopenForumTopic": lambda call: self._set_topic_closed(call, False),
            "deleteForumTopic": self._delete_forum_topic,
        }

    def _get_me(self, call: _Call) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, call: _Call) -> list[JSON]:
        if self._webhook.get("url"):
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
        offset = call.integer("offset", 0) or 0
        limit = min(max(call.integer("limit", 100) or 100, 1), 100)
        timeout = max(call.integer("timeout", 0) or 0, 0)
        allowed = call.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else None
        self._poll_generation += 1
        generation = self._poll_generation
        self._confirm(offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout  # real time even when the rate limiter runs on a test clock
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, _CONFLICT_OTHER_POLL)
            batch = self._deliverable(limit)
            if batch or self._closing or loop.time() >= deadline:
                for queued in batch:
                    queued.delivered = True
                    self._deliveries[queued.update["update_id"]] += 1
                return [queued.update for queued in batch]
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), max(deadline - loop.time(), 0))
            except TimeoutError:
                pass

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            kept = self._queue[offset:]
        elif offset:
            kept = [q for q in self._queue if not (q.delivered and q.update["update_id"] < offset)]
        else:
            return
        if len(kept) != len(self._queue):
            self._queue = kept
            self._notify()

    def _deliverable(self, limit: int) -> list[_Queued]:
        """Queued updates the bot wants, oldest first; unwanted kinds are dropped as Telegram drops them."""
        wanted = [q for q in self._queue if self._wants(q.update)]
        if len(wanted) != len(self._queue):
            self._queue = wanted
            self._notify()
        return wanted[:limit]

    def _wants(self, update: JSON) -> bool:
        kind = next(key for key in update if key != "update_id")
        if self._allowed_updates is None:
            return kind not in _DEFAULT_EXCLUDED_UPDATES
        return kind in self._allowed_updates

    def _set_webhook(self, call: _Call) -> bool:
        self._webhook = {key: value for key, value in call.params.items() if key != "certificate"}
        if call.get("drop_pending_updates"):
            self._queue.clear()
        return True

    def _delete_webhook(self, call: _Call) -> bool:
        self._webhook = {}
        if call.get("drop_pending_updates"):
            self._queue.clear()
        return True

    def _get_webhook_info(self, call: _Call) -> JSON:
        info: JSON = {"url": self._webhook.get("url", ""), "has_custom_certificate": False, "pending_update_count": len(self._queue)}
        for name in ("max_connections", "ip_address", "allowed_updates"):
            if name in self._webhook:
                info[name] = self._webhook[name]
        return info

    def _send_message(self, call: _Call) -> JSON:
        state = self._target_chat(call)
        text, entities = _text_and_entities(call, "text", "entities", MAX_TEXT_LENGTH, "message text")
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        if call.get("link_preview_options"):
            content["link_preview_options"] = call.get("link_preview_options")
        return self._post_bot_message(state, call, content)

    def _forward_message(self, call: _Call) -> JSON:
        state = self._target_chat(call)
        source = self._source_message(call, "forward", "forwarded")
        origin_user = source.data["from"]
        content = _content_of(source.data)
        content["forward_origin"] = {"type": "user", "sender_user": origin_user, "date": source.data["date"]}
        return self._post_bot_message(state, call, content, markup_allowed=False)

    def _copy_message(self, call: _Call) -> JSON:
        state = self._target_chat(call)
        source = self._source_message(call, "copy", "copied")
        content = _content_of(source.data)
        if "caption" in call.params and any(key in content for key in ("photo", "document", "voice")):
            caption, entities = _text_and_entities(call, "caption", "caption_entities", MAX_CAPTION_LENGTH, "message caption", optional=True)
            content.pop("caption_entities", None)
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        message = self._post_bot_message(state, call, content)
        return {"message_id": message["message_id"]}

    def _send_media(self, call: _Call, kind: str) -> JSON:
        state = self._target_chat(call)
        stored = self._media_file(call, kind)
        content: JSON = {kind: _media_object(kind, stored, call)}
        if kind != "sticker":
            caption, entities = _text_and_entities(call, "caption", "caption_entities", MAX_CAPTION_LENGTH, "message caption", optional=True)
            if caption:
                content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        return self._post_bot_message(state, call, content)

    def _send_chat_action(self, call: _Call) -> bool:
        state = self._target_chat(call)
        self._thread(state, call)
        state.last_action = str(call.required("action"))
        self._notify()
        return True

    def _edit_message_text(self, call: _Call) -> JSON:
        stored = self._editable(call)
        if "text" not in stored.data:
            raise _bad_request("there is no text in the message to edit")
        text, entities = _text_and_entities(call, "text", "entities", MAX_TEXT_LENGTH, "message text")
        return self._apply_edit(stored, call, {"text": text, "entities": entities})

    def _edit_message_caption(self, call: _Call) -> JSON:
        stored = self._editable(call)
        if not any(key in stored.data for key in ("photo", "document", "voice")):
            raise _bad_request("there is no caption in the message to edit")
        caption, entities = _text_and_entities(call, "caption", "caption_entities", MAX_CAPTION_LENGTH, "message caption", optional=True)
        return self._apply_edit(stored, call, {"caption": caption or None, "caption_entities": entities})

    def _edit_message_reply_markup(self, call: _Call) -> JSON:
        return self._apply_edit(self._editable(call), call, {})

    def _apply_edit(self, stored: _Stored, call: _Call, content: JSON) -> JSON:
        """Telegram replaces the inline keyboard on every edit: one left out of the request is removed."""
        markup = self._inline_markup(call)
        changes = {**content, "reply_markup": markup}
        if all(stored.data.get(key) == (value or None) for key, value in changes.items()):
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are exactly the same "
                "as a current content and reply markup of the message"
            )
        for key, value in changes.items():
            if value:
                stored.data[key] = value
            else:
                stored.data.pop(key, None)
        stored.data["edit_date"] = self._timestamp()
        stored.edit_count += 1
        self._notify()
        return copy.deepcopy(stored.data)

    def _delete_message(self, call: _Call) -> bool:
        state = self._chat_state(call.required("chat_id"))
        message_id = call.required_int("message_id")
        if state.messages.pop(message_id, None) is None:
            raise _bad_request("message to delete not found")
        self._notify()
        return True

    def _delete_messages(self, call: _Call) -> bool:
        state = self._chat_state(call.required("chat_id"))
        for message_id in call.required("message_ids"):
            state.messages.pop(int(message_id), None)
        self._notify()
        return True

    def _answer_callback_query(self, call: _Call) -> bool:
        query = self._callback_queries.get(str(call.required("callback_query_id")))
        if query is None or query.answer is not None:
            raise _bad_request("query is too old and response timeout expired or query ID is invalid")
        text = call.get("text")
        if text is not None and len(str(text)) > 200:
            raise _bad_request("MESSAGE_TOO_LONG")
        query.answer = CallbackAnswer(
            text=str(text) if text is not None else None, show_alert=bool(call.get("show_alert", False)), url=call.get("url")
        )
        self._notify()
        return True

    def _set_my_commands(self, call: _Call) -> bool:
        commands = call.required("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad_request("BOT_COMMANDS_TOO_MUCH" if isinstance(commands, list) else "can't parse commands JSON object")
        for command in commands:
            name, description = str(command.get("command", "")), str(command.get("description", ""))
            if not (1 <= len(name) <= 32 and all(c.islower() or c.isdigit() or c == "_" for c in name)):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID" if description else "command description is empty")
        self._commands[_commands_key(call.get("scope"), call.get("language_code"))] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        self._notify()
        return True

    def _get_my_commands(self, call: _Call) -> list[JSON]:
        return copy.deepcopy(self._commands.get(_commands_key(call.get("scope"), call.get("language_code")), []))

    def _delete_my_commands(self, call: _Call) -> bool:
        self._commands.pop(_commands_key(call.get("scope"), call.get("language_code")), None)
        self._notify()
        return True

    def _store_profile(self, call: _Call) -> bool:
        self._profile[(call.method, str(call.get("language_code") or ""))] = dict(call.params)
        return True

    def _get_chat(self, call: _Call) -> JSON:
        chat = self._chat_state(call.required("chat_id")).chat
        return {
            **chat.to_api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                "premium_subscription": False, "gifts_from_channels": False,
            },
        }

    def _get_chat_member(self, call: _Call) -> JSON:
        state = self._chat_state(call.required("chat_id"))
        user_id = call.required_int("user_id")
        if user_id == self.bot_user["id"]:
            status = "administrator" if state.chat.bot_is_admin else "member"
            return _member_object(self.bot_user, status, is_bot=True, forum=state.chat.is_forum)
        user = self._users.get(user_id)
        if user is None:
            raise _bad_request("user not found")
        if state.chat.type == "private":
            status = "member" if state.chat.id == user_id else "left"
        else:
            status = state.members.get(user_id, "left")
        return _member_object(user.to_api(), status, is_bot=False, forum=state.chat.is_forum)

    def _get_file(self, call: _Call) -> JSON:
        stored = self._files.get(str(call.required("file_id")))
        if stored is None:
            raise _bad_request("invalid file_id")
        return stored.to_api()

    def _create_forum_topic(self, call: _Call) -> JSON:
        state = self._chat_state(call.required("chat_id"))
        if not state.chat.is_forum:
            raise _bad_request("the chat is not a forum")
        if not state.chat.bot_is_admin:
            raise _bad_request("not enough rights to create a topic")
        name = str(call.required("name"))
        color = call.integer("icon_color", TOPIC_ICON_COLORS[0])
        if not 1 <= len(name) <= 128:
            raise _bad_request("TOPIC_NAME_INVALID")
        if color not in TOPIC_ICON_COLORS:
            raise _bad_request("TOPIC_ICON_COLOR_INVALID")
        topic = self._open_topic(state, name, color, call.get("icon_custom_emoji_id"), self.bot_user)
        return topic.to_api()

    def _edit_forum_topic(self, call: _Call) -> bool:
        state, topic = self._topic_for_change(call)
        edited: JSON = {}
        if call.get("name"):
            topic.name = edited["name"] = str(call.get("name"))
        if "icon_custom_emoji_id" in call.params:
            topic.icon_custom_emoji_id = edited["icon_custom_emoji_id"] = call.get("icon_custom_emoji_id")
        if not edited:
            raise _bad_request("TOPIC_NOT_MODIFIED")
        self._post_service_message(state, self.bot_user, {"forum_topic_edited": edited}, topic.thread_id)
        return True

    def _set_topic_closed(self, call: _Call, closed: bool) -> bool:
        state, topic = self._topic_for_change(call)
        if topic.closed == closed:
            raise _bad_request("TOPIC_NOT_MODIFIED")
        topic.closed = closed
        self._post_service_message(state, self.bot_user, {"forum_topic_closed" if closed else "forum_topic_reopened": {}}, topic.thread_id)
        return True

    def _delete_forum_topic(self, call: _Call) -> bool:
        state, topic = self._topic_for_change(call)
        self._remove_topic(state, topic)
        return True

    def _remove_topic(self, state: _ChatState, topic: _Topic) -> None:
        topic.deleted = True
        for message_id, stored in list(state.messages.items()):
            if stored.data.get("message_thread_id") == topic.thread_id:
                del state.messages[message_id]
        self._notify()

    # ---- shared by the methods -------------------------------------------------------------------

    def _chat_state(self, chat_id: Any) -> _ChatState:
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            found = next((s for s in self._chats.values() if s.chat.username and f"@{s.chat.username}".lower() == chat_id.lower()), None)
        else:
            try:
                found = self._chats.get(int(chat_id))
            except (TypeError, ValueError):
                found = None
        if found is None:
            raise _bad_request("chat not found")
        return found

    def _target_chat(self, call: _Call) -> _ChatState:
        """The chat a message goes to, refused as Telegram refuses it (unknown, never started, blocked)."""
        state = self._chat_state(call.required("chat_id"))
        if state.chat.type == "private" and not state.started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        if state.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return state

    def _thread(self, state: _ChatState, call: _Call) -> int | None:
        thread_id = call.integer("message_thread_id")
        if thread_id is None or not state.chat.is_forum:
            return None
        topic = state.topics.get(thread_id)
        if topic is None or topic.deleted:
            raise _bad_request("message thread not found")
        return thread_id

    def _topic_for_change(self, call: _Call) -> tuple[_ChatState, _Topic]:
        state = self._chat_state(call.required("chat_id"))
        if not state.chat.bot_is_admin:
            raise _bad_request("not enough rights to manage topics")
        topic = state.topics.get(call.required_int("message_thread_id"))
        if topic is None or topic.deleted:
            raise _bad_request("TOPIC_ID_INVALID")
        return state, topic

    def _source_message(self, call: _Call, verb: str, participle: str) -> _Stored:
        source = self._chat_state(call.required("from_chat_id")).messages.get(call.required_int("message_id"))
        if source is None:
            raise _bad_request(f"message to {verb} not found")
        if source.snapshot().is_service:
            raise _bad_request(f"message can't be {participle}")
        return source

    def _editable(self, call: _Call) -> _Stored:
        if call.get("inline_message_id"):
            raise _bad_request("inline messages are not supported by the sandbox")
        state = self._chat_state(call.required("chat_id"))
        if state.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        stored = state.messages.get(call.required_int("message_id"))
        if stored is None:
            raise _bad_request("message to edit not found")
        if not stored.from_bot or stored.snapshot().is_service:
            raise _bad_request("message can't be edited")
        return stored

    def _inline_markup(self, call: _Call) -> JSON | None:
        markup = call.get("reply_markup")
        if not markup:
            return None
        if not isinstance(markup, dict) or "inline_keyboard" not in markup:
            raise _bad_request("inline keyboard expected")
        _check_inline_keyboard(markup)
        return {"inline_keyboard": markup["inline_keyboard"]}

    def _reply_to(self, state: _ChatState, call: _Call) -> JSON | None:
        parameters = call.get("reply_parameters") or {}
        if isinstance(parameters, str):
            parameters = json.loads(parameters)
        message_id = parameters.get("message_id", call.get("reply_to_message_id"))
        if message_id is None:
            return None
        source = self._chat_state(parameters.get("chat_id", state.chat.id))
        replied = source.messages.get(int(message_id))
        if replied is None:
            if parameters.get("allow_sending_without_reply") or call.get("allow_sending_without_reply"):
                return None
            raise _bad_request("message to be replied not found")
        return _without_reply(replied.data)

    def _post_bot_message(self, state: _ChatState, call: _Call, content: JSON, *, markup_allowed: bool = True) -> JSON:
        """Validate what remains, apply the sending limits, then store the message and return it."""
        thread_id = self._thread(state, call)
        reply_to = self._reply_to(state, call)
        markup = call.get("reply_markup") if markup_allowed else None
        keyboard_change = _keyboard_change(markup)
        if self._rate_limiter is not None:
            retry_after = self._rate_limiter.admit(state.chat.id, state.chat.is_group, call.method)
            if retry_after is not None:
                raise ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
        message = self._new_message(state, self.bot_user, content, thread_id, reply_to)
        if markup and "inline_keyboard" in markup:
            message["reply_markup"] = {"inline_keyboard": markup["inline_keyboard"]}
        if keyboard_change is not None:
            state.reply_keyboard = keyboard_change or None
        if call.get("protect_content"):
            message["has_protected_content"] = True
        self._store(state, message, from_bot=True)
        self.sent_message_count += 1
        self._notify()
        return copy.deepcopy(message)

    def _new_message(self, state: _ChatState, sender: JSON, content: JSON, thread_id: int | None, reply_to: JSON | None) -> JSON:
        state.last_message_id += 1
        message: JSON = {"message_id": state.last_message_id, "from": sender, "chat": state.chat.to_api(), "date": self._timestamp()}
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
            if reply_to is None and thread_id in state.messages:
                reply_to = _without_reply(state.messages[thread_id].data)
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        message.update(content)
        return message

    def _store(self, state: _ChatState, message: JSON, *, from_bot: bool) -> None:
        state.messages[message["message_id"]] = _Stored(state.chat.id, from_bot, message)

    def _post_service_message(self, state: _ChatState, sender: JSON, content: JSON, thread_id: int) -> JSON:
        message = self._new_message(state, sender, content, None, None)
        message["message_thread_id"] = thread_id
        message["is_topic_message"] = True
        self._store(state, message, from_bot=sender is self.bot_user)
        self._notify()
        return message

    def _open_topic(self, state: _ChatState, name: str, color: int, emoji_id: str | None, sender: JSON) -> _Topic:
        created: JSON = {"name": name, "icon_color": color}
        if emoji_id:
            created["icon_custom_emoji_id"] = emoji_id
        thread_id = state.last_message_id + 1
        self._post_service_message(state, sender, {"forum_topic_created": created}, thread_id)
        topic = _Topic(thread_id, name, color, emoji_id)
        state.topics[thread_id] = topic
        return topic

    def _media_file(self, call: _Call, kind: str) -> _StoredFile:
        upload = call.uploads.get(kind)
        value = call.get(kind)
        if upload is None and isinstance(value, str) and value.startswith("attach://"):
            upload = call.uploads.get(value.removeprefix("attach://"))
        if upload is not None:
            return self._new_file(kind, upload.content, file_name=upload.filename, mime_type=upload.content_type)
        if not value:
            raise _bad_request(f"there is no {kind} in the request")
        if value in self._files:
            return self._files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return self._new_file(kind, b"", file_name=value.rsplit("/", 1)[-1] or None)
        raise _bad_request("wrong file identifier/HTTP URL specified")

    def _new_file(self, kind: str, content: bytes, *, file_name: str | None = None, mime_type: str | None = None) -> _StoredFile:
        number = next(self._file_ids)
        extension = {"photo": "jpg", "sticker": "webp", "voice": "oga"}.get(kind, (file_name or "file.bin").rsplit(".", 1)[-1])
        info: JSON = {}
        if file_name:
            info["file_name"] = file_name
        if mime_type or kind == "voice":
            info["mime_type"] = mime_type or "audio/ogg"
        stored = _StoredFile(f"{kind}-{number:08d}-sandbox", f"u{number:08d}", f"{kind}s/file_{number}.{extension}", content, info)
        self._files[stored.file_id] = stored
        return stored

    def _timestamp(self) -> int:
        return int(self._now().timestamp())

    # ---- the user simulation -------------------------------------------------------------------

    def add_user(
        self,
        first_name: str = "Alex",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        user_id: int | None = None,
    ) -> FakeUser:
        """A new Telegram user; their private chat with the bot opens when they first write."""
        user = FakeUser(user_id or next(self._user_ids), first_name, last_name, username, language_code)
        self._users[user.id] = user
        self._chats.setdefault(user.id, _ChatState(FakeChat(user.id, "private", username=username, first_name=first_name, last_name=last_name)))
        self._notify()
        return user

    def add_group(
        self,
        title: str,
        *,
        supergroup: bool = True,
        forum: bool = False,
        bot_is_admin: bool = True,
        username: str | None = None,
    ) -> FakeChat:
        """A group the bot is in; forums are supergroups with topics (the bot needs admin rights for topics)."""
        number = next(self._group_ids)
        chat_id = -(1_000_000_000_000 + number) if supergroup or forum else -(4_000_000_000 + number)
        chat = FakeChat(chat_id, "supergroup" if supergroup or forum else "group", title=title, username=username, is_forum=forum, bot_is_admin=bot_is_admin)
        self._chats[chat_id] = _ChatState(chat, started=True)
        self._notify()
        return chat

    def open_topic(self, chat: FakeChat, name: str, *, by: FakeUser | None = None) -> int:
        """A forum topic created by a member (or by the bot when `by` is None); returns its thread id."""
        state = self._chats[chat.id]
        if not chat.is_forum:
            raise SandboxError(f"{chat.title!r} is not a forum")
        sender = by.to_api() if by else self.bot_user
        topic = self._open_topic(state, name, TOPIC_ICON_COLORS[0], None, sender)
        if by is not None:
            self._enqueue({"message": copy.deepcopy(state.messages[topic.thread_id].data)}, state)
        return topic.thread_id

    def delete_topic(self, chat: FakeChat, thread_id: int) -> None:
        """An admin deletes a forum topic and everything in it; sending into it then fails with "message thread not found"."""
        state = self._chats[chat.id]
        topic = state.topics.get(thread_id)
        if topic is None or topic.deleted:
            raise SandboxError(f"there is no topic {thread_id} in {chat.title!r}")
        self._remove_topic(state, topic)

    def send_text(
        self,
        user: FakeUser,
        text: str,
        *,
        chat: FakeChat | None = None,
        thread_id: int | None = None,
        reply_to: ChatMessage | None = None,
        mention_bot: bool = False,
    ) -> JSON | None:
        """The user writes `text` (in their private chat unless `chat`); returns the Update, or None
        where Telegram would not pass a group message to a bot in privacy mode."""
        if mention_bot:
            text = f"@{self.bot_user['username']} {text}"
        content: JSON = {"text": text}
        entities = detect_entities(text)
        if entities:
            content["entities"] = entities
        return self._user_message(user, content, chat, thread_id, reply_to)

    def send_command(self, user: FakeUser, command: str, args: str = "", **options: Any) -> JSON | None:
        """The user sends `/command args` (a leading slash in `command` is optional)."""
        text = f"/{command.lstrip('/')}" + (f" {args}" if args else "")
        return self.send_text(user, text, **options)

    def press_button(
        self, user: FakeUser, message: ChatMessage, callback_data: str, *, require_button: bool = True
    ) -> JSON:
        """The user taps an inline button of the bot's `message`; `require_button=False` forges the data."""
        state = self._chats[message.chat_id]
        stored = state.messages.get(message.message_id)
        if stored is None:
            raise SandboxError("that message is no longer in the chat")
        current = stored.snapshot()
        buttons = [b.get("callback_data") for row in current.inline_keyboard for b in row]
        if require_button and callback_data not in buttons:
            raise SandboxError(f"the message has no button with callback data {callback_data!r}; it has {buttons}")
        self._ensure_not_blocked(state)
        query_id = str(next(self._query_ids))
        self._callback_queries[query_id] = _CallbackQuery(state.chat.id, message.message_id)
        query = {
            "id": query_id,
            "from": user.to_api(),
            "message": copy.deepcopy(stored.data),
            "chat_instance": str(abs(state.chat.id) * 7919 % 10**18),
            "data": callback_data,
        }
        return self._enqueue({"callback_query": query}, state)

    def press_keyboard_button(self, user: FakeUser, label: str) -> JSON | None:
        """The user taps a button of the reply keyboard the bot shows them (sharing their phone if it asks)."""
        state = self._chats[user.id]
        keyboard = state.reply_keyboard or {}
        for row in keyboard.get("keyboard", []):
            for button in row:
                button = {"text": button} if isinstance(button, str) else button
                if button.get("text") != label:
                    continue
                if keyboard.get("one_time_keyboard"):
                    state.reply_keyboard = None
                if button.get("request_contact"):
                    return self.share_contact(user, f"+49151{user.id % 10**8:08d}")
                return self.send_text(user, label)
        raise SandboxError(f"no keyboard button {label!r} is shown to {user.first_name}")

    def share_contact(
        self,
        user: FakeUser,
        phone: str,
        *,
        user_id: int | None | EllipsisType = ...,
        first_name: str | None = None,
        chat: FakeChat | None = None,
    ) -> JSON | None:
        """The user shares a contact: their own by default, else another's (`user_id` theirs, or None)."""
        contact: JSON = {"phone_number": phone, "first_name": first_name or user.first_name}
        owner = user.id if isinstance(user_id, EllipsisType) else user_id
        if owner is not None:
            contact["user_id"] = owner
        if owner == user.id and user.last_name and first_name is None:
            contact["last_name"] = user.last_name
        return self._user_message(user, {"contact": contact}, chat, None, None)

    def send_sticker(self, user: FakeUser, *, emoji: str = "👍", chat: FakeChat | None = None, thread_id: int | None = None) -> JSON | None:
        stored = self._new_file("sticker", b"RIFF-sandbox-sticker")
        sticker = {**_media_object("sticker", stored, None), "emoji": emoji}
        return self._user_message(user, {"sticker": sticker}, chat, thread_id, None)

    def send_photo(
        self,
        user: FakeUser,
        *,
        content: bytes = b"\xff\xd8sandbox-photo",
        caption: str | None = None,
        chat: FakeChat | None = None,
        thread_id: int | None = None,
    ) -> JSON | None:
        stored = self._new_file("photo", content)
        return self._user_message(user, _with_caption({"photo": _media_object("photo", stored, None)}, caption), chat, thread_id, None)

    def send_voice(
        self,
        user: FakeUser,
        *,
        duration: int = 3,
        content: bytes = b"OggS-sandbox-voice",
        chat: FakeChat | None = None,
        thread_id: int | None = None,
    ) -> JSON | None:
        stored = self._new_file("voice", content)
        voice = {**_media_object("voice", stored, None), "duration": duration}
        return self._user_message(user, {"voice": voice}, chat, thread_id, None)

    def send_document(
        self,
        user: FakeUser,
        *,
        file_name: str = "document.pdf",
        mime_type: str = "application/pdf",
        content: bytes = b"%PDF-sandbox",
        caption: str | None = None,
        chat: FakeChat | None = None,
        thread_id: int | None = None,
    ) -> JSON | None:
        stored = self._new_file("document", content, file_name=file_name, mime_type=mime_type)
        return self._user_message(user, _with_caption({"document": _media_object("document", stored, None)}, caption), chat, thread_id, None)

    def edit_message(self, user: FakeUser, message: ChatMessage, new_text: str) -> JSON | None:
        """The user edits a text message they sent; the bot gets an `edited_message` update."""
        state = self._chats[message.chat_id]
        stored = state.messages.get(message.message_id)
        if stored is None or stored.from_bot or stored.data["from"]["id"] != user.id or "text" not in stored.data:
            raise SandboxError("users can edit only text messages they sent themselves")
        self._ensure_not_blocked(state)
        stored.data["text"] = new_text
        stored.data.pop("entities", None)
        entities = detect_entities(new_text)
        if entities:
            stored.data["entities"] = entities
        stored.data["edit_date"] = self._timestamp()
        stored.edit_count += 1
        edited = copy.deepcopy(stored.data)
        if not self._passes_privacy(state, edited):
            self._notify()
            return None
        return self._enqueue({"edited_message": edited}, state)

    def block_bot(self, user: FakeUser) -> JSON:
        """The user blocks the bot: a `my_chat_member` update, then 403 for everything sent to them."""
        state = self._private_chat(user)
        state.blocked = True
        return self._enqueue(self._membership_change(user, "member", "kicked"), state)

    def unblock_bot(self, user: FakeUser) -> JSON:
        state = self._private_chat(user)
        state.blocked = False
        return self._enqueue(self._membership_change(user, "kicked", "member"), state)

    def set_member_status(self, chat: FakeChat, user: FakeUser, status: str) -> None:
        """What getChatMember answers for `user` in a group: creator, administrator, member, left or kicked."""
        self._chats[chat.id].members[user.id] = status

    def deliver_duplicate(self, update: JSON) -> JSON:
        """Queue an update again with the same update_id, as Telegram does when it was not confirmed."""
        duplicate = copy.deepcopy(update)
        self._queue.append(_Queued(duplicate))
        self._updates.append(duplicate)
        self._notify()
        return duplicate

    def _user_message(self, user: FakeUser, content: JSON, chat: FakeChat | None, thread_id: int | None, reply_to: ChatMessage | None) -> JSON | None:
        state = self._private_chat(user) if chat is None or chat.id == user.id else self._chats[chat.id]
        self._ensure_not_blocked(state)
        topic_id = None
        if thread_id is not None:
            topic = state.topics.get(thread_id)
            if not state.chat.is_forum or topic is None or topic.deleted:
                raise SandboxError(f"there is no topic {thread_id} in {state.chat.title!r}")
            if topic.closed and state.members.get(user.id) not in ("creator", "administrator"):
                raise SandboxError("the topic is closed")
            topic_id = thread_id
        replied = None
        if reply_to is not None:
            original = state.messages.get(reply_to.message_id)
            if original is None:
                raise SandboxError("the message replied to is no longer in the chat")
            replied = _without_reply(original.data)
        if state.chat.is_group and user.id not in state.members:
            state.members[user.id] = "member"
        message = self._new_message(state, user.to_api(), content, topic_id, replied)
        self._store(state, message, from_bot=False)
        if not self._passes_privacy(state, message):
            self._notify()
            return None
        return self._enqueue({"message": copy.deepcopy(message)}, state)

    def _private_chat(self, user: FakeUser) -> _ChatState:
        if user.id not in self._users:
            raise SandboxError(f"{user.first_name} was not added with add_user()")
        state = self._chats[user.id]
        state.started = True
        return state

    def _ensure_not_blocked(self, state: _ChatState) -> None:
        if state.blocked:
            raise SandboxError("the user has blocked the bot; call unblock_bot() first")

    def _passes_privacy(self, state: _ChatState, message: JSON) -> bool:
        """Bots in privacy mode see only commands, mentions of them and replies to them in groups."""
        if not state.chat.is_group or not self.privacy_mode or state.chat.bot_is_admin:
            return True
        text = message.get("text", message.get("caption", ""))
        mentioned = f"@{self.bot_user['username']}".lower() in text.lower()
        command = any(entity["type"] == "bot_command" for entity in message.get("entities", []))
        replied_to_bot = (message.get("reply_to_message") or {}).get("from", {}).get("id") == self.bot_user["id"]
        return mentioned or command or replied_to_bot

    def _membership_change(self, user: FakeUser, old: str, new: str) -> JSON:
        def member(status: str) -> JSON:
            return {"status": status, "user": self.bot_user, **({"until_date": 0} if status == "kicked" else {})}

        change = {"chat": self._chats[user.id].chat.to_api(), "from": user.to_api(), "date": self._timestamp(),
                  "old_chat_member": member(old), "new_chat_member": member(new)}
        return {"my_chat_member": change}

    def _enqueue(self, payload: JSON, state: _ChatState) -> JSON:
        update = {"update_id": next(self._update_ids), **payload}
        self._queue.append(_Queued(update))
        self._updates.append(update)
        self._reply_marks[update["update_id"]] = (state.chat.id, state.last_message_id)
        self._notify()
        return update

    # ---- faults and limits ---------------------------------------------------------------------

    def inject_fault(self, method: str, fault: Fault, *, chat_id: int | str | None = None, times: int = 1) -> None:
        """Answer the next `times` calls of `method` (to `chat_id`, if given) with `fault`."""
        self._faults.add(method, fault, chat_id, times)

    def clear_faults(self) -> None:
        self._faults.clear()

    def enforce_rate_limits(self, limits: RateLimits | None = RateLimits()) -> None:
        """Refuse messages beyond Telegram's limits with 429 retry_after (None switches it off)."""
        self._rate_limiter = RateLimiter(limits, self._monotonic) if limits else None

    @property
    def rate_limit_violations(self) -> list[RateLimitViolation]:
        return list(self._rate_limiter.violations) if self._rate_limiter else []

    # ---- what happened ---------------------------------------------------------------------------

    def requests(self, method: str | None = None, *, chat_id: int | str | None = None, since: int = 0) -> list[RecordedRequest]:
        """Recorded requests, oldest first, optionally of one method and one chat."""
        return [r for r in self._requests[since:] if _matches(r, method, chat_id)]

    def checkpoint(self) -> int:
        """A mark in the request record, for `requests(since=...)` and `wait_for_request(since=...)`."""
        return len(self._requests)

    @property
    def updates(self) -> list[JSON]:
        """Every update queued for the bot, duplicates included, in queue order."""
        return list(self._updates)

    def delivery_count(self, update_id: int) -> int:
        """How many getUpdates answers carried this update."""
        return self._deliveries[update_id]

    @property
    def pending_update_count(self) -> int:
        """Updates queued and not yet confirmed by the bot's next getUpdates offset."""
        return len(self._queue)

    def is_confirmed(self, update: JSON) -> bool:
        """Whether the bot fetched the update and confirmed it (so it sits in the bot's own queue or is done)."""
        return self._deliveries[update["update_id"]] > 0 and all(q.update is not update for q in self._queue)

    @property
    def users(self) -> list[FakeUser]:
        return list(self._users.values())

    @property
    def chats(self) -> list[FakeChat]:
        return [state.chat for state in self._chats.values() if state.started or state.chat.is_group]

    def user(self, user_id: int) -> FakeUser:
        return self._users[user_id]

    def chat(self, chat_id: int) -> FakeChat:
        return self._chats[chat_id].chat

    def transcript(self, chat_id: int, *, thread_id: int | None = None) -> list[ChatMessage]:
        """The chat as its user sees it now, oldest first: edits applied, deleted messages gone."""
        state = self._chats.get(chat_id)
        if state is None:
            return []
        return [s.snapshot() for s in state.messages.values() if thread_id is None or s.data.get("message_thread_id") == thread_id]

    def bot_messages(self, chat_id: int, *, thread_id: int | None = None, after_message_id: int = 0) -> list[ChatMessage]:
        """What the bot wrote in the chat (service notices left out)."""
        return [
            m for m in self.transcript(chat_id, thread_id=thread_id)
            if m.from_bot and not m.is_service and m.message_id > after_message_id
        ]

    def message(self, chat_id: int, message_id: int) -> ChatMessage | None:
        stored = self._chats[chat_id].messages.get(message_id)
        return stored.snapshot() if stored else None

    def reply_keyboard(self, chat_id: int) -> JSON | None:
        """The reply keyboard the bot shows in the chat, if any."""
        keyboard = self._chats[chat_id].reply_keyboard
        return copy.deepcopy(keyboard) if keyboard else None

    def chat_action(self, chat_id: int) -> str | None:
        """The last chat action ("typing", ...) the bot sent to the chat."""
        return self._chats[chat_id].last_action

    def callback_answer(self, update: JSON) -> CallbackAnswer | None:
        query = self._callback_queries.get(update["callback_query"]["id"])
        return query.answer if query else None

    def callback_answers(self, chat_id: int) -> list[tuple[int, CallbackAnswer]]:
        """(message id, answer) for every answered button press in the chat, oldest first."""
        return [(q.message_id, q.answer) for q in self._callback_queries.values() if q.chat_id == chat_id and q.answer]

    def topics(self, chat_id: int) -> list[JSON]:
        """The forum's open and closed topics (deleted ones left out)."""
        return [dict(t.to_api(), closed=t.closed) for t in self._chats[chat_id].topics.values() if not t.deleted]

    def commands(self, *, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """The command list the bot set for exactly this scope and language."""
        return copy.deepcopy(self._commands.get(_commands_key(scope, language_code), []))

    def visible_commands(self, user: FakeUser, chat: FakeChat | None = None) -> list[JSON]:
        """The command menu `user` sees in `chat` (their private chat by default), by Telegram's scope order."""
        language = user.language_code or ""
        if chat is None or chat.type == "private":
            scopes: list[JSON] = [{"type": "chat", "chat_id": user.id}, {"type": "all_private_chats"}]
        else:
            status = self._chats[chat.id].members.get(user.id)
            scopes = [{"type": "chat_member", "chat_id": chat.id, "user_id": user.id}]
            if status in ("creator", "administrator"):
                scopes.append({"type": "chat_administrators", "chat_id": chat.id})
            scopes.append({"type": "chat", "chat_id": chat.id})
            if status in ("creator", "administrator"):
                scopes.append({"type": "all_chat_administrators"})
            scopes.append({"type": "all_group_chats"})
        scopes.append({"type": "default"})
        for scope in scopes:
            for code in ((language, "") if language else ("",)):
                found = self._commands.get(_commands_key(scope, code))
                if found:
                    return copy.deepcopy(found)
        return []

    def profile(self, method: str, language_code: str = "") -> JSON | None:
        """What the bot last set with setMyName, setMyDescription, setMyShortDescription or setChatMenuButton."""
        return self._profile.get((method, language_code))

    @property
    def webhook(self) -> JSON:
        return dict(self._webhook)

    # ---- waiting -------------------------------------------------------------------------------

    async def wait_until(self, condition: Callable[[], T], timeout: float = 5.0, *, what: str = "a condition") -> T:
        """Wait for `condition()` to return something truthy, re-checking after every change; returns it."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            changed = self._changed
            value = condition()
            if value:
                return value
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                recent = ", ".join(f"{r.method}→{r.status}" for r in self._requests[-8:])
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}; last requests: [{recent}]")
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                pass

    async def wait_for_request(
        self,
        method: str,
        predicate: Callable[[RecordedRequest], bool] | None = None,
        timeout: float = 5.0,
        *,
        since: int = 0,
    ) -> RecordedRequest:
        """The first recorded request of `method` from `since` on that satisfies `predicate`."""
        scanned = since

        def found() -> RecordedRequest | None:
            nonlocal scanned
            for recorded in self._requests[scanned:]:
                if _matches(recorded, method, None) and (predicate is None or predicate(recorded)):
                    return recorded
            scanned = len(self._requests)
            return None

        return await self.wait_until(found, timeout, what=f"a {method} request")

    async def wait_for_messages(
        self, chat_id: int, count: int, timeout: float = 5.0, *, thread_id: int | None = None, after_message_id: int = 0
    ) -> list[ChatMessage]:
        """Wait until the bot has `count` messages in the chat (after `after_message_id`); returns them all."""

        def enough() -> list[ChatMessage] | None:
            found = self.bot_messages(chat_id, thread_id=thread_id, after_message_id=after_message_id)
            return found if len(found) >= count else None

        return await self.wait_until(enough, timeout, what=f"{count} bot message(s) in chat {chat_id}")

    async def wait_for_reply(self, update: JSON, timeout: float = 5.0) -> ChatMessage:
        """The first message the bot wrote in the update's chat after the update was sent."""
        chat_id, after = self._reply_marks[update["update_id"]]
        return (await self.wait_for_messages(chat_id, 1, timeout, after_message_id=after))[0]

    async def wait_for_edit(self, message: ChatMessage, timeout: float = 5.0) -> ChatMessage:
        """The message once the bot has edited it again (or deleted it: then LookupError)."""
        def edited() -> ChatMessage | None:
            current = self.message(message.chat_id, message.message_id)
            if current is None:
                raise LookupError(f"message {message.message_id} was deleted")
            return current if current.edit_count > message.edit_count else None

        return await self.wait_until(edited, timeout, what=f"an edit of message {message.message_id}")

    async def wait_for_callback_answer(self, update: JSON, timeout: float = 5.0) -> CallbackAnswer:
        return await self.wait_until(lambda: self.callback_answer(update), timeout, what="the callback query's answer")


# ---- request parsing and object shapes ---------------------------------------------------------


async def _read_params(request: web.Request) -> tuple[JSON, dict[str, _Upload]]:
    params: JSON = {key: _decode_form_value(key, value) for key, value in request.query.items()}
    uploads: dict[str, _Upload] = {}
    if request.content_type == "application/json":
        raw = await request.text()
        body = json.loads(raw) if raw.strip() else {}
        if not isinstance(body, dict):
            raise ValueError("the JSON body is not an object")
        params.update(body)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                uploads[key] = _Upload(value.filename, value.content_type, value.file.read())
            else:
                params[key] = _decode_form_value(key, str(value))
    for key in ("chat_id", "from_chat_id"):
        value = params.get(key)
        if isinstance(value, str) and value.lstrip("-").isdigit():
            params[key] = int(value)
    for key, upload in uploads.items():
        params.setdefault(key, f"<upload {upload.filename or key}: {len(upload.content)} bytes>")
    return params, uploads


def _decode_form_value(name: str, value: str) -> Any:
    if name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _text_and_entities(call: _Call, text_name: str, entities_name: str, limit: int, what: str, *, optional: bool = False) -> tuple[str, list[JSON]]:
    raw = call.get(text_name)
    if raw is None and optional:
        return "", []
    raw = "" if raw is None else str(raw)
    explicit = call.get(entities_name)
    try:
        text, entities = (raw, list(explicit)) if explicit else parse_markup(raw, call.get("parse_mode"))
    except EntityParseError as problem:
        raise _bad_request(f"can't parse entities: {problem}") from None
    if not text.strip() and not optional:
        raise _bad_request(f"{what} is empty")
    if len(text) > limit:
        raise _bad_request(f"{what} is too long")
    length = utf16_len(text)
    if any(e.get("offset", 0) + e.get("length", 0) > length for e in entities):
        raise _bad_request("can't parse entities: entity beyond the end of the text")
    return text, entities


def _check_inline_keyboard(markup: JSON) -> None:
    rows = markup.get("inline_keyboard")
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad_request("can't parse inline keyboard: field \"inline_keyboard\" must be an Array of Array")
    actions = ("callback_data", "url", "switch_inline_query", "switch_inline_query_current_chat",
               "switch_inline_query_chosen_chat", "web_app", "login_url", "callback_game", "pay", "copy_text")
    for button in (b for row in rows for b in row):
        if not button.get("text"):
            raise _bad_request("can't parse inline keyboard button: Text must be non-empty")
        if sum(1 for action in actions if action in button) != 1:
            raise _bad_request("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
            raise _bad_request("BUTTON_DATA_INVALID")


def _keyboard_change(markup: Any) -> JSON | None:
    """The reply keyboard a message puts in place: a keyboard, {} to remove it, or None for no change."""
    if not isinstance(markup, dict):
        return None
    if "inline_keyboard" in markup:
        _check_inline_keyboard(markup)
        return None
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not rows or not all(isinstance(row, list) and row for row in rows):
            raise _bad_request("keyboard must be non-empty")
        for button in (b for row in rows for b in row):
            if not (button if isinstance(button, str) else button.get("text")):
                raise _bad_request("keyboard button text is empty")
        return copy.deepcopy(markup)
    if markup.get("remove_keyboard") or markup.get("force_reply"):
        return {}
    return None


def _content_of(message: JSON) -> JSON:
    """The part of a message that forwarding or copying carries over."""
    keys = ("text", "entities", "caption", "caption_entities", "photo", "document", "sticker", "voice", "contact")
    return {key: copy.deepcopy(message[key]) for key in keys if key in message}


def _without_reply(message: JSON) -> JSON:
    """A message as quoted inside another: Telegram nests replies one level deep only."""
    return {key: copy.deepcopy(value) for key, value in message.items() if key != "reply_to_message"}


def _with_caption(content: JSON, caption: str | None) -> JSON:
    if caption:
        content["caption"] = caption
        entities = detect_entities(caption)
        if entities:
            content["caption_entities"] = entities
    return content


def _media_object(kind: str, stored: _StoredFile, call: _Call | None) -> Any:
    base = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": len(stored.content)}
    if kind == "photo":
        return [{**base, "width": 90, "height": 90}, {**base, "width": 800, "height": 800}]
    if kind == "sticker":
        sticker = {**base, "type": "regular", "width": 512, "height": 512, "is_animated": False, "is_video": False}
        if call is not None and call.get("emoji"):
            sticker["emoji"] = call.get("emoji")
        return sticker
    if kind == "voice":
        duration = call.integer("duration", 1) if call is not None else 1
        return {**base, "duration": duration, "mime_type": stored.info.get("mime_type", "audio/ogg")}
    return {**base, **stored.info}


def _member_object(user: JSON, status: str, *, is_bot: bool, forum: bool) -> JSON:
    if status == "creator":
        return {"status": "creator", "user": user, "is_anonymous": False}
    if status == "administrator":
        rights = ("can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
                  "can_change_info", "can_invite_users", "can_post_stories", "can_edit_stories",
                  "can_delete_stories", "can_pin_messages")
        member: JSON = {"status": "administrator", "user": user, "can_be_edited": False, "is_anonymous": False,
                        "can_promote_members": False, **{right: True for right in rights}}
        if forum:
            member["can_manage_topics"] = True
        return member
    if status == "kicked":
        return {"status": "kicked", "user": user, "until_date": 0}
    if status in ("member", "left"):
        return {"status": status, "user": user}
    raise ValueError(f"unsupported member status {status!r}")


def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
    if isinstance(scope, str):
        scope = json.loads(scope)
    scope = dict(scope or {"type": "default"})
    for key in ("chat_id", "user_id"):
        if isinstance(scope.get(key), str) and scope[key].lstrip("-").isdigit():
            scope[key] = int(scope[key])
    return json.dumps(scope, sort_keys=True), str(language_code or "")


def _matches(recorded: RecordedRequest, method: str | None, chat_id: int | str | None) -> bool:
    if method is not None and recorded.method.lower() != method.lower():
        return False
    return chat_id is None or str(recorded.chat_id) == str(chat_id)


__all__ = [
    "ApiError", "CallbackAnswer", "ChatMessage", "DEFAULT_TOKEN", "FakeBotApi", "FakeChat", "FakeUser",
    "Fault", "RateLimits", "RateLimitViolation", "RecordedRequest", "SandboxError",
]
