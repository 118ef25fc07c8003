"""Kept answers for Idempotency-Keys: claimed once, answered once, replayed, refused for another request."""

import asyncio
from datetime import timedelta

from bot.clock import ManualClock
from bot.services.merchant_access.api_tokens import create_token
from bot.services.merchant_access.idempotent_requests import (
    Answered,
    Claimed,
    KeyReused,
    StillRunning,
    claim_request,
    forget_idempotent_requests,
    release_claim,
    store_answer,
)
from bot.services.unit_of_work import UnitOfWork

STALE = timedelta(minutes=2)


async def claim(uow: UnitOfWork, token_id: int, key: str = "k-1", fingerprint: str = "a" * 64):
    return await claim_request(uow, token_id, key, "POST", "/api/v1/purchase-orders", fingerprint, STALE)


async def test_the_first_request_claims_the_key_and_a_retry_gets_its_answer(uow: UnitOfWork) -> None:
    _, token = await create_token(uow, "shop")

    first = await claim(uow, token.id)
    assert isinstance(first, Claimed)
    assert await claim(uow, token.id) == StillRunning()

    await store_answer(uow, first.claim_id, 201, {"reference": "PO-1"})

    assert await claim(uow, token.id) == Answered(201, {"reference": "PO-1"})


async def test_the_same_key_for_another_request_is_refused(uow: UnitOfWork) -> None:
    _, token = await create_token(uow, "shop")
    first = await claim(uow, token.id)
    assert isinstance(first, Claimed)
    await store_answer(uow, first.claim_id, 200, {})

    assert await claim(uow, token.id, fingerprint="b" * 64) == KeyReused()


async def test_keys_belong_to_their_token(uow: UnitOfWork) -> None:
    _, shop = await create_token(uow, "shop")
    _, warehouse = await create_token(uow, "warehouse")
    first = await claim(uow, shop.id)
    assert isinstance(first, Claimed)

    assert isinstance(await claim(uow, warehouse.id), Claimed)


async def test_of_two_concurrent_claims_exactly_one_wins(uow: UnitOfWork, session_factory, clock, policy) -> None:
    _, token = await create_token(uow, "shop")

    outcomes = await asyncio.gather(
        *(claim(UnitOfWork(session_factory, clock, policy), token.id) for _ in range(4))
    )

    assert sum(isinstance(outcome, Claimed) for outcome in outcomes) == 1
    assert sum(outcome == StillRunning() for outcome in outcomes) == 3


async def test_a_released_key_can_be_claimed_again(uow: UnitOfWork) -> None:
    _, token = await create_token(uow, "shop")
    first = await claim(uow, token.id)
    assert isinstance(first, Claimed)

    await release_claim(uow, first.claim_id)

    assert isinstance(await claim(uow, token.id), Claimed)


async def test_a_claim_left_unanswered_too_long_is_taken_over_once(uow: UnitOfWork, clock: ManualClock) -> None:
    _, token = await create_token(uow, "shop")
    first = await claim(uow, token.id)
    assert isinstance(first, Claimed)

    clock.advance(minutes=1)
    assert await claim(uow, token.id) == StillRunning()
    clock.advance(minutes=1, seconds=1)
    second = await claim(uow, token.id)

    assert second == Claimed(first.claim_id)
    assert await claim(uow, token.id) == StillRunning()


async def test_old_keys_are_forgotten_and_can_be_used_again(uow: UnitOfWork, clock: ManualClock) -> None:
    _, token = await create_token(uow, "shop")
    old = await claim(uow, token.id, key="old")
    assert isinstance(old, Claimed)
    await store_answer(uow, old.claim_id, 200, {})
    clock.advance(hours=25)
    recent = await claim(uow, token.id, key="recent")
    assert isinstance(recent, Claimed)

    assert await forget_idempotent_requests(uow, clock.now() - timedelta(hours=24)) == 1

    assert isinstance(await claim(uow, token.id, key="old"), Claimed)
    assert await claim(uow, token.id, key="recent") == StillRunning()
