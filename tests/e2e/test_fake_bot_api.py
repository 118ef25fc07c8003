"""The fake Bot API server, driven by a real python-telegram-bot Application over HTTP.

A bare echo bot stands in for ours: what the tests check is that a user's action reaches PTB as Telegram
would deliver it, and that what PTB sends comes back as Telegram would answer (including its errors).
"""

import asyncio

import aiohttp
import pytest
from telegram import (
    BotCommand,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatAction, ChatMemberStatus, ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.helpers import escape_markdown

from bot.delivery.rate_limits import retry_after_seconds
from bot.sandbox import FakeBotApi, Fault, RateLimits
from tests.e2e.harness import application_builder, running_bot

COLOURS = {"c1:red": "red", "c1:blue": "blue"}


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offer two buttons."""
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(colour.title(), callback_data=data) for data, colour in COLOURS.items()]])
    await update.effective_message.reply_text("Pick a colour", reply_markup=keyboard)


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Say the text back (new and edited messages alike)."""
    await update.effective_message.reply_text(update.effective_message.text)


async def describe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Say what kind of non-text message arrived, with the detail a bot would use."""
    message = update.effective_message
    if message.contact:
        detail = f"contact {message.contact.phone_number} of user {message.contact.user_id}"
    elif message.photo:
        file = await message.photo[-1].get_file()
        detail = f"photo of {len(await file.download_as_bytearray())} bytes"
    elif message.document:
        detail = f"document {message.document.file_name}"
    elif message.voice:
        detail = f"voice {message.voice.mime_type}"
    else:
        detail = f"sticker {message.sticker.emoji}"
    await message.reply_text(detail)


async def choose(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the press first (the client shows a spinner until then), then edit the message in place."""
    query = update.callback_query
    colour = COLOURS[query.data]
    await query.answer(f"You chose {colour}")
    await query.edit_message_text(f"Colour: {colour}")


async def note_membership(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    context.bot_data.setdefault("membership", []).append(update.my_chat_member.new_chat_member.status)


def build_echo_app(fake: FakeBotApi) -> Application:
    app = application_builder(fake).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(MessageHandler(filters.CONTACT | filters.PHOTO | filters.Document.ALL | filters.VOICE | filters.Sticker.ALL, describe))
    app.add_handler(CallbackQueryHandler(choose))
    app.add_handler(ChatMemberHandler(note_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    return app


async def test_a_users_text_is_echoed_into_their_chat(fake_api: FakeBotApi) -> None:
    ada = fake_api.add_user("Ada", username="ada_l", language_code="en")
    async with running_bot(fake_api, build_echo_app):
        update = fake_api.send_text(ada, "Where is my order?")
        reply = await fake_api.wait_for_reply(update)

    assert reply.text == "Where is my order?"
    assert reply.raw["from"]["username"] == fake_api.bot_user["username"]
    assert "reply_to_message" not in reply.raw  # PTB quotes the message it answers only in groups
    transcript = fake_api.transcript(ada.id)
    assert [(m.from_bot, m.text) for m in transcript] == [(False, "Where is my order?"), (True, "Where is my order?")]
    assert transcript[0].message_id < transcript[1].message_id
    sent = fake_api.requests("sendMessage", chat_id=ada.id)
    assert [r.params["text"] for r in sent] == ["Where is my order?"]


async def test_a_button_press_is_answered_and_the_message_edited_in_place(fake_api: FakeBotApi) -> None:
    ada = fake_api.add_user("Ada")
    async with running_bot(fake_api, build_echo_app):
        menu = await fake_api.wait_for_reply(fake_api.send_command(ada, "start"))
        assert menu.button_labels == ["Red", "Blue"]
        press = fake_api.press_button(ada, menu, menu.callback_data("Blue"))
        answer = await fake_api.wait_for_callback_answer(press)
        edited = await fake_api.wait_for_edit(menu)

    assert answer.text == "You chose blue" and not answer.show_alert
    assert edited.message_id == menu.message_id
    assert edited.text == "Colour: blue"
    assert edited.button_labels == []  # an edit without reply_markup removes the keyboard, as on Telegram
    assert [m.text for m in fake_api.transcript(ada.id)] == ["/start", "Colour: blue"]


async def test_forged_callback_data_reaches_the_bot_only_when_asked_for(fake_api: FakeBotApi) -> None:
    ada = fake_api.add_user("Ada")
    async with running_bot(fake_api, build_echo_app) as bot:
        menu = await fake_api.wait_for_reply(fake_api.send_command(ada, "start"))
        with pytest.raises(ValueError, match="no button"):
            fake_api.press_button(ada, menu, "c1:green")
        forged = fake_api.press_button(ada, menu, "c1:green", require_button=False)
        error = await bot.wait_for_error()

    assert forged["callback_query"]["data"] == "c1:green"
    assert isinstance(error, KeyError)  # the echo bot trusts callback data; ours must not


async def test_a_duplicate_update_reaches_the_bot_twice(fake_api: FakeBotApi) -> None:
    ada = fake_api.add_user("Ada")
    async with running_bot(fake_api, build_echo_app):
        update = fake_api.send_text(ada, "once")
        first = await fake_api.wait_for_reply(update)
        fake_api.deliver_duplicate(update)
        replies = await fake_api.wait_for_messages(ada.id, 2, after_message_id=first.message_id - 1)

    assert fake_api.delivery_count(update["update_id"]) == 2
    assert [m.text for m in replies] == ["once", "once"]  # de-duplicating is the bot's job, not the server's


async def test_flood_control_answers_429_and_ptb_raises_retry_after(fake_api: FakeBotApi) -> None:
    ada = fake_api.add_user("Ada")
    fake_api.inject_fault("sendMessage", Fault.flood(retry_after=7), chat_id=ada.id)
    async with running_bot(fake_api, build_echo_app) as bot:
        fake_api.send_text(ada, "first")
        error = await bot.wait_for_error()
        later = await fake_api.wait_for_reply(fake_api.send_text(ada, "second"))

    refused = fake_api.requests("sendMessage")[0]

    assert refused.status == 429
    assert refused.response["parameters"] == {"retry_after": 7}
    assert refused.params["text"] == "first"
    assert isinstance(error, RetryAfter) and retry_after_seconds(error) == 7
    assert later.text == "second"
    assert [m.text for m in fake_api.bot_messages(ada.id)] == ["second"]


async def test_a_blocked_bot_gets_403_until_the_user_unblocks_it(fake_api: FakeBotApi) -> None:
    ada = fake_api.add_user("Ada")
    async with running_bot(fake_api, build_echo_app) as bot:
        fake_api.inject_fault("sendMessage", Fault.blocked(), chat_id=ada.id)
        fake_api.send_text(ada, "hello")
        assert isinstance(await bot.wait_for_error(), Forbidden)
        assert fake_api.requests("sendMessage")[0].status == 403

        await bot.settle(fake_api.block_bot(ada))
        assert bot.application.bot_data["membership"] == ["kicked"]
        for _ in range(2):
            with pytest.raises(Forbidden, match="bot was blocked by the user"):
                await bot.application.bot.send_message(ada.id, "Your item is back in stock")
        with pytest.raises(ValueError, match="blocked"):
            fake_api.send_text(ada, "a blocked chat has no input field")

        await bot.settle(fake_api.unblock_bot(ada))
        assert bot.application.bot_data["membership"] == ["kicked", "member"]
        await bot.application.bot.send_message(ada.id, "Your item is back in stock")

    assert [m.text for m in fake_api.bot_messages(ada.id)] == ["Your item is back in stock"]


async def test_a_wrong_token_is_rejected_with_401(fake_api: FakeBotApi) -> None:
    def with_wrong_token(fake: FakeBotApi) -> Application:
        return application_builder(fake, token="7000000001:not-the-token").build()

    with pytest.raises(InvalidToken):
        async with running_bot(fake_api, with_wrong_token):
            pass

    rejected = fake_api.requests("getMe")
    assert [r.status for r in rejected] == [401]
    assert rejected[0].response == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_commands_are_stored_per_language_and_shown_by_the_users_language(fake_api: FakeBotApi) -> None:
    english = [BotCommand("start", "Start over"), BotCommand("orders", "My backorders")]
    german = [BotCommand("start", "Neu beginnen"), BotCommand("orders", "Meine Rückstände")]
    ada, jonas, ines = fake_api.add_user("Ada"), fake_api.add_user("Jonas", language_code="de"), fake_api.add_user("Inês", language_code="pt")
    async with running_bot(fake_api, build_echo_app) as bot:
        await bot.application.bot.set_my_commands(english)
        await bot.application.bot.set_my_commands(german, language_code="de")
        fetched = await bot.application.bot.get_my_commands(scope=BotCommandScopeDefault(), language_code="de")

    assert [c.description for c in fetched] == ["Neu beginnen", "Meine Rückstände"]
    assert fake_api.commands(language_code="de")[1] == {"command": "orders", "description": "Meine Rückstände"}
    assert [c["description"] for c in fake_api.visible_commands(jonas)] == ["Neu beginnen", "Meine Rückstände"]
    assert [c["description"] for c in fake_api.visible_commands(ada)] == ["Start over", "My backorders"]
    assert fake_api.visible_commands(ines) == fake_api.visible_commands(ada)


async def test_a_restarted_bot_carries_on_without_redelivered_updates(fake_api: FakeBotApi) -> None:
    ada = fake_api.add_user("Ada")
    async with running_bot(fake_api, build_echo_app) as bot:
        before = fake_api.send_text(ada, "before restart")
        await fake_api.wait_for_reply(before)
        await bot.restart()
        after = fake_api.send_text(ada, "after restart")
        await fake_api.wait_for_reply(after)

    assert fake_api.delivery_count(before["update_id"]) == 1
    assert [m.text for m in fake_api.bot_messages(ada.id)] == ["before restart", "after restart"]
    assert fake_api.pending_update_count == 0


async def test_an_edit_with_identical_content_is_refused_as_not_modified(fake_api: FakeBotApi) -> None:
    ada = fake_api.add_user("Ada")
    async with running_bot(fake_api, build_echo_app) as bot:
        reply = await fake_api.wait_for_reply(fake_api.send_text(ada, "same"))
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.application.bot.edit_message_text("same", chat_id=ada.id, message_id=reply.message_id)
        with pytest.raises(BadRequest, match="Message to edit not found"):
            await bot.application.bot.edit_message_text("other", chat_id=ada.id, message_id=reply.message_id + 50)
        await bot.application.bot.delete_message(ada.id, reply.message_id)

    assert [m.text for m in fake_api.transcript(ada.id)] == ["same"]


async def test_html_is_rendered_to_entities_and_broken_markup_refused(fake_api: FakeBotApi) -> None:
    ada = fake_api.add_user("Ada")
    async with running_bot(fake_api, build_echo_app) as bot:
        await fake_api.wait_for_reply(fake_api.send_text(ada, "hi"))
        sent = await bot.application.bot.send_message(ada.id, "ETA <b>4 Dec</b> &amp; counting", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match="parse entities"):
            await bot.application.bot.send_message(ada.id, "ETA 4.12.", parse_mode=ParseMode.MARKDOWN_V2)

    assert sent.text == "ETA 4 Dec & counting"
    shown = fake_api.message(ada.id, sent.message_id)
    assert shown is not None and shown.entities == [{"type": "bold", "offset": 4, "length": 5}]


async def test_markdown_v2_escaped_by_ptb_renders_with_utf16_offsets(fake_api: FakeBotApi) -> None:
    ada = fake_api.add_user("Ada")
    product = "Mug (blue) - 0.5l!"
    async with running_bot(fake_api, build_echo_app) as bot:
        await fake_api.wait_for_reply(fake_api.send_text(ada, "hi"))
        sent = await bot.application.bot.send_message(
            ada.id,
            f"📦 *{escape_markdown(product, version=2)}* [track](https://shop.example/t?id=1)",
            parse_mode=ParseMode.MARKDOWN_V2,
        )

    assert sent.text == f"📦 {product} track"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 3, len(product)), ("text_link", 4 + len(product), 5)]
    assert sent.entities[1].url == "https://shop.example/t?id=1"


async def test_a_deleted_forum_topic_refuses_later_messages(fake_api: FakeBotApi) -> None:
    agents = fake_api.add_group("Support agents", forum=True)
    bea = fake_api.add_user("Bea")
    async with running_bot(fake_api, build_echo_app) as bot:
        topic = await bot.application.bot.create_forum_topic(agents.id, "Ticket 17 · Ada")
        await bot.application.bot.send_message(agents.id, "Customer asks about order 1001", message_thread_id=topic.message_thread_id)
        update = fake_api.send_text(bea, "On it", chat=agents, thread_id=topic.message_thread_id)
        echoed = await fake_api.wait_for_reply(update)
        await bot.application.bot.delete_forum_topic(agents.id, topic.message_thread_id)
        with pytest.raises(BadRequest, match="Message thread not found"):
            await bot.application.bot.send_message(agents.id, "too late", message_thread_id=topic.message_thread_id)

    message = update["message"]
    assert message["is_topic_message"] is True and message["message_thread_id"] == topic.message_thread_id
    assert message["reply_to_message"]["forum_topic_created"]["name"] == "Ticket 17 · Ada"
    assert echoed.thread_id == topic.message_thread_id
    assert fake_api.topics(agents.id) == []
    assert fake_api.transcript(agents.id) == []


async def test_a_bot_in_privacy_mode_sees_only_mentions_and_commands_in_groups(fake_api: FakeBotApi) -> None:
    group = fake_api.add_group("Shop regulars", supergroup=False, bot_is_admin=False)
    ada = fake_api.add_user("Ada")
    async with running_bot(fake_api, build_echo_app):
        assert fake_api.send_text(ada, "chatting among ourselves", chat=group) is None
        mention = fake_api.send_text(ada, "are you there?", chat=group, mention_bot=True)
        reply = await fake_api.wait_for_reply(mention)

    assert mention["message"]["chat"]["type"] == "group"
    assert reply.text == f"@{fake_api.bot_user['username']} are you there?"
    assert len(fake_api.transcript(group.id)) == 3  # the unseen message is still in the group


async def test_users_media_and_contacts_arrive_as_telegram_shapes(fake_api: FakeBotApi) -> None:
    ada = fake_api.add_user("Ada", last_name="Lovelace")
    async with running_bot(fake_api, build_echo_app):
        contact = await fake_api.wait_for_reply(fake_api.share_contact(ada, "+4915112345678"))
        someone_else = await fake_api.wait_for_reply(fake_api.share_contact(ada, "+4915100000000", user_id=None, first_name="Bob"))
        photo = await fake_api.wait_for_reply(fake_api.send_photo(ada, content=b"x" * 321))
        document = await fake_api.wait_for_reply(fake_api.send_document(ada, file_name="invoice.pdf"))
        voice = await fake_api.wait_for_reply(fake_api.send_voice(ada, duration=4))
        sticker = await fake_api.wait_for_reply(fake_api.send_sticker(ada, emoji="🎉"))
        typed = fake_api.send_text(ada, "typo")
        await fake_api.wait_for_reply(typed)
        fake_api.edit_message(ada, fake_api.message(ada.id, typed["message"]["message_id"]), "fixed")
        edited_reply = await fake_api.wait_for_messages(ada.id, 8)

    assert contact.text == f"contact +4915112345678 of user {ada.id}"
    assert someone_else.text == "contact +4915100000000 of user None"
    assert photo.text == "photo of 321 bytes"
    assert document.text == "document invoice.pdf"
    assert voice.text == "voice audio/ogg"
    assert sticker.text == "sticker 🎉"
    assert edited_reply[-1].text == "fixed"
    assert fake_api.message(ada.id, typed["message"]["message_id"]).edit_count == 1


async def test_server_errors_and_lost_connections_reach_ptb_as_network_errors(fake_api: FakeBotApi) -> None:
    ada = fake_api.add_user("Ada")
    async with running_bot(fake_api, build_echo_app) as bot:
        await fake_api.wait_for_reply(fake_api.send_text(ada, "hi"))
        fake_api.inject_fault("sendMessage", Fault.server_error(502), chat_id=ada.id)
        fake_api.inject_fault("sendMessage", Fault.lost_connection(), chat_id=ada.id)
        for _ in range(2):
            with pytest.raises(NetworkError):
                await bot.application.bot.send_message(ada.id, "Your item ships today")
        await bot.application.bot.send_message(ada.id, "Your item ships today")

    assert [r.status for r in fake_api.requests("sendMessage")] == [200, 502, 0, 200]
    assert [m.text for m in fake_api.bot_messages(ada.id)] == ["hi", "Your item ships today"]


async def test_a_slow_answer_times_the_client_out_yet_the_message_arrives(fake_api: FakeBotApi) -> None:
    ada = fake_api.add_user("Ada")
    async with running_bot(fake_api, build_echo_app) as bot:
        await fake_api.wait_for_reply(fake_api.send_text(ada, "hi"))
        fake_api.inject_fault("sendMessage", Fault.slow(0.5))
        with pytest.raises(TimedOut):
            await bot.application.bot.send_message(ada.id, "Your refund is on its way", read_timeout=0.05)
        arrived = await fake_api.wait_for_messages(ada.id, 2)

    assert arrived[-1].text == "Your refund is on its way"  # a retry would now send it twice


async def test_the_rate_limit_enforcer_refuses_and_counts_a_burst(fake_api: FakeBotApi) -> None:
    now = [1000.0]
    limited = FakeBotApi(monotonic=lambda: now[0])
    async with limited:
        ada = limited.add_user("Ada")
        async with running_bot(limited, build_echo_app) as bot:
            await limited.wait_for_reply(limited.send_text(ada, "hi"))
            limited.enforce_rate_limits(RateLimits(per_chat_per_second=1, per_group_per_minute=20, global_per_second=30))
            await bot.application.bot.send_message(ada.id, "one")
            with pytest.raises(RetryAfter):
                await bot.application.bot.send_message(ada.id, "two")
            now[0] += 1.0
            await bot.application.bot.send_message(ada.id, "two")

        assert [v.scope for v in limited.rate_limit_violations] == ["chat"]
        assert limited.rate_limit_violations[0].retry_after == 1
        assert [m.text for m in limited.bot_messages(ada.id)] == ["hi", "one", "two"]


async def test_json_form_and_multipart_bodies_are_all_understood(fake_api: FakeBotApi) -> None:
    ada = fake_api.add_user("Ada")
    fake_api.send_text(ada, "hi")  # opens the private chat
    api = f"{fake_api.base_url}{fake_api.token}"
    async with aiohttp.ClientSession() as http:
        as_json = await (await http.post(f"{api}/sendMessage", json={"chat_id": ada.id, "text": "123"})).json()
        as_form = await (await http.post(f"{api}/sendMessage", data={"chat_id": str(ada.id), "text": "456"})).json()
        form = aiohttp.FormData()
        form.add_field("chat_id", str(ada.id))
        form.add_field("document", b"order,qty\n1001,2\n", filename="orders.csv", content_type="text/csv")
        uploaded = await (await http.post(f"{api}/sendDocument", data=form)).json()
        file = await (await http.post(f"{api}/getFile", json={"file_id": uploaded["result"]["document"]["file_id"]})).json()
        downloaded = await (await http.get(f"{fake_api.base_file_url}{fake_api.token}/{file['result']['file_path']}")).read()
        unknown = await http.post(f"{api}/sendTelepathy", json={})
        empty = await (await http.post(f"{api}/sendMessage", json={"chat_id": ada.id, "text": " "})).json()

    assert as_json["result"]["text"] == "123" and as_form["result"]["text"] == "456"
    assert uploaded["result"]["document"]["file_name"] == "orders.csv"
    assert downloaded == b"order,qty\n1001,2\n"
    assert unknown.status == 404 and await unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert empty == {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}


async def test_long_polling_honours_allowed_updates_and_one_poller_at_a_time(fake_api: FakeBotApi) -> None:
    ada = fake_api.add_user("Ada")
    api = f"{fake_api.base_url}{fake_api.token}"
    async with aiohttp.ClientSession() as http:
        fake_api.send_text(ada, "not wanted")
        waiting = http.post(f"{api}/getUpdates", json={"timeout": 10, "allowed_updates": ["callback_query"]})
        poll = asyncio.ensure_future(waiting)
        await fake_api.wait_until(lambda: fake_api.pending_update_count == 0, what="the unwanted message dropped")
        menu = await (await http.post(f"{api}/sendMessage", json={
            "chat_id": ada.id, "text": "Pick", "reply_markup": {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]},
        })).json()
        press = fake_api.press_button(ada, fake_api.message(ada.id, menu["result"]["message_id"]), "go")
        answered = await (await poll).json()

        first = asyncio.ensure_future(http.post(f"{api}/getUpdates", json={"offset": press["update_id"] + 1, "timeout": 10}))
        await fake_api.wait_until(lambda: fake_api.pending_update_count == 0, what="the press confirmed")
        second = await (await http.post(f"{api}/getUpdates", json={"timeout": 0})).json()
        superseded = await (await first).json()

    assert [u["update_id"] for u in answered["result"]] == [press["update_id"]]
    assert answered["result"][0]["callback_query"]["data"] == "go"
    assert second == {"ok": True, "result": []}
    assert superseded["error_code"] == 409 and "terminated by other getUpdates request" in superseded["description"]


async def test_the_sandbox_http_api_lets_a_browser_act_as_a_user(fake_api: FakeBotApi) -> None:
    async with running_bot(fake_api, build_echo_app), aiohttp.ClientSession(fake_api.url) as http:
        user = await (await http.post("/sandbox-api/users", json={"first_name": "Ada", "language_code": "de"})).json()
        sent = await (await http.post(f"/sandbox-api/users/{user['id']}/text", json={"text": "Hallo"})).json()
        chat = await (await http.get(f"/sandbox-api/chats/{user['id']}")).json()
        while len(chat["messages"]) < 2:
            chat = await (await http.get(f"/sandbox-api/chats/{user['id']}", params={"after_version": chat["version"], "wait": 5})).json()
        bad = await http.post("/sandbox-api/users/999/text", json={"text": "who am I"})
        fault = await http.post("/sandbox-api/faults", json={"method": "sendMessage", "kind": "flood", "retry_after": 3})

    assert [(m["from_bot"], m["message"]["text"]) for m in chat["messages"]] == [(False, "Hallo"), (True, "Hallo")]
    assert bad.status == 400
    assert fault.status == 201
    assert sent["update"]["message"]["from"] == {"id": user["id"], "is_bot": False, "first_name": "Ada", "language_code": "de"}


async def test_the_rest_of_the_bots_calls_parse_as_ptb_objects(fake_api: FakeBotApi) -> None:
    ada = fake_api.add_user("Ada", username="ada_l")
    agents = fake_api.add_group("Support agents", username="shop_agents")
    bea = fake_api.add_user("Bea")
    fake_api.set_member_status(agents, bea, "administrator")
    async with running_bot(fake_api, build_echo_app) as bot:
        tg = bot.application.bot
        await fake_api.wait_for_reply(fake_api.send_text(ada, "hi"))
        share = ReplyKeyboardMarkup([[KeyboardButton("Share my phone", request_contact=True)]], one_time_keyboard=True)
        await tg.send_message(ada.id, "To find your orders, share your phone.", reply_markup=share)
        await tg.send_chat_action(ada.id, ChatAction.TYPING)
        contact_reply = await fake_api.wait_for_reply(fake_api.press_keyboard_button(ada, "Share my phone"))
        await tg.send_message(ada.id, "Thanks!", reply_markup=ReplyKeyboardRemove())
        photo = await tg.send_photo(ada.id, InputFile(b"\xff\xd8jpeg", filename="mug.jpg"), caption="The blue mug")
        recaptioned = await tg.edit_message_caption(ada.id, photo.message_id, caption="The blue mug, 0.5 l")
        again = await tg.send_photo(ada.id, photo.photo[-1].file_id)
        their_sticker = fake_api.send_sticker(ada, emoji="🎉")
        await fake_api.wait_for_reply(their_sticker)
        sticker = await tg.send_sticker(ada.id, their_sticker["message"]["sticker"]["file_id"])
        copied = await tg.copy_message(agents.id, from_chat_id=ada.id, message_id=photo.message_id)
        forwarded = await tg.forward_message("@shop_agents", from_chat_id=ada.id, message_id=contact_reply.message_id)
        private, group = await tg.get_chat(ada.id), await tg.get_chat(agents.id)
        bea_member, bot_member = await tg.get_chat_member(agents.id, bea.id), await tg.get_chat_member(agents.id, tg.id)
        await tg.set_webhook("https://shop.example/telegram")
        info = await tg.get_webhook_info()
        await tg.delete_webhook()

    assert sticker.sticker.file_unique_id == their_sticker["message"]["sticker"]["file_unique_id"]
    assert recaptioned.caption == "The blue mug, 0.5 l"
    assert again.photo[-1].file_id == photo.photo[-1].file_id
    assert copied.message_id == fake_api.transcript(agents.id)[0].message_id
    assert fake_api.transcript(agents.id)[0].text == "The blue mug, 0.5 l"
    assert forwarded.forward_origin.sender_user.id == tg.id
    assert (private.username, group.title) == ("ada_l", "Support agents")
    assert (bea_member.status, bot_member.status) == (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.ADMINISTRATOR)
    assert info.url == "https://shop.example/telegram"
    assert fake_api.webhook == {}
    assert contact_reply.text.startswith("contact +49151")
    assert fake_api.chat_action(ada.id) == "typing"
    assert fake_api.reply_keyboard(ada.id) is None


async def test_a_text_over_4096_utf16_code_units_or_a_keyboard_over_100_buttons_is_refused(fake_api: FakeBotApi) -> None:
    ada = fake_api.add_user("Ada")
    fake_api.send_text(ada, "hi")
    api = f"{fake_api.base_url}{fake_api.token}"
    buttons = [[{"text": str(n), "callback_data": str(n)}] for n in range(101)]
    async with aiohttp.ClientSession() as http:
        fits = await (await http.post(f"{api}/sendMessage", json={"chat_id": ada.id, "text": "😀" * 2048})).json()
        # 2,049 characters, but Telegram counts an emoji outside the Basic Multilingual Plane twice.
        too_long = await (await http.post(f"{api}/sendMessage", json={"chat_id": ada.id, "text": "😀" * 2049})).json()
        too_many = await (
            await http.post(f"{api}/sendMessage", json={"chat_id": ada.id, "text": "Pick", "reply_markup": {"inline_keyboard": buttons}})
        ).json()

    assert fits["ok"]
    assert too_long == {"ok": False, "error_code": 400, "description": "Bad Request: message text is too long"}
    assert too_many == {"ok": False, "error_code": 400, "description": "Bad Request: reply markup is too long"}


NESTED = b"[" * 100_000 + b"]" * 100_000  # deeper than Python's parser goes


async def test_a_body_nested_too_deeply_is_a_400_at_the_bot_api_and_the_sandbox_api(fake_api: FakeBotApi) -> None:
    ada = fake_api.add_user("Ada")
    fake_api.send_text(ada, "hi")  # she has started the bot
    api = f"{fake_api.base_url}{fake_api.token}"
    json_body = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http:
        as_body = await http.post(f"{api}/sendMessage", data=NESTED, headers=json_body)
        as_field = await http.post(f"{api}/sendMessage", data={"chat_id": str(ada.id), "text": "hi", "reply_markup": NESTED.decode()})
        sandbox = [
            await http.post(f"{fake_api.url}{path}", data=NESTED, headers=json_body)
            for path in ("/sandbox-api/users", "/sandbox-api/groups", f"/sandbox-api/users/{ada.id}/text", "/sandbox-api/faults")
        ]

        assert (as_body.status, (await as_body.json())["description"]) == (
            400, "Bad Request: can't parse request: the JSON is nested too deeply"
        )
        assert (as_field.status, (await as_field.json())["description"]) == (
            400, "Bad Request: can't parse reply keyboard markup JSON object"
        )
        assert [(answer.status, (await answer.json())["error"]) for answer in sandbox] == [(400, "the JSON is nested too deeply")] * 4
    assert fake_api.bot_messages(ada.id) == []
