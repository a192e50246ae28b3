"""Settings from the environment, with embedded defaults that run as they are."""

import os
import secrets
from pathlib import Path


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_url(raw: str) -> str:
    """Pick the psycopg 3 driver for plain PostgreSQL URLs, as operators write them."""
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix):]
    return raw


def secret_key(instance_path: str) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the instance folder.

    Keeping it on disk means sessions survive a restart of a default installation.
    """
    from_env = os.environ.get("SECRET_KEY")
    if from_env:
        return from_env
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    # O_EXCL: two workers starting at once must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def from_environment(instance_path: str) -> dict:
    env = os.environ
    base_url = env.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    office_zone = env.get("OFFICE_TIMEZONE") or "Asia/Ho_Chi_Minh"
    redis_url = env.get("REDIS_URL")
    return {
        "SECRET_KEY": secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url(
            env.get("DATABASE_URL") or "sqlite:///" + os.path.join(instance_path, "dialogue.db")
        ),
        "BASE_URL": base_url,
        "MAIL_SERVER": env.get("MAIL_SERVER", "localhost"),
        "MAIL_PORT": int(env.get("MAIL_PORT", "25")),
        "MAIL_USERNAME": env.get("MAIL_USERNAME"),
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD"),
        "MAIL_USE_TLS": _bool(env.get("MAIL_USE_TLS")),
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER", "dialogue@localhost"),
        # The organiser mailbox (the ORGANIZER address of invitations), where calendars mail their answers
        # (`flask --app wsgi receive-mail`, and the worker's "receive-mail" task). Unset: nothing is read.
        "IMAP_SERVER": env.get("IMAP_SERVER") or None,
        "IMAP_PORT": int(env.get("IMAP_PORT") or "993"),
        "IMAP_USERNAME": env.get("IMAP_USERNAME"),
        "IMAP_PASSWORD": env.get("IMAP_PASSWORD"),
        "IMAP_USE_SSL": _bool(env.get("IMAP_USE_SSL"), default=True),
        "IMAP_FOLDER": env.get("IMAP_FOLDER") or "INBOX",
        "IMAP_TRUSTED_AUTHSERV_ID": env.get("IMAP_TRUSTED_AUTHSERV_ID") or None,
        # A sender (worker) claims this many outbox messages at a time, and holds each for at most this long
        # while sending it: what a sender that dies had claimed is taken by another once the lease runs out.
        # Development only (`make run` sets it): the Maildir its small local mail server writes, shown at /dev/mail.
        "DEV_MAIL_DIR": env.get("DEV_MAIL_DIR") or None,
        "MAIL_CLAIM_BATCH": int(env.get("MAIL_CLAIM_BATCH") or 50),
        "MAIL_CLAIM_LEASE_SECONDS": float(env.get("MAIL_CLAIM_LEASE_SECONDS") or 120),
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "REDIS_URL": redis_url,
        # How many proxies (nginx) stand in front and set X-Forwarded-For/-Proto: without it, every sign-in would
        # seem to come from the proxy's address, and the per-address limits would count everyone together.
        "PROXY_COUNT": int(env.get("PROXY_COUNT") or 0),
        # How long a server trusts what it remembers of a feed when no change is announced (calendar/changes.py).
        "FEED_CACHE_SECONDS": float(env.get("FEED_CACHE_SECONDS") or 5),
        # The same for the minutes PDF's answers (minutes/served.py), when no change is announced.
        "MINUTES_PDF_CACHE_SECONDS": float(env.get("MINUTES_PDF_CACHE_SECONDS") or 5),
        "HUEY_IMMEDIATE": _bool(env.get("HUEY_IMMEDIATE")),
        # With the worker running (it refreshes them every minute), report pages never recompute what changed: they show
        # the stored figures with the time they were computed. Without it, the first reader after a change
        # recomputes (one at a time; the others read what is stored meanwhile).
        "REPORTS_REFRESHED_IN_BACKGROUND": _bool(env.get("REPORTS_REFRESHED_IN_BACKGROUND")),
        # The office's time zone: what "today", working days and local months mean, and how times are shown.
        "OFFICE_TIMEZONE": office_zone,
        "BABEL_DEFAULT_TIMEZONE": office_zone,
        # Signed minutes (issue 17): the office's key in a PKCS#12 file, or on a PKCS#11 token or HSM; an RFC 3161
        # timestamp server; the CA certificates (PEM) that signatures are checked against.
        **{name: env.get(name) or None for name in (
            "SIGNING_PKCS12_PATH", "SIGNING_PKCS12_PASSWORD", "SIGNING_PKCS11_MODULE", "SIGNING_PKCS11_TOKEN_LABEL",
            "SIGNING_PKCS11_PIN", "SIGNING_PKCS11_KEY_LABEL", "SIGNING_TSA_URL", "SIGNING_TRUST_ROOTS")},
        "SESSION_COOKIE_SECURE": base_url.startswith("https://"),
        "REMEMBER_COOKIE_SECURE": base_url.startswith("https://"),
    }


DEFAULTS = {
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "BABEL_DEFAULT_LOCALE": "vi",
    "LANGUAGES": ("vi", "en"),
    "RATELIMIT_HEADERS_ENABLED": True,
    # Failed sign-ins (auth/access.py): an account from one address gets this many per window; an account from
    # anywhere (a guess spread over many addresses) and an address (a whole office behind one NAT) many more,
    # so that one colleague's typos never lock out the others. A trusted device (a browser its person signed
    # in from before) is counted on its own instead, so nobody can keep the real person out.
    "LOGIN_FAILURES_PER_ACCOUNT": "10 per 15 minutes",
    "LOGIN_FAILURES_PER_ACCOUNT_ANYWHERE": "50 per 15 minutes",
    "LOGIN_FAILURES_PER_ADDRESS": "100 per 15 minutes",
    "LOGIN_FAILURES_PER_DEVICE": "10 per 15 minutes",
    "API_TOKEN_LIFETIME_DAYS": 30,
    # Background work (tasks.py) is queued for `flask --app wsgi worker`; True runs it at once in the caller.
    "HUEY_IMMEDIATE": False,
    # Requests larger than this are refused (413) before they are read: attachments are at most 10 MB,
    # imports raise their own limit for their page.
    "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,
    "API_TITLE": "Dialogue API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
}
