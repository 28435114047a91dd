"""audit log: who changed users, roles, tokens, settings and the rules behind automatic decisions (append-only:
the database refuses an UPDATE or DELETE of its rows, whoever sends it)

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa


revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

REFUSAL = "audit_log is append-only"


def upgrade():
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=128), nullable=False),
        sa.Column("address", sa.String(length=45), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=True),
        sa.Column("object_label", sa.String(length=200), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    # The console's filters: a period, an actor, an object (type, then id).
    op.create_index("ix_audit_log_at", "audit_log", ["at"], unique=False)
    op.create_index("ix_audit_log_actor_name", "audit_log", ["actor_name"], unique=False)
    op.create_index("ix_audit_log_object", "audit_log", ["object_type", "object_id"], unique=False)

    # Append-only in the database itself, whoever connects. (A later migration that rebuilds this table on
    # SQLite, batch mode, must create the triggers again.)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{REFUSAL}';
            END $$""")
        op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()")
        op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()")
    else:
        for statement in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_log_no_{statement.lower()} BEFORE {statement} ON audit_log "
                       f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END")


def downgrade():
    # Dropping the table drops its indexes and triggers.
    op.drop_table("audit_log")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
