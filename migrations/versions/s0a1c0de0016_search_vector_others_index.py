"""issue 16: on PostgreSQL, a GIN index of every document but the issues

Revision ID: s0a1c0de0016
Revises: q0a1c0de0019
Create Date: 2026-12-06 17:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = 's0a1c0de0016'
down_revision = 'q0a1c0de0019'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.create_index('ix_search_documents_vector_others', 'search_documents', ['vector'], unique=False,
                        postgresql_using='gin', postgresql_where=sa.text("kind <> 'issue'"))


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_search_documents_vector_others', table_name='search_documents')
