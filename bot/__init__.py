"""Backorder Desk: a Telegram customer-service bot for shops whose customers wait on backorders."""

import os

# python-telegram-bot 22 warns on every RetryAfter it builds unless the program opts in to the durations of
# PTB 23 (datetime.timedelta); ours reads both, so it opts in, and a 429 from Telegram leaves no warning behind.
os.environ.setdefault("PTB_TIMEDELTA", "true")
