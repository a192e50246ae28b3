"""Reports: each snapshot keeps apart the figures of issues on sensitive topics (organisers' reports leave them
out); the snapshots written before are dropped, to be computed again when next read

Revision ID: t0a1c0de0017
Revises: s0a1c0de0016
Create Date: 2026-12-06 20:50:00

"""
from alembic import op


revision = 't0a1c0de0017'
down_revision = 's0a1c0de0016'
branch_labels = None
depends_on = None


def upgrade():
    # Derived data: every period is computed again from the issues when a report asks for it.
    op.execute('DELETE FROM report_snapshots')


def downgrade():
    # The snapshots written since hold one key more, which the earlier code does not read: nothing to undo.
    pass
