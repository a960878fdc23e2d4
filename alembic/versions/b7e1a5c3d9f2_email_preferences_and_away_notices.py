"""email_preferences_and_away_notices

Revision ID: b7e1a5c3d9f2
Revises: 7a3c9e1d5b20
Create Date: 2026-11-30 16:40:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel

# revision identifiers, used by Alembic.
revision: str = 'b7e1a5c3d9f2'
down_revision: Union[str, Sequence[str], None] = '7a3c9e1d5b20'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('email_preference',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('nudges', sa.Boolean(), nullable=False),
    sa.Column('reminders', sa.Boolean(), nullable=False),
    sa.Column('pairing', sa.Boolean(), nullable=False),
    sa.Column('digest', sa.Boolean(), nullable=False),
    sa.Column('last_digest_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id')
    )
    op.create_table('conversation_read',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pair_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('read_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('noticed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['pair_id'], ['mentor_pair.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('pair_id', 'user_id', name='uq_conversation_read')
    )
    with op.batch_alter_table('conversation_read', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversation_read_pair_id'), ['pair_id'], unique=False)

    with op.batch_alter_table('email_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_email_outbox_user_id'), ['user_id'], unique=False)
        batch_op.create_foreign_key('fk_email_outbox_user_id_app_user', 'app_user', ['user_id'], ['id'], ondelete='CASCADE')


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('email_outbox', schema=None) as batch_op:
        batch_op.drop_constraint('fk_email_outbox_user_id_app_user', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_email_outbox_user_id'))
        batch_op.drop_column('user_id')
        batch_op.drop_column('kind')
    with op.batch_alter_table('conversation_read', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversation_read_pair_id'))
    op.drop_table('conversation_read')
    op.drop_table('email_preference')
