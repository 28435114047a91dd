"""mailbox: IMAP UIDs are unsigned 32-bit, so BIGINT

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 08:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('mailbox') as batch_op:
        batch_op.alter_column('uid_validity', existing_type=sa.Integer(), type_=sa.BigInteger(),
                              existing_nullable=True)
        batch_op.alter_column('last_uid', existing_type=sa.Integer(), type_=sa.BigInteger(),
                              existing_nullable=False)


def downgrade():
    with op.batch_alter_table('mailbox') as batch_op:
        batch_op.alter_column('last_uid', existing_type=sa.BigInteger(), type_=sa.Integer(),
                              existing_nullable=False)
        batch_op.alter_column('uid_validity', existing_type=sa.BigInteger(), type_=sa.Integer(),
                              existing_nullable=True)
