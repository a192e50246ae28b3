"""Meetings: a SEQUENCE of their own, raised when a business's invitation to that meeting alone ends, so that
the CANCEL outranks the invitation its calendar holds

Revision ID: u0a1c0de0018
Revises: t0a1c0de0017
Create Date: 2026-12-07 04:00:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'u0a1c0de0018'
down_revision = 't0a1c0de0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('meetings') as batch_op:
        batch_op.add_column(sa.Column('sequence', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('meetings') as batch_op:
        batch_op.drop_column('sequence')
