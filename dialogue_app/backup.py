"""Backups of the database: SQLite's online backup API, pg_dump / pg_restore for PostgreSQL.

Files attached to issues live in the instance folder (attachments/) and are copied with the folder, not
by these functions.
"""

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL, make_url


class BackupError(RuntimeError):
    pass


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(url.database)


def _pg_args(url: URL) -> list[str]:
    """libpq connection settings as pg_dump/pg_restore options (the password goes through PGPASSWORD)."""
    args = ["--dbname", url.database or "postgres"]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    return args


def _run(command: list[str], url: URL) -> None:
    tool = shutil.which(command[0])
    if tool is None:
        raise BackupError(f"{command[0]} is not installed (Debian: apt-get install postgresql-client)")
    env = {"PATH": "/usr/bin:/bin", **({"PGPASSWORD": url.password} if url.password else {})}
    result = subprocess.run([tool, *command[1:]], capture_output=True, text=True, env=env, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(result.stderr.strip() or f"{command[0]} failed")


def backup(database_url: str, target: Path) -> Path:
    """Write a consistent copy of the database to `target` while the application keeps running."""
    url = make_url(database_url)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Made owner-only before a byte is written (a copy of every account and message), and kept so after.
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT, 0o600))
    os.chmod(target, 0o600)
    if url.get_backend_name() == "sqlite":
        source = sqlite3.connect(_sqlite_path(url))
        destination = sqlite3.connect(target)
        try:
            with destination:
                source.backup(destination)
        finally:
            destination.close()
            source.close()
    elif url.get_backend_name() == "postgresql":
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(target), *_pg_args(url)], url)
    else:
        raise BackupError(f"no backup for {url.get_backend_name()} databases")
    os.chmod(target, 0o600)
    return target


def restore(database_url: str, source: Path) -> None:
    """Replace the database's content with the backup in `source` (made by `backup`)."""
    url = make_url(database_url)
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    if url.get_backend_name() == "sqlite":
        backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        live = sqlite3.connect(_sqlite_path(url))
        try:
            with live:
                backup_db.backup(live)
        finally:
            live.close()
            backup_db.close()
    elif url.get_backend_name() == "postgresql":
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", *_pg_args(url),
              str(source)], url)
    else:
        raise BackupError(f"no restore for {url.get_backend_name()} databases")
