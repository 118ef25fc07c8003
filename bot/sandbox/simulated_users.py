"""The people of the sandbox: Telegram users who write, tap buttons, share contacts, edit and block, as the bot sees it.

Each action changes the sandbox's state as Telegram would and queues the update the bot then fetches.
"""

import copy
import json
import secrets
from datetime import datetime, timezone
from types import EllipsisType
from typing import Any
from urllib.parse import urlencode

from bot.sandbox.chat_objects import JSON, ChatMessage, FakeChat, FakeUser
from bot.sandbox.sandbox_state import TOPIC_ICON_COLORS, ChatState, PendingCallbackQuery, QueuedUpdate, media_object, without_reply
from bot.sandbox.text_entities import detect_entities
from bot.sandbox.transcript import Transcript
from bot.telegram_init_data import WebAppUser, init_data_for

# Telegram's theme parameters as its clients pass them to a Mini App (a subset of the keys of themeParams).
WEB_APP_THEMES: dict[str, JSON] = {
    "light": {
        "bg_color": "#ffffff", "text_color": "#000000", "hint_color": "#707579", "link_color": "#3390ec",
        "button_color": "#3390ec", "button_text_color": "#ffffff", "secondary_bg_color": "#f4f4f5",
        "destructive_text_color": "#e53935",
    },
    "dark": {
        "bg_color": "#212121", "text_color": "#ffffff", "hint_color": "#aaaaaa", "link_color": "#8774e1",
        "button_color": "#8774e1", "button_text_color": "#ffffff", "secondary_bg_color": "#0f0f0f",
        "destructive_text_color": "#ff595a",
    },
}
WEB_APP_VERSION = "8.0"


class SandboxError(ValueError):
    """A simulated user action that no real Telegram client could perform."""


