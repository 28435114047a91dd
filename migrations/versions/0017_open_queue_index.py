"""the open-ticket queue's index on PostgreSQL: 在办工单 lists the open tickets by resolution deadline, and at a
million tickets (some 15,000 open) PostgreSQL sorted every open ticket for each page (18 ms); a partial index of
the open ones in deadline order hands it the first page at once (under 1 ms). Its condition is the open statuses
as app.services.status.OPEN_STATUSES lists them (tests/test_schema.py checks they still agree): the planner uses
it only for a query asking for exactly these. SQLite cannot match a partial index to a query's bound values, so
it gets none.

Revision ID: 0017
Revises: 0016
"""
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

NAME = "ix_ticket_open_resolution_due"
OPEN_STATUSES = ("accepted", "assigned", "in_progress", "new", "reopened", "waiting_customer", "waiting_parts")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    statuses = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
    # Writes to the table wait while it builds: a few seconds at a million tickets (run `init` when quiet).
    op.execute(f"CREATE INDEX IF NOT EXISTS {NAME} ON ticket (resolution_due_at, id) WHERE status IN ({statuses})")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX IF EXISTS {NAME}")
