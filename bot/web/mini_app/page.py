"""The customers' Mini App page: a small shell whose script signs in with Telegram's `initData` and draws the items.

The page itself holds nothing personal (the items come from the JSON API, signed in), so it may be cached
briefly; it loads Telegram's own `telegram-web-app.js`, or the sandbox's stand-in of it in the demo.
"""

from aiohttp import web

from bot.composition import MINI_APP_PATH
from bot.web.console.render import environment
from bot.web.mini_app.api import add_mini_app_api

TELEGRAM_WEB_APP_JS = "https://telegram.org/js/telegram-web-app.js"
# Where the page loads Telegram's Mini App script from; the demo sets its sandbox's stand-in.
TELEGRAM_JS = web.AppKey("mini_app_telegram_js", str)
_HEADERS = {
    "Cache-Control": "no-cache",
    "Referrer-Policy": "no-referrer",
    # Telegram's web clients show Mini Apps in a frame of their own, so no frame-ancestors rule here.
    "Content-Security-Policy": "default-src 'self'; script-src 'self' https://telegram.org; style-src 'self';"
    " img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'",
}


def add_mini_app(app: web.Application) -> None:
    """Mount the page and its API."""
    app.router.add_get(MINI_APP_PATH, mini_app_page)
    add_mini_app_api(app)


async def mini_app_page(request: web.Request) -> web.Response:
    telegram_js = request.config_dict.get(TELEGRAM_JS, TELEGRAM_WEB_APP_JS)
    page = environment().get_template("mini_app.html").render(telegram_js=telegram_js)
    return web.Response(text=page, content_type="text/html", headers=_HEADERS)
