"""What a failing statement leaves in the logs: never the customer's e-mail address or phone number."""

import logging
from datetime import datetime, timezone

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Customer

EMAIL = "private.person@example.com"
PHONE = "+4915123456789"


def _customer(name: str) -> Customer:
    return Customer(name=name, email=EMAIL, phone=PHONE, created_at=datetime(2026, 11, 27, tzinfo=timezone.utc))


async def test_a_failing_statement_logs_no_email_or_phone(
    session_factory: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    async with session_factory() as session:
        session.add(_customer("First"))
        await session.commit()
        session.add(_customer("Second"))  # the same e-mail address: refused by the unique constraint
        with pytest.raises(IntegrityError) as refused:
            await session.commit()
        # What an entry point does with an unexpected failure (e.g. the web server's error middleware).
        logging.getLogger("tests").error("request failed", exc_info=refused.value)

    assert "parameters hidden" in str(refused.value)
    assert EMAIL not in caplog.text and PHONE not in caplog.text
    assert "UNIQUE" in caplog.text.upper() or "unique" in caplog.text
