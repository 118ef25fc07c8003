"""Business rules, grouped by feature; the modules here are what every feature stands on.

unit_of_work (one transaction per use case), audit, errors, outbox (the durable way to write to a customer
first), phone (E.164 numbers), monitoring (what health checks ask). Services never import Telegram."""
