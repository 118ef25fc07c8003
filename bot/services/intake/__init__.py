"""Merchant data in: CSV imports (and the API batches that share them) and the demo store."""
