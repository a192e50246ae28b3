"""Keeping the index current: every write through the ORM refreshes the documents of what it touched, in the
same transaction; bulk statements are caught too; `rebuild` starts over after an import below the ORM.

- A flush (the unit of work): `_collect` notes which things changed, `_refresh_flushed` rewrites their
  documents once the flush has run, through the same connection.
- A bulk statement (`session.execute(update(Business), rows)`, `insert(Contact)`): `_note_bulk` notes the ids it
  names, or that the whole kind must be checked, and the documents are put right before the commit.
- `rebuild()`: every document again, for `flask search-reindex` and after the national demo.
"""

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import delete, exists, func, insert, select, text
from sqlalchemy.orm import ORMExecuteState, Session

from ..db import listen
from ..extensions import db
from ..issues.models import Issue
from ..minutes.models import Minutes, MinutesRevision
from ..org.models import Business, Contact
from ..scheduling.models import Meeting, Series
from .models import FTS_TABLE, SearchDocument, document_id, document_id_of
from .sources import SOURCES, Source, object_id
from .text import tsvector_literal, words

BATCH = 10_000
PENDING = "search_pending"  # session.info: kind -> ids to refresh after the flush
BULK = "search_bulk"  # session.info: kind -> what bulk statements touched, put right before the commit
# Writes to these change what the search holds; the kinds to refresh for each.
KINDS_OF = {Issue: ("issue", "answer"), Business: ("business",), Contact: ("contact",), Series: ("series",),
            Meeting: ("meeting", "minutes"), Minutes: ("minutes",)}
# A business's name and tax code are searched with its contacts and issues, and a meeting's title with its
# minutes: when those change, the dependants are written again.
BUSINESS_FIELDS = ("name", "tax_code", "unit_id")


def register_listeners() -> None:
    """Called by init_app: the session events that keep the index current (once, however many apps)."""
    for name, listener in (("after_flush", _collect), ("after_flush_postexec", _refresh_flushed),
                           ("do_orm_execute", _note_bulk), ("before_commit", _refresh_bulk)):
        listen(Session, name, listener)


# -- Rows -------------------------------------------------------------------------------------------------

def _rows(source: Source, objects: Iterable, postgres: bool) -> list[dict]:
    rows = []
    for obj in objects:
        entry = source.entry(obj)
        if entry is None:
            continue
        ident = object_id(source, obj)
        title_words, body_words = words(entry.title), words(entry.body_text)
        row = {"id": document_id(source.kind, ident), "kind": source.kind, "object_id": ident,
               "unit_id": entry.unit_id, "business_id": entry.business_id, "topic_id": entry.topic_id,
               "status": entry.status or "", "at": entry.at, "vector": None, "title_vector": None,
               "title": " ".join(title_words), "body": " ".join(body_words)}
        if postgres:
            row["vector"] = tsvector_literal(title_words + body_words)
            row["title_vector"] = tsvector_literal(title_words)
        rows.append(row)
    return rows


def _write(connection, rows: list[dict], postgres: bool) -> None:
    if not rows:
        return
    table = SearchDocument.__table__
    connection.execute(insert(table), [{k: v for k, v in row.items() if k not in ("title", "body")} for row in rows])
    if not postgres:
        connection.execute(text(f"INSERT INTO {FTS_TABLE} (rowid, title, body) VALUES (:id, :title, :body)"),  # noqa: S608
                           [{"id": r["id"], "title": r["title"], "body": r["body"]} for r in rows])


def _clear(connection, document_ids: list[int], postgres: bool) -> None:
    for start in range(0, len(document_ids), BATCH):
        chunk = document_ids[start:start + BATCH]
        connection.execute(delete(SearchDocument.__table__).where(SearchDocument.id.in_(chunk)))
        if not postgres:
            marks = ", ".join(str(int(i)) for i in chunk)
            connection.execute(text(f"DELETE FROM {FTS_TABLE} WHERE rowid IN ({marks})"))  # noqa: S608 (integers)


def refresh(session: Session, kind: str, ids: Iterable[int]) -> None:
    """Write again the documents of these things of `kind` (ids as the index keys them); those gone or no longer
    to be found lose theirs."""
    ids = sorted(set(ids))
    if not ids:
        return
    source = SOURCES[kind]
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        _clear(connection, [document_id(kind, i) for i in chunk], postgres)
        with session.no_autoflush:
            objects = session.execute(source.statement().where(source.key.in_(chunk))).unique().scalars().all()
            _write(connection, _rows(source, objects, postgres), postgres)


def _write_missing(session: Session, kind: str) -> None:
    """Write the documents of the things of `kind` that have none (rows a bulk insert added): read and written
    a batch at a time, in as few statements as the batches."""
    source = SOURCES[kind]
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    missing = source.statement().where(~exists().where(SearchDocument.id == document_id_of(kind, source.key)))
    with session.no_autoflush:
        result = session.execute(missing.order_by(source.key).execution_options(yield_per=BATCH))
        for partition in result.scalars().partitions():
            _write(connection, _rows(source, partition, postgres), postgres)


