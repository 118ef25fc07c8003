"""Store platforms' adapters (one package each, speaking its wire format) and the jobs that drive them: the
backfill, and the worker that applies queued webhooks and writes changes back."""
