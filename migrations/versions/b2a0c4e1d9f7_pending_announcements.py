"""issue 14: occurrences a day off changed, waiting for the worker to announce them

Revision ID: b2a0c4e1d9f7
Revises: a18c0de5f001
Create Date: 2026-12-06 13:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b2a0c4e1d9f7'
down_revision = 'a18c0de5f001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pending_announcements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('occurrence', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_pending_announcements_series_id_series'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_announcements'))
    )


def downgrade():
    op.drop_table('pending_announcements')
