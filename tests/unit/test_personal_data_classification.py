"""Every stored column is classified for privacy, so a new one cannot escape export and erasure unnoticed."""

from sqlalchemy import Date

from bot.services.privacy.personal_data import COLUMNS, NOT_STAFF, PERSONAL_TABLES, STAFF_COLUMNS, Treatment
from bot.services.privacy.staff_members import staff_tables
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



def test_every_column_that_can_name_the_shops_people_is_exported_and_erased_for_them() -> None:
    """A merchant's or agent's Telegram id, chat, or name as the one who acted: in STAFF_COLUMNS, or said not to be."""
    schema = {table.name: {column.name: column for column in table.columns} for table in Base.metadata.sorted_tables}
    looks_like_a_person = {
        f"{table}.{name}"
        for table, columns in schema.items()
        for name, column in columns.items()
        if "telegram" in name
        or name.endswith("chat_id")
        or name == "actor_id"
        or (name.endswith("_by") and not isinstance(column.type, Date))
    }
    covered = {
        f"{table}.{name}"
        for table, columns in STAFF_COLUMNS.items()
        for name, treatment in columns.items()
        if treatment != Treatment.KEEP
    }
    assert looks_like_a_person - covered - NOT_STAFF == set(), "add these to STAFF_COLUMNS (or NOT_STAFF, saying why)"
    assert not NOT_STAFF & covered
    assert set(STAFF_COLUMNS) == set(staff_tables()), "STAFF_COLUMNS and staff_members._rows must name the same tables"
    listed = {f"{table}.{name}" for table, columns in STAFF_COLUMNS.items() for name in columns}
    assert {entry for entry in listed if entry.split(".")[1] not in schema[entry.split(".")[0]]} == set()
