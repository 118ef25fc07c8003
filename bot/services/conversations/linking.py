"""Linking a Telegram user to a shop customer, on proof only, and unlinking with /logout.

Three proofs are accepted: the signed link from the order-confirmation e-mail, the user's own phone number
shared from Telegram, or an order number together with the e-mail address it was placed with. A failed
attempt always gets the same neutral answer, so the bot never reveals whether an order or customer exists,
and failed attempts are limited per Telegram user and hour, counted in the database so a restart does not
reset them.
"""

import logging
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from bot.services.audit import Actor
from bot.services.conversations.chat_session import CustomerRef, customer_ref_for, ensure_telegram_user
from bot.services.conversations.link_tokens import create_link_token, read_link_token, require_signing_key
from bot.services.errors import InvalidLinkToken, OrderNotFound
from bot.services.phone import InvalidPhoneNumber, normalise_phone
from bot.services.unit_of_work import UnitOfWork
from db.models import Customer, LinkAttempt, LinkMethod, Order, TelegramUser

log = logging.getLogger(__name__)

DEFAULT_MAX_FAILED_PER_HOUR = 5
RATE_LIMIT_WINDOW = timedelta(hours=1)
_BOT_USERNAME = re.compile(r"[A-Za-z0-9_]{5,32}")


class LinkReason(StrEnum):
    LINKED = "linked"
    ALREADY_LINKED = "already_linked"  # the same customer again: nothing changed
    NOT_MATCHED = "not_matched"  # the one neutral answer to every failed proof
    RATE_LIMITED = "rate_limited"  # too many failures this hour; nothing was checked
    NOT_OWN_CONTACT = "not_own_contact"  # a contact card that is not the sender's own; nothing was checked


@dataclass(frozen=True)
class LinkResult:
    linked: bool
    reason: LinkReason
    customer: CustomerRef | None = None
    order_number: str | None = None
    retry_after_minutes: int | None = None
    # The Telegram user the customer was linked to before, now unlinked (the handler may tell that chat).
    replaced_telegram_user_id: int | None = None


NOT_MATCHED = LinkResult(linked=False, reason=LinkReason.NOT_MATCHED)


@dataclass(frozen=True)
class _Proof:
    """Whom a proof points to, before anything is changed."""

    customer_id: int
    order_number: str | None


Matcher = Callable[[AsyncSession], Awaitable[_Proof | None]]


@dataclass(frozen=True)
class _Attempt:
    """Who tries to link, how, and the check their proof has to pass."""

    telegram_user_id: int
    chat_id: int
    method: LinkMethod
    match: Matcher
    max_failed_per_hour: int

    def __post_init__(self) -> None:
        if self.max_failed_per_hour < 1:
            raise ValueError("max_failed_per_hour must be at least 1")


async def link_by_token(
    uow: UnitOfWork,
    telegram_user_id: int,
    chat_id: int,
    token: str,
    secret_key: str,
    *,
    max_failed_per_hour: int = DEFAULT_MAX_FAILED_PER_HOUR,
) -> LinkResult:
    """Link with the signed token from the order-confirmation e-mail (`/start <token>`)."""
    require_signing_key(secret_key)  # a configuration fault, not the user's: raise before counting anything

    async def match(session: AsyncSession) -> _Proof | None:
        try:
            claims = read_link_token(secret_key, token, uow.clock.now())
        except InvalidLinkToken as refused:
            log.info("Link token refused for Telegram user %s: %s", telegram_user_id, refused.reason)
            return None
        order = await session.get(Order, claims.order_id)
        if order is None or order.customer_id != claims.customer_id:
            return None
        return _Proof(order.customer_id, order.number)

    return await _attempt(uow, _Attempt(telegram_user_id, chat_id, LinkMethod.DEEP_LINK, match, max_failed_per_hour))


async def link_by_phone(
    uow: UnitOfWork,
    telegram_user_id: int,
    chat_id: int,
    sender_user_id: int,
    contact_user_id: int | None,
    phone: str,
    default_region: str,
    *,
    max_failed_per_hour: int = DEFAULT_MAX_FAILED_PER_HOUR,
) -> LinkResult:
    """Link with the phone number of the user's own Telegram account, shared as a contact.

    Telegram vouches for a number only when the contact is the sender's own account; anyone can forward
    someone else's contact card, so those are refused without looking anything up.
    """
    if not contact_user_id == sender_user_id == telegram_user_id:
        return LinkResult(linked=False, reason=LinkReason.NOT_OWN_CONTACT)

    async def match(session: AsyncSession) -> _Proof | None:
        number = _contact_phone(phone, default_region)
        if number is None:
            return None
        customer_ids = (await session.scalars(select(Customer.id).where(Customer.phone == number).limit(2))).all()
        if len(customer_ids) > 1:
            log.warning("Telegram user %s shared a phone number several customers have; not guessing", telegram_user_id)
        return _Proof(customer_ids[0], None) if len(customer_ids) == 1 else None

    return await _attempt(uow, _Attempt(telegram_user_id, chat_id, LinkMethod.PHONE, match, max_failed_per_hour))


