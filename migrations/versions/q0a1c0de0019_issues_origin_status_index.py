"""issue 19: an index for the issue list filtered by status within the units one sees

Revision ID: q0a1c0de0019
Revises: d0a1c0de0014
Create Date: 2026-12-06 14:40:00

"""
from alembic import op


revision = 'q0a1c0de0019'
down_revision = 'd0a1c0de0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.create_index('ix_issues_origin_status_created', ['origin_unit_id', 'status', 'created_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.drop_index('ix_issues_origin_status_created')
