"""notifications: outbox delivery state, attempts, templates, endpoints, preferences, settings; customer opt-outs

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 12:39:39.010468

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notification_template',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('wechat_template_id', sa.String(length=64), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event', 'channel', 'language', name='uq_notification_template')
    )
    op.create_table('notify_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quiet_start', sa.Time(), nullable=True),
    sa.Column('quiet_end', sa.Time(), nullable=True),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('retry_minutes', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('staff_notify_preference',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.Boolean(), nullable=False),
    sa.Column('sms', sa.Boolean(), nullable=False),
    sa.Column('phone', sa.String(length=30), nullable=True),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id')
    )
    op.create_table('notify_endpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('secret', sa.String(length=200), nullable=True),
    sa.Column('events', sa.String(length=400), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('notification_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['notification_id'], ['notification.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notification_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_attempt_notification_id'), ['notification_id'], unique=False)

    with op.batch_alter_table('customer', schema=None) as batch_op:
        for column in ('sms_opt_out', 'email_opt_out', 'wechat_opt_out'):
            batch_op.add_column(sa.Column(column, sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('notification', schema=None) as batch_op:
        # Requests the SLA job wrote before delivery existed become messages in their recipient's bell.
        batch_op.add_column(sa.Column('channel', sa.String(length=10), nullable=False, server_default='inapp'))
        batch_op.add_column(sa.Column('language', sa.String(length=5), nullable=False, server_default='zh'))
        batch_op.add_column(sa.Column('customer_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('endpoint_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('address', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('sent_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('read_at', sa.DateTime(), nullable=True))
        batch_op.drop_index(batch_op.f('ix_notification_state_created'))
        batch_op.drop_index(batch_op.f('ix_notification_user_id'))
        batch_op.create_index(batch_op.f('ix_notification_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_endpoint_id'), ['endpoint_id'], unique=False)
        batch_op.create_index('ix_notification_inbox', ['user_id', 'channel', 'read_at'], unique=False)
        batch_op.create_index('ix_notification_state_next', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_foreign_key('fk_notification_customer', 'customer', ['customer_id'], ['id'],
                                    ondelete='CASCADE')
        batch_op.create_foreign_key('fk_notification_endpoint', 'notify_endpoint', ['endpoint_id'], ['id'],
                                    ondelete='CASCADE')
    op.execute("UPDATE notification SET state = 'sent', sent_at = created_at WHERE state = 'pending'")
    # The defaults were for the rows already there; new rows always say what they are.
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.alter_column('channel', server_default=None)
        batch_op.alter_column('language', server_default=None)
        batch_op.alter_column('attempts', server_default=None)
    with op.batch_alter_table('customer', schema=None) as batch_op:
        for column in ('sms_opt_out', 'email_opt_out', 'wechat_opt_out'):
            batch_op.alter_column(column, server_default=None)


def downgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_constraint('fk_notification_endpoint', type_='foreignkey')
        batch_op.drop_constraint('fk_notification_customer', type_='foreignkey')
        batch_op.drop_index('ix_notification_state_next')
        batch_op.drop_index('ix_notification_inbox')
        batch_op.drop_index(batch_op.f('ix_notification_endpoint_id'))
        batch_op.drop_index(batch_op.f('ix_notification_customer_id'))
        batch_op.create_index(batch_op.f('ix_notification_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_state_created'), ['state', 'created_at'], unique=False)
        batch_op.drop_column('read_at')
        batch_op.drop_column('sent_at')
        batch_op.drop_column('last_error')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('address')
        batch_op.drop_column('endpoint_id')
        batch_op.drop_column('customer_id')
        batch_op.drop_column('language')
        batch_op.drop_column('channel')

    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_column('wechat_opt_out')
        batch_op.drop_column('email_opt_out')
        batch_op.drop_column('sms_opt_out')

    with op.batch_alter_table('notification_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_attempt_notification_id'))

    op.drop_table('notification_attempt')
    op.drop_table('notify_endpoint')
    op.drop_table('staff_notify_preference')
    op.drop_table('notify_settings')
    op.drop_table('notification_template')
