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
    with op.batch_alter_table('minutes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sent_revision', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sent_to', sa.JSON(), nullable=False, server_default='[]'))
    with op.batch_alter_table('issue_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message', sa.Text(), nullable=False, server_default=''))
    op.create_table('user_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_agent', sa.String(length=255), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('remember', sa.Boolean(), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_user_sessions_key_hash'))
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sessions_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('feed_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subscriber_id', sa.Integer(), nullable=False, server_default='0'))
        batch_op.drop_constraint('uq_feed_tokens_target', type_='unique')
        batch_op.create_unique_constraint('uq_feed_tokens_target', ['kind', 'target_id', 'subscriber_id'])
        batch_op.drop_constraint(op.f('ck_feed_tokens_kind'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_feed_tokens_kind'), "kind IN ('series', 'business', 'unit', 'user', 'invitation')")


def downgrade():
    with op.batch_alter_table('minutes', schema=None) as batch_op:
        batch_op.drop_column('sent_to')
        batch_op.drop_column('sent_revision')
    with op.batch_alter_table('issue_events', schema=None) as batch_op:
        batch_op.drop_column('message')
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sessions_user_id'))
    op.drop_table('user_sessions')
    op.execute("DELETE FROM feed_tokens WHERE kind = 'invitation'")
    with op.batch_alter_table('feed_tokens', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_feed_tokens_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_feed_tokens_kind'), "kind IN ('series', 'business', 'unit', 'user')")
        batch_op.drop_constraint('uq_feed_tokens_target', type_='unique')
        batch_op.create_unique_constraint('uq_feed_tokens_target', ['kind', 'target_id'])
        batch_op.drop_column('subscriber_id')
