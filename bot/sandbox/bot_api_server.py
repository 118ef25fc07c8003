"""The Bot API side of the sandbox: Telegram's HTTP endpoints and methods, answered from the sandbox's state.

The bot under test talks to it exactly as to api.telegram.org. Every request is recorded; planned faults
(429, 5xx, 403, slow answers, dropped connections) and Telegram's sending limits apply here.
"""

import asyncio
import copy
import inspect
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.sandbox.bot_api_errors import ApiError, bad_request
from bot.sandbox.bot_api_requests import ApiCall, check_inline_keyboard, keyboard_change, read_params, text_and_entities
from bot.sandbox.chat_objects import JSON, CallbackAnswer, RecordedRequest
from bot.sandbox.sandbox_state import (
    TOPIC_ICON_COLORS,
    ChatState,
    QueuedUpdate,
    SandboxState,
    StoredFile,
    StoredMessage,
    Topic,
    commands_key,
    media_object,
    without_reply,
)

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
# Sent unless the bot asks otherwise (Bot API: "all update types except chat_member, message_reaction,
# and message_reaction_count").
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_CONFLICT_OTHER_POLL = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"


class BotApiServer:
    """Telegram's Bot API over the sandbox's state: `add_routes(app)` mounts /bot<token>/<method> and files."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._methods: dict[str, tuple[str, Callable[[ApiCall], Any]]] = {
            name.lower(): (name, handler) for name, handler in self._method_table().items()
        }

    def add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._bot_endpoint)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file_endpoint)

    # ---- HTTP ---------------------------------------------------------------------------------

    async def _bot_endpoint(self, request: web.Request) -> web.StreamResponse:
        received = self.state.monotonic()
        name = request.match_info["method"]
        try:
            params, uploads = await read_params(request)
        except ValueError as problem:
            error = bad_request(f"can't parse request: {problem}")
            return self._answer(name, {}, received, error.status, error.body())
        if request.match_info["token"] != self.state.token:
            return self._answer(name, params, received, 401, ApiError(401, "Unauthorized").body())
        known = self._methods.get(name.lower())
        if known is None:
            return self._answer(name, params, received, 404, ApiError(404, "Not Found").body())
        name, handler = known
        fault = self.state.fault_plan.take(name, params.get("chat_id"))
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
            result = handler(ApiCall(name, params, uploads))
            if inspect.isawaitable(result):
                result = await result
        except ApiError as error:
            return self._answer(name, params, received, error.status, error.body())
        return self._answer(name, params, received, 200, {"ok": True, "result": result})

    def _answer(self, method: str, params: JSON, received: float, status: int, body: JSON) -> web.Response:
        self._record(method, params, received, status, body)
        return web.json_response(body, status=status)

    def _record(self, method: str, params: JSON, received: float, status: int, body: JSON) -> None:
        self.state.recorded.append(RecordedRequest(len(self.state.recorded), method, params, received, status, body))
        self.state.notify()

    async def _file_endpoint(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.state.token:
            raise web.HTTPUnauthorized()
        path = request.match_info["path"]
        stored = next((f for f in self.state.files.values() if f.file_path == path), None)
        if stored is None:
            raise web.HTTPNotFound()
        return web.Response(body=stored.content, content_type=stored.info.get("mime_type", "application/octet-stream"))

    # ---- Bot API methods -----------------------------------------------------------------------

    def _method_table(self) -> dict[str, Callable[[ApiCall], Any]]:
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
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getFile": self._get_file,
            "createForumTopic": self._create_forum_topic,
            "editForumTopic": self._edit_forum_topic,
            "closeForumTopic": lambda call: self._set_topic_closed(call, True),
            "reopenForumTopic": lambda call: self._set_topic_closed(call, False),
            "deleteForumTopic": self._delete_forum_topic,
        }

    def _get_me(self, call: ApiCall) -> JSON:
        return {
            **self.state.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.state.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, call: ApiCall) -> list[JSON]:
        if self.state.webhook_settings.get("url"):
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
            if batch or self.state.closing or loop.time() >= deadline:
                for queued in batch:
                    queued.delivered = True
                    self.state.deliveries[queued.update["update_id"]] += 1
                return [queued.update for queued in batch]
            changed = self.state.changed
            try:
                await asyncio.wait_for(changed.wait(), max(deadline - loop.time(), 0))
            except TimeoutError:
                pass

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            kept = self.state.queue[offset:]
        elif offset:
            kept = [q for q in self.state.queue if not (q.delivered and q.update["update_id"] < offset)]
        else:
            return
        if len(kept) != len(self.state.queue):
            self.state.queue = kept
            self.state.notify()

    def _deliverable(self, limit: int) -> list[QueuedUpdate]:
        """Queued updates the bot wants, oldest first; unwanted kinds are dropped as Telegram drops them."""
        wanted = [q for q in self.state.queue if self._wants(q.update)]
        if len(wanted) != len(self.state.queue):
            self.state.queue = wanted
            self.state.notify()
        return wanted[:limit]

    def _wants(self, update: JSON) -> bool:
        kind = next(key for key in update if key != "update_id")
        if self._allowed_updates is None:
            return kind not in _DEFAULT_EXCLUDED_UPDATES
        return kind in self._allowed_updates

    def _set_webhook(self, call: ApiCall) -> bool:
        self.state.webhook_settings = {key: value for key, value in call.params.items() if key != "certificate"}
        if call.get("drop_pending_updates"):
            self.state.queue.clear()
        return True

    def _delete_webhook(self, call: ApiCall) -> bool:
        self.state.webhook_settings = {}
        if call.get("drop_pending_updates"):
            self.state.queue.clear()
        return True

    def _get_webhook_info(self, call: ApiCall) -> JSON:
        info: JSON = {"url": self.state.webhook_settings.get("url", ""), "has_custom_certificate": False, "pending_update_count": len(self.state.queue)}
        for name in ("max_connections", "ip_address", "allowed_updates"):
            if name in self.state.webhook_settings:
                info[name] = self.state.webhook_settings[name]
        return info

    def _send_message(self, call: ApiCall) -> JSON:
        state = self._target_chat(call)
        text, entities = text_and_entities(call, "text", "entities", MAX_TEXT_LENGTH, "message text")
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        if call.get("link_preview_options"):
            content["link_preview_options"] = call.get("link_preview_options")
        return self._post_bot_message(state, call, content)

    def _forward_message(self, call: ApiCall) -> JSON:
        state = self._target_chat(call)
        source = self._source_message(call, "forward", "forwarded")
        content = _content_of(source.data)
        # A forwarded forward names its first author, as Telegram's do.
        content["forward_origin"] = copy.deepcopy(source.data.get("forward_origin")) or {
            "type": "user", "sender_user": source.data["from"], "date": source.data["date"]
        }
        return self._post_bot_message(state, call, content, markup_allowed=False)

    def _copy_message(self, call: ApiCall) -> JSON:
        state = self._target_chat(call)
        source = self._source_message(call, "copy", "copied")
        content = _content_of(source.data)
        if "caption" in call.params and any(key in content for key in ("photo", "document", "voice")):
            caption, entities = text_and_entities(call, "caption", "caption_entities", MAX_CAPTION_LENGTH, "message caption", optional=True)
            content.pop("caption_entities", None)
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        message = self._post_bot_message(state, call, content)
        return {"message_id": message["message_id"]}

    def _send_media(self, call: ApiCall, kind: str) -> JSON:
        state = self._target_chat(call)
        stored = self._media_file(call, kind)
        if kind == "voice":
            content: JSON = {kind: media_object(kind, stored, duration=call.integer("duration", 1))}
        else:
            content = {kind: media_object(kind, stored, emoji=call.get("emoji"))}
        if kind != "sticker":
            caption, entities = text_and_entities(call, "caption", "caption_entities", MAX_CAPTION_LENGTH, "message caption", optional=True)
            if caption:
                content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        return self._post_bot_message(state, call, content)

    def _send_chat_action(self, call: ApiCall) -> bool:
        state = self._target_chat(call)
        self._thread(state, call)
        state.last_action = str(call.required("action"))
        self.state.notify()
        return True

    def _edit_message_text(self, call: ApiCall) -> JSON:
        stored = self._editable(call)
        if "text" not in stored.data:
            raise bad_request("there is no text in the message to edit")
        text, entities = text_and_entities(call, "text", "entities", MAX_TEXT_LENGTH, "message text")
        return self._apply_edit(stored, call, {"text": text, "entities": entities})

    def _edit_message_caption(self, call: ApiCall) -> JSON:
        stored = self._editable(call)
        if not any(key in stored.data for key in ("photo", "document", "voice")):
            raise bad_request("there is no caption in the message to edit")
        caption, entities = text_and_entities(call, "caption", "caption_entities", MAX_CAPTION_LENGTH, "message caption", optional=True)
        return self._apply_edit(stored, call, {"caption": caption or None, "caption_entities": entities})

    def _edit_message_reply_markup(self, call: ApiCall) -> JSON:
        return self._apply_edit(self._editable(call), call, {})

    def _apply_edit(self, stored: StoredMessage, call: ApiCall, content: JSON) -> JSON:
        """Telegram replaces the inline keyboard on every edit: one left out of the request is removed."""
        markup = self._inline_markup(call)
        changes = {**content, "reply_markup": markup}
        if all(stored.data.get(key) == (value or None) for key, value in changes.items()):
            raise bad_request(
                "message is not modified: specified new message content and reply markup are exactly the same "
                "as a current content and reply markup of the message"
            )
        for key, value in changes.items():
            if value:
                stored.data[key] = value
            else:
                stored.data.pop(key, None)
        stored.data["edit_date"] = self.state.timestamp()
        stored.edit_count += 1
        self.state.notify()
        return copy.deepcopy(stored.data)

    def _delete_message(self, call: ApiCall) -> bool:
        state = self.state.chat_state(call.required("chat_id"))
        message_id = call.required_int("message_id")
        if state.messages.pop(message_id, None) is None:
            raise bad_request("message to delete not found")
        self.state.notify()
        return True

    def _delete_messages(self, call: ApiCall) -> bool:
        state = self.state.chat_state(call.required("chat_id"))
        for message_id in call.required("message_ids"):
            state.messages.pop(int(message_id), None)
        self.state.notify()
        return True

    def _answer_callback_query(self, call: ApiCall) -> bool:
        query = self.state.callback_queries.get(str(call.required("callback_query_id")))
        if query is None or query.answer is not None:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        text = call.get("text")
        if text is not None and len(str(text)) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answer = CallbackAnswer(
            text=str(text) if text is not None else None, show_alert=bool(call.get("show_alert", False)), url=call.get("url")
        )
        self.state.notify()
        return True

    def _set_my_commands(self, call: ApiCall) -> bool:
        commands = call.required("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH" if isinstance(commands, list) else "can't parse commands JSON object")
        for command in commands:
            name, description = str(command.get("command", "")), str(command.get("description", ""))
            if not (1 <= len(name) <= 32 and all(c.islower() or c.isdigit() or c == "_" for c in name)):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID" if description else "command description is empty")
        self.state.command_lists[commands_key(call.get("scope"), call.get("language_code"))] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        self.state.notify()
        return True

    def _get_my_commands(self, call: ApiCall) -> list[JSON]:
        return copy.deepcopy(self.state.command_lists.get(commands_key(call.get("scope"), call.get("language_code")), []))

    def _delete_my_commands(self, call: ApiCall) -> bool:
        self.state.command_lists.pop(commands_key(call.get("scope"), call.get("language_code")), None)
        self.state.notify()
        return True

    def _set_chat_menu_button(self, call: ApiCall) -> bool:
        """A private chat's menu button, or without chat_id the default one (as Telegram keeps them)."""
        button = call.get("menu_button") or {"type": "default"}
        kind = button.get("type") if isinstance(button, dict) else None
        if kind not in ("default", "commands", "web_app"):
            raise bad_request("can't parse menu button: unknown type")
        if kind == "web_app":
            web_app = button.get("web_app")
            if not button.get("text") or not isinstance(web_app, dict) or not str(web_app.get("url", "")).startswith(("https://", "http://")):
                raise bad_request("can't parse menu button: a web_app button needs a text and a web_app url")
        chat_id = call.integer("chat_id")
        self.state.menu_buttons[chat_id] = dict(button)
        if chat_id is None:  # the bot's default button is part of its profile; a chat's own is not
            self._store_profile(call)
        self.state.notify()
        return True

    def _get_chat_menu_button(self, call: ApiCall) -> JSON:
        buttons = self.state.menu_buttons
        return copy.deepcopy(buttons.get(call.integer("chat_id"), buttons.get(None, {"type": "default"})))

    def _store_profile(self, call: ApiCall) -> bool:
        self.state.profile_settings[(call.method, str(call.get("language_code") or ""))] = dict(call.params)
        return True

    def _get_chat(self, call: ApiCall) -> JSON:
        chat = self.state.chat_state(call.required("chat_id")).chat
        return {
            **chat.to_api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                "premium_subscription": False, "gifts_from_channels": False,
            },
        }

    def _get_chat_member(self, call: ApiCall) -> JSON:
        state = self.state.chat_state(call.required("chat_id"))
        user_id = call.required_int("user_id")
        if user_id == self.state.bot_user["id"]:
            status = "administrator" if state.chat.bot_is_admin else "member"
            return _member_object(self.state.bot_user, status, is_bot=True, forum=state.chat.is_forum)
        user = self.state.known_users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        if state.chat.type == "private":
            status = "member" if state.chat.id == user_id else "left"
        else:
            status = state.members.get(user_id, "left")
        return _member_object(user.to_api(), status, is_bot=False, forum=state.chat.is_forum)

    def _get_file(self, call: ApiCall) -> JSON:
        stored = self.state.files.get(str(call.required("file_id")))
        if stored is None:
            raise bad_request("invalid file_id")
        return stored.to_api()

    def _create_forum_topic(self, call: ApiCall) -> JSON:
        state = self.state.chat_state(call.required("chat_id"))
        if not state.chat.is_forum:
            raise bad_request("the chat is not a forum")
        if not state.chat.bot_is_admin:
            raise bad_request("not enough rights to create a topic")
        name = str(call.required("name"))
        color = call.integer("icon_color", TOPIC_ICON_COLORS[0])
        if not 1 <= len(name) <= 128:
            raise bad_request("TOPIC_NAME_INVALID")
        if color not in TOPIC_ICON_COLORS:
            raise bad_request("TOPIC_ICON_COLOR_INVALID")
        topic = self.state.create_topic(state, name, color, call.get("icon_custom_emoji_id"), self.state.bot_user)
        return topic.to_api()

    def _edit_forum_topic(self, call: ApiCall) -> bool:
        state, topic = self._topic_for_change(call)
        edited: JSON = {}
        if call.get("name"):
            topic.name = edited["name"] = str(call.get("name"))
        if "icon_custom_emoji_id" in call.params:
            topic.icon_custom_emoji_id = edited["icon_custom_emoji_id"] = call.get("icon_custom_emoji_id")
        if not edited:
            raise bad_request("TOPIC_NOT_MODIFIED")
        self.state.post_service_message(state, self.state.bot_user, {"forum_topic_edited": edited}, topic.thread_id)
        return True

    def _set_topic_closed(self, call: ApiCall, closed: bool) -> bool:
        state, topic = self._topic_for_change(call)
        if topic.closed == closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.closed = closed
        self.state.post_service_message(state, self.state.bot_user, {"forum_topic_closed" if closed else "forum_topic_reopened": {}}, topic.thread_id)
        return True

    def _delete_forum_topic(self, call: ApiCall) -> bool:
        state, topic = self._topic_for_change(call)
        self.state.remove_topic(state, topic)
        return True

    def _target_chat(self, call: ApiCall) -> ChatState:
        """The chat a message goes to, refused as Telegram refuses it (unknown, never started, blocked)."""
        state = self.state.chat_state(call.required("chat_id"))
        if state.chat.type == "private" and not state.started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        if state.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return state

    def _thread(self, state: ChatState, call: ApiCall) -> int | None:
        thread_id = call.integer("message_thread_id")
        if thread_id is None or not state.chat.is_forum:
            return None
        topic = state.topics.get(thread_id)
        if topic is None or topic.deleted:
            raise bad_request("message thread not found")
        return thread_id

    def _topic_for_change(self, call: ApiCall) -> tuple[ChatState, Topic]:
        state = self.state.chat_state(call.required("chat_id"))
        if not state.chat.bot_is_admin:
            raise bad_request("not enough rights to manage topics")
        topic = state.topics.get(call.required_int("message_thread_id"))
        if topic is None or topic.deleted:
            raise bad_request("TOPIC_ID_INVALID")
        return state, topic

    def _source_message(self, call: ApiCall, verb: str, participle: str) -> StoredMessage:
        source = self.state.chat_state(call.required("from_chat_id")).messages.get(call.required_int("message_id"))
        if source is None:
            raise bad_request(f"message to {verb} not found")
        if source.snapshot().is_service:
            raise bad_request(f"message can't be {participle}")
        return source

    def _editable(self, call: ApiCall) -> StoredMessage:
        if call.get("inline_message_id"):
            raise bad_request("inline messages are not supported by the sandbox")
        state = self.state.chat_state(call.required("chat_id"))
        if state.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        stored = state.messages.get(call.required_int("message_id"))
        if stored is None:
            raise bad_request("message to edit not found")
        if not stored.from_bot or stored.snapshot().is_service:
            raise bad_request("message can't be edited")
        return stored

    def _inline_markup(self, call: ApiCall) -> JSON | None:
        markup = call.get("reply_markup")
        if not markup:
            return None
        if not isinstance(markup, dict) or "inline_keyboard" not in markup:
            raise bad_request("inline keyboard expected")
        check_inline_keyboard(markup)
        return {"inline_keyboard": markup["inline_keyboard"]}

    def _reply_to(self, state: ChatState, call: ApiCall) -> JSON | None:
        parameters = call.get("reply_parameters") or {}
        if isinstance(parameters, str):
            parameters = json.loads(parameters)
        message_id = parameters.get("message_id", call.get("reply_to_message_id"))
        if message_id is None:
            return None
        source = self.state.chat_state(parameters.get("chat_id", state.chat.id))
        replied = source.messages.get(int(message_id))
        if replied is None:
            if parameters.get("allow_sending_without_reply") or call.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        return without_reply(replied.data)

    def _post_bot_message(self, state: ChatState, call: ApiCall, content: JSON, *, markup_allowed: bool = True) -> JSON:
        """Validate what remains, apply the sending limits, then store the message and return it."""
        thread_id = self._thread(state, call)
        reply_to = self._reply_to(state, call)
        markup = call.get("reply_markup") if markup_allowed else None
        new_keyboard = keyboard_change(markup)
        if self.state.rate_limiter is not None:
            retry_after = self.state.rate_limiter.admit(state.chat.id, state.chat.is_group, call.method)
            if retry_after is not None:
                raise ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
        message = self.state.new_message(state, self.state.bot_user, content, thread_id, reply_to)
        if markup and "inline_keyboard" in markup:
            message["reply_markup"] = {"inline_keyboard": markup["inline_keyboard"]}
        if new_keyboard is not None:
            state.reply_keyboard = new_keyboard or None
        if call.get("protect_content"):
            message["has_protected_content"] = True
        self.state.store(state, message, from_bot=True)
        self.state.sent_message_count += 1
        self.state.notify()
        return copy.deepcopy(message)

    def _media_file(self, call: ApiCall, kind: str) -> StoredFile:
        upload = call.uploads.get(kind)
        value = call.get(kind)
        if upload is None and isinstance(value, str) and value.startswith("attach://"):
            upload = call.uploads.get(value.removeprefix("attach://"))
        if upload is not None:
            return self.state.new_file(kind, upload.content, file_name=upload.filename, mime_type=upload.content_type)
        if not value:
            raise bad_request(f"there is no {kind} in the request")
        if value in self.state.files:
            return self.state.files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return self.state.new_file(kind, b"", file_name=value.rsplit("/", 1)[-1] or None)
        raise bad_request("wrong file identifier/HTTP URL specified")


def _content_of(message: JSON) -> JSON:
    """The part of a message that forwarding or copying carries over."""
    keys = ("text", "entities", "caption", "caption_entities", "photo", "document", "sticker", "voice", "contact")
    return {key: copy.deepcopy(message[key]) for key in keys if key in message}


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


