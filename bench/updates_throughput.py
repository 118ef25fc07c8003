"""Updates handled per second by a PTB Application polling the fake Bot API, for any bot under test.

The fake server runs in the same process and event loop as the bot, so its own work is part of the
figure; compare bots measured with this function in the same run, not against live Telegram numbers.
"""

import time
from collections.abc import Callable

from bot.sandbox import FakeBotApi
from tests.e2e.harness import AppFactory, fake_bot_api, running_bot


async def measure_updates_per_second(
    app_factory: AppFactory,
    make_update_text: Callable[[int], str],
    n: int,
    *,
    users: int = 100,
    replies_per_update: int = 1,
    timeout: float | None = None,
) -> float:
    """Queue `n` texts from `users` customers at once and time until the bot has sent a reply to each.

    Each customer first sends one text that is not timed, so first-contact work (opening the private
    chat, creating the customer's rows) stays out of the figure. Handler errors fail the measurement.
    """
    async with fake_bot_api() as fake:
        customers = [fake.add_user(f"Customer {i}", username=f"customer_{i}") for i in range(users)]
        async with running_bot(fake, app_factory):
            for i, customer in enumerate(customers):
                fake.send_text(customer, make_update_text(i))
            await _wait_for_replies(fake, users * replies_per_update, timeout or 60.0)

            started, replied_before = time.perf_counter(), fake.sent_message_count
            for i in range(n):
                fake.send_text(customers[i % users], make_update_text(i))
            await _wait_for_replies(fake, replied_before + n * replies_per_update, timeout or max(60.0, n * 0.05))
            elapsed = time.perf_counter() - started
    return n / elapsed


async def _wait_for_replies(fake: FakeBotApi, total: int, timeout: float) -> None:
    await fake.wait_until(lambda: fake.sent_message_count >= total, timeout, what=f"{total} replies")
