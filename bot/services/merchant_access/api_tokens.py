"""Merchant API bearer tokens: created and shown once, stored only as a SHA-256 hash, listable and revocable."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.services.audit import Actor, record
from bot.services.errors import ApiTokenNotFound, InvalidApiTokenName
from bot.services.unit_of_work import UnitOfWork
from db.models import ApiToken

TOKEN_PREFIX = "bd_"  # marks a string as ours, so a secret scanner or a person can tell what leaked
PREFIX_LENGTH = 10  # characters kept in clear to recognise a token in a list
MAX_NAME_LENGTH = 100
# last_used_at is only rewritten when it is older than this, so busy clients do not write on every request.
LAST_USED_PRECISION = timedelta(minutes=1)


TELEGRAM_CONSOLE_ROLES = ("merchant", "agent")


def telegram_console_token_name(role: str, telegram_user_id: int | str) -> str:
    """The name of the token a Telegram user's console sessions, opened as a Mini App, stand for."""
    return f"Telegram {role} {telegram_user_id} (console Mini App)"


@dataclass(frozen=True)
class TokenInfo:
    """A token as the merchant may see it again: everything but the secret."""

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_token(plaintext: str) -> str:
    """The stored form of a token: its SHA-256, hex."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


async def create_token(uow: UnitOfWork, name: str, actor: Actor | None = None) -> tuple[str, TokenInfo]:
    """A new token named `name`; the plaintext is returned this once and never stored."""
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise InvalidApiTokenName()
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with uow:
        token = await _add_token(uow, name, plaintext, actor)
        await uow.commit()
    return plaintext, token_info(token)


async def named_token(uow: UnitOfWork, name: str, actor: Actor | None = None) -> TokenInfo:
    """The oldest active token called `name`, created if there is none; its secret is never shown.

    For console sessions the server opens by itself (the demo's one-click sign-in), which need a token to
    stand for but no secret anyone types.
    """
    async with uow:
        token = await uow.session.scalar(
            select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None)).order_by(ApiToken.id).limit(1)
        )
        if token is None:
            token = await _add_token(uow, name, TOKEN_PREFIX + secrets.token_urlsafe(32), actor)
            await uow.commit()
        return token_info(token)


async def _add_token(uow: UnitOfWork, name: str, plaintext: str, actor: Actor | None) -> ApiToken:
    now = uow.clock.now()
    token = ApiToken(name=name, token_hash=hash_token(plaintext), prefix=plaintext[:PREFIX_LENGTH], created_at=now)
    uow.session.add(token)
    await uow.session.flush()
    record(uow.session, actor or Actor.merchant(), "api_token.created", "api_token", token.id, at=now, name=name)
    return token


async def list_tokens(uow: UnitOfWork) -> list[TokenInfo]:
    """Every token ever created, revoked ones included, oldest first."""
    async with uow:
        tokens = await uow.session.scalars(select(ApiToken).order_by(ApiToken.id))
        return [token_info(token) for token in tokens]


async def revoke_token(uow: UnitOfWork, token_id: int, actor: Actor | None = None) -> TokenInfo:
    """Stop a token working from now on; revoking it again changes nothing."""
    async with uow:
        token = await uow.session.get(ApiToken, token_id, with_for_update=True)
        if token is None:
            raise ApiTokenNotFound(token_id)
        if token.revoked_at is None:
            now = uow.clock.now()
            token.revoked_at = now
            record(uow.session, actor or Actor.merchant(), "api_token.revoked", "api_token", token.id, at=now)
            await uow.commit()
        return token_info(token)


async def authenticate(uow: UnitOfWork, plaintext: str) -> TokenInfo | None:
    """The active token `plaintext` is, or None; notes when it was last used."""
    if not plaintext.startswith(TOKEN_PREFIX):
        return None  # not one of ours: no need to ask the database
    async with uow:
        token = (
            await uow.session.execute(select(ApiToken).where(ApiToken.token_hash == hash_token(plaintext)))
        ).scalar_one_or_none()
        if token is None or token.revoked_at is not None:
            return None
        now = uow.clock.now()
        if token.last_used_at is None or token.last_used_at <= now - LAST_USED_PRECISION:
            token.last_used_at = now
            await uow.commit()
        return token_info(token)


def token_info(token: ApiToken) -> TokenInfo:
    """What may be shown of a token: never its hash."""
    return TokenInfo(
        id=token.id,
        name=token.name,
        prefix=token.prefix,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
    )


async def active_token(uow: UnitOfWork, token_id: int, prefix: str) -> TokenInfo | None:
    """The token with this id and prefix if it has not been revoked, else None."""
    async with uow:
        token = await uow.session.scalar(
            select(ApiToken).where(ApiToken.id == token_id, ApiToken.prefix == prefix, ApiToken.revoked_at.is_(None))
        )
        return None if token is None else token_info(token)
