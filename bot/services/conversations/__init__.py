"""A customer's chat with the bot: who is writing and in what language, what their text asks, and linking them to the shop's customer."""
