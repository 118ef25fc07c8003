"""The sandbox's own JSON API under /sandbox-api/: act as users, read chats, plan faults (for the browser demo).

    GET  /sandbox-api/state                          bot, users, chats, version
    POST /sandbox-api/users                          {first_name, last_name?, username?, language_code?}
    POST /sandbox-api/groups                         {title, supergroup?, forum?, bot_is_admin?}
    POST /sandbox-api/users/{user_id}/web-app        {url, color_scheme?}: the address the user's Telegram opens
                                                     for a web_app button, with initData signed as Telegram does
    POST /sandbox-api/users/{user_id}/{action}       text | command | button | keyboard-button | contact |
                                                     sticker | photo | voice | document | edit | block | unblock
    GET  /sandbox-api/telegram-web-app.js            the stand-in of Telegram's Mini App script (no internet here)
    GET  /sandbox-api/chats/{chat_id}?after_version=N&wait=S   the transcript; waits up to S s for a change
    GET  /sandbox-api/requests?since=N&method=M      what the bot asked the Bot API
    POST /sandbox-api/faults                         {method, kind, chat_id?, times?, retry_after?, status?, seconds?}
    PUT  /sandbox-api/rate-limits                    {per_chat_per_second?, per_group_per_minute?, global_per_second?}
    DELETE /sandbox-api/rate-limits
"""

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.json_input import loads_json
from bot.sandbox.chat_objects import JSON, ChatMessage, FakeUser
from bot.sandbox.faults import Fault
from bot.sandbox.rate_limits import RateLimits
from bot.sandbox.simulated_users import SimulatedUsers

MAX_WAIT_SECONDS = 30.0
TELEGRAM_WEB_APP_JS = "/sandbox-api/telegram-web-app.js"
_STAND_IN = Path(__file__).parent / "static" / "telegram-web-app.js"
Action = Callable[[SimulatedUsers, FakeUser, JSON], JSON | None]


def add_sandbox_routes(app: web.Application, fake: SimulatedUsers) -> None:
    handlers = _SandboxHandlers(fake)
    app.router.add_get("/sandbox-api/state", handlers.state)
    app.router.add_post("/sandbox-api/users", handlers.add_user)
    app.router.add_post("/sandbox-api/groups", handlers.add_group)
    app.router.add_post("/sandbox-api/users/{user_id}/web-app", handlers.open_web_app)
    app.router.add_post("/sandbox-api/users/{user_id}/{action}", handlers.user_action)
    app.router.add_get(TELEGRAM_WEB_APP_JS, telegram_web_app_js)
    app.router.add_get("/sandbox-api/chats/{chat_id}", handlers.chat)
    app.router.add_get("/sandbox-api/requests", handlers.requests)
    app.router.add_post("/sandbox-api/faults", handlers.add_fault)
    app.router.add_put("/sandbox-api/rate-limits", handlers.set_rate_limits)
    app.router.add_delete("/sandbox-api/rate-limits", handlers.clear_rate_limits)


def _message_in(fake: SimulatedUsers, body: JSON) -> ChatMessage:
    message = fake.message(int(body["chat_id"]), int(body["message_id"]))
    if message is None:
        raise ValueError("no such message")
    return message


def _chat_option(fake: SimulatedUsers, body: JSON) -> JSON:
    options: JSON = {}
    if body.get("chat_id") is not None:
        options["chat"] = fake.chat(int(body["chat_id"]))
    return options


_ACTIONS: dict[str, Action] = {
    "text": lambda fake, user, body: fake.send_text(
        user, str(body["text"]), thread_id=body.get("thread_id"), mention_bot=bool(body.get("mention_bot")), **_chat_option(fake, body)
    ),
    "command": lambda fake, user, body: fake.send_command(user, str(body["command"]), str(body.get("args", "")), **_chat_option(fake, body)),
    "button": lambda fake, user, body: fake.press_button(user, _message_in(fake, body), str(body["callback_data"])),
    "keyboard-button": lambda fake, user, body: fake.press_keyboard_button(user, str(body["label"])),
    "contact": lambda fake, user, body: fake.share_contact(user, str(body["phone"])),
    "sticker": lambda fake, user, body: fake.send_sticker(user, emoji=str(body.get("emoji", "👍"))),
    "photo": lambda fake, user, body: fake.send_photo(user, caption=body.get("caption")),
    "voice": lambda fake, user, body: fake.send_voice(user, duration=int(body.get("duration", 3))),
    "document": lambda fake, user, body: fake.send_document(user, file_name=str(body.get("file_name", "document.pdf")), caption=body.get("caption")),
    "edit": lambda fake, user, body: fake.edit_message(user, _message_in(fake, body), str(body["text"])),
    "block": lambda fake, user, body: fake.block_bot(user),
    "unblock": lambda fake, user, body: fake.unblock_bot(user),
}

_FAULTS: dict[str, Callable[[JSON], Fault]] = {
    "flood": lambda body: Fault.flood(int(body.get("retry_after", 5))),
    "server_error": lambda body: Fault.server_error(int(body.get("status", 500))),
    "blocked": lambda body: Fault.blocked(),
    "slow": lambda body: Fault.slow(float(body.get("seconds", 10))),
    "lost_connection": lambda body: Fault.lost_connection(),
}


