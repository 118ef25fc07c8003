"""The first step for every Telegram update: handle it once, and know who is writing and in what language."""

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.services.conversations.chat_session import resolve_language
from bot.services.unit_of_work import UnitOfWork
from db.models import Customer, ProcessedUpdate, TelegramUser


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
    chosen_language: str | None = None  # picked with /language; wins over the customer's and Telegram's
    telegram_language_code: str | None = None

    def link(self, customer_id: int, customer_name: str, customer_language: str | None, default_language: str) -> None:
        """The user was just linked to this customer: answer as for them from now on, in their language."""
        self.customer_id = customer_id
        self.customer_name = customer_name
        self.language = resolve_language(
            self.chosen_language, customer_language, self.telegram_language_code, default_language
        )


async def begin_update(
    uow: UnitOfWork,
    update_id: int,
    telegram_user_id: int,
    chat_id: int | None,
    telegram_language_code: str | None,
    *,
    reachable: bool = True,
) -> Intake | None:
    """Claim the update and load the user in one transaction; None when this update was handled already.

    `reachable`: the update shows the user can be written to (anything but their blocking the bot).
    Every update passes here, so it takes two statements, built once, on a plain connection without the ORM
    session, the claim going with the COMMIT; unless the user is new, their chat or Telegram language
    changed, or they are back from blocking the bot.
    """
    async with uow.connection() as connection:
        now = uow.clock.now()
        statements = _statements(connection.dialect.name)
        claim_parameters = {"update_id": update_id, "processed_at": now}
        known = (await connection.execute(_USER_AND_CUSTOMER, {"telegram_user_id": telegram_user_id})).one_or_none()
        if known is not None and not _changes(known, chat_id, telegram_language_code) and not _unblocks(known, reachable):
            claim = await uow.commit_with(statements.claim, claim_parameters)
            return _intake(telegram_user_id, known, known, uow.policy.default_language) if _claimed(claim) else None
        if not _claimed(await connection.execute(statements.claim, claim_parameters)):
            return None
        user, customer = known, known
        if known is None or _changes(known, chat_id, telegram_language_code):
            user = (
                await connection.execute(
                    statements.upsert_user,
                    {
                        "telegram_user_id": telegram_user_id,
                        "chat_id": chat_id,
                        "telegram_language_code": telegram_language_code or None,
                        "conversation_data": {},
                        "misunderstood_in_a_row": 0,
                        "created_at": now,
                        "updated_at": now,
                    },
                )
            ).one()
        if known is None:  # first contact: the customer may have been linked before the user wrote
            customer = (await connection.execute(_LINKED_CUSTOMER, {"telegram_user_id": telegram_user_id})).one_or_none()
        assert user is not None
        if _unblocks(customer, reachable):
            await connection.execute(_UNBLOCK, {"customer_id": customer.customer_id})
        await uow.commit()
    return _intake(telegram_user_id, user, customer, uow.policy.default_language)


def _claimed(claim: Any) -> bool:
    """Whether the claim recorded the update, rather than finding it handled already."""
    return bool(claim.rowcount)


def _intake(telegram_user_id: int, user: Any, customer: Any, default_language: str) -> Intake:
    linked = _linked(customer)
    return Intake(
        telegram_user_id=telegram_user_id,
        language=resolve_language(
            user.language, customer.customer_language if linked else None, user.telegram_language_code, default_language
        ),
        customer_id=customer.customer_id if linked else None,
        customer_name=customer.customer_name if linked else None,
        state=user.conversation_state,
        data=dict(user.conversation_data or {}),
        misunderstood_in_a_row=user.misunderstood_in_a_row,
        chosen_language=user.language,
        telegram_language_code=user.telegram_language_code,
    )


def _linked(customer: Any) -> bool:
    return customer is not None and customer.customer_id is not None


def _unblocks(customer: Any, reachable: bool) -> bool:
    """Whether the update proves that a customer marked as having blocked the bot has not (any more)."""
    return _linked(customer) and customer.bot_blocked and reachable


def _changes(known: Any, chat_id: int | None, telegram_language_code: str | None) -> bool:
    """Whether the update brings a private chat or Telegram language the user's row does not have yet."""
    return (chat_id is not None and chat_id != known.chat_id) or (
        bool(telegram_language_code) and telegram_language_code != known.telegram_language_code
    )


@dataclass(frozen=True)
class _Statements:
    claim: Any
    upsert_user: Any


@cache
def _statements(dialect_name: str) -> _Statements:
    """The dialect's INSERT ... ON CONFLICT statements; constructing them costs more than running them."""
    insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    claim = (
        insert(ProcessedUpdate)
        .values(update_id=_param(ProcessedUpdate.update_id), processed_at=_param(ProcessedUpdate.processed_at))
        .on_conflict_do_nothing(index_elements=[ProcessedUpdate.update_id])
    )
    new_user = insert(TelegramUser).values(
        {
            column: _param(column)
            for column in (
                TelegramUser.telegram_user_id,
                TelegramUser.chat_id,
                TelegramUser.telegram_language_code,
                TelegramUser.conversation_data,
                TelegramUser.misunderstood_in_a_row,
                TelegramUser.created_at,
                TelegramUser.updated_at,
            )
        }
    )
    # A known user keeps the private chat and Telegram language an update leaves out (a group message, say).
    upsert_user = new_user.on_conflict_do_update(
        index_elements=[TelegramUser.telegram_user_id],
        set_={
            TelegramUser.chat_id: func.coalesce(new_user.excluded.chat_id, TelegramUser.chat_id),
            TelegramUser.telegram_language_code: func.coalesce(
                new_user.excluded.telegram_language_code, TelegramUser.telegram_language_code
            ),
        },
    ).returning(
        TelegramUser.language,
        TelegramUser.telegram_language_code,
        TelegramUser.conversation_state,
        TelegramUser.conversation_data,
        TelegramUser.misunderstood_in_a_row,
    )
    return _Statements(claim, upsert_user)


def _param(column: Any) -> Any:
    """A bound parameter named and typed like the column, so its type's conversions (UTC, JSON) apply."""
    return bindparam(column.key, type_=column.type)


_CUSTOMER_COLUMNS = (
    Customer.id.label("customer_id"),
    Customer.name.label("customer_name"),
    Customer.language.label("customer_language"),
    Customer.bot_blocked,
)
# One round trip on every update but a user's first: the user's row and the customer linked to them.
_USER_AND_CUSTOMER = (
    select(
        TelegramUser.chat_id,
        TelegramUser.language,
        TelegramUser.telegram_language_code,
        TelegramUser.conversation_state,
        TelegramUser.conversation_data,
        TelegramUser.misunderstood_in_a_row,
        *_CUSTOMER_COLUMNS,
    )
    .outerjoin(Customer, Customer.telegram_user_id == TelegramUser.telegram_user_id)
    .where(TelegramUser.telegram_user_id == bindparam("telegram_user_id"))
)
_LINKED_CUSTOMER = select(*_CUSTOMER_COLUMNS).where(Customer.telegram_user_id == bindparam("telegram_user_id"))
_UNBLOCK = update(Customer).where(Customer.id == bindparam("customer_id")).values(bot_blocked=False)
