"""Merchant API tokens: shown once, kept only as a hash, listable, revocable; and the `token` commands."""

import asyncio
import hashlib
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock, ManualClock, SystemClock
from bot.services.audit import Actor, record
from bot.services.errors import ApiTokenNotFound, InvalidApiTokenName
from bot.services.merchant_access.api_tokens import TokenInfo, authenticate, create_token, list_tokens, revoke_token
from bot.services.unit_of_work import UnitOfWork
from db.engine import create_engine, create_session_factory
from db.models import ApiToken
from tests.cli_runner import run_cli
from tests.readback import audit_entries


async def stored(sessions: async_sessionmaker[AsyncSession], token_id: int) -> ApiToken:
    async with sessions() as session:
        return await session.get_one(ApiToken, token_id)


async def test_a_new_token_is_returned_once_and_only_its_sha256_is_kept(uow: UnitOfWork, session_factory) -> None:
    plaintext, info = await create_token(uow, "shop-sync")

    row = await stored(session_factory, info.id)
    assert row.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in (row.token_hash, row.prefix, row.name)
    assert row.prefix == plaintext[:10] and info.prefix == row.prefix
    assert (info.name, info.active, info.last_used_at) == ("shop-sync", True, None)
    [created] = await audit_entries(session_factory, "api_token.created")
    assert created.entity_id == str(info.id) and plaintext not in str(created.details)


async def test_tokens_are_long_random_and_distinct(uow: UnitOfWork) -> None:
    first, _ = await create_token(uow, "a")
    second, _ = await create_token(uow, "b")

    assert first != second
    # 32 random bytes, URL-safe base64: 43 characters after the "bd_" marker.
    assert first.startswith("bd_") and len(first) == 3 + 43


async def test_authenticate_knows_the_token_and_notes_when_it_was_used(uow: UnitOfWork, clock: ManualClock) -> None:
    plaintext, info = await create_token(uow, "shop-sync")

    found = await authenticate(uow, plaintext)

    assert found is not None and found.id == info.id
    assert found.last_used_at == clock.now()
    [listed] = await list_tokens(uow)
    assert listed.last_used_at == clock.now()


async def test_authenticate_refuses_wrong_and_revoked_tokens(uow: UnitOfWork) -> None:
    plaintext, info = await create_token(uow, "shop-sync")

    assert await authenticate(uow, plaintext + "x") is None
    assert await authenticate(uow, plaintext[:-1]) is None
    assert await authenticate(uow, "not-even-our-format") is None
    await revoke_token(uow, info.id)
    assert await authenticate(uow, plaintext) is None


async def test_last_used_is_written_at_most_once_a_minute(uow: UnitOfWork, clock: ManualClock, session_factory) -> None:
    plaintext, info = await create_token(uow, "shop-sync")
    first_use = clock.now()
    await authenticate(uow, plaintext)

    clock.advance(seconds=30)
    await authenticate(uow, plaintext)
    assert (await stored(session_factory, info.id)).last_used_at == first_use

    clock.advance(seconds=31)
    await authenticate(uow, plaintext)
    assert (await stored(session_factory, info.id)).last_used_at == clock.now()


async def test_revoking_keeps_the_first_revocation_and_audits_it_once(
    uow: UnitOfWork, clock: ManualClock, session_factory
) -> None:
    _, info = await create_token(uow, "old-shop")
    revoked = await revoke_token(uow, info.id)
    clock.advance(hours=1)

    again = await revoke_token(uow, info.id)

    assert again.revoked_at == revoked.revoked_at == datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
    assert not again.active
    assert len(await audit_entries(session_factory, "api_token.revoked")) == 1


async def test_list_shows_every_token_revoked_ones_included(uow: UnitOfWork) -> None:
    _, first = await create_token(uow, "first")
    _, second = await create_token(uow, "second")
    await revoke_token(uow, first.id)

    listed = await list_tokens(uow)

    assert [(token.name, token.active) for token in listed] == [("first", False), ("second", True)]
    assert listed[1].id == second.id


async def test_an_unknown_token_cannot_be_revoked(uow: UnitOfWork) -> None:
    with pytest.raises(ApiTokenNotFound):
        await revoke_token(uow, 4242)


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
async def test_a_token_needs_a_sensible_name(uow: UnitOfWork, session_factory, name: str) -> None:
    with pytest.raises(InvalidApiTokenName):
        await create_token(uow, name)
    async with session_factory() as session:
        assert (await session.execute(select(ApiToken))).first() is None


def test_token_commands_create_list_and_revoke(cli_database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("db", "upgrade") == 0
    capsys.readouterr()

    assert run_cli("token", "create", "--name", "shop-sync") == 0
    created = capsys.readouterr()
    plaintext = created.out.strip()
    assert "not shown again" in created.err
    token = asyncio.run(authenticate_in(cli_database, plaintext))
    assert token is not None and token.name == "shop-sync"

    assert run_cli("token", "list") == 0
    listing = capsys.readouterr().out
    assert "shop-sync" in listing and token.prefix in listing and "active" in listing
    assert plaintext not in listing

    assert run_cli("token", "revoke", str(token.id)) == 0
    assert "revoked" in capsys.readouterr().out
    assert asyncio.run(authenticate_in(cli_database, plaintext)) is None
    assert run_cli("token", "list") == 0
    assert "revoked 20" in capsys.readouterr().out

    assert run_cli("token", "revoke", "999") == 1
    assert "There is no API token 999." in capsys.readouterr().err


async def authenticate_in(database_url: str, plaintext: str, clock: Clock | None = None) -> TokenInfo | None:
    """What the server would make of `plaintext`, on the command's own database (on the real clock by default)."""
    engine = create_engine(database_url)
    try:
        return await authenticate(UnitOfWork(create_session_factory(engine), clock or SystemClock(ZoneInfo("UTC"))), plaintext)
    finally:
        await engine.dispose()


def test_a_token_created_on_a_demo_database_moved_days_on_is_created_on_its_timeline(
    cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli("db", "upgrade") == 0
    three_days_on = datetime.now(timezone.utc) + timedelta(days=3)  # the demo's "+1 day", pressed three times
    asyncio.run(record_a_change_at(cli_database, three_days_on))
    capsys.readouterr()

    assert run_cli("token", "create", "--name", "me") == 0
    plaintext = capsys.readouterr().out.strip()
    demo_clock = ManualClock(three_days_on + timedelta(minutes=5))
    token = asyncio.run(authenticate_in(cli_database, plaintext, demo_clock))  # the demo's console, on its clock

    assert token is not None and token.last_used_at is not None
    assert three_days_on <= token.created_at <= token.last_used_at  # not "created" days before its first use


async def record_a_change_at(database_url: str, at: datetime) -> None:
    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session:
            record(session, Actor.system(), "demo.next_day", "shop", 0, at=at)
            await session.commit()
    finally:
        await engine.dispose()
