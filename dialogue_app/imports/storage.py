"""The rows between the preview and the confirmation, and the state of an import being applied, kept in files
of the instance folder (never in the browser): owner-only, named by a token of 256 random bits."""

import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from .reading import SourceRow, Upload

PREVIEW_SECONDS = 3600


TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}")


@dataclass
class StoredUpload:
    token: str
    user_id: int
    created: float
    filename: str
    kind: str
    update_existing: bool
    columns: list[str]
    ignored: list[str]
    rows: list[SourceRow]

    @property
    def expired(self) -> bool:
        return time.time() - self.created > PREVIEW_SECONDS


def _path(folder: Path, token: str, suffix: str) -> Path:
    if not TOKEN.fullmatch(token or ""):
        raise ValueError("not a token")
    return Path(folder) / f"{token}{suffix}"


def _write_json(path: Path, data) -> None:
    temporary = path.with_name(path.name + f".{secrets.token_hex(4)}.part")
    # Owner-only: the rows are a branch's registry, whatever umask the server runs under.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(data, ensure_ascii=False))
    os.replace(temporary, path)  # a reader never sees half a file


def purge_expired(folder: Path) -> None:
    """Remove what previews left behind more than an hour (and a margin) ago."""
    limit = time.time() - PREVIEW_SECONDS - 600
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return
    for entry in entries:
        try:
            if entry.is_file() and entry.stat().st_mtime < limit:
                os.unlink(entry.path)
        except OSError:
            pass  # another worker removed it first


def save_upload(folder: Path, upload: Upload, *, user_id: int, update_existing: bool) -> str:
    """Keep the rows for the user who uploaded them; the answer is the token that names them."""
    folder = Path(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    purge_expired(folder)
    token = secrets.token_urlsafe(32)
    _write_json(_path(folder, token, ".json"), {
        "user_id": user_id, "created": time.time(), "filename": upload.filename, "kind": upload.kind,
        "update_existing": update_existing, "columns": upload.columns, "ignored": upload.ignored,
        "rows": [r.to_json() for r in upload.rows],
    })
    return token


def load_upload(folder: Path, token: str, *, user_id: int) -> StoredUpload | None:
    """The rows kept under `token`, or None when there are none, or they are another user's."""
    try:
        data = json.loads(_path(folder, token, ".json").read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return None
    if data.get("user_id") != user_id:
        return None
    return StoredUpload(token=token, user_id=data["user_id"], created=data["created"], filename=data["filename"],
                        kind=data["kind"], update_existing=bool(data["update_existing"]),
                        columns=data["columns"], ignored=data["ignored"],
                        rows=[SourceRow.from_json(r) for r in data["rows"]])


def claim(folder: Path, token: str) -> bool:
    """True for the one request that may apply these rows; False when another one has or is doing it."""
    try:
        os.close(os.open(_path(folder, token, ".lock"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return False
    return True


def release(folder: Path, token: str) -> None:
    """After a failed attempt: the rows may be applied again."""
    for suffix in (".lock", ".progress"):
        _path(folder, token, suffix).unlink(missing_ok=True)


def write_progress(folder: Path, token: str, *, done: int, total: int, finished: bool = False) -> None:
    _write_json(_path(folder, token, ".progress"), {"done": done, "total": total, "finished": finished})


def read_progress(folder: Path, token: str) -> dict | None:
    try:
        return json.loads(_path(folder, token, ".progress").read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return None


def finish(folder: Path, token: str, summary: dict) -> None:
    _write_json(_path(folder, token, ".done"), summary)


def read_result(folder: Path, token: str) -> dict | None:
    try:
        return json.loads(_path(folder, token, ".done").read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return None



def fail(folder: Path, token: str, reason: str) -> None:
    """The attempt failed (`reason`: a code the pages turn into words); the rows may be applied again."""
    _write_json(_path(folder, token, ".failed"), {"reason": reason})
    release(folder, token)


def read_failure(folder: Path, token: str) -> str | None:
    try:
        return json.loads(_path(folder, token, ".failed").read_text(encoding="utf-8"))["reason"]
    except (ValueError, OSError, KeyError, TypeError):
        return None


def forget_failure(folder: Path, token: str) -> None:
    _path(folder, token, ".failed").unlink(missing_ok=True)
