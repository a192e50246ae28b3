"""Issue 16: the search index (documents; FTS5 on SQLite, tsvector + GIN on PostgreSQL)

The documents are filled by `flask init-db` (which indexes what an upgraded database holds) or
`flask search-reindex`: a migration does not run the application's code.

Revision ID: a16c0de5ea7c
Revises: a15e0c0f15aa
Create Date: 2026-12-06 10:40:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'a16c0de5ea7c'
down_revision = 'a15e0c0f15aa'
branch_labels = None
depends_on = None

VECTOR = sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql")


def upgrade():
    op.create_table(
        'search_documents',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('object_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('business_id', sa.Integer(), nullable=True),
        sa.Column('topic_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('vector', VECTOR, nullable=True),
        sa.Column('title_vector', VECTOR, nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_search_documents')),
    )
    op.create_index('ix_search_documents_unit_kind', 'search_documents', ['unit_id', 'kind'], unique=False)
    op.create_index('ix_search_documents_business', 'search_documents', ['business_id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.create_index('ix_search_documents_vector', 'search_documents', ['vector'], unique=False,
                        postgresql_using='gin')
    else:
        op.execute("CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(title, body, "
                   "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4 5 6 7', detail = column)")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TABLE IF EXISTS search_fts")
    op.drop_table('search_documents')
