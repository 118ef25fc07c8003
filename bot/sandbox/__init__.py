"""A stand-in for Telegram: the fake Bot API server behind the end-to-end tests, benchmarks and the demo."""

from bot.sandbox.bot_api_errors import ApiError
from bot.sandbox.chat_objects import CallbackAnswer, ChatMessage, FakeChat, FakeUser, RecordedRequest
from bot.sandbox.fake_bot_api import FakeBotApi
from bot.sandbox.faults import Fault
from bot.sandbox.rate_limits import RateLimits, RateLimitViolation
from bot.sandbox.sandbox_state import DEFAULT_TOKEN
from bot.sandbox.simulated_users import SandboxError

__all__ = [
    "DEFAULT_TOKEN", "ApiError", "CallbackAnswer", "ChatMessage", "FakeBotApi", "FakeChat", "FakeUser", "Fault",
    "RateLimits", "RateLimitViolation", "RecordedRequest", "SandboxError",
]