async def link_by_order_email(
    uow: UnitOfWork,
    telegram_user_id: int,
    chat_id: int,
    order_number: str,
    email: str,
    *,
    max_failed_per_hour: int = DEFAULT_MAX_FAILED_PER_HOUR,
) -> LinkResult:
    """Link with an order number and the e-mail address the order was placed with (any case, spaces trimmed)."""
    number = _clean_order_number(order_number)
    address = email.strip().lower()

    async def match(session: AsyncSession) -> _Proof | None:
        row = (
            await session.execute(
                select(Order.customer_id, Order.number, Customer.email)
                .join(Customer, Customer.id == Order.customer_id)
                .where(Order.number == number)
            )
        ).one_or_none()
        if row is None or not address or row.email.strip().lower() != address:
            return None
        return _Proof(row.customer_id, row.number)

    return await _attempt(uow, _Attempt(telegram_user_id, chat_id, LinkMethod.ORDER_EMAIL, match, max_failed_per_hour))


async def unlink(uow: UnitOfWork, telegram_user_id: int) -> bool:
    """Unlink the user's customer (/logout) and forget where the conversation stood; False if none was linked."""
    async with uow:
        session = uow.session
        user = await session.scalar(
            select(TelegramUser).where(TelegramUser.telegram_user_id == telegram_user_id).with_for_update()
        )
        customer = await session.scalar(
            select(Customer).where(Customer.telegram_user_id == telegram_user_id).with_for_update()
        )
        if customer is None:
            return False
        customer.telegram_user_id = None
        audit.record(
            session,
            Actor.customer(customer.id),
            "telegram_unlinked",
            "customer",
            customer.id,
            at=uow.clock.now(),
            telegram_user_id=telegram_user_id,
            reason="logout",
        )
        if user is not None:  # a half-finished conversation may name the customer's orders
            user.conversation_state = None
            user.conversation_data = {}
            user.updated_at = uow.clock.now()
        await uow.commit()
    return True


async def linked_customer(uow: UnitOfWork, telegram_user_id: int) -> CustomerRef | None:
    """The customer this Telegram user is linked to, if any."""
    async with uow:
        return await customer_ref_for(uow.session, telegram_user_id)


async def build_link_for_order(
    uow: UnitOfWork, order_number: str, secret_key: str, bot_username: str, ttl_days: int
) -> str:
    """The https://t.me/... link the shop puts in an order-confirmation e-mail; valid for `ttl_days`."""
    username = bot_username.strip().removeprefix("@")
    if not _BOT_USERNAME.fullmatch(username):
        raise ValueError(f"{bot_username!r} is not a Telegram bot username")
    if ttl_days < 1:
        raise ValueError("a link must be valid for at least one day")
    require_signing_key(secret_key)
    async with uow:
        order = await uow.session.scalar(select(Order).where(Order.number == _clean_order_number(order_number)))
        if order is None:
            raise OrderNotFound()
        expires_at = uow.clock.now() + timedelta(days=ttl_days)
        token = create_link_token(secret_key, order.customer_id, order.id, expires_at)
    return f"https://t.me/{username}?start={token}"


async def _attempt(uow: UnitOfWork, attempt: _Attempt) -> LinkResult:
    """One linking attempt in one transaction; tried once more if a concurrent writer took a unique link."""
    try:
        return await _in_transaction(uow, attempt)
    except IntegrityError:
        # Only a writer outside this module can get here (linking locks the rows it changes): that
        # writer has committed, so reading again decides on the current state.
        log.warning("Linking Telegram user %s met a concurrent change; trying again", attempt.telegram_user_id)
        return await _in_transaction(uow, attempt)


async def _in_transaction(uow: UnitOfWork, attempt: _Attempt) -> LinkResult:
    async with uow:
        result = await _decide(uow.session, attempt, uow.clock.now())
        await uow.commit()
    return result


