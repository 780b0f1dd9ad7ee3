"""A real, throwaway Dovecot IMAP server on 127.0.0.1 for the mailbox tests and the benchmark.

Debian's dovecot-imapd (installed by .ci/install-system-packages) runs in the foreground with a
config written to a temp folder: Maildir storage and passwd-file users under that folder, a
self-signed certificate (made with openssl) for implicit TLS and STARTTLS, and XOAUTH2 whose
JWT access tokens Dovecot validates locally against an HMAC key in the same folder. Tests can
stop, restart and cut the server's sessions to see what intake does about it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient

from tests.conftest import _free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PASSWORD = "s3cret-mailbox-pw"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class DovecotServer:
    """One Dovecot instance: its folder, ports, users, and controls for the tests."""

    def __init__(self, base: Path, extra_config: str = "") -> None:
        self.base = base
        self.port = _free_port()
        self.tls_port = _free_port()
        self.extra_config = extra_config
        self.process: subprocess.Popen[bytes] | None = None
        self.cert = base / "cert.pem"
        self.key = base / "key.pem"
        self.passwd = base / "passwd"
        self.jwt_key = secrets.token_bytes(32)
        self.root = os.geteuid() == 0
        self.mail_user = "nobody" if self.root else pwd.getpwuid(os.getuid()).pw_name
        self._make_cert()
        self._write_keys()
        self.passwd.write_text("", encoding="utf-8")
        self.add_user("orders", PASSWORD)
        self._write_config()

    # ------------------------------------------------------------------ setup

    def _make_cert(self) -> None:
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(self.key), "-out",
                str(self.cert), "-days", "2", "-subj", "/CN=localhost", "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        self.key.chmod(0o644)

    def _write_keys(self) -> None:
        folder = self.base / "keys" / "default" / "HS256"  # dict key shared/default/HS256/default
        folder.mkdir(parents=True)
        (folder / "default").write_text(base64.b64encode(self.jwt_key).decode(), encoding="utf-8")
        (self.base / "oauth2.conf.ext").write_text(
            "introspection_mode = local\n"
            f"local_validation_key_dict = fs:posix:prefix={self.base / 'keys'}/\n"
            "username_attribute = sub\nusername_format = %u\n",
            encoding="utf-8",
        )

    def _write_config(self) -> None:
        internal = "dovecot" if self.root else self.mail_user
        login = "dovenull" if self.root else self.mail_user
        chroot = "" if self.root else "  chroot =\n"
        dh = Path("/usr/share/dovecot/dh.pem")
        (self.base / "home").mkdir(exist_ok=True)
        if self.root:
            shutil.chown(self.base / "home", self.mail_user)
        (self.base / "run").mkdir(exist_ok=True)
        (self.base / "dovecot.conf").write_text(
            f"""
