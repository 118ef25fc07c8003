"""Schemathesis against the merchant API's own description (`/api/v1/openapi.json`), through the real app on
the test database: whatever a client sends, no answer is a 5xx, and every answer (status, content type,
headers, body) is one the document describes. The examples, coverage, fuzzing and stateful phases (operations
chained through the links between them) all run, with few examples each and a fixed seed, so the suite stays
fast and a failure can be replayed.

Two of Schemathesis' checks are left out on purpose: `positive_data_acceptance` and `negative_data_rejection`
compare what the schema says with what validation accepts, and the API checks more than a JSON schema can say
(a known ISO 4217 currency, a real e-mail address, dates within a sane window, a broadcast naming an audience).
"""

import asyncio
import sys
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.composition import ChatDeps
from bot.services.merchant_access.api_tokens import create_token
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from bot.web.app import build_web_app
from tests.e2e.web_client import web_settings
from tests.shop import add_product

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# A virtual environment set up before Schemathesis joined the dev extras lacks it: say how to get it.
pytestmark = pytest.mark.skipif(
    not SCHEMATHESIS.exists(), reason="Schemathesis is not installed: .venv/bin/pip install -q -e '.[dev]'"
)
CHECKS_LEFT_OUT = "positive_data_acceptance,negative_data_rejection"


async def test_no_request_gets_a_server_error_or_an_undocumented_answer(
    session_factory: async_sessionmaker[AsyncSession], clock: ManualClock, policy: ShopPolicy, uow: UnitOfWork,
    session: AsyncSession, tmp_path: Path,
) -> None:
    # The ignored_auth check sends wrong tokens: with the usual limit the address would soon get only 429s.
    deps = ChatDeps(web_settings(failed_tokens_per_hour=10_000), session_factory, clock, policy)
    await add_product(session, "HS-200", available=2)  # the SKU of the document's examples
    await session.commit()
    plaintext, _ = await create_token(uow, "fuzzer")
    async with TestServer(build_web_app(deps)) as server:
        run = await asyncio.create_subprocess_exec(
            str(SCHEMATHESIS), "run", str(server.make_url("/api/v1/openapi.json")),
            "--header", f"Authorization: Bearer {plaintext}",
            "--phases", "examples,coverage,fuzzing,stateful",
            "--checks", "all",
            "--exclude-checks", CHECKS_LEFT_OUT,
            "--max-examples", "5",
            "--seed", "20261202",
            "--workers", "1",
            "--no-color",
            cwd=tmp_path,  # its example cache stays out of the working tree
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await run.communicate()

    report = output.decode()
    assert run.returncode == 0, report
    assert "Stateful" in report and "Fuzzing" in report
    assert "Rate limited" not in report