async def _decide(session: AsyncSession, attempt: _Attempt, now: datetime) -> LinkResult:
    """Refuse over the limit, else check the proof and link on success; records the attempt."""
    # Holding the user's row serialises this user's attempts, so two at once cannot both pass the limit.
    user = await ensure_telegram_user(session, attempt.telegram_user_id, attempt.chat_id, now, lock=True)
    if user.chat_id != attempt.chat_id:
        user.chat_id = attempt.chat_id
    retry_after = await _minutes_until_allowed(session, attempt.telegram_user_id, now, attempt.max_failed_per_hour)
    if retry_after is not None:
        # Not recorded as an attempt: a refused try must not push the window further out.
        return LinkResult(linked=False, reason=LinkReason.RATE_LIMITED, retry_after_minutes=retry_after)
    proof = await attempt.match(session)
    result = None if proof is None else await _link(session, attempt.telegram_user_id, proof, attempt.method, now)
    if result is None or result.reason != LinkReason.ALREADY_LINKED:  # linking again changes nothing
        session.add(
            LinkAttempt(
                telegram_user_id=attempt.telegram_user_id, method=attempt.method, succeeded=result is not None, at=now
            )
        )
    return result or NOT_MATCHED


async def _minutes_until_allowed(
    session: AsyncSession, telegram_user_id: int, now: datetime, max_failed_per_hour: int
) -> int | None:
    """None while the user may try again, else how many whole minutes until the oldest failure ages out."""
    failures = (
        await session.scalars(
            select(LinkAttempt.at)
            .where(
                LinkAttempt.telegram_user_id == telegram_user_id,
                LinkAttempt.succeeded.is_(False),
                LinkAttempt.at > now - RATE_LIMIT_WINDOW,
            )
            .order_by(LinkAttempt.at)
        )
    ).all()
    if len(failures) < max_failed_per_hour:
        return None
    # One more try is allowed once all but max - 1 of these failures have left the window.
    allowed_at = failures[len(failures) - max_failed_per_hour] + RATE_LIMIT_WINDOW
    return max(1, math.ceil((allowed_at - now).total_seconds() / 60))


async def _link(
    session: AsyncSession, telegram_user_id: int, proof: _Proof, method: LinkMethod, now: datetime
) -> LinkResult | None:
    """Point the proven customer at this Telegram user, moving either side off an older link."""
    # Both rows this may change, locked in id order so two opposite moves cannot deadlock.
    customers = (
        await session.scalars(
            select(Customer)
            .where(or_(Customer.id == proof.customer_id, Customer.telegram_user_id == telegram_user_id))
            .order_by(Customer.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).all()
    target = next((customer for customer in customers if customer.id == proof.customer_id), None)
    if target is None:
        return None
    ref = CustomerRef(id=target.id, name=target.name, language=target.language)
    if target.telegram_user_id == telegram_user_id:
        return LinkResult(linked=True, reason=LinkReason.ALREADY_LINKED, customer=ref, order_number=proof.order_number)

    details: dict[str, Any] = {"telegram_user_id": telegram_user_id, "method": method.value}
    if proof.order_number is not None:
        details["order_number"] = proof.order_number
    for previous in customers:
        if previous is target:
            continue
        previous.telegram_user_id = None
        details["previous_customer_id"] = previous.id
        audit.record(
            session,
            Actor.customer(previous.id),
            "telegram_unlinked",
            "customer",
            previous.id,
            at=now,
            telegram_user_id=telegram_user_id,
            reason="linked_to_other_customer",
            new_customer_id=target.id,
        )
        await session.flush()  # free the unique telegram_user_id before the target takes it
    replaced = target.telegram_user_id
    if replaced is not None:
        details["replaced_telegram_user_id"] = replaced
    target.telegram_user_id = telegram_user_id
    # Messages the bot did not understand before it knew the customer do not bring a person closer now.
    await session.execute(
        update(TelegramUser)
        .where(TelegramUser.telegram_user_id == telegram_user_id, TelegramUser.misunderstood_in_a_row != 0)
        .values(misunderstood_in_a_row=0, updated_at=now)
    )
    action = "telegram_relinked" if replaced is not None else "telegram_linked"
    audit.record(session, Actor.customer(target.id), action, "customer", target.id, at=now, **details)
    return LinkResult(
        linked=True,
        reason=LinkReason.LINKED,
        customer=ref,
        order_number=proof.order_number,
        replaced_telegram_user_id=replaced,
    )


def _contact_phone(raw: str, default_region: str) -> str | None:
    """E.164 form of a shared contact's number, or None.

    Telegram sends a contact's number in international form, often without its "+", which the national
    reading would turn into a different number ("4917…" → "+49 4917…"), so that reading comes first.
    """
    text = raw.strip()
    readings = [text] if text.startswith(("+", "0")) else ["+" + text, text]
    for reading in readings:
        try:
            return normalise_phone(reading, default_region)
        except InvalidPhoneNumber:
            continue
    return None


def _clean_order_number(raw: str) -> str:
    """What a customer types for an order number, without spaces or a leading '#'."""
    return raw.strip().removeprefix("#").strip()