base_dir = {self.base}/run
state_dir = {self.base}/state
instance_name = intake-test-{self.port}
protocols = imap
listen = 127.0.0.1
log_path = {self.base}/dovecot.log
default_internal_user = {internal}
default_login_user = {login}
ssl = yes
ssl_cert = <{self.cert}
ssl_key = <{self.key}
{f"ssl_dh = <{dh}" if dh.exists() else ""}
auth_mechanisms = plain login xoauth2
auth_failure_delay = 0
disable_plaintext_auth = no
mail_location = maildir:~/Maildir
mailbox_idle_check_interval = 1 secs
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
    ssl = yes
  }}
{chroot}}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2
  args = {self.base}/oauth2.conf.ext
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd}
}}
userdb {{
  driver = static
  args = uid={self.mail_user} gid={pwd.getpwnam(self.mail_user).pw_gid} home={self.base}/home/%u
}}
{self.extra_config}
""",
            encoding="utf-8",
        )

    def add_user(self, name: str, password: str) -> None:
        """A mailbox user with a password (Dovecot re-reads the passwd file when it changes)."""
        with self.passwd.open("a", encoding="utf-8") as f:
            f.write(f"{name}:{{PLAIN}}{password}\n")

    def token(self, user: str = "orders", expires_in: int = 3600) -> str:
        """An OAuth2 access token (a JWT signed with the server's key) for XOAUTH2."""
        now = int(time.time())
        head = _b64url(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
        body = _b64url(json.dumps({"sub": user, "iat": now - 5, "exp": now + expires_in}).encode())
        sig = hmac.new(self.jwt_key, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{_b64url(sig)}"

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.base / "dovecot.conf")],
            start_new_session=True,  # its own process group, so kill() takes every child
            stdout=subprocess.DEVNULL,
            stderr=(self.base / "stderr.log").open("ab"),
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.logs()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not start: {self.logs()}")

    def stop(self) -> None:
        """Stop the server the way an admin does (SIGTERM): every session ends with it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def kill(self) -> None:
        """SIGKILL the server and all its processes at once (teardown; a crashed server)."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        """Stop and start again on the same ports with the same mail."""
        self.stop()
        self.start()

    def kill_sessions(self) -> int:
        """SIGKILL every IMAP session process: each client's connection drops mid-command."""
        assert self.process is not None
        killed = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)
                name = fields[0].split("(", 1)[1]
                ppid = int(fields[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == self.process.pid and name in ("imap", "imap-login"):
                try:
                    os.kill(int(stat.parent.name), signal.SIGKILL)
                    killed += 1
                except ProcessLookupError:
                    pass
        return killed

    def logs(self) -> str:
        """The server's log, for failure messages."""
        text = ""
        for name in ("stderr.log", "dovecot.log"):
            path = self.base / name
            if path.exists():
                text += path.read_text(errors="replace")[-4000:]
        return text

    # ------------------------------------------------------------------ mail

    def client(self, user: str = "orders", password: str = PASSWORD) -> IMAPClient:
        """A plain logged-in client for the test itself (delivering and inspecting mail)."""
        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=30)
        client.login(user, password)
        return client

    def append(
        self,
        messages: Iterable[bytes],
        folder: str = "INBOX",
        user: str = "orders",
        flags: tuple[str, ...] = (),
    ) -> list[int]:
        """Deliver messages into a folder (created if missing); returns their UIDs."""
        uids = []
        with self.client(user) as c:
            if not c.folder_exists(folder):
                c.create_folder(folder)
            batch: list[bytes] = []
            for raw in messages:
                batch.append(raw)
                if len(batch) == 100:
                    uids += _multiappend(c, folder, batch, flags)
                    batch = []
            if batch:
                uids += _multiappend(c, folder, batch, flags)
        return uids

    def flags(self, folder: str = "INBOX", user: str = "orders") -> dict[int, set[str]]:
        """Every message's flags by UID (read-only, changes nothing)."""
        with self.client(user) as c:
            if not c.folder_exists(folder):
                return {}
            c.select_folder(folder, readonly=True)
            uids = c.search("ALL")
            if not uids:
                return {}
            data = c.fetch(uids, ["FLAGS"])
            return {
                uid: {f.decode() if isinstance(f, bytes) else str(f) for f in d[b"FLAGS"]}
                for uid, d in data.items()
            }

    def uidvalidity(self, folder: str = "INBOX", user: str = "orders") -> int:
        """The folder's UIDVALIDITY now."""
        with self.client(user) as c:
            return int(c.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"])


def _multiappend(
    client: IMAPClient, folder: str, batch: list[bytes], flags: tuple[str, ...]
) -> list[int]:
    """MULTIAPPEND one batch; the UIDs come from the APPENDUID answer, e.g. 5:9."""
    _typ, data = client.multiappend(folder, [{"msg": raw, "flags": list(flags)} for raw in batch])
    uid_set = data[0].split(b"]")[0].split()[-1].decode()
    uids: list[int] = []
    for part in uid_set.split(","):
        first, _, last = part.partition(":")
        uids += range(int(first), int(last or first) + 1)
    return uids


def dovecot_available() -> bool:
    """True when the dovecot binary is installed."""
    return Path(DOVECOT).exists()


def make_server(extra_config: str = "") -> DovecotServer:
    """A fresh server in its own temp folder (world-traversable: mail runs as another user)."""
    base = Path(tempfile.mkdtemp(prefix="intake-dovecot-"))
    base.chmod(0o755)
    return DovecotServer(base, extra_config)


def require_dovecot() -> None:
    """Skip the test where Dovecot is not installed; in CI that is a failure instead."""
    if not dovecot_available():
        if os.environ.get("CI"):
            pytest.fail("dovecot missing: .ci/install-system-packages installs dovecot-imapd")
        pytest.skip("Dovecot not installed (apt-get install dovecot-imapd)")


@pytest.fixture(name="dovecot")
def dovecot_server() -> Iterator[DovecotServer]:
    """A running throwaway Dovecot; skipped where it is not installed (never in CI)."""
    require_dovecot()
    server = make_server()
    server.start()
    try:
        yield server
    finally:
        server.kill()
        shutil.rmtree(server.base, ignore_errors=True)
