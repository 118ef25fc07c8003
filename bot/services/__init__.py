"""All business rules. Services take a unit of work and primitives, return dataclasses, never import Telegram."""
