"""Who may use the merchant API and console: bearer tokens, and remembered answers for Idempotency-Key retries."""
