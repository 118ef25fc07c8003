"""The support group on Telegram: who the agents are, each ticket's topic and context card, and the relay worker."""
