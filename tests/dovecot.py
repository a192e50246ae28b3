"""A private Dovecot IMAP server (Debian's dovecot-imapd) for the tests and the benchmark of answers from
calendars: its own configuration, sockets, state and mail in one directory, listening on 127.0.0.1 on a free
port, plaintext login without TLS, one mailbox user from a passwd-file.

Run as an ordinary user, every Dovecot process runs as that user. Run as root (CI), Dovecot refuses to read
mail as root and to run its login process as root: the mail then belongs to Dovecot's own `dovecot` user, in a
directory given to it, and the login process runs as `dovenull` (both made by the Debian package).
"""

import contextlib
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from imapclient import IMAPClient

DOVECOT = Path("/usr/sbin/dovecot")
USER, PASSWORD = "organiser@example.vn", "mailbox password"


@dataclass
class ImapServer:
    host: str
    port: int
    user: str
    password: str
    directory: Path

    def config(self, **overrides) -> dict:
        """The app's settings to read this mailbox."""
        return {"IMAP_SERVER": self.host, "IMAP_PORT": self.port, "IMAP_USERNAME": self.user,
                "IMAP_PASSWORD": self.password, "IMAP_USE_SSL": False, "IMAP_FOLDER": "INBOX", **overrides}

    def client(self) -> IMAPClient:
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=30)
        client.login(self.user, self.password)
        return client


def missing_reason() -> str | None:
    if not DOVECOT.exists():
        return "Debian's dovecot-imapd is not installed: apt-get install dovecot-imapd (make imap-deps)"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def dovecot_server(directory: Path) -> Iterator[ImapServer]:
    """Dovecot serving one mailbox from `directory` (as root: from a directory of its own in /tmp) while inside;
    stopped after (and that directory removed)."""
    port = _free_port()
    if os.geteuid() == 0:
        # Dovecot's processes read the passwd-file and the mail as its own users: a directory they can enter.
        owner = pwd.getpwnam("dovecot")
        directory = temporary = Path(tempfile.mkdtemp(prefix="dialogue-imap-"))
        directory.chmod(0o755)
        mail_root = directory / "mail"
        mail_root.mkdir()
        os.chown(mail_root, owner.pw_uid, owner.pw_gid)
        internal, login, uid, gid = "dovecot", "dovenull", owner.pw_uid, owner.pw_gid
    else:
        me = pwd.getpwuid(os.geteuid())
        directory, temporary = Path(directory), None
        mail_root = directory / "mail"
        mail_root.mkdir(parents=True, exist_ok=True)
        internal, login, uid, gid = me.pw_name, me.pw_name, me.pw_uid, me.pw_gid
    run, state = directory / "run", directory / "state"
    for path in (run, state):
        path.mkdir(exist_ok=True)
    (directory / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{mail_root}/{USER}\n")
    config = directory / "dovecot.conf"
    config.write_text(f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {run}
state_dir = {state}
instance_name = dialogue-test-{port}
log_path = {directory / "dovecot.log"}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {internal}
default_internal_group = {grp.getgrgid(gid).gr_name}
default_login_user = {login}
first_valid_uid = {min(uid, 100)}
first_valid_gid = {min(gid, 100)}
mail_location = maildir:{mail_root}/%u
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {directory / "passwd"}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {directory / "passwd"}
}}
""")
    # The master goes to the background keeping its standard streams: a file, not a pipe one would wait on.
    output = directory / "dovecot.out"
    with output.open("w") as stream:
        started = subprocess.run([str(DOVECOT), "-c", str(config)], stdout=stream, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, timeout=30)
    if started.returncode != 0:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
        raise RuntimeError(f"dovecot did not start: {output.read_text().strip()}")
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"dovecot is not listening on 127.0.0.1:{port}")
            time.sleep(0.05)
        yield ImapServer("127.0.0.1", port, USER, PASSWORD, directory)
    finally:
        _stop(run / "master.pid")
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)


def _stop(pid_file: Path) -> None:
    """SIGTERM to the master (what `dovecot stop` sends, without its wait of seconds), then wait for it to go."""
    with contextlib.suppress(OSError, ValueError):
        pid = int(pid_file.read_text().strip())
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            os.kill(pid, 0)  # OSError once it is gone
            time.sleep(0.02)
        os.kill(pid, signal.SIGKILL)
