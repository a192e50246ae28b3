"""issue 14: a one-off meeting's agenda (description), shown to the invited on their portal and in invitations

Revision ID: b1a9e0da0001
Revises: b2a0c4e1d9f7
Create Date: 2026-12-06 13:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b1a9e0da0001'
down_revision = 'b2a0c4e1d9f7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.Text(), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_column('description')