def _problems_as_400(handler: Callable[[Any, web.Request], Awaitable[web.Response]]) -> Callable[[Any, web.Request], Awaitable[web.Response]]:
    """A request the sandbox cannot carry out is answered 400 with the reason, never 500."""

    async def wrapped(self: Any, request: web.Request) -> web.Response:
        try:
            return await handler(self, request)
        except (KeyError, LookupError, TypeError, ValueError) as problem:
            return web.json_response({"error": str(problem) or type(problem).__name__}, status=400)

    return wrapped


class _SandboxHandlers:
    def __init__(self, fake: SimulatedUsers) -> None:
        self.fake = fake

    async def state(self, request: web.Request) -> web.Response:
        return web.json_response({
            "bot": self.fake.bot_user,
            "users": [user.to_api() for user in self.fake.users],
            "chats": [chat.to_api() for chat in self.fake.chats],
            "version": self.fake.version,
        })

    @_problems_as_400
    async def add_user(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        user = self.fake.add_user(
            str(body.get("first_name", "Alex")),
            last_name=body.get("last_name"),
            username=body.get("username"),
            language_code=body.get("language_code", "en"),
        )
        return web.json_response(user.to_api(), status=201)

    @_problems_as_400
    async def add_group(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        chat = self.fake.add_group(
            str(body["title"]),
            supergroup=bool(body.get("supergroup", True)),
            forum=bool(body.get("forum", False)),
            bot_is_admin=bool(body.get("bot_is_admin", True)),
        )
        return web.json_response(chat.to_api(), status=201)

    @_problems_as_400
    async def user_action(self, request: web.Request) -> web.Response:
        action = _ACTIONS.get(request.match_info["action"])
        if action is None:
            raise web.HTTPNotFound(text=f"unknown action; one of {sorted(_ACTIONS)}")
        user = self.fake.user(int(request.match_info["user_id"]))
        update = action(self.fake, user, await _json_body(request))
        return web.json_response({"update": update})

    @_problems_as_400
    async def chat(self, request: web.Request) -> web.Response:
        chat_id = int(request.match_info["chat_id"])
        chat = self.fake.chat(chat_id)
        after = int(request.query.get("after_version", -1))
        wait = min(float(request.query.get("wait", 0)), MAX_WAIT_SECONDS)
        if wait > 0:
            try:
                await self.fake.wait_until(lambda: self.fake.version > after, wait)
            except TimeoutError:
                pass
        return web.json_response({
            "version": self.fake.version,
            "chat": chat.to_api(),
            "messages": [message.to_json() for message in self.fake.transcript(chat_id)],
            "reply_keyboard": self.fake.reply_keyboard(chat_id),
            "chat_action": self.fake.chat_action(chat_id),
            "callback_answers": [
                {"message_id": message_id, "text": answer.text, "show_alert": answer.show_alert}
                for message_id, answer in self.fake.callback_answers(chat_id)
            ],
            "topics": self.fake.topics(chat_id) if chat.is_forum else [],
            "menu_button": self.fake.menu_button(chat_id) if chat.type == "private" else None,
        })

    @_problems_as_400
    async def open_web_app(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        user = self.fake.user(int(request.match_info["user_id"]))
        url = self.fake.open_web_app(user, str(body["url"]), color_scheme=str(body.get("color_scheme", "light")))
        return web.json_response({"url": url})

    @_problems_as_400
    async def requests(self, request: web.Request) -> web.Response:
        recorded = self.fake.requests(request.query.get("method"), since=int(request.query.get("since", 0)))
        return web.json_response([
            {"seq": r.seq, "method": r.method, "params": r.params, "status": r.status, "response": r.response}
            for r in recorded
        ])

    @_problems_as_400
    async def add_fault(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        fault = _FAULTS[str(body["kind"])](body)
        self.fake.inject_fault(str(body["method"]), fault, chat_id=body.get("chat_id"), times=int(body.get("times", 1)))
        return web.json_response({"planned": True}, status=201)

    @_problems_as_400
    async def set_rate_limits(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        fields = ("per_chat_per_second", "per_group_per_minute", "global_per_second")
        self.fake.enforce_rate_limits(RateLimits(**{name: int(body[name]) for name in fields if name in body}))
        return web.json_response({"violations": len(self.fake.rate_limit_violations)})

    async def clear_rate_limits(self, request: web.Request) -> web.Response:
        violations = len(self.fake.rate_limit_violations)
        self.fake.enforce_rate_limits(None)
        return web.json_response({"violations": violations})


async def _json_body(request: web.Request) -> JSON:
    if not request.can_read_body:
        return {}
    body = loads_json(await request.read())
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


async def telegram_web_app_js(request: web.Request) -> web.Response:
    return web.Response(body=_STAND_IN.read_bytes(), content_type="application/javascript", headers={"Cache-Control": "no-cache"})
