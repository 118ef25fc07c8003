"""PTB's Bot over our aiohttp networking backend (bot/telegram_http.py), against the fake Bot API server."""

import socket
import time

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.constants import ParseMode
from telegram.error import Forbidden, NetworkError, RetryAfter, TimedOut

from bot.delivery.rate_limits import retry_after_seconds
from bot.sandbox import FakeBotApi, Fault
from bot.telegram_http import AiohttpRequest


def aiohttp_bot(fake: FakeBotApi, **request_options: float) -> Bot:
    return Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url, request=AiohttpRequest(2, **request_options))


async def test_messages_with_markup_and_keyboards_arrive_as_sent(fake_api: FakeBotApi) -> None:
    ada = fake_api.add_user("Ada")
    fake_api.send_command(ada, "start")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Cancel the headset", callback_data="c1:cancel:7")]])
    async with aiohttp_bot(fake_api) as bot:
        sent = await bot.send_message(ada.id, "Your <b>headset</b> ships on 4 Dec.", parse_mode=ParseMode.HTML, reply_markup=keyboard)

    [shown] = fake_api.bot_messages(ada.id)
    assert sent.message_id == shown.message_id
    assert shown.text == "Your headset ships on 4 Dec."
    assert [(e["type"], e["offset"], e["length"]) for e in shown.entities] == [("bold", 5, 7)]
    assert shown.raw["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "c1:cancel:7"


async def test_uploads_travel_as_multipart_and_downloads_come_back(fake_api: FakeBotApi) -> None:
    ada = fake_api.add_user("Ada")
    fake_api.send_command(ada, "start")
    content = b"%PDF-1.7 invoice 100231"
    async with aiohttp_bot(fake_api) as bot:
        sent = await bot.send_document(ada.id, InputFile(content, filename="invoice.pdf"), caption="Your invoice")
        downloaded = await (await bot.get_file(sent.document.file_id)).download_as_bytearray()

    assert fake_api.bot_messages(ada.id)[0].text == "Your invoice"
    assert sent.document.file_name == "invoice.pdf"
    assert bytes(downloaded) == content


async def test_telegram_refusals_become_ptb_errors(fake_api: FakeBotApi) -> None:
    ada = fake_api.add_user("Ada")
    fake_api.send_command(ada, "start")
    fake_api.inject_fault("sendMessage", Fault(status=429, description="Too Many Requests: retry after 3", retry_after=3))
    fake_api.inject_fault("sendMessage", Fault(status=403, description="Forbidden: bot was blocked by the user"))
    async with aiohttp_bot(fake_api) as bot:
        with pytest.raises(RetryAfter) as rate_limited:
            await bot.send_message(ada.id, "one")
        with pytest.raises(Forbidden, match="blocked"):
            await bot.send_message(ada.id, "two")

    assert retry_after_seconds(rate_limited.value) == 3
    assert fake_api.bot_messages(ada.id) == []


async def test_a_slow_answer_times_out_after_the_read_timeout(fake_api: FakeBotApi) -> None:
    ada = fake_api.add_user("Ada")
    fake_api.send_command(ada, "start")
    fake_api.inject_fault("sendMessage", Fault(delay=2.0))
    async with aiohttp_bot(fake_api, read_timeout=0.2) as bot:
        started = time.monotonic()
        with pytest.raises(TimedOut):
            await bot.send_message(ada.id, "slow")
        waited = time.monotonic() - started

    assert waited < 1.5


async def test_a_dropped_connection_is_a_network_error_not_a_timeout(fake_api: FakeBotApi) -> None:
    ada = fake_api.add_user("Ada")
    fake_api.send_command(ada, "start")
    fake_api.inject_fault("sendMessage", Fault(drop_connection=True))
    async with aiohttp_bot(fake_api) as bot:
        with pytest.raises(NetworkError) as dropped:
            await bot.send_message(ada.id, "lost")
        again = await bot.send_message(ada.id, "next")  # the pool recovers: the next call opens a new connection

    assert not isinstance(dropped.value, TimedOut)
    assert [m.message_id for m in fake_api.bot_messages(ada.id)] == [again.message_id]


async def test_an_unreachable_server_is_a_network_error() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bot = Bot("123:abc", base_url=f"http://127.0.0.1:{port}/bot", request=AiohttpRequest(1))
    await bot.request.initialize()
    try:
        with pytest.raises(NetworkError) as refused:
            await bot.get_me()
    finally:
        await bot.request.shutdown()

    assert not isinstance(refused.value, TimedOut)


async def test_calls_before_initialising_are_refused() -> None:
    request = AiohttpRequest()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request("http://127.0.0.1:1/bot123:abc/getMe", "POST")
