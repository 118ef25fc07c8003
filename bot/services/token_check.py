"""Checking again that an API token a session was opened with still works, without its plaintext."""

from sqlalchemy import select

from bot.services.api_tokens import TokenInfo, token_info
from bot.services.unit_of_work import UnitOfWork
from db.models import ApiToken


async def active_token(uow: UnitOfWork, token_id: int, prefix: str) -> TokenInfo | None:
    """The token with this id and prefix if it has not been revoked, else None."""
    async with uow:
        token = await uow.session.scalar(
            select(ApiToken).where(ApiToken.id == token_id, ApiToken.prefix == prefix, ApiToken.revoked_at.is_(None))
        )
        return None if token is None else token_info(token)
