"""The people, chats, messages and requests of the sandbox, as tests and the demo read them."""

import copy
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True)
class FakeUser:
    """A Telegram user the sandbox acts as."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"

    def to_api(self) -> JSON:
        user: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for name in ("last_name", "username", "language_code"):
            if getattr(self, name) is not None:
                user[name] = getattr(self, name)
        return user


@dataclass(frozen=True)
class FakeChat:
    """A private chat (id = the user's id), group or supergroup (negative ids), optionally a forum."""

    id: int
    type: str
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    is_forum: bool = False
    bot_is_admin: bool = False

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")

    def to_api(self) -> JSON:
        chat: JSON = {"id": self.id, "type": self.type}
        for name in ("title", "username", "first_name", "last_name"):
            if getattr(self, name) is not None:
                chat[name] = getattr(self, name)
        if self.is_forum:
            chat["is_forum"] = True
        return chat


@dataclass(frozen=True)
class RecordedRequest:
    """One Bot API request the bot made and what the server answered; `seq` counts from 0."""

    seq: int
    method: str
    params: JSON
    at: float
    status: int
    response: JSON

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> int | str | None:
        return self.params.get("chat_id")

    @property
    def result(self) -> Any:
        return self.response.get("result")


@dataclass(frozen=True)
class CallbackAnswer:
    """How the bot answered a button press (the toast or alert the user saw)."""

    text: str | None
    show_alert: bool
    url: str | None


@dataclass(frozen=True)
class ChatMessage:
    """A message as the user sees it now: edits applied; `raw` is the Bot API Message object."""

    chat_id: int
    message_id: int
    from_bot: bool
    raw: JSON = field(repr=False)
    edit_count: int = 0

    @classmethod
    def snapshot(cls, chat_id: int, message_id: int, from_bot: bool, raw: JSON, edit_count: int) -> "ChatMessage":
        return cls(chat_id, message_id, from_bot, copy.deepcopy(raw), edit_count)

    @property
    def text(self) -> str | None:
        """The text, or the caption of a photo or document."""
        return self.raw.get("text", self.raw.get("caption"))

    @property
    def entities(self) -> list[JSON]:
        return self.raw.get("entities", self.raw.get("caption_entities", []))

    @property
    def thread_id(self) -> int | None:
        return self.raw.get("message_thread_id")

    @property
    def is_service(self) -> bool:
        """A notice such as "topic created" rather than something someone wrote."""
        return not any(key in self.raw for key in _CONTENT_KEYS)

    @property
    def inline_keyboard(self) -> list[list[JSON]]:
        return (self.raw.get("reply_markup") or {}).get("inline_keyboard", [])

    @property
    def button_labels(self) -> list[str]:
        return [button["text"] for row in self.inline_keyboard for button in row]

    def callback_data(self, label: str) -> str:
        """The callback data of the inline button labelled `label`."""
        for row in self.inline_keyboard:
            for button in row:
                if button["text"] == label and "callback_data" in button:
                    return str(button["callback_data"])
        raise LookupError(f"no button {label!r} with callback data; buttons: {self.button_labels}")

    def to_json(self) -> JSON:
        return {
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "from_bot": self.from_bot,
            "edit_count": self.edit_count,
            "message": self.raw,
        }


_CONTENT_KEYS = (
    "text", "photo", "document", "sticker", "voice", "contact", "caption", "audio", "video",
    "animation", "location", "video_note", "poll", "dice",
)
