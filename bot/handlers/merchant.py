"""The shop's people in the chat (MERCHANT_USER_IDS): /backorders, /reorder and writing a /broadcast.

Anyone else gets the normal help for these commands and buttons, so they never learn they exist.
"""

from telegram import Message, Update
from telegram.ext import Application, ContextTypes, filters

from bot.handlers import free_text
from bot.handlers.chat import deps, intake, reply, show, tr
from bot.render import merchant as render
from bot.render.reorder import reorder_list
from bot.render.callback_data import AUDIENCE_KINDS, Action, CallbackData
from bot.render.screen import Screen
from bot.services.audit import Actor
from bot.services.backorders.merchant_overview import backorder_summary
from bot.services.errors import AudienceInvalid, BroadcastTextTooLong
from bot.services.outreach import broadcast_drafts as drafts
from bot.services.purchasing.reorder_suggestions import reorder_suggestions


class FromMerchant(filters.MessageFilter):
    """Messages from the people listed in MERCHANT_USER_IDS, as the running bot's settings have them."""

    def __init__(self, application: Application) -> None:  # type: ignore[type-arg]
        super().__init__(name="FromMerchant")
        self._application = application

    def filter(self, message: Message) -> bool:
        settings = self._application.bot_data["deps"].settings
        return message.from_user is not None and message.from_user.id in settings.merchant_user_ids


def is_merchant(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    user = update.effective_user
    return user is not None and user.id in deps(context).settings.merchant_user_ids


async def backorders(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/backorders: the backlog by SKU."""
    if not is_merchant(update, context):
        await free_text.help_command(update, context)
        return
    await reply(update, render.backorder_summary(await backorder_summary(deps(context).uow()), tr(context)))


async def reorder(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reorder: what to order from suppliers and by when, the most urgent first, each explained."""
    if not is_merchant(update, context):
        await free_text.help_command(update, context)
        return
    await reply(update, reorder_list(await reorder_suggestions(deps(context).uow()), tr(context)))


async def backorders_page_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    """‹ Previous / Next › under /backorders: another page, in place; nothing for anyone but the shop's people."""
    if not is_merchant(update, context):
        await free_text.help_command(update, context)
        return
    summary = render.backorder_summary(await backorder_summary(deps(context).uow()), tr(context), data.ids[0])
    await show(update.callback_query, summary)


async def broadcast(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/broadcast: start writing one (a draft in progress is dropped)."""
    if not is_merchant(update, context):
        await free_text.help_command(update, context)
        return
    step = await drafts.start_draft(deps(context).uow(), update.effective_user.id)
    await reply(update, render.ask_audience_kind(step.draft_id, tr(context)))


async def text_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A merchant's typed message: the next answer of the broadcast being written, or a normal message."""
    current = intake(context)
    if current is None or not drafts.in_draft(current.state):
        await free_text.text_message(update, context)
        return
    t, uow, user_id = tr(context), deps(context).uow(), update.effective_user.id
    text = update.effective_message.text or ""
    stage = current.state.removeprefix(drafts.STATE_PREFIX)
    try:
        if stage == drafts.AUDIENCE:
            step = await drafts.give_audience(uow, user_id, text)
        elif stage in (drafts.TEXT, drafts.TRANSLATION):
            step = await drafts.give_text(uow, user_id, text)
        else:
            await _ask_again(update, context)
            return
    except AudienceInvalid as unknown:
        await reply(update, render.audience_invalid(unknown, current.data.get("draft", 0), t))
        return
    except BroadcastTextTooLong as too_long:
        await reply(update, render.text_too_long(too_long.limit, t))
        return
    await reply(update, _screen_for(step, context))


async def audience_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    """Ask the merchant for the SKUs, category or order numbers of the kind of audience they chose."""
    if not await _merchant_pressed(update, context):
        return
    draft_id, kind = data.ids
    step = await drafts.choose_kind(deps(context).uow(), update.effective_user.id, draft_id, AUDIENCE_KINDS[kind])
    await _answer_press(update, step, context)


async def category_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    """A category picked from the list: on to the text."""
    if not await _merchant_pressed(update, context):
        return
    draft_id, number = data.ids
    step = await drafts.give_category(deps(context).uow(), update.effective_user.id, draft_id, number)
    await _answer_press(update, step, context)


async def skip_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    """No text in the language asked for."""
    if not await _merchant_pressed(update, context):
        return
    step = await drafts.skip_translation(deps(context).uow(), update.effective_user.id, data.ids[0])
    await _answer_press(update, step, context)


async def send_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    """Start sending the broadcast (pressed as urgent: through the shop's quiet hours too); its preview becomes the
    progress message, kept up to date as it goes out."""
    if not await _merchant_pressed(update, context):
        return
    query, user_id = update.callback_query, update.effective_user.id
    step = await drafts.send_draft(
        deps(context).uow(),
        user_id,
        data.ids[0],
        Actor.merchant(f"telegram:{user_id}"),
        progress_chat_id=query.message.chat_id,
        progress_message_id=query.message.message_id,
        urgent=data.action is Action.BROADCAST_SEND_URGENT,
    )
    await _answer_press(update, step, context)


async def abort_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    """Discard the draft broadcast; nothing is sent."""
    if not await _merchant_pressed(update, context):
        return
    step = await drafts.abort_draft(deps(context).uow(), update.effective_user.id, data.ids[0])
    await _answer_press(update, step, context)


async def _answer_press(update: Update, step: drafts.DraftStep, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The next step in place of the pressed message; a press on a closed draft answers below it instead,
    since that message may be a broadcast's progress, which must stay."""
    if step.stage == drafts.GONE:
        await reply(update, _screen_for(step, context))
    else:
        await show(update.callback_query, _screen_for(step, context))


def _screen_for(step: drafts.DraftStep, context: ContextTypes.DEFAULT_TYPE) -> Screen:
    """What the merchant sees after a step of the draft."""
    t, default = tr(context), _default_language(context)
    if step.stage == drafts.AUDIENCE:
        if step.audience is not None:  # an audience nobody can be reached in
            return render.nobody_to_reach(step.draft_id, step.waiting_customers, t)
        return render.ask_audience(step.kind or "skus", step.draft_id, t, step.categories)
    if step.stage == drafts.KIND:
        return render.ask_audience_kind(step.draft_id, t)
    if step.stage == drafts.TEXT:
        return render.ask_text(step, default, t)
    if step.stage == drafts.TRANSLATION:
        return render.ask_translation(step, default, t)
    if step.stage == drafts.PREVIEW:
        return render.preview(step, t)
    if step.stage == drafts.SENT:
        assert step.broadcast is not None
        return render.progress(step.broadcast, t)
    if step.stage == drafts.ABORTED:
        return render.aborted(t)
    return render.draft_gone(t)


async def _ask_again(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text where a button was expected: the same question again."""
    step = await drafts.current_step(deps(context).uow(), update.effective_user.id)
    if step is None:
        await free_text.text_message(update, context)
        return
    await reply(update, render.use_the_buttons(tr(context)))
    await reply(update, _screen_for(step, context))


async def _merchant_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """A broadcast button pressed by someone else (forged, or a forwarded message): the normal help."""
    if is_merchant(update, context):
        return True
    await free_text.help_command(update, context)
    return False


def _default_language(context: ContextTypes.DEFAULT_TYPE) -> str:
    return deps(context).settings.default_language
