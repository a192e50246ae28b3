"""issue 19: senders claim outbox messages with a lease (any number of workers share the outbox)

Revision ID: e1a0c1a1m001
Revises: b1a9e0da0001
Create Date: 2026-12-06 13:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e1a0c1a1m001'
down_revision = 'b1a9e0da0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=32), nullable=True))


def downgrade():
    # A message held by a sender when going back is simply waiting again.
    op.execute("UPDATE outbox_messages SET status = 'pending' WHERE status = 'sending'")
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('claimed_by')
