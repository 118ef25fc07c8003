"""What the customer sees: text and keyboards per screen, in the customer's language. No logic, no I/O."""
