"""Messages a merchant sends to many customers: broadcasts and their drafts, and whether a customer can be reached."""
