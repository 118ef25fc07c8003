"""Merchant webhooks: endpoints and their secrets, and the durable deliveries of the event log to them."""
