"""The customers' Mini App inside Telegram: its page, its JSON API, and Telegram's sign-in (`initData`) for both."""
