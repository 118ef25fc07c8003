"""Schemathesis against the merchant API's own description (`/api/v1/openapi.json`), through the real app on
the test database: whatever a client sends, no answer is a 5xx, every answer (status, content type, headers,
body) is one the document describes, data the document allows is accepted and data it refuses is refused
(`positive_data_acceptance`, `negative_data_rejection`). The examples, coverage, fuzzing and stateful phases
(operations chained through the links between them) all run, with few examples each and a fixed seed, so the
suite stays fast and a failure can be replayed.

The document says what a JSON Schema can: NUL-free text, the characters of a SKU, the ISO 4217 currencies, an
e-mail address's shape, the cursors' shape (any cursor of that shape is a place in the list), event types,
an audience naming at least one thing, a text in the shop's default language. What it cannot say, the hooks
in tests/e2e/api_fuzzing_hooks.py supply, as a client would: dates are kept in the windows the server's clock
sets (an order not in the future, a purchase order due within three years), and each request gets its own
Idempotency-Key (a key reused with another request is refused by design).

Unknown SKUs, orders and categories in a body are a 422 naming the field, not a 404: the URL exists and the
request is well formed, and a batch of orders answers with every problem at once, each with its JSON path
(`orders[3].lines[0].sku`), which is what a merchant's developer needs to fix the feed; a 404 would read as
"no such endpoint" and could name only one problem. A 404 stays for the thing a path or a single-purpose
body names (`PUT /stock/{sku}`, a purchase order's SKU, a shipment's order). So for the operations in
REFERENCE_422 a 422 for allowed data passes positive_data_acceptance, and a check of the hooks module then
insists that every problem it names is one a document cannot know: a SKU, order or category the shop lacks,
a repeat within the batch, a product as its own substitute, a phone number no numbering plan has, a
language CLDR does not know.
"""

import asyncio
import os
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
HOOKS = "tests.e2e.api_fuzzing_hooks"
REFERENCE_422 = [
    "POST /api/v1/orders",
    "POST /api/v1/products",
    "PUT /api/v1/products/{sku}",
    "POST /api/v1/broadcasts",
    "PUT /api/v1/suppliers/{supplier_id}/products",
]
CONFIG = f"""
[[operations]]
include-name = {REFERENCE_422!r}
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
"""


async def test_no_request_gets_a_server_error_or_an_undocumented_answer(
    session_factory: async_sessionmaker[AsyncSession], clock: ManualClock, policy: ShopPolicy, uow: UnitOfWork,
    session: AsyncSession, tmp_path: Path,
) -> None:
    # The ignored_auth check sends wrong tokens: with the usual limit the address would soon get only 429s.
    deps = ChatDeps(web_settings(failed_tokens_per_hour=10_000), session_factory, clock, policy)
    await add_product(session, "HS-200", available=2)  # the SKU of the document's examples
    await session.commit()
    plaintext, _ = await create_token(uow, "fuzzer")
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    async with TestServer(build_web_app(deps)) as server:
        run = await asyncio.create_subprocess_exec(
            str(SCHEMATHESIS), "--config-file", str(config), "run", str(server.make_url("/api/v1/openapi.json")),
            "--header", f"Authorization: Bearer {plaintext}",
            "--phases", "examples,coverage,fuzzing,stateful",
            "--checks", "all",
            "--max-examples", "5",
            "--seed", "20261202",
            "--workers", "1",
            "--no-color",
            cwd=tmp_path,  # its example cache stays out of the working tree
            env=os.environ | {
                "SCHEMATHESIS_HOOKS": HOOKS,
                "PYTHONPATH": str(Path(__file__).parents[2]),
                "FUZZ_NOW": clock.now().isoformat(),
                "FUZZ_TIME_ZONE": str(clock.tz),
            },
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await run.communicate()

    report = output.decode()
    assert run.returncode == 0, report
    assert "Stateful" in report and "Fuzzing" in report
    assert "Rate limited" not in report
