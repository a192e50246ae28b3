"""issue 14: through which channel an answer came (portal, link, calendar)

Revision ID: a18c0de5f001
Revises: a17c0d5e9f21
Create Date: 2026-12-06 13:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a18c0de5f001'
down_revision = 'a17c0d5e9f21'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rsvps', schema=None) as batch_op:
        # Every answer so far came through the signed link in a mail.
        batch_op.add_column(sa.Column('via', sa.String(length=8), nullable=False, server_default='link'))
        batch_op.create_check_constraint('via', "via IN ('portal', 'link', 'calendar')")


def downgrade():
    with op.batch_alter_table('rsvps', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_rsvps_via'), type_='check')
        batch_op.drop_column('via')
