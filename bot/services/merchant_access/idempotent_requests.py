"""Remembered answers to merchant API requests sent with an Idempotency-Key, so a retry changes nothing.

A key is first *claimed* (a row with no answer yet, committed at once), the request runs, and its answer is
stored on the claim. The unique (token, key) constraint decides between two concurrent requests with one key:
the second finds the claim and waits for its answer. A claim whose request died without answering is taken
over once it is `stale_after` old.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.unit_of_work import UnitOfWork
from db.models import IdempotentRequest

_UNANSWERED = 0  # status_code of a claim whose request is still running


@dataclass(frozen=True)
class Claimed:
    """The key is ours: run the request, then `store_answer` (or `release_claim` if it failed)."""

    claim_id: int


@dataclass(frozen=True)
class Answered:
    """The key was used before for this very request: give its answer again."""

    status_code: int
    body: Any


@dataclass(frozen=True)
class StillRunning:
    """Another request with this key is running; its answer is not there yet."""


@dataclass(frozen=True)
class KeyReused:
    """The key was used before for a different request."""


ClaimOutcome = Claimed | Answered | StillRunning | KeyReused


@dataclass(frozen=True)
class RequestKey:
    """A request as its idempotency key names it: the token's key, and what makes two requests the same one."""

    token_id: int
    key: str
    method: str
    path: str
    fingerprint: str


async def claim_request(
    uow: UnitOfWork,
    token_id: int,
    key: str,
    method: str,
    path: str,
    request_hash: str,
    stale_after: timedelta,
) -> ClaimOutcome:
    """Claim `key` for this request, or say what became of the request that used it first."""
    async with uow:
        outcome = await claim_in(uow.session, uow.clock.now(), token_id, key, method, path, request_hash, stale_after)
        if isinstance(outcome, Claimed):
            await uow.commit()
        return outcome


async def claim_in(
    session: AsyncSession,
    now: datetime,
    token_id: int,
    key: str,
    method: str,
    path: str,
    request_hash: str,
    stale_after: timedelta | None,
) -> ClaimOutcome:
    """claim_request in the caller's transaction; does not commit. Committed together with the request's work and
    its answer, the claim never outlives a request that failed, and `stale_after` may be None: never taken over."""
    existing = await _find(session, token_id, key)
    if existing is None:
        claim = IdempotentRequest(
            token_id=token_id,
            key=key,
            method=method,
            path=path,
            request_hash=request_hash,
            status_code=_UNANSWERED,
            response_body={},
            created_at=now,
        )
        try:
            async with session.begin_nested():
                session.add(claim)
        except IntegrityError:
            # Another request claimed the key between our look-up and our insert: theirs stands.
            existing = await _find(session, token_id, key)
            if existing is None:
                raise
        else:
            return Claimed(claim.id)
    if existing.request_hash != request_hash:
        return KeyReused()
    if existing.status_code != _UNANSWERED:
        return Answered(existing.status_code, existing.response_body)
    if stale_after is not None and existing.created_at <= now - stale_after and await _take_over(session, existing, now):
        return Claimed(existing.id)
    return StillRunning()


async def store_answer(uow: UnitOfWork, claim_id: int, status_code: int, body: Any) -> None:
    """Keep the answer to a claimed request, to be given again for the same key."""
    async with uow:
        await answer_in(uow.session, claim_id, status_code, body)
        await uow.commit()


async def answer_in(session: AsyncSession, claim_id: int, status_code: int, body: Any) -> None:
    """store_answer in the caller's transaction; does not commit."""
    await session.execute(
        update(IdempotentRequest).where(IdempotentRequest.id == claim_id).values(status_code=status_code, response_body=body)
    )


async def release_claim(uow: UnitOfWork, claim_id: int) -> None:
    """Give the key back after a request that failed without an answer worth keeping (a server error)."""
    async with uow:
        await uow.session.execute(
            delete(IdempotentRequest).where(
                IdempotentRequest.id == claim_id, IdempotentRequest.status_code == _UNANSWERED
            )
        )
        await uow.commit()


async def forget_idempotent_requests(uow: UnitOfWork, older_than: datetime) -> int:
    """Forget the keys first used before `older_than`, so they can be used again; returns how many."""
    async with uow:
        result = await uow.session.execute(delete(IdempotentRequest).where(IdempotentRequest.created_at < older_than))
        await uow.commit()
    return result.rowcount


async def _find(session: AsyncSession, token_id: int, key: str) -> IdempotentRequest | None:
    return (
        await session.execute(
            select(IdempotentRequest).where(IdempotentRequest.token_id == token_id, IdempotentRequest.key == key)
        )
    ).scalar_one_or_none()


async def _take_over(session: AsyncSession, stale: IdempotentRequest, now: datetime) -> bool:
    """Renew a stale claim as ours; False if someone else renewed or answered it first."""
    renewed = await session.execute(
        update(IdempotentRequest)
        .where(
            IdempotentRequest.id == stale.id,
            IdempotentRequest.status_code == _UNANSWERED,
            IdempotentRequest.created_at == stale.created_at,
        )
        .values(created_at=now)
        .execution_options(synchronize_session=False)
    )
    return renewed.rowcount == 1
