"""The support desk: tickets, the relay between the customer's chat and the agents, canned replies and ratings."""
