"""order lines name the purchase order their ETA waits for without a foreign key

Only the ETA recompute writes a line's eta_purchase_order_id, from the purchase order it reads in that same
statement, and purchase orders are never deleted (a cancelled one keeps its row), so the reference cannot point
at nothing; every reader outer-joins it. PostgreSQL checks a foreign key one row at a time, by a locking lookup
of the purchase order: when 100,000 lines get their first ETA (bench/eta_recompute.py), nine in ten of them name a
purchase order, and those checks were about 0.6 s of the recompute's 2.2 s of database CPU. As with the ETA
history (0020_eta_changes_without_line_fk), the column keeps its meaning without the constraint.

SQLite cannot drop a constraint, and copying order_lines (Alembic's batch mode) cannot drop the old table while
refunds, shipments and delay notices point at it with foreign keys on. Its documentation allows removing a
FOREIGN KEY constraint by editing the table's stored definition instead, which does not touch the rows
(https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema Changes").

Revision ID: 0021_line_eta_po_without_fk
Revises: 0020_eta_changes_without_line_fk
Create Date: 2026-12-02
"""

import re
from collections.abc import Callable, Sequence

from alembic import op
from sqlalchemy.engine import Connection

revision: str = '0021_line_eta_po_without_fk'
down_revision: str | None = '0020_eta_changes_without_line_fk'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = 'fk_order_lines_eta_purchase_order_id_purchase_orders'
_CLAUSE = f'CONSTRAINT {_NAME} FOREIGN KEY(eta_purchase_order_id) REFERENCES purchase_orders (id)'
# The clause with the comma before it, wherever it stands and however a copy of the table spaced or quoted it.
_SQLITE_CLAUSE = re.compile(
    rf',\s*CONSTRAINT\s+"?{_NAME}"?\s+FOREIGN\s+KEY\s*\(\s*"?eta_purchase_order_id"?\s*\)'
    r'\s*REFERENCES\s+"?purchase_orders"?\s*\(\s*"?id"?\s*\)',
    re.IGNORECASE,
)
# The definition ends with its last clause and a closing parenthesis; the constraint goes back in before it.
_SQLITE_END = re.compile(r'\s*\)\s*$')


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.drop_constraint(_NAME, 'order_lines', type_='foreignkey')
    else:
        _edit_sqlite_definition(bind, lambda sql: _replaced_once(_SQLITE_CLAUSE, '', sql))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.create_foreign_key(_NAME, 'order_lines', 'purchase_orders', ['eta_purchase_order_id'], ['id'])
    else:
        _edit_sqlite_definition(bind, lambda sql: _replaced_once(_SQLITE_END, f', \n\t{_CLAUSE}\n)', sql))


def _replaced_once(pattern: re.Pattern[str], new: str, sql: str) -> str:
    edited, found = pattern.subn(lambda _match: new, sql)
    if found != 1:
        raise RuntimeError(f'order_lines is not defined as this migration expects ({pattern.pattern}): {sql}')
    return edited


def _edit_sqlite_definition(bind: Connection, edit: Callable[[str], str]) -> None:
    """SQLite: rewrite order_lines' stored CREATE TABLE, within the migration's transaction."""
    where = "WHERE type = 'table' AND name = 'order_lines'"
    sql = bind.exec_driver_sql(f'SELECT sql FROM sqlite_master {where}').scalar_one()
    version = bind.exec_driver_sql('PRAGMA schema_version').scalar_one()
    bind.exec_driver_sql('PRAGMA writable_schema = ON')
    bind.exec_driver_sql(f'UPDATE sqlite_master SET sql = ? {where}', (edit(sql),))
    # A new schema version makes every connection read the definition again.
    bind.exec_driver_sql(f'PRAGMA schema_version = {version + 1}')
    bind.exec_driver_sql('PRAGMA writable_schema = OFF')
