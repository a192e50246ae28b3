"""The search index: one row per thing that can be found, and each database's full-text structure over it.

`search_documents` holds what the search filters and orders by: the kind and id of the thing, the unit and
business it belongs to (who may see it is decided on these, through `dialogue_app.scope`), its topic (sensitive
topics), status and date. It is kept narrow: PostgreSQL reads one row per match, so the fewer pages the faster.
The text shown (titles, snippets) is read from the things themselves, for the page of results only.

- SQLite: the FTS5 table `search_fts` (title, body), its rowid the document's id, tokenised by unicode61 with
  remove_diacritics 2 over words already folded in Python (dialogue_app.search.text), with prefix indexes of two
  to seven letters (a Vietnamese syllable's length: without one, a prefix query merges every word it begins).
- PostgreSQL: `vector` (every word and its prefixes, as lexemes) under a GIN index, and `title_vector` (the
  title's) to rank the documents whose title holds every word first.

A document's id is its kind's number times 2**32 plus the thing's id: written and replaced without reading ids
back, the same on both databases, and a kind is a range of ids.
"""

from datetime import datetime

from sqlalchemy import DDL, BigInteger, Index, Integer, String, Text, cast, event, literal, text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

KIND_NUMBERS = {"issue": 1, "business": 2, "contact": 3, "series": 4, "meeting": 5, "minutes": 6, "answer": 7}
ID_SHIFT = 2**32

# On SQLite the vectors are not used (FTS5 holds the words): the columns stay empty there.
VectorType = Text().with_variant(TSVECTOR(), "postgresql")


def document_id(kind: str, object_id: int) -> int:
    return KIND_NUMBERS[kind] * ID_SHIFT + object_id


def document_id_of(kind: str, object_id_column):
    """document_id as SQL, over a column of the things' ids (in 64 bits: PostgreSQL's integer would overflow)."""
    return cast(object_id_column, BigInteger) + literal(KIND_NUMBERS[kind] * ID_SHIFT, BigInteger)


class SearchDocument(db.Model):
    __tablename__ = "search_documents"
    __audited__ = False  # an index, rebuilt from the data: nothing to account for
    __table_args__ = (
        Index("ix_search_documents_unit_kind", "unit_id", "kind"),
        Index("ix_search_documents_business", "business_id"),
        Index("ix_search_documents_vector", "vector", postgresql_using="gin").ddl_if(dialect="postgresql"),
        # Everything but issues (a quarter of the documents): words common among issues and absent from
        # businesses, contacts and meetings are looked up there without reading the issues' matches.
        Index("ix_search_documents_vector_others", "vector", postgresql_using="gin",
              postgresql_where=text("kind <> 'issue'")).ddl_if(dialect="postgresql"),
    )

    # SQLite's INTEGER PRIMARY KEY is the rowid itself (64 bits): one lookup per match instead of two.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int | None] = mapped_column(Integer)
    business_id: Mapped[int | None] = mapped_column(Integer)
    topic_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="")
    at: Mapped[datetime | None]
    vector: Mapped[str | None] = mapped_column(VectorType)
    title_vector: Mapped[str | None] = mapped_column(VectorType)


# The structures the models cannot declare, by name: the migrations and create_all make them, and autogenerate
# leaves them alone (dialogue_app.db.include_in_autogenerate).
FTS_TABLE = "search_fts"
CREATE_FTS = DDL(
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(title, body, "
    "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4 5 6 7', detail = column)"
).execute_if(dialect="sqlite")
DROP_FTS = DDL(f"DROP TABLE IF EXISTS {FTS_TABLE}").execute_if(dialect="sqlite")


def register_structures() -> None:
    """Make create_all and drop_all make and drop the FTS5 table with the documents (called by init_app)."""
    table = SearchDocument.__table__
    if not event.contains(table, "after_create", CREATE_FTS):
        event.listen(table, "after_create", CREATE_FTS)
        event.listen(table, "before_drop", DROP_FTS)


def include_in_autogenerate(obj, name: str | None, type_: str, reflected: bool, compare_to) -> bool:
    """Alembic's include_object: autogenerate leaves alone what the models cannot declare (the FTS5 table and
    the tables SQLite makes for it, the GIN index made on PostgreSQL only); the migrations make those by hand."""
    if type_ == "table" and name is not None and (name == FTS_TABLE or name.startswith(FTS_TABLE + "_")):
        return False
    return not (type_ == "index" and name in ("ix_search_documents_vector", "ix_search_documents_vector_others"))
