"""Every stored column is classified for privacy, so a new one cannot escape export and erasure unnoticed."""

from bot.services.privacy.personal_data import COLUMNS, PERSONAL_TABLES, Treatment
from db.models import Base


def test_every_table_and_column_of_the_schema_is_classified() -> None:
    schema = {table.name: {column.name for column in table.columns} for table in Base.metadata.sorted_tables}
    classified = {table: set(columns) for table, columns in COLUMNS.items()}
    unclassified = {
        f"{table}.{column}" for table, columns in schema.items() for column in columns - classified.get(table, set())
    }
    stale = {f"{table}.{column}" for table, columns in classified.items() for column in columns - schema.get(table, set())}
    assert not unclassified, (
        f"classify these columns in bot/services/privacy/personal_data.py (and export/erase them if personal):"
        f" {sorted(unclassified)}"
    )
    assert not stale, f"these classified columns no longer exist: {sorted(stale)}"


def test_every_table_erasure_changes_is_a_section_of_the_export() -> None:
    touched = {table for table, columns in COLUMNS.items() if set(columns.values()) != {Treatment.KEEP}}
    assert touched <= set(PERSONAL_TABLES), f"export these tables too: {sorted(touched - set(PERSONAL_TABLES))}"


def test_every_table_linked_to_a_customer_is_a_section_of_the_export() -> None:
    """A table pointing at customers (or at their orders, lines or tickets) holds something about a person."""
    personal = {"customers"}
    grew = True
    while grew:
        linked = {
            table.name
            for table in Base.metadata.sorted_tables
            if any(key.column.table.name in personal for key in table.foreign_keys)
        }
        grew = not linked <= personal
        personal |= linked
    assert personal <= set(PERSONAL_TABLES), f"export these tables too: {sorted(personal - set(PERSONAL_TABLES))}"
