"""Backorder Desk: a Telegram customer-service bot for shops whose customers wait on backorders."""