class SimulatedUsers(Transcript):
    """Users acting in their chats; they see the chats as the transcript shows them."""

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
        self.known_users[user.id] = user
        self.chat_states.setdefault(user.id, ChatState(FakeChat(user.id, "private", username=username, first_name=first_name, last_name=last_name)))
        self.notify()
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
        self.chat_states[chat_id] = ChatState(chat, started=True)
        self.notify()
        return chat

    def open_topic(self, chat: FakeChat, name: str, *, by: FakeUser | None = None) -> int:
        """A forum topic created by a member (or by the bot when `by` is None); returns its thread id."""
        state = self.chat_states[chat.id]
        if not chat.is_forum:
            raise SandboxError(f"{chat.title!r} is not a forum")
        sender = by.to_api() if by else self.bot_user
        topic = self.create_topic(state, name, TOPIC_ICON_COLORS[0], None, sender)
        if by is not None:
            self.enqueue({"message": copy.deepcopy(state.messages[topic.thread_id].data)}, state)
        return topic.thread_id

    def delete_topic(self, chat: FakeChat, thread_id: int) -> None:
        """An admin deletes a forum topic and everything in it; sending into it then fails with "message thread not found"."""
        state = self.chat_states[chat.id]
        topic = state.topics.get(thread_id)
        if topic is None or topic.deleted:
            raise SandboxError(f"there is no topic {thread_id} in {chat.title!r}")
        self.remove_topic(state, topic)

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
        state = self.chat_states[message.chat_id]
        stored = state.messages.get(message.message_id)
        if stored is None:
            raise SandboxError("that message is no longer in the chat")
        current = stored.snapshot()
        buttons = [b.get("callback_data") for row in current.inline_keyboard for b in row]
        if require_button and callback_data not in buttons:
            raise SandboxError(f"the message has no button with callback data {callback_data!r}; it has {buttons}")
        self._ensure_not_blocked(state)
        query_id = str(next(self._query_ids))
        self.callback_queries[query_id] = PendingCallbackQuery(state.chat.id, message.message_id)
        query = {
            "id": query_id,
            "from": user.to_api(),
            "message": copy.deepcopy(stored.data),
            "chat_instance": str(abs(state.chat.id) * 7919 % 10**18),
            "data": callback_data,
        }
        return self.enqueue({"callback_query": query}, state)

    def press_keyboard_button(self, user: FakeUser, label: str) -> JSON | None:
        """The user taps a button of the reply keyboard the bot shows them (sharing their phone if it asks)."""
        state = self.chat_states[user.id]
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
        stored = self.new_file("sticker", b"RIFF-sandbox-sticker")
        sticker = {**media_object("sticker", stored), "emoji": emoji}
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
        stored = self.new_file("photo", content)
        return self._user_message(user, _with_caption({"photo": media_object("photo", stored)}, caption), chat, thread_id, None)

    def send_voice(
        self,
        user: FakeUser,
        *,
        duration: int = 3,
        content: bytes = b"OggS-sandbox-voice",
        chat: FakeChat | None = None,
        thread_id: int | None = None,
    ) -> JSON | None:
        stored = self.new_file("voice", content)
        voice = {**media_object("voice", stored), "duration": duration}
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
        stored = self.new_file("document", content, file_name=file_name, mime_type=mime_type)
        return self._user_message(user, _with_caption({"document": media_object("document", stored)}, caption), chat, thread_id, None)

    def edit_message(self, user: FakeUser, message: ChatMessage, new_text: str) -> JSON | None:
        """The user edits a text message they sent; the bot gets an `edited_message` update."""
        state = self.chat_states[message.chat_id]
        stored = state.messages.get(message.message_id)
        if stored is None or stored.from_bot or stored.data["from"]["id"] != user.id or "text" not in stored.data:
            raise SandboxError("users can edit only text messages they sent themselves")
        self._ensure_not_blocked(state)
        stored.data["text"] = new_text
        stored.data.pop("entities", None)
        entities = detect_entities(new_text)
        if entities:
            stored.data["entities"] = entities
        stored.data["edit_date"] = self.timestamp()
        stored.edit_count += 1
        edited = copy.deepcopy(stored.data)
        if not self._passes_privacy(state, edited):
            self.notify()
            return None
        return self.enqueue({"edited_message": edited}, state)

    def block_bot(self, user: FakeUser) -> JSON:
        """The user blocks the bot: a `my_chat_member` update, then 403 for everything sent to them."""
        state = self._private_chat(user)
        state.blocked = True
        return self.enqueue(self._membership_change(user, "member", "kicked"), state)

    def unblock_bot(self, user: FakeUser) -> JSON:
        state = self._private_chat(user)
        state.blocked = False
        return self.enqueue(self._membership_change(user, "kicked", "member"), state)

    def set_member_status(self, chat: FakeChat, user: FakeUser, status: str) -> None:
        """What getChatMember answers for `user` in a group: creator, administrator, member, left or kicked."""
        self.chat_states[chat.id].members[user.id] = status

    def deliver_duplicate(self, update: JSON) -> JSON:
        """Queue an update again with the same update_id, as Telegram does when it was not confirmed."""
        duplicate = copy.deepcopy(update)
        self.queue.append(QueuedUpdate(duplicate))
        self._updates.append(duplicate)
        self.notify()
        return duplicate

    def web_app_init_data(self, user: FakeUser) -> str:
        """The `initData` Telegram hands a Mini App `user` opens now: signed with the bot's token, as Telegram signs it."""
        person = WebAppUser(user.id, user.first_name, user.last_name, user.username, user.language_code)
        signed_at = datetime.fromtimestamp(self.timestamp(), timezone.utc)
        return init_data_for(person, self.token, signed_at, query_id="AA" + secrets.token_urlsafe(16))

    def open_web_app(self, user: FakeUser, url: str, *, color_scheme: str = "light") -> str:
        """The address a Telegram client loads for a web_app button: `url` with the launch parameters in its fragment."""
        if color_scheme not in WEB_APP_THEMES:
            raise SandboxError(f"no {color_scheme!r} theme: light or dark")
        launch = {
            "tgWebAppData": self.web_app_init_data(user),
            "tgWebAppVersion": WEB_APP_VERSION,
            "tgWebAppPlatform": "web",
            "tgWebAppThemeParams": json.dumps(WEB_APP_THEMES[color_scheme], separators=(",", ":")),
        }
        return f"{url.split('#', 1)[0]}#{urlencode(launch)}"

    def _user_message(self, user: FakeUser, content: JSON, chat: FakeChat | None, thread_id: int | None, reply_to: ChatMessage | None) -> JSON | None:
        state = self._private_chat(user) if chat is None or chat.id == user.id else self.chat_states[chat.id]
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
            replied = without_reply(original.data)
        if state.chat.is_group and user.id not in state.members:
            state.members[user.id] = "member"
        message = self.new_message(state, user.to_api(), content, topic_id, replied)
        self.store(state, message, from_bot=False)
        if not self._passes_privacy(state, message):
            self.notify()
            return None
        return self.enqueue({"message": copy.deepcopy(message)}, state)

    def _private_chat(self, user: FakeUser) -> ChatState:
        if user.id not in self.known_users:
            raise SandboxError(f"{user.first_name} was not added with add_user()")
        state = self.chat_states[user.id]
        state.started = True
        return state

    def _ensure_not_blocked(self, state: ChatState) -> None:
        if state.blocked:
            raise SandboxError("the user has blocked the bot; call unblock_bot() first")

    def _passes_privacy(self, state: ChatState, message: JSON) -> bool:
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

        change = {"chat": self.chat_states[user.id].chat.to_api(), "from": user.to_api(), "date": self.timestamp(),
                  "old_chat_member": member(old), "new_chat_member": member(new)}
        return {"my_chat_member": change}



def _with_caption(content: JSON, caption: str | None) -> JSON:
    if caption:
        content["caption"] = caption
        entities = detect_entities(caption)
        if entities:
            content["caption_entities"] = entities
    return content

