"""Settings read from the environment and an optional `.env` file."""

from datetime import time
from functools import lru_cache
from ipaddress import ip_network
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.business_hours import parse_business_hours
from bot.i18n import ShopVoice


class Settings(BaseSettings):
    """Every setting the bot reads; `.env.example` documents each one."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///backorder-desk.sqlite3"
    shop_name: str = "Backorder Desk Demo Shop"
    shop_timezone: str = "Europe/Berlin"
    default_language: str = "en"
    default_phone_region: str = "DE"
    handling_days: int = Field(default=1, ge=0, le=60)
    alternative_surcharge_cap_percent: int = Field(default=15, ge=0, le=1000)
    recently_resolved_days: int = Field(default=14, ge=0, le=365)
    supplier_eta_adjustment: bool = True
    supplier_record_min_received: int = Field(default=5, ge=1, le=1000)
    supplier_record_window_days: int = Field(default=180, ge=7, le=3650)
    supplier_eta_percentile: int = Field(default=90, ge=50, le=100)

    bot_token: str = ""
    telegram_api_base_url: str = "https://api.telegram.org"
    secret_key: str = ""
    link_token_ttl_days: int = Field(default=30, ge=1, le=365)
    link_attempts_per_hour: int = Field(default=5, ge=1, le=1000)
    # How long a Mini App's Telegram sign-in (`initData`) is believed after Telegram signed it.
    mini_app_max_age_minutes: int = Field(default=1440, ge=1, le=7 * 24 * 60)
    # Retention: how many days each kind of personal data is kept (bot/services/privacy/retention.py).
    retention_ticket_transcript_days: int = Field(default=90, ge=1, le=3650)
    retention_closed_ticket_days: int = Field(default=730, ge=1, le=3650)
    retention_link_attempt_days: int = Field(default=30, ge=1, le=3650)
    retention_processed_update_days: int = Field(default=7, ge=1, le=3650)
    retention_sent_message_days: int = Field(default=30, ge=1, le=3650)
    retention_idempotent_response_days: int = Field(default=1, ge=1, le=3650)
    support_contact: str = "support@example.com"

    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    webhook_url: str = ""  # public https URL of POST /telegram/webhook; empty: long polling
    webhook_secret: str = ""
    merchant_user_ids: list[int] = Field(default_factory=list)
    # Addresses (or networks) of the TLS-terminating proxies in front of the web server: only their
    # X-Forwarded-For/-Proto and Forwarded headers are believed. Empty: none are.
    trusted_proxies: list[str] = Field(default_factory=list)
    failed_tokens_per_hour: int = Field(default=20, ge=1, le=10_000)  # per client address, console and API
    metrics_token: str = ""  # when set, GET /metrics wants `Authorization: Bearer <it>`

    outbox_workers: int = Field(default=1, ge=0, le=32)
    outbox_rate_per_second: float = Field(default=30, gt=0, le=1000)
    paid_broadcasts: bool = False
    paid_broadcast_rate_per_second: float = Field(default=1000, gt=0, le=1000)
    quiet_hours_start: time = time(21, 0)
    quiet_hours_end: time = time(8, 0)

    # None: `eu` for a shop in a European time zone, else `ftc`; `delay_rule` says which applies.
    delay_notice_policy: str | None = Field(default=None, pattern="^(ftc|eu|off)$")
    delay_notice_default_days: int = Field(default=30, ge=1, le=365)
    refund_days: int | None = Field(default=None, ge=1, le=90)  # None: what the delay rule expects (7 or 14)
    english: str | None = Field(default=None, pattern="^en_(GB|US)$")  # None: en_US if DEFAULT_PHONE_REGION is US

    support_chat_id: int | None = None  # the support supergroup; None: customers get SUPPORT_CONTACT instead
    agent_user_ids: list[int] = Field(default_factory=list)  # empty: every member of the support group
    business_hours: str = "Mon-Fri 09:00-17:00"  # format: bot/business_hours.py
    response_target_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)

    # Online stores (backorder-bot connect): where stores send webhooks, and credentials so none is typed on a command line.
    public_url: str = ""  # the public https address of `serve`; stores post to {PUBLIC_URL}/connectors/<platform>/webhooks
    shopify_access_token: str = ""  # the custom app's Admin API access token (secret)
    shopify_client_secret: str = ""  # the custom app's client secret: signs its webhooks (secret)
    woocommerce_key: str = ""  # ck_… (secret)
    woocommerce_secret: str = ""  # cs_… (secret)

    @field_validator("shop_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone, so a typo stops start-up
        return value

    @field_validator("support_chat_id", "delay_notice_policy", "refund_days", "english", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("trusted_proxies")
    @classmethod
    def _ip_networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ip_network(network, strict=False)  # raises for a typo, so it stops start-up
        return value

    @field_validator("business_hours")
    @classmethod
    def _readable_business_hours(cls, value: str) -> str:
        parse_business_hours(value)  # raises with what is wrong, so a typo stops start-up
        return value

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.shop_timezone)

    @property
    def delay_rule(self) -> str:
        """The delay-notice preset in force: the one set, else the law of where the shop is (by its time zone)."""
        if self.delay_notice_policy is not None:
            return self.delay_notice_policy
        return "eu" if self.shop_timezone.startswith("Europe/") else "ftc"

    @property
    def voice(self) -> ShopVoice:
        """How the shop's texts speak: American English for a US shop, and the refund time of its delay rule."""
        english = self.english or ("en_US" if self.default_phone_region.upper() == "US" else "en_GB")
        # The FTC rule expects refunds within 7 working days; EU law within 14 days at the latest.
        refund_days = self.refund_days or (7 if self.delay_rule == "ftc" else 14)
        return ShopVoice(english, refund_days)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
