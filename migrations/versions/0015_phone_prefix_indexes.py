"""phone-prefix indexes on PostgreSQL: the ticket list and the customer list filtered by the first digits of
a phone number (LIKE 'prefix%', app.views.datamodel.FilterPrefix) walk an index instead of every row. SQLite
needs none: its GLOB uses the columns' own indexes.

Revision ID: 0015
Revises: 0014
"""
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

INDEXES = {"ix_ticket_contact_phone_prefix": ("ticket", "contact_phone"),
           "ix_customer_phone_prefix": ("customer", "phone")}


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, (table, column) in INDEXES.items():
        # Writes to the table wait while it builds: a few seconds at a million tickets (run `init` when quiet).
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column} varchar_pattern_ops)")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
