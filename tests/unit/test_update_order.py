"""Updates of different chats run side by side; one chat's or one user's run one at a time, in order."""

import asyncio
from collections.abc import Callable
from datetime import datetime, timezone

import pytest
from telegram import Chat, Message, Update, User

from bot.update_order import ChatOrderedUpdates

GROUP = -100_500


def message_update(update_id: int, user_id: int, chat_id: int | None = None) -> Update:
    """A text from `user_id` in their private chat, or in `chat_id` (a group)."""
    chat = Chat(chat_id, Chat.SUPERGROUP) if chat_id is not None else Chat(user_id, Chat.PRIVATE)
    user = User(user_id, f"User {user_id}", is_bot=False)
    message = Message(update_id, datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc), chat, from_user=user, text="hi")
    return Update(update_id, message=message)


class Handling:
    """Feeds updates to the processor as PTB does (one task each, in order); each handler waits to be let go."""

    def __init__(self, processor: ChatOrderedUpdates) -> None:
        self.processor = processor
        self.started: list[int] = []
        self.finished: list[int] = []
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self._gates: dict[int, asyncio.Event] = {}
        self._fail: set[int] = set()

    def arrive(self, update: Update, *, fails: bool = False) -> None:
        self._gates[update.update_id] = asyncio.Event()
        if fails:
            self._fail.add(update.update_id)
        self.tasks[update.update_id] = asyncio.create_task(
            self.processor.process_update(update, self._handle(update.update_id))
        )

    def finish(self, update_id: int) -> None:
        self._gates[update_id].set()

    async def _handle(self, update_id: int) -> None:
        self.started.append(update_id)
        await self._gates[update_id].wait()
        self.finished.append(update_id)
        if update_id in self._fail:
            raise RuntimeError("the handler failed")


async def settle(until: Callable[[], bool] = lambda: False, rounds: int = 50) -> None:
    """Let the event loop run a while (or until the condition holds); no clock involved."""
    for _ in range(rounds):
        if until():
            return
        await asyncio.sleep(0)


@pytest.fixture
def handling() -> Handling:
    return Handling(ChatOrderedUpdates(max_running=8))


async def test_a_chats_next_update_waits_for_the_one_before(handling: Handling) -> None:
    handling.arrive(message_update(1, user_id=7))
    handling.arrive(message_update(2, user_id=7))
    await settle()
    assert handling.started == [1]

    handling.finish(1)
    await settle(lambda: handling.started == [1, 2])
    assert handling.started == [1, 2]


async def test_other_chats_do_not_wait(handling: Handling) -> None:
    handling.arrive(message_update(1, user_id=7))
    handling.arrive(message_update(2, user_id=8))
    handling.finish(2)
    await settle(lambda: handling.finished == [2])

    assert handling.started == [1, 2]
    assert handling.finished == [2]


async def test_a_users_group_message_and_private_message_keep_their_order(handling: Handling) -> None:
    handling.arrive(message_update(1, user_id=7))
    handling.arrive(message_update(2, user_id=7, chat_id=GROUP))  # waits for user 7
    handling.arrive(message_update(3, user_id=9, chat_id=GROUP))  # waits for the group
    handling.arrive(message_update(4, user_id=9))  # waits for user 9
    await settle()
    assert handling.started == [1]

    for update_id in (1, 2, 3):
        handling.finish(update_id)
        await settle(lambda: len(handling.started) == update_id + 1)
    assert handling.started == [1, 2, 3, 4]


async def test_a_failed_update_does_not_hold_up_its_chat(handling: Handling) -> None:
    handling.arrive(message_update(1, user_id=7), fails=True)
    handling.arrive(message_update(2, user_id=7))
    handling.finish(1)
    await settle(lambda: handling.tasks[1].done())

    with pytest.raises(RuntimeError):
        handling.tasks[1].result()
    await settle(lambda: handling.started == [1, 2])
    assert handling.started == [1, 2]


async def test_an_update_dropped_while_waiting_does_not_let_the_next_one_jump_the_queue(handling: Handling) -> None:
    handling.arrive(message_update(1, user_id=7))
    handling.arrive(message_update(2, user_id=7))
    handling.arrive(message_update(3, user_id=7))
    await settle()
    handling.tasks[2].cancel()
    await settle()
    assert handling.tasks[2].cancelled()
    assert handling.started == [1]

    handling.finish(1)
    await settle(lambda: handling.started == [1, 3])
    assert handling.started == [1, 3]


async def test_running_updates_are_capped_and_nothing_is_kept_once_they_are_done() -> None:
    handling = Handling(ChatOrderedUpdates(max_running=2))
    for update_id in (1, 2, 3):
        handling.arrive(message_update(update_id, user_id=100 + update_id))
    await settle()
    assert handling.started == [1, 2]
    assert handling.processor.chats_and_users_in_hand == 6  # each private chat and its user

    for update_id in (1, 2, 3):
        handling.finish(update_id)
    await settle(lambda: all(task.done() for task in handling.tasks.values()))
    assert handling.finished == [1, 2, 3]
    assert handling.processor.chats_and_users_in_hand == 0


async def test_work_that_can_wait_gives_way_while_updates_are_handled_but_not_for_ever(handling: Handling) -> None:
    await asyncio.wait_for(handling.processor.until_quiet(5), 0.1)  # nothing in hand: no wait at all
    handling.arrive(message_update(1, user_id=7))
    handling.arrive(message_update(2, user_id=8))
    await settle(lambda: handling.started == [1, 2])

    giving_way = asyncio.create_task(handling.processor.until_quiet(5))
    handling.finish(1)
    await settle()
    still_busy = not giving_way.done()
    handling.finish(2)
    await asyncio.wait_for(giving_way, 0.5)

    handling.arrive(message_update(3, user_id=9))  # a long update: the wait ends at its limit all the same
    await settle(lambda: handling.started == [1, 2, 3])
    loop = asyncio.get_running_loop()
    started = loop.time()
    await handling.processor.until_quiet(0.05)
    waited = loop.time() - started
    handling.finish(3)

    assert still_busy
    assert 0.04 <= waited < 0.5
