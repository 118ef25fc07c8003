"""The support desk's end-to-end tests: the bot runs with a support group (fixtures in tests/e2e/support_driver.py)."""

from typing import Any

import pytest


@pytest.fixture
def bot_settings(support_bot_settings: dict[str, Any]) -> dict[str, Any]:
    return support_bot_settings
