"""Files attached to issues: type checked by content, size limited, stored under their SHA-256."""

import hashlib
import os
from pathlib import Path

import filetype
from flask import current_app
from flask_babel import lazy_gettext as _l

from ..exceptions import InvalidData
from ..extensions import db
from .models import Attachment, Issue

MAX_BYTES = 10 * 1024 * 1024
# What an office exchanges: scans, photos, and office documents. Judged by the bytes, not the name.
ALLOWED = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}


# Other spellings of an extension that name the same type.
SAME_TYPE = {"jpg": ("jpg", "jpeg")}


def download_name(filename: str, content_type: str) -> str:
    """The name a file is offered under: as given, but ending with the extension of its real type (judged by its
    bytes), so that "hoa-don.pdf.exe" holding a PDF is saved as a PDF, never run as a program."""
    extension = ALLOWED.get(content_type)
    if extension is None:
        return filename
    stem, dot, given = filename.rpartition(".")
    if dot and given.lower() in SAME_TYPE.get(extension, (extension,)):
        return filename
    return f"{filename}.{extension}"


def storage_dir() -> Path:
    return Path(current_app.config.get("ATTACHMENT_DIR") or Path(current_app.instance_path) / "attachments")


def stored_path(sha256: str) -> Path:
    return storage_dir() / sha256[:2] / sha256


def add_attachment(issue: Issue, *, filename: str, data: bytes, uploaded_by_id: int | None) -> Attachment:
    """Keep `data` for `issue`; raises InvalidData for an empty, too large or unaccepted file."""
    if not data:
        raise InvalidData.on("file", _l("The file is empty."))
    if len(data) > MAX_BYTES:
        raise InvalidData.on("file", _l("A file can be at most 10 MB."))
    kind = filetype.guess(data)
    if kind is None or kind.mime not in ALLOWED:
        raise InvalidData.on("file", _l("Attach a PDF, a PNG or JPEG image, or a Word or Excel file."))
    digest = hashlib.sha256(data).hexdigest()
    path = stored_path(digest)
    if not path.exists():
        # Owner only (0700/0600), whatever the process's umask (gunicorn sets 0 unless told otherwise).
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = path.with_suffix(".part")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, 0o600)  # an older .part left behind keeps its mode through O_CREAT
        os.replace(temporary, path)  # never a half-written file under the final name
    # The name is shown and offered on download only: keep it short and free of path parts.
    safe_name = download_name(os.path.basename(filename.replace("\\", "/")).strip()[:200] or "file", kind.mime)
    attachment = Attachment(issue=issue, filename=safe_name, content_type=kind.mime, size=len(data), sha256=digest,
                            uploaded_by_id=uploaded_by_id)
    db.session.add(attachment)
    return attachment
