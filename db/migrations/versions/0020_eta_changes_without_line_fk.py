"""ETA history rows point at their line without a foreign key

A full recompute writes a history row for every line whose ETA moved, in the statement that moves it. PostgreSQL
checks a foreign key one row at a time, and for a line updated in the same statement the check also has to lock
the line's new row version: on 100,000 moved lines (bench/eta_recompute.py) that was about 0.7 s of database CPU,
a third of the whole recompute. The rows come from order_lines in that same statement, so they cannot point at a
line that does not exist; order lines are never deleted (erasure pseudonymises them), so the cascade never ran.
Like the audit log, the history is kept without a foreign key; its index on (line_id, changed_at) stays.

Revision ID: 0020_eta_changes_without_line_fk
Revises: 0019_refund_per_cancel
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0020_eta_changes_without_line_fk'
down_revision: str | None = '0019_refund_per_cancel'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('eta_changes', schema=None) as batch_op:
        batch_op.drop_constraint('fk_eta_changes_line_id_order_lines', type_='foreignkey')


def downgrade() -> None:
    with op.batch_alter_table('eta_changes', schema=None) as batch_op:
        batch_op.create_foreign_key(
            'fk_eta_changes_line_id_order_lines', 'order_lines', ['line_id'], ['id'], ondelete='CASCADE'
        )