def refresh_where(session: Session, kind: str, condition) -> None:
    """Write again the documents of the things of `kind` for which `condition` holds."""
    source = SOURCES[kind]
    ids = session.execute(select(source.key).where(condition)).scalars().all()
    refresh(session, kind, ids)


def sweep(session: Session, kind: str) -> None:
    """Put the documents of `kind` right after statements whose rows are not known: write those missing,
    drop those whose thing is gone, and write again the rest (a bulk update may have changed any)."""
    source = SOURCES[kind]
    document = SearchDocument
    gone = session.execute(select(document.object_id).where(
        document.kind == kind, ~exists().where(document_id_of(kind, source.key) == document.id))).scalars().all()
    refresh(session, kind, [*gone, *session.execute(select(source.key)).scalars()])


def rebuild(progress=None) -> int:
    """Every document written again from the data; returns how many. The caller commits."""
    session = db.session
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    connection.execute(delete(SearchDocument.__table__))
    if not postgres:
        connection.execute(text(f"DELETE FROM {FTS_TABLE}"))  # noqa: S608 (our own table)
    count = 0
    for source in SOURCES.values():
        result = session.execute(source.statement().order_by(source.key).execution_options(yield_per=BATCH))
        for partition in result.scalars().partitions():
            rows = _rows(source, partition, postgres)
            _write(connection, rows, postgres)
            count += len(rows)
            if progress is not None:
                progress(len(partition))
    # The planner chooses between reading by unit and reading the matches by what it knows of the table.
    connection.execute(text("ANALYZE search_documents"))
    return count


def fill_if_empty() -> int:
    """After an upgrade that brings the search, index what the database already holds (nothing when the index
    has documents, or the database has nothing to find)."""
    if db.session.execute(select(func.count()).select_from(SearchDocument)).scalar_one():
        return 0
    return rebuild()


# -- Listeners --------------------------------------------------------------------------------------------

def _collect(session: Session, flush_context) -> None:
    pending: dict[str, set[int]] = session.info.setdefault(PENDING, defaultdict(set))
    related = session.info.setdefault(PENDING + "_related", [])
    for obj in [*session.new, *session.dirty, *session.deleted]:
        kinds = KINDS_OF.get(type(obj))
        if isinstance(obj, MinutesRevision):
            minutes = obj.minutes if obj.minutes is not None else session.get(Minutes, obj.minutes_id)
            if minutes is not None:
                pending["minutes"].add(minutes.meeting_id)
            continue
        if kinds is None or (obj in session.dirty and not session.is_modified(obj, include_collections=False)):
            continue
        ident = obj.meeting_id if isinstance(obj, Minutes) else obj.id
        if ident is None:
            continue
        for kind in kinds:
            pending[kind].add(ident)
        if isinstance(obj, Business) and obj in session.dirty and _changed(obj, BUSINESS_FIELDS):
            related.append(("issue", Issue.business_id == obj.id))
            related.append(("contact", Contact.business_id == obj.id))


def _changed(obj, fields: tuple[str, ...]) -> bool:
    state = db.inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in fields)


def _refresh_flushed(session: Session, flush_context) -> None:
    pending = session.info.pop(PENDING, None)
    related = session.info.pop(PENDING + "_related", None)
    for kind, ids in (pending or {}).items():
        refresh(session, kind, ids)
    for kind, condition in related or ():
        refresh_where(session, kind, condition)


def _note_bulk(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete) or state.bind_mapper is None:
        return
    model = state.bind_mapper.class_
    kinds = KINDS_OF.get(model)
    if not kinds:
        return
    bulk: dict[str, dict] = state.session.info.setdefault(BULK, {})
    rows = state.parameters if isinstance(state.parameters, list) else []
    ids = {row.get("id") for row in rows} if state.is_update else set()
    named = bool(ids) and None not in ids  # an update by primary key, row by row: those rows only
    for kind in kinds:
        note = bulk.setdefault(kind, {"ids": set(), "missing": False, "all": False})
        if named:
            note["ids"] |= ids
        elif state.is_insert:
            note["missing"] = True
        else:
            note["all"] = True
    if model is Business and state.is_update:
        for kind, key in (("contact", Contact.business_id), ("issue", Issue.business_id)):
            note = bulk.setdefault(kind, {"ids": set(), "missing": False, "all": False})
            note.setdefault("where", []).append(key.in_(sorted(ids)) if named else None)


def _refresh_bulk(session: Session) -> None:
    bulk = session.info.pop(BULK, None)
    if not bulk:
        return
    session.flush()
    for kind, note in bulk.items():
        source = SOURCES[kind]
        if note["all"] or any(condition is None for condition in note.get("where", [])):
            sweep(session, kind)
            continue
        if note["missing"]:
            _write_missing(session, kind)
        ids = set(note["ids"])
        for condition in note.get("where", []):
            ids |= set(session.execute(select(source.key).where(condition)).scalars())
        refresh(session, kind, ids)


def document_total() -> int:
    """How many things a rebuild reads (for its progress bar)."""
    return sum(db.session.execute(select(func.count()).select_from(source.statement().subquery())).scalar_one()
               for source in SOURCES.values())
