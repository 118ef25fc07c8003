"""What happened in the sandbox, as tests and the sandbox page read it: chats as their users see them, requests, waiting.

Read-only over the sandbox's state, except that waiting re-checks after every change.
"""

import asyncio
import copy
from collections.abc import Callable
from typing import TypeVar

from bot.sandbox.chat_objects import JSON, CallbackAnswer, ChatMessage, FakeChat, FakeUser, RecordedRequest
from bot.sandbox.sandbox_state import SandboxState, commands_key

T = TypeVar("T")


class Transcript(SandboxState):
    """The sandbox's chats, requests and updates as read by tests and the page, and waiting for them to change."""

    def requests(self, method: str | None = None, *, chat_id: int | str | None = None, since: int = 0) -> list[RecordedRequest]:
        """Recorded requests, oldest first, optionally of one method and one chat."""
        return [r for r in self.recorded[since:] if _matches(r, method, chat_id)]

    def checkpoint(self) -> int:
        """A mark in the request record, for `requests(since=...)` and `wait_for_request(since=...)`."""
        return len(self.recorded)

    @property
    def updates(self) -> list[JSON]:
        """Every update queued for the bot, duplicates included, in queue order."""
        return list(self._updates)

    def delivery_count(self, update_id: int) -> int:
        """How many getUpdates answers carried this update."""
        return self.deliveries[update_id]

    @property
    def pending_update_count(self) -> int:
        """Updates queued and not yet confirmed by the bot's next getUpdates offset."""
        return len(self.queue)

    def is_confirmed(self, update: JSON) -> bool:
        """Whether the bot fetched the update and confirmed it (so it sits in the bot's own queue or is done)."""
        return self.deliveries[update["update_id"]] > 0 and all(q.update is not update for q in self.queue)

    @property
    def users(self) -> list[FakeUser]:
        return list(self.known_users.values())

    @property
    def chats(self) -> list[FakeChat]:
        return [state.chat for state in self.chat_states.values() if state.started or state.chat.is_group]

    def user(self, user_id: int) -> FakeUser:
        return self.known_users[user_id]

    def chat(self, chat_id: int) -> FakeChat:
        return self.chat_states[chat_id].chat

    def transcript(self, chat_id: int, *, thread_id: int | None = None) -> list[ChatMessage]:
        """The chat as its user sees it now, oldest first: edits applied, deleted messages gone."""
        state = self.chat_states.get(chat_id)
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
        stored = self.chat_states[chat_id].messages.get(message_id)
        return stored.snapshot() if stored else None

    def reply_keyboard(self, chat_id: int) -> JSON | None:
        """The reply keyboard the bot shows in the chat, if any."""
        keyboard = self.chat_states[chat_id].reply_keyboard
        return copy.deepcopy(keyboard) if keyboard else None

    def chat_action(self, chat_id: int) -> str | None:
        """The last chat action ("typing", ...) the bot sent to the chat."""
        return self.chat_states[chat_id].last_action

    def callback_answer(self, update: JSON) -> CallbackAnswer | None:
        query = self.callback_queries.get(update["callback_query"]["id"])
        return query.answer if query else None

    def callback_answers(self, chat_id: int) -> list[tuple[int, CallbackAnswer]]:
        """(message id, answer) for every answered button press in the chat, oldest first."""
        return [(q.message_id, q.answer) for q in self.callback_queries.values() if q.chat_id == chat_id and q.answer]

    def topics(self, chat_id: int) -> list[JSON]:
        """The forum's open and closed topics (deleted ones left out)."""
        return [dict(t.to_api(), closed=t.closed) for t in self.chat_states[chat_id].topics.values() if not t.deleted]

    def commands(self, *, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """The command list the bot set for exactly this scope and language."""
        return copy.deepcopy(self.command_lists.get(commands_key(scope, language_code), []))

    def visible_commands(self, user: FakeUser, chat: FakeChat | None = None) -> list[JSON]:
        """The command menu `user` sees in `chat` (their private chat by default), by Telegram's scope order."""
        language = user.language_code or ""
        if chat is None or chat.type == "private":
            scopes: list[JSON] = [{"type": "chat", "chat_id": user.id}, {"type": "all_private_chats"}]
        else:
            status = self.chat_states[chat.id].members.get(user.id)
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
                found = self.command_lists.get(commands_key(scope, code))
                if found:
                    return copy.deepcopy(found)
        return []

    def profile(self, method: str, language_code: str = "") -> JSON | None:
        """What the bot last set with setMyName, setMyDescription or setMyShortDescription."""
        return self.profile_settings.get((method, language_code))

    def menu_button(self, chat_id: int | None = None) -> JSON:
        """The menu button a chat shows: its own, else the default one the bot set, else Telegram's."""
        return copy.deepcopy(self.menu_buttons.get(chat_id, self.menu_buttons.get(None, {"type": "default"})))

    @property
    def webhook(self) -> JSON:
        return dict(self.webhook_settings)

    # ---- waiting ----------------------------------------------------------------------------------

    async def wait_until(self, condition: Callable[[], T], timeout: float = 5.0, *, what: str = "a condition") -> T:
        """Wait for `condition()` to return something truthy, re-checking after every change; returns it."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            changed = self.changed
            value = condition()
            if value:
                return value
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                recent = ", ".join(f"{r.method}→{r.status}" for r in self.recorded[-8:])
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
            for recorded in self.recorded[scanned:]:
                if _matches(recorded, method, None) and (predicate is None or predicate(recorded)):
                    return recorded
            scanned = len(self.recorded)
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


def _matches(recorded: RecordedRequest, method: str | None, chat_id: int | str | None) -> bool:
    if method is not None and recorded.method.lower() != method.lower():
        return False
    return chat_id is None or str(recorded.chat_id) == str(chat_id)

