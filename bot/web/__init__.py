"""The web server: Telegram's webhook, the merchant HTTP API under /api/v1, /healthz and /metrics."""
