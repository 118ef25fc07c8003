"""Telegram handlers: parse the update, call one service, render the result in the user's language, reply."""
