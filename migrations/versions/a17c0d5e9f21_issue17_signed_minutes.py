"""issue 17: signed copies of the minutes

Revision ID: a17c0d5e9f21
Revises: a16c0de5ea7c
Create Date: 2026-12-06 10:20:00

"""
from alembic import op
import sqlalchemy as sa



revision = 'a17c0d5e9f21'
down_revision = 'a16c0de5ea7c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('signed_minutes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('minutes_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('restricted', sa.Boolean(), nullable=False),
    sa.Column('signers', sa.Text(), nullable=False),
    sa.Column('signatures', sa.Integer(), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_by_label', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("source IN ('office', 'upload')", name=op.f('ck_signed_minutes_source')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_signed_minutes_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['minutes_id'], ['minutes.id'], name=op.f('fk_signed_minutes_minutes_id_minutes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signed_minutes'))
    )
    with op.batch_alter_table('signed_minutes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signed_minutes_minutes_id'), ['minutes_id'], unique=False)


def downgrade():
    with op.batch_alter_table('signed_minutes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signed_minutes_minutes_id'))
    op.drop_table('signed_minutes')
