"""Reading a Bot API request as Telegram does: query, JSON, form or multipart parameters, text with entities, keyboards."""

import copy
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.json_input import loads_json
from bot.sandbox.bot_api_errors import bad_request
from bot.sandbox.chat_objects import JSON
from bot.sandbox.text_entities import EntityParseError, parse_markup, utf16_len

MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100  # buttons of one inline keyboard
# Parameters whose form value is always a plain string; every other form value is JSON-encoded by clients.
_STRING_PARAMS = frozenset({
    "text", "caption", "parse_mode", "callback_query_id", "url", "name", "description", "short_description",
    "language_code", "phone_number", "first_name", "last_name", "vcard", "emoji", "action", "file_id",
    "secret_token", "icon_custom_emoji_id", "title", "inline_message_id", "business_connection_id",
    "message_effect_id", "photo", "document", "sticker", "voice", "thumbnail", "ip_address",
})


@dataclass
class Upload:
    filename: str | None
    content_type: str | None
    content: bytes


@dataclass
class ApiCall:
    """One Bot API request: its parameters (decoded) and uploaded files."""

    method: str
    params: JSON
    uploads: dict[str, Upload]

    def get(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    def required(self, name: str) -> Any:
        value = self.params.get(name)
        if value is None or value == "":
            raise bad_request(f"{name} is empty")
        return value

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.params.get(name, default)
        if value is None:
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"field \"{name}\" must be of type Integer") from None

    def required_int(self, name: str) -> int:
        self.required(name)
        return self.integer(name) or 0



async def read_params(request: web.Request) -> tuple[JSON, dict[str, Upload]]:
    params: JSON = {key: _decode_form_value(key, value) for key, value in request.query.items()}
    uploads: dict[str, Upload] = {}
    if request.content_type == "application/json":
        raw = await request.text()
        body = loads_json(raw) if raw.strip() else {}
        if not isinstance(body, dict):
            raise ValueError("the JSON body is not an object")
        params.update(body)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                uploads[key] = Upload(value.filename, value.content_type, value.file.read())
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
        return loads_json(value)
    except ValueError:
        return value


def text_and_entities(call: ApiCall, text_name: str, entities_name: str, limit: int, what: str, *, optional: bool = False) -> tuple[str, list[JSON]]:
    raw = call.get(text_name)
    if raw is None and optional:
        return "", []
    raw = "" if raw is None else str(raw)
    explicit = call.get(entities_name)
    try:
        text, entities = (raw, list(explicit)) if explicit else parse_markup(raw, call.get("parse_mode"))
    except EntityParseError as problem:
        raise bad_request(f"can't parse entities: {problem}") from None
    if not text.strip() and not optional:
        raise bad_request(f"{what} is empty")
    length = utf16_len(text)  # Telegram counts UTF-16 code units: an emoji outside the BMP counts twice
    if length > limit:
        raise bad_request(f"{what} is too long")
    if any(e.get("offset", 0) + e.get("length", 0) > length for e in entities):
        raise bad_request("can't parse entities: entity beyond the end of the text")
    return text, entities


def check_inline_keyboard(markup: JSON) -> None:
    rows = markup.get("inline_keyboard")
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request("can't parse inline keyboard: field \"inline_keyboard\" must be an Array of Array")
    actions = ("callback_data", "url", "switch_inline_query", "switch_inline_query_current_chat",
               "switch_inline_query_chosen_chat", "web_app", "login_url", "callback_game", "pay", "copy_text")
    if sum(len(row) for row in rows) > MAX_INLINE_BUTTONS:
        raise bad_request("reply markup is too long")
    for button in (b for row in rows for b in row):
        if not button.get("text"):
            raise bad_request("can't parse inline keyboard button: Text must be non-empty")
        if sum(1 for action in actions if action in button) != 1:
            raise bad_request("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
        if "web_app" in button:
            check_web_app(button["web_app"])


def check_web_app(web_app: Any) -> None:
    """A WebAppInfo: Telegram opens only https pages; the sandbox also those of its own machine (the demo's)."""
    url = urlsplit(str(web_app.get("url", "")) if isinstance(web_app, dict) else "")
    local = url.scheme == "http" and url.hostname in ("127.0.0.1", "localhost", "::1")
    if not (url.scheme == "https" and url.hostname) and not local:
        raise bad_request("BUTTON_URL_INVALID")


def keyboard_change(markup: Any) -> JSON | None:
    """The reply keyboard a message puts in place: a keyboard, {} to remove it, or None for no change."""
    if markup is None or markup == "":
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        check_inline_keyboard(markup)
        return None
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not rows or not all(isinstance(row, list) and row for row in rows):
            raise bad_request("keyboard must be non-empty")
        for button in (b for row in rows for b in row):
            if not (button if isinstance(button, str) else button.get("text")):
                raise bad_request("keyboard button text is empty")
        return copy.deepcopy(markup)
    if markup.get("remove_keyboard") or markup.get("force_reply"):
        return {}
    return None

