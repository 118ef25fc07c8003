"""Whether the bot can reach a customer on Telegram."""

from sqlalchemy import update

from bot.services.audit import Actor, record
from bot.services.unit_of_work import UnitOfWork
from db.models import Customer


async def mark_bot_blocked(uow: UnitOfWork, telegram_user_id: int) -> bool:
    """Telegram said the user blocked the bot: stop writing to them until they write again."""
    async with uow:
        customer_id = await uow.session.scalar(
            update(Customer)
            .where(Customer.telegram_user_id == telegram_user_id, Customer.bot_blocked.is_(False))
            .values(bot_blocked=True)
            .returning(Customer.id)
        )
        if customer_id is None:
            return False
        record(uow.session, Actor.system(), "bot_blocked", "customer", customer_id, at=uow.clock.now())
        await uow.commit()
    return True
