"""Backorders: the queue (allocation), ETAs, what a customer sees, cancel, alternatives, delay notices, and the notifications they send."""
