"""Connecting a chat to a customer: /start with a deep link, a shared phone number, or order number + e-mail."""

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.chat import deps, intake, reply, tr
from bot.handlers.orders import orders
from bot.render import conversation
from bot.services.conversations.chat_session import HelpAfterMisunderstanding, misunderstood_message, set_conversation_state
from bot.services.conversations.linking import link_by_order_email, link_by_phone, link_by_token, unlink

AWAITING_EMAIL = "awaiting_email"


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start [token]: link through the order-confirmation link, or greet and show the orders."""
    token = context.args[0] if context.args else None
    if token:
        settings = deps(context).settings
        result = await link_by_token(
            deps(context).uow(),
            update.effective_user.id,
            update.effective_chat.id,
            token,
            settings.secret_key,
            max_failed_per_hour=settings.link_attempts_per_hour,
        )
        await _after_link_attempt(update, context, result)
        return
    current = intake(context)
    if current and current.customer_id is not None:
        await orders(update, context)
        return
    await reply(update, conversation.welcome_unlinked(deps(context).settings.shop_name, tr(context)))


async def not_understood(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text from an unlinked chat that links nothing: the whole welcome the first time, then the two ways to link."""
    answer = await misunderstood_message(deps(context).uow(), update.effective_user.id)
    if answer is HelpAfterMisunderstanding.FULL:
        await reply(update, conversation.welcome_unlinked(deps(context).settings.shop_name, tr(context)))
    else:
        await reply(update, conversation.link_ways(tr(context)))


async def contact_shared(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A contact was shared: only the sender's own number can link."""
    contact = update.effective_message.contact
    result = await link_by_phone(
        deps(context).uow(),
        telegram_user_id=update.effective_user.id,
        chat_id=update.effective_chat.id,
        sender_user_id=update.effective_user.id,
        contact_user_id=contact.user_id,
        phone=contact.phone_number,
        default_region=deps(context).settings.default_phone_region,
        max_failed_per_hour=deps(context).settings.link_attempts_per_hour,
    )
    await _after_link_attempt(update, context, result)


async def order_number_given(update: Update, context: ContextTypes.DEFAULT_TYPE, order_number: str) -> None:
    """An unlinked user typed an order number: remember it in the database and ask for the e-mail."""
    await set_conversation_state(deps(context).uow(), update.effective_user.id, AWAITING_EMAIL, {"order_number": order_number})
    await reply(update, conversation.ask_email(order_number, tr(context)))


async def email_given(update: Update, context: ContextTypes.DEFAULT_TYPE, order_number: str, email: str) -> None:
    """The e-mail for the order number given before (possibly to another instance, before a restart)."""
    result = await link_by_order_email(
        deps(context).uow(),
        update.effective_user.id,
        update.effective_chat.id,
        order_number,
        email,
        max_failed_per_hour=deps(context).settings.link_attempts_per_hour,
    )
    if result.linked or result.reason == "rate_limited":
        await set_conversation_state(deps(context).uow(), update.effective_user.id, None, None)
    await _after_link_attempt(update, context, result)


async def logout(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/logout: disconnect this Telegram account from the customer."""
    await unlink(deps(context).uow(), update.effective_user.id)
    current = intake(context)
    if current is not None:
        current.customer_id = None
    await reply(update, conversation.logged_out(tr(context)))


async def _after_link_attempt(update: Update, context: ContextTypes.DEFAULT_TYPE, result: object) -> None:
    if getattr(result, "linked", False):
        current = intake(context)
        if current is not None:
            customer = result.customer
            current.link(customer.id, customer.name, customer.language, deps(context).policy.default_language)
        # Already in the customer's language, which from now on is the chat's unless they chose another.
        await reply(update, conversation.linked(result.customer.name, tr(context)))
        await orders(update, context)
        return
    t = tr(context)
    if getattr(result, "reason", "") == "rate_limited":
        await reply(update, conversation.link_rate_limited(result.retry_after_minutes, t))
    elif getattr(result, "reason", "") == "not_own_contact":
        await reply(update, conversation.contact_not_own(t))
    else:
        await reply(update, conversation.link_failed(t))
