"""Libraries' debug lines that dump a request, a statement's work or a row, kept out of the logs.

At DEBUG, python-telegram-bot logs every Bot API call with its parameters and answer (message texts, names),
SQLAlchemy every row a query returns, aiosqlite every call with its SQL parameters. Those lines keep their
message and the arguments that name the operation; the rest is withheld, whatever level the logs are set to.
"""

import logging

WITHHELD = "<withheld: may hold personal data>"

# Logger -> how many leading arguments of its DEBUG lines name the operation and may stay.
SQL_DEBUG_LINES = {
    "sqlalchemy.engine.Engine": 0,  # "Row %r"
    "aiosqlite": 0,  # "executing %s", "operation %s completed", "returning exception %s"
}


class WithholdDebugArguments(logging.Filter):
    """Replaces all but the first `keep` arguments of a logger's DEBUG lines by WITHHELD."""

    def __init__(self, keep: int) -> None:
        super().__init__()
        self.keep = keep

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.DEBUG and record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = args[: self.keep] + (WITHHELD,) * (len(args) - self.keep)
        return True


def withhold_debug_arguments(loggers: dict[str, int]) -> None:
    """Install the filter on each named logger, once."""
    for name, keep in loggers.items():
        logger = logging.getLogger(name)
        if not any(isinstance(existing, WithholdDebugArguments) for existing in logger.filters):
            logger.addFilter(WithholdDebugArguments(keep))
