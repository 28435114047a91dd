"""dashboards: hands-on work stretches and the covering indexes of the dashboard aggregates

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 17:00:00

"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

IN_PROGRESS = "in_progress"
BATCH = 5000


def upgrade():
    op.create_table('work_stretch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('engineer_id', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('seconds', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['engineer_id'], ['engineer.id'], name='fk_work_stretch_engineer', ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name='fk_work_stretch_ticket', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name='pk_work_stretch')
    )
    with op.batch_alter_table('work_stretch', schema=None) as batch_op:
        batch_op.create_index('ix_work_stretch_ended', ['ended_at', 'engineer_id', 'started_at', 'ticket_id',
                                                        'seconds'], unique=False)
        batch_op.create_index('ix_work_stretch_ticket_ended', ['ticket_id', 'ended_at'], unique=False)

    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_dash_created', ['created_at', 'team_id', 'priority_id', 'status', 'channel',
                                                         'category_id', 'product_id', 'first_response_due_at',
                                                         'responded_at', 'resolution_due_at', 'resolved_at'],
                              unique=False)
        batch_op.create_index('ix_ticket_dash_resolved', ['resolved_at', 'team_id', 'priority_id', 'resolution_round',
                                                          'created_at'], unique=False)

    _stretches_from_timeline(op.get_bind())


def _stretches_from_timeline(bind):
    """The hands-on work of tickets that were in progress before this revision, from their status events: a
    stretch from each move into 处理中 to the next move out of it (still open if none). The engineer is the
    ticket's engineer now; the timeline does not say who held it then. From here on the application writes
    the stretches as the statuses change."""
    event = sa.table('ticket_event', sa.column('id', sa.Integer), sa.column('ticket_id', sa.Integer),
                     sa.column('kind', sa.String), sa.column('created_at', sa.DateTime), sa.column('data', sa.Text))
    ticket = sa.table('ticket', sa.column('id', sa.Integer), sa.column('assignee_id', sa.Integer))
    stretch = sa.table('work_stretch', sa.column('ticket_id', sa.Integer), sa.column('engineer_id', sa.Integer),
                       sa.column('started_at', sa.DateTime), sa.column('ended_at', sa.DateTime),
                       sa.column('seconds', sa.Integer))
    rows = bind.execute(
        sa.select(event.c.ticket_id, event.c.created_at, event.c.data)
        .where(event.c.kind == 'status', sa.cast(event.c.data, sa.Text).like(f'%"{IN_PROGRESS}"%'))
        .order_by(event.c.ticket_id, event.c.created_at, event.c.id)).all()
    found, open_at, current = [], None, None
    for ticket_id, created_at, data in rows:
        if ticket_id != current:
            if open_at is not None:
                found.append({'ticket_id': current, 'started_at': open_at, 'ended_at': None, 'seconds': None})
            current, open_at = ticket_id, None
        data = json.loads(data) if isinstance(data, str) else (data or {})
        if data.get('from') == IN_PROGRESS and open_at is not None:
            found.append({'ticket_id': ticket_id, 'started_at': open_at, 'ended_at': created_at,
                          'seconds': max(0, round((created_at - open_at).total_seconds()))})
            open_at = None
        if data.get('to') == IN_PROGRESS and open_at is None:
            open_at = created_at
    if open_at is not None:
        found.append({'ticket_id': current, 'started_at': open_at, 'ended_at': None, 'seconds': None})
    for start in range(0, len(found), BATCH):
        chunk = found[start:start + BATCH]
        ids = sorted({row['ticket_id'] for row in chunk})
        engineers = dict(bind.execute(sa.select(ticket.c.id, ticket.c.assignee_id).where(ticket.c.id.in_(ids))).all())
        bind.execute(stretch.insert(), [{**row, 'engineer_id': engineers.get(row['ticket_id'])} for row in chunk])


def downgrade():
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_dash_resolved')
        batch_op.drop_index('ix_ticket_dash_created')

    with op.batch_alter_table('work_stretch', schema=None) as batch_op:
        batch_op.drop_index('ix_work_stretch_ticket_ended')
        batch_op.drop_index('ix_work_stretch_ended')

    op.drop_table('work_stretch')
