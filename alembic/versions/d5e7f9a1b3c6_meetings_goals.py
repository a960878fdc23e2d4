"""meetings_goals: a pair's meetings (with their once-only reminders), its goals and their
dated updates, and an e-mail's calendar invite

Revision ID: d5e7f9a1b3c6
Revises: c4d8e2f6a1b3
Create Date: 2026-12-02 15:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel

# revision identifiers, used by Alembic.
revision: str = 'd5e7f9a1b3c6'
down_revision: Union[str, Sequence[str], None] = 'c4d8e2f6a1b3'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('goal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pair_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('target_date', sa.Date(), nullable=True),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint('position BETWEEN 1 AND 3', name='ck_goal_position'),
    sa.CheckConstraint('progress BETWEEN 0 AND 100 AND progress % 10 = 0', name='ck_goal_progress'),
    sa.ForeignKeyConstraint(['created_by'], ['app_user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['pair_id'], ['mentor_pair.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('pair_id', 'position', name='uq_goal_position')
    )
    with op.batch_alter_table('goal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_goal_pair_id'), ['pair_id'], unique=False)

    op.create_table('meeting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pair_id', sa.Integer(), nullable=False),
    sa.Column('uid', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('proposed_by', sa.Integer(), nullable=True),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('starts_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('video_link', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('weekly', sa.Boolean(), nullable=False),
    sa.Column('repeat_until', sa.Date(), nullable=True),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('cancelled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('cancelled_by', sa.Integer(), nullable=True),
    sa.CheckConstraint('duration_minutes BETWEEN 15 AND 240', name='ck_meeting_duration'),
    sa.CheckConstraint('sequence >= 0', name='ck_meeting_sequence'),
    sa.ForeignKeyConstraint(['cancelled_by'], ['app_user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['pair_id'], ['mentor_pair.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposed_by'], ['app_user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uid')
    )
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_pair_id'), ['pair_id'], unique=False)
        batch_op.create_index('ix_meeting_status_starts', ['status', 'starts_at'], unique=False)

    op.create_table('goal_update',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('goal_id', sa.Integer(), nullable=False),
    sa.Column('pair_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint('progress IS NULL OR (progress BETWEEN 0 AND 100 AND progress % 10 = 0)', name='ck_goal_update_progress'),
    sa.ForeignKeyConstraint(['goal_id'], ['goal.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pair_id'], ['mentor_pair.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('goal_update', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_goal_update_goal_id'), ['goal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_goal_update_pair_id'), ['pair_id'], unique=False)

    op.create_table('meeting_reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('occurrence_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['notification_id'], ['notification.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('meeting_id', 'user_id', 'occurrence_at', name='uq_meeting_reminder_once')
    )
    with op.batch_alter_table('meeting_reminder', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_reminder_meeting_id'), ['meeting_id'], unique=False)

    with op.batch_alter_table('email_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ics', sa.Text(), nullable=False, server_default=''))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('email_outbox', schema=None) as batch_op:
        batch_op.drop_column('ics')

    with op.batch_alter_table('meeting_reminder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_reminder_meeting_id'))

    op.drop_table('meeting_reminder')
    with op.batch_alter_table('goal_update', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_goal_update_pair_id'))
        batch_op.drop_index(batch_op.f('ix_goal_update_goal_id'))

    op.drop_table('goal_update')
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_index('ix_meeting_status_starts')
        batch_op.drop_index(batch_op.f('ix_meeting_pair_id'))

    op.drop_table('meeting')
    with op.batch_alter_table('goal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_goal_pair_id'))

    op.drop_table('goal')
