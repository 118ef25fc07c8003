"""`backorder-bot customer|staff export|erase`: a person's privacy request answered from the command line."""

import json
import sys

from bot.config import Settings
from bot.services.privacy import (
    PersonNotFound,
    SubjectQuery,
    erase_customer,
    erase_staff_member,
    export_customer,
    export_staff_member,
)
from bot.web_jobs import CLI_ACTOR
from bot.wiring import unit_of_work



async def export_person(settings: Settings, email: str | None, telegram_user_id: int | None) -> int:
    """Print the person's data as JSON on stdout; exit code 1 when nothing is stored about them."""
    async with unit_of_work(settings) as uow:
        try:
            document = await export_customer(uow, SubjectQuery(email, telegram_user_id))
        except PersonNotFound as missing:
            print(missing.message, file=sys.stderr)
            return 1
    print(json.dumps(document, ensure_ascii=False, indent=2))
    return 0


async def erase_person(settings: Settings, email: str | None, telegram_user_id: int | None) -> int:
    """Erase the person and say what happened; erasing someone already gone is not an error."""
    async with unit_of_work(settings) as uow:
        result = await erase_customer(uow, SubjectQuery(email, telegram_user_id), CLI_ACTOR)
    if not result.erased:
        print("Nothing personal is stored about that person (any more); nothing changed.")
        return 0
    who = f"Customer {result.customer_id}" if result.customer_id is not None else "The Telegram user"
    print(f"{who} erased: personal fields removed, chat state and ticket transcripts deleted.")
    return 0


async def export_staff(settings: Settings, telegram_user_id: int) -> int:
    """Print what is stored about one of the shop's people as JSON; exit code 1 when nothing is."""
    async with unit_of_work(settings) as uow:
        try:
            document = await export_staff_member(uow, telegram_user_id)
        except PersonNotFound as missing:
            print(missing.message, file=sys.stderr)
            return 1
    print(json.dumps(document, ensure_ascii=False, indent=2))
    return 0


async def erase_staff(settings: Settings, telegram_user_id: int) -> int:
    """Erase one of the shop's people and say what happened, and what the settings still hold of them."""
    async with unit_of_work(settings) as uow:
        result = await erase_staff_member(uow, telegram_user_id, CLI_ACTOR)
    if result.erased:
        rows = sum(result.changed.values())
        print(f"Erased: their Telegram id is gone from {rows} stored rows; what they did is kept.")
    else:
        print("Nothing stored names that Telegram user (any more); nothing changed.")
    listed = {"MERCHANT_USER_IDS": settings.merchant_user_ids, "AGENT_USER_IDS": settings.agent_user_ids}
    still = [name for name, ids in listed.items() if telegram_user_id in ids]
    if still:
        print(f"Still listed in {' and '.join(still)}: remove them there, or they keep their access.")
    return 0
