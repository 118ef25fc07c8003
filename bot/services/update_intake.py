"""The first step for every Telegram update: handle it once, and know who is writing and in what language."""

from dataclasses import dataclass, field
from typing import Any

from bot.services.chat_session import _insert_for, customer_ref_for, ensure_telegram_user, resolve_language
from bot.services.unit_of_work import UnitOfWork
from sqlalchemy import update

from db.models import Customer, ProcessedUpdate


@dataclass
class Intake:
    """Who wrote, in which language to answer, and where their conversation stands."""

    telegram_user_id: int
    language: str
    customer_id: int | None
    customer_name: str | None
    state: str | None
    data: dict[str, Any] = field(default_factory=dict)
    misunderstood_in_a_row: int = 0


async def begin_update(
    uow: UnitOfWork,
    update_id: int,
    telegram_user_id: int,
    chat_id: int | None,
    telegram_language_code: str | None,
    default_language: str,
) -> Intake | None:
    """Claim the update and load the user in one transaction; None when this update was handled already."""
    async with uow:
        now = uow.clock.now()
        claimed = await uow.session.scalar(
            _insert_for(uow.session)(ProcessedUpdate)
            .values(update_id=update_id, processed_at=now)
            .on_conflict_do_nothing(index_elements=[ProcessedUpdate.update_id])
            .returning(ProcessedUpdate.update_id)
        )
        if claimed is None:
            return None
        user = await ensure_telegram_user(uow.session, telegram_user_id, chat_id, now)
        if chat_id is not None and user.chat_id != chat_id:
            user.chat_id = chat_id
        if telegram_language_code and user.telegram_language_code != telegram_language_code:
            user.telegram_language_code = telegram_language_code
        customer = await customer_ref_for(uow.session, telegram_user_id)
        if customer is not None:
            # Writing to us proves the user has not blocked the bot (any more).
            await uow.session.execute(
                update(Customer).where(Customer.id == customer.id, Customer.bot_blocked.is_(True)).values(bot_blocked=False)
            )
        intake = Intake(
            telegram_user_id=telegram_user_id,
            language=resolve_language(
                user.language, customer.language if customer else None, user.telegram_language_code, default_language
            ),
            customer_id=customer.id if customer else None,
            customer_name=customer.name if customer else None,
            state=user.conversation_state,
            data=dict(user.conversation_data or {}),
            misunderstood_in_a_row=user.misunderstood_in_a_row,
        )
        await uow.commit()
    return intake
