"""A stand-in for Telegram: the fake Bot API server behind the end-to-end tests, benchmarks and the demo."""

from bot.sandbox.chat_objects import CallbackAnswer, ChatMessage, FakeChat, FakeUser, RecordedRequest
from bot.sandbox.fake_bot_api import DEFAULT_TOKEN, ApiError, FakeBotApi, SandboxError
from bot.sandbox.faults import Fault
from bot.sandbox.rate_limits import RateLimits, RateLimitViolation

__all__ = [
    "DEFAULT_TOKEN", "ApiError", "CallbackAnswer", "ChatMessage", "FakeBotApi", "FakeChat", "FakeUser", "Fault",
    "RateLimits", "RateLimitViolation", "RecordedRequest", "SandboxError",
]
