"""issue 15 (trust): per-subscriber feed keys, server-side sessions, what the business is told

Revision ID: a15e0c0f15aa
Revises: f5ed7ca40aed
Create Date: 2026-12-06 10:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a15e0c0f15aa'
down_revision = 'f5ed7ca40aed'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('feed_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subscriber_id', sa.Integer(), nullable=False, server_default='0'))
        batch_op.drop_constraint('uq_feed_tokens_target', type_='unique')
        batch_op.create_unique_constraint('uq_feed_tokens_target', ['kind', 'target_id', 'subscriber_id'])
        batch_op.drop_constraint(op.f('ck_feed_tokens_kind'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_feed_tokens_kind'), "kind IN ('series', 'business', 'unit', 'user', 'invitation')")


def downgrade():
    op.execute("DELETE FROM feed_tokens WHERE kind = 'invitation'")
    with op.batch_alter_table('feed_tokens', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_feed_tokens_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_feed_tokens_kind'), "kind IN ('series', 'business', 'unit', 'user')")
        batch_op.drop_constraint('uq_feed_tokens_target', type_='unique')
        batch_op.create_unique_constraint('uq_feed_tokens_target', ['kind', 'target_id'])
        batch_op.drop_column('subscriber_id')
