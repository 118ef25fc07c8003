"""Benchmark: updates per second for a bare python-telegram-bot echo bot against the fake Bot API.

    .venv/bin/python -m bench.echo_bot [--n 2000] [--repeat 3]

The baseline for our own bot, which a later benchmark runs through the same `measure_updates_per_second`.
"""

import argparse
import asyncio
import logging
import statistics

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from bench.updates_throughput import measure_updates_per_second
from bot.sandbox import FakeBotApi
from tests.e2e.harness import application_builder


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Say the text back."""
    await update.effective_message.reply_text(update.effective_message.text)


def build_echo_bot(fake: FakeBotApi) -> Application:
    application = application_builder(fake).build()
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return application


def order_question(i: int) -> str:
    return f"Where is order {100_000 + i}?"


async def run(n: int, repeat: int) -> list[float]:
    return [await measure_updates_per_second(build_echo_bot, order_question, n) for _ in range(repeat)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="timed updates per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the median is reported")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rates = asyncio.run(run(args.n, args.repeat))
    print(f"bare PTB echo bot, {args.n} updates per run: " + ", ".join(f"{rate:.0f}" for rate in rates) + " updates/s")
    print(f"median: {statistics.median(rates):.0f} updates/s")


if __name__ == "__main__":
    main()
