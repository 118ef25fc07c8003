"""The demo's sandbox page: a Telegram-like chat in the browser, for the people of `backorder-bot demo`.

    GET  /sandbox                    the page (bot/web/templates/sandbox.html; its script and styles are
                                     bot/web/static/sandbox.*, served with the console's static files)
    GET  /sandbox/api/cast           the demo's people, the support group, the bot, the shop and the demo's time
    POST /sandbox/api/customers      {first_name?, language?}: a new Telegram user the shop does not know
    POST /sandbox/api/next-day       move the demo's clock a day on and run the daily jobs
    POST /sandbox/api/console-link   a fresh one-time console sign-in link (bot/web/demo_sign_in.py)
    GET|POST /sandbox/console-sign-in?code=…   the link's page, and signing in with it
    /sandbox-api/...                 the sandbox server's own API (bot/sandbox/sandbox_http.py): act as a
                                     user, read a chat (long-polling for changes)

Everything a person does on the page goes through the sandbox server as a Telegram update, which the bot
fetches over the Bot API like any other; the page never calls the bot's handlers. Only "+1 day" runs code
of the bot's directly: the daily jobs, as a scheduler would.
"""

from typing import Any

from aiohttp import web

from bot.demo_stack import DemoStack, Persona
from bot.i18n import SUPPORTED_LANGUAGES
from bot.sandbox.sandbox_http import TELEGRAM_WEB_APP_JS, add_sandbox_routes
from bot.web.console.render import environment
from bot.web.demo_sign_in import add_sign_in_links
from bot.web.mini_app.page import TELEGRAM_JS
from bot.json_input import loads_json

DEMO = web.AppKey("demo", object)


def add_sandbox_page(app: web.Application, demo: DemoStack) -> None:
    """Mount the page, its endpoints and the sandbox server's API on the demo's web server."""
    app[DEMO] = demo
    app.router.add_get("/sandbox", sandbox_page)
    app.router.add_get("/sandbox/api/cast", cast)
    app.router.add_post("/sandbox/api/customers", new_customer)
    app.router.add_post("/sandbox/api/next-day", next_day)
    add_sandbox_routes(app, demo.fake)
    app[TELEGRAM_JS] = TELEGRAM_WEB_APP_JS  # the Mini App page loads the sandbox's stand-in of Telegram's script
    add_sign_in_links(app, demo.sign_in_links)


def _demo(request: web.Request) -> DemoStack:
    return request.config_dict[DEMO]  # type: ignore[return-value]


async def sandbox_page(request: web.Request) -> web.Response:
    demo = _demo(request)
    page = environment().get_template("sandbox.html").render(
        shop_name=demo.deps.settings.shop_name,
        bot_name=str(demo.fake.bot_user["first_name"]),
        bot_initial=str(demo.fake.bot_user["first_name"])[:1],
        group_title=demo.cast.support_group.title or "",
        agent_name=demo.cast.agent.name,
        merchant_name=demo.cast.merchant.name,
        customers=demo.cast.customers,
    )
    return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})


async def cast(request: web.Request) -> web.Response:
    demo = _demo(request)
    group = demo.cast.support_group
    return web.json_response({
        "bot": demo.fake.bot_user,
        "shop": {"name": demo.deps.settings.shop_name, "timezone": demo.deps.settings.shop_timezone},
        "clock": _clock(demo),
        "support_group": {**group.to_api(), "commands": demo.fake.visible_commands(demo.cast.agent.user, group)},
        "agent": _person(demo, demo.cast.agent),
        "merchant": _person(demo, demo.cast.merchant),
        "customers": [_person(demo, persona) for persona in demo.cast.customers],
    })


async def new_customer(request: web.Request) -> web.Response:
    try:
        body = loads_json(await request.read()) if request.can_read_body else {}
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object")
    language = str(body.get("language") or "en")
    if language not in SUPPORTED_LANGUAGES:
        raise web.HTTPBadRequest(text=f"language is one of {', '.join(SUPPORTED_LANGUAGES)}")
    demo = _demo(request)
    persona = demo.new_customer(str(body.get("first_name") or ""), language)
    return web.json_response(_person(demo, persona), status=201)


async def next_day(request: web.Request) -> web.Response:
    demo = _demo(request)
    await demo.next_day()
    return web.json_response({"clock": _clock(demo)})


def _person(demo: DemoStack, persona: Persona) -> dict[str, Any]:
    return {**persona.to_json(), "commands": demo.fake.visible_commands(persona.user)}


def _clock(demo: DemoStack) -> dict[str, Any]:
    return {"now": demo.clock.now().isoformat(), "today": demo.clock.today().isoformat()}
