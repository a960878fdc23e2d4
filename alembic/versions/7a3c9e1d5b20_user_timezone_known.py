"""user_timezone_known: whether a member's time zone came from their browser

Revision ID: 7a3c9e1d5b20
Revises: 4998a3a9203f
Create Date: 2026-11-30 16:30:00.000000

Until now the zone was recorded only when a member opened a pair page, and every other
row kept the default "UTC". So an existing row counts as known exactly when its zone is
not "UTC": nothing but the pair page could have set it. A member really living in UTC
who opened a pair page is marked unknown too (the two cannot be told apart); their zone
becomes known again at their next log-in or pair page visit, and until then they are
treated with the careful rule for unknown zones, which only delays a nudge.
"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = "7a3c9e1d5b20"
down_revision: Union[str, Sequence[str], None] = "4998a3a9203f"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("timezone_known", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute("UPDATE app_user SET timezone_known = (timezone <> 'UTC')")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.alter_column("timezone_known", server_default=None)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("timezone_known")
