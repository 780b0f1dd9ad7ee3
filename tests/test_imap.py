"""IMAP intake against a real Dovecot: exactly once, nothing lost, whatever the mailbox does.

Every server test talks to a throwaway Dovecot started by the ``dovecot`` fixture
(tests/dovecot.py). Faults a real server cannot produce on cue (a cut just before a given
FETCH, a kill between storing and flagging) are injected around the real client or in a real
``intake`` subprocess; the server, the protocol and the store are always the real ones.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from intake.config import ImapSource
from intake.models import MessageState
from intake.sources import imap
from intake.sources.authresults import parse_authentication_results
from intake.sources.imap import (
    IdleWatcher,
    Mailbox,
    backoff_seconds,
    check_mailbox,
    open_connection,
    plan_batches,
    sender_allowed,
)
from intake.sources.watch import Watch
from intake.store import Store, content_hash
from tests.conftest import ROOT, SAMPLE_INBOX, run_intake
from tests.dovecot import (  # noqa: F401  (dovecot_server is the fixture)
    PASSWORD,
    DovecotServer,
    dovecot_server,
    make_server,
    require_dovecot,
)

FLAG = "$IntakeProcessed"


# --------------------------------------------------------------------------- helpers


def order_email(
    n: int,
    sender: str = "buyer@customer.example",
    with_message_id: bool = True,
    padding: int = 0,
    extra_headers: str = "",
) -> bytes:
    """A small order email; ``padding`` adds a base64 attachment of that many bytes."""
    head = (
        f"{extra_headers}From: Buyer <{sender}>\r\nTo: orders@yourcompany.example\r\n"
        f"Subject: PO {4700 + n}\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
    )
    if with_message_id:
        head += f"Message-ID: <po-{n}@customer.example>\r\n"
    body = f"Please deliver 4 x Office Chair Black, our PO {4700 + n}.\r\n"
    if not padding:
        return (head + "\r\n" + body).encode()
    line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n"
    blob = line * (padding // len(line) + 1)
    return (
        (
            head + 'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
            f"--b1\r\nContent-Type: text/plain\r\n\r\n{body}"
            "--b1\r\nContent-Type: application/octet-stream; name=spec.bin\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n"
        ).encode()
        + blob
        + b"--b1--\r\n"
    )


def truncated_order() -> bytes:
    """A message cut off inside its PDF attachment: no closing boundary, half the base64,
    and a header with raw 8-bit bytes — what a broken mail client or relay leaves behind."""
    sample = email.message_from_bytes(
        next(SAMPLE_INBOX.glob("01-*.eml")).read_bytes(), policy=email.policy.default
    )
    pdf = next(p for p in sample.walk() if p.get_content_type() == "application/pdf")
    data = pdf.get_payload(decode=True)
    assert isinstance(data, bytes)
    cut = base64.encodebytes(data)[: len(data) // 2].replace(b"\n", b"\r\n")
    return (
        b"From: Buyer <buyer@customer.example>\r\nSubject: PO 4711\r\n"
        b"X-Mailer: \xff\xfe broken\r\nMessage-ID: <cut-4711@customer.example>\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain\r\n\r\nOur order is attached.\r\n--b1\r\n"
        b'Content-Type: application/pdf; name="order-4711.pdf"\r\n'
        b'Content-Disposition: attachment; filename="order-4711.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + cut
    )


def sample_emails(pattern: str) -> list[bytes]:
    """Sample inbox emails as a mail server stores them: lines end with CRLF."""
    return [
        p.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        for p in sorted(SAMPLE_INBOX.glob(pattern))
    ]


def imap_source(server: DovecotServer, **overrides: Any) -> ImapSource:
    """The test mailbox as intake's config describes it (plain on 127.0.0.1 by default)."""
    password = server.base / "password"
    password.write_text(PASSWORD + "\n", encoding="utf-8")
    values: dict[str, Any] = {
        "name": "orders",
        "host": "127.0.0.1",
        "port": server.port,
        "security": "none",
        "username": "orders",
        "password_file": password,
    }
    values.update(overrides)
    return ImapSource(**values)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    yield opened
    opened.close()


def stored_refs(store: Store) -> list[str]:
    return [s.source_ref for s in store.summaries()]


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Wait for something the system must do on its own; fail naming it if it never happens."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class Tap:
    """Wraps the real client: counts what is fetched and can cut the link before a FETCH.

    ``cut_before`` is the number of the FETCH command (1-based) before which the connection is
    cut, either by killing the server's session processes or by dropping the client's socket.
    """

    def __init__(
        self, server: DovecotServer, cut_before: int | None = None, how: str = "server"
    ) -> None:
        self.server = server
        self.cut_before = cut_before
        self.how = how
        self.fetches = 0
        self.bodies: list[int] = []

    def connect(self, source: ImapSource) -> Any:
        return _TappedClient(open_connection(source), self)


class _TappedClient:
    def __init__(self, client: Any, tap: Tap) -> None:
        self._client = client
        self._tap = tap

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def fetch(self, uids: list[int], items: list[str]) -> Any:
        tap = self._tap
        tap.fetches += 1
        if tap.fetches == tap.cut_before:
            if tap.how == "server":
                assert tap.server.kill_sessions() > 0
                time.sleep(0.2)
            else:
                self._client.socket().shutdown(socket.SHUT_RDWR)
        if any(i == "BODY.PEEK[]" or i.startswith("BODY.PEEK[]<0.") for i in items):
            tap.bodies += list(uids)  # each message once, however many chunks it takes
        return self._client.fetch(uids, items)


# --------------------------------------------------------------------------- pure parts


def test_authentication_results_come_from_the_topmost_or_a_trusted_header() -> None:
    top = (
        "mx.yourcompany.example; dkim=fail (bad signature) header.d=customer.example; "
        "dkim=pass header.d=esp.example; spf=softfail (domain of x; transitional) "
        'smtp.mailfrom=customer.example; dmarc=fail (p=reject; "dis=none") header.from=c.example'
    )
    forged = "mx.yourcompany.example; spf=pass; dkim=pass; dmarc=pass"
    result = parse_authentication_results([top, forged])
    assert result is not None
    assert (result.authserv_id, result.trusted) == ("mx.yourcompany.example", False)
    assert (result.spf, result.dkim, result.dmarc) == ("softfail", "pass", "fail")

    relay = "relay.example; spf=pass"
    trusted = parse_authentication_results([relay, top], ["MX.yourcompany.example"])
    assert trusted is not None and trusted.trusted and trusted.dmarc == "fail"
    assert parse_authentication_results([relay], ["mx.yourcompany.example"]) is None
    assert parse_authentication_results([]) is None
    none = parse_authentication_results(["mx.yourcompany.example 1; none"])
    assert none is not None and (none.spf, none.dkim, none.dmarc) == (None, None, None)
    microsoft = parse_authentication_results(
        [
            "spf=pass (sender IP is 203.0.113.5) smtp.mailfrom=customer.example; dkim=none "
            "(message not signed) header.d=none;dmarc=fail action=quarantine header.from=c.example;"
        ]
    )
    assert microsoft is not None and microsoft.authserv_id == ""
    assert (microsoft.spf, microsoft.dkim, microsoft.dmarc) == ("pass", "none", "fail")


def test_sender_allow_list_takes_addresses_domains_and_subdomains() -> None:
    allowed = ["buyer@customer.example", "supplier.example", "@other.example", "*.group.example"]
    assert sender_allowed("anyone@else.example", [])
    assert sender_allowed("Buyer@Customer.example", allowed)
    assert not sender_allowed("someone@customer.example", allowed)
    assert sender_allowed("x@supplier.example", allowed)
    assert not sender_allowed("x@evil-supplier.example", allowed)
    assert sender_allowed("x@other.example", allowed)
    assert sender_allowed("x@de.group.example", allowed)
    assert not sender_allowed("x@group.example.evil", allowed)
    assert not sender_allowed(None, allowed)


def test_batches_are_bounded_by_bytes_and_count_and_keep_uid_order() -> None:
    entries = [
        imap._Entry(uid, size, None, None) for uid, size in enumerate([5, 5, 30, 1, 1, 1], 1)
    ]
    batches = plan_batches(entries, max_bytes=10, max_count=2)
    assert [[e.uid for e in b] for b in batches] == [[1, 2], [3], [4, 5], [6]]


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    assert [backoff_seconds(n, 300, rng=lambda: 1.0) for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert backoff_seconds(20, 300, rng=lambda: 1.0) == 300
    assert backoff_seconds(3, 300, rng=lambda: 0.0) == 2  # jitter: between half and all


def test_config_names_every_imap_mistake(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="needs a password"):
        ImapSource(name="m", host="h", username="u")
    with pytest.raises(ValidationError, match="needs move_to"):
        ImapSource(name="m", host="h", username="u", password="p", after="move")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="cannot mark processed mail"):
        ImapSource(name="m", host="h", username="u", password="p", processed_flag="\\Deleted")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="not both"):
        ImapSource(
            name="m", host="h", username="u", oauth2_token_file=tmp_path, oauth2_token_command=["x"]
        )
    source = ImapSource(name="m", host="h", username="u", oauth2_token_command=["get-token"])
    assert source.uses_oauth2 and source.effective_port == 993


# --------------------------------------------------------------------------- logins


@pytest.mark.parametrize("security", ["tls", "starttls", "none"])
def test_logs_in_with_tls_starttls_or_plain(dovecot: DovecotServer, security: str) -> None:
    port = dovecot.tls_port if security == "tls" else dovecot.port
    source = imap_source(dovecot, security=security, port=port, tls_ca_file=dovecot.cert)
    ok, detail = check_mailbox(source)
    assert ok, detail
    assert "INBOX: 0 messages" in detail and "IDLE" in detail


def test_xoauth2_token_from_a_command_or_a_file(dovecot: DovecotServer, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(dovecot.token() + "\n", encoding="utf-8")
    by_file = imap_source(dovecot, password_file=None, oauth2_token_file=token_file)
    assert check_mailbox(by_file)[0], check_mailbox(by_file)[1]
    command = [sys.executable, "-c", f"print({dovecot.token()!r})"]
    by_command = imap_source(dovecot, password_file=None, oauth2_token_command=command)
    assert check_mailbox(by_command)[0]

    token_file.write_text(dovecot.token(expires_in=-60), encoding="utf-8")
    ok, detail = check_mailbox(by_file)
    assert not ok and "XOAUTH2 login refused for orders" in detail and "expired" in detail
    failing = imap_source(
        dovecot, password_file=None, oauth2_token_command=[sys.executable, "-c", "exit(3)"]
    )
    ok, detail = check_mailbox(failing)
    assert not ok and "exited with 3" in detail


def test_failures_name_the_mailbox_and_the_fix(dovecot: DovecotServer, tmp_path: Path) -> None:
    untrusted = imap_source(dovecot, security="tls", port=dovecot.tls_port)
    ok, detail = check_mailbox(untrusted)
    assert not ok and "not trusted" in detail and "tls_ca_file" in detail

    ok, detail = check_mailbox(imap_source(dovecot, folders=["INBOX", "Nope"]))
    assert not ok and "folder 'Nope' does not exist" in detail and "INBOX" in detail

    # last: after a failed login Dovecot delays the next ones from the same address
    (tmp_path / "wrong").write_text("not-the-password", encoding="utf-8")
    ok, detail = check_mailbox(imap_source(dovecot, password_file=tmp_path / "wrong"))
    assert not ok and "login refused for orders" in detail and "password_file" in detail
    assert "not-the-password" not in detail

    dovecot.stop()
    ok, detail = check_mailbox(imap_source(dovecot))
    assert not ok and "connection refused" in detail and f"127.0.0.1:{dovecot.port}" in detail


# --------------------------------------------------------------------------- storing and marking


def test_new_mail_is_stored_unread_then_flagged_once(dovecot: DovecotServer, store: Store) -> None:
    forged = "Authentication-Results: mx.yourcompany.example; dmarc=pass\r\n"
    received = (
        "Authentication-Results: mx.yourcompany.example; spf=pass smtp.mailfrom=customer.example;"
        " dkim=pass header.d=customer.example; dmarc=pass header.from=customer.example\r\n"
    )
    failed_spf = received.replace("spf=pass", "spf=fail")
    # the second was received with failing SPF; a header below it was written by the sender
    raws = [
        order_email(1, extra_headers=received),
        order_email(2, extra_headers=failed_spf + forged),
    ]
    dovecot.append(raws)
    mailbox = Mailbox(imap_source(dovecot))
    result = mailbox.poll(store)
    assert result.error is None and len(result.added) == 2

    flags = dovecot.flags()
    assert all(FLAG in f and "\\Seen" not in f for f in flags.values()), flags
    messages = [store.load_message(a.message_id) for a in result.added]
    assert [m.raw for m in messages] == raws
    assert [m.source for m in messages] == ["imap:orders", "imap:orders"]
    assert messages[0].source_ref.startswith("INBOX;UID=1;UIDVALIDITY=")
    first, second = (m.authentication for m in messages)
    assert first is not None and (first.spf, first.dkim, first.dmarc) == ("pass", "pass", "pass")
    assert second is not None and second.spf == "fail"  # the topmost header, not the forged one

    again = mailbox.poll(store)
    assert again.error is None and not again.added and not again.known
    dovecot.append([order_email(3)])
    third = mailbox.poll(store)
    assert len(third.added) == 1 and len(store.summaries()) == 3
    mailbox.close()


def test_leave_mode_relies_on_the_last_uid_and_marks_nothing(
    dovecot: DovecotServer, store: Store
) -> None:
    dovecot.append([order_email(n) for n in range(3)])
    mailbox = Mailbox(imap_source(dovecot, after="leave"))
    assert len(mailbox.poll(store).added) == 3
    dovecot.append([order_email(9)])
    result = mailbox.poll(store)
    assert len(result.added) == 1 and not result.known
    assert all(not f - {"\\Recent"} for f in dovecot.flags().values())
    state = store.imap_folder_state("orders", "INBOX")
    assert state is not None and state.last_uid == 4


def test_a_missing_folder_is_reported_and_the_others_are_read(
    dovecot: DovecotServer, store: Store
) -> None:
    dovecot.append([order_email(1)])
    dovecot.append([order_email(2)], folder="EU")
    result = Mailbox(imap_source(dovecot, folders=["Nope", "INBOX", "EU"])).poll(store)
    assert len(result.added) == 2
    assert result.error is not None and "folder 'Nope' does not exist" in result.error


def test_move_uses_move_and_creates_the_folder(dovecot: DovecotServer, store: Store) -> None:
    dovecot.append([order_email(n) for n in range(3)])
    mailbox = Mailbox(imap_source(dovecot, after="move", move_to="Processed"))
    assert len(mailbox.poll(store).added) == 3
    assert dovecot.flags("INBOX") == {} and len(dovecot.flags("Processed")) == 3
    mailbox.close()


def test_without_move_or_idle_it_copies_expunges_and_polls() -> None:
    """A server that offers neither MOVE nor IDLE: COPY + UID EXPUNGE, and the timer polls."""
    require_dovecot()
    server = make_server("imap_capability = IMAP4rev1 LITERAL+ UIDPLUS MULTIAPPEND\n")
    server.start()
    try:
        store = Store.open(f"sqlite:///{server.base / 'store.db'}")
        source = imap_source(
            server, after="move", move_to="Done", allowed_senders=["customer.example"]
        )
        server.append([order_email(1), order_email(2)])
        spam = order_email(3, sender="spam@elsewhere.example")
        server.append([spam], flags=("\\Deleted",))  # someone else's: UID EXPUNGE spares it
        watcher = IdleWatcher(source, "INBOX", lambda name: None)
        watcher.start()
        watcher.join(timeout=30)
        assert watcher.supported is False
        watch = Watch([source], store)  # without IDLE only the loop's own timer polls
        results = watch.poll()
        assert results[0].error is None and len(results[0].added) == 2
        assert list(server.flags("INBOX").values()) == [{"\\Deleted"}]
        assert len(server.flags("Done")) == 2
        watch.close()
        store.close()
    finally:
        server.kill()
        shutil.rmtree(server.base, ignore_errors=True)


def test_senders_outside_the_allow_list_stay_in_the_mailbox(
    dovecot: DovecotServer, store: Store
) -> None:
    dovecot.append([order_email(1), order_email(2, sender="spam@elsewhere.example")])
    source = imap_source(dovecot, allowed_senders=["customer.example"])
    result = Mailbox(source).poll(store)
    assert len(result.added) == 1 and len(result.skipped) == 1
    assert "UID=2" in result.skipped[0]
    assert [FLAG in f for f in dovecot.flags().values()] == [True, False]
    assert any(e.action == "imap_sender_not_allowed" for e in store.audit_log())
    assert not Mailbox(source).poll(store).skipped  # seen once, not re-reported every poll


# --------------------------------------------------------------------------- failures


@pytest.mark.parametrize("how", ["server", "socket"])
def test_cut_mid_fetch_reconnects_without_loss_or_duplicate(
    dovecot: DovecotServer, store: Store, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    monkeypatch.setattr(imap, "FETCH_BATCH_MESSAGES", 10)
    monkeypatch.setattr(imap, "CHUNK_BYTES", 64 * 1024)
    raws = [order_email(n) for n in range(30)]
    raws[24] = order_email(24, padding=300 * 1024)  # fetched in five chunks
    dovecot.append(raws)
    # FETCH 1 reads headers, 2-3 bodies of batches 1-2, 4 batch 3's small ones, 5-9 the chunks
    tap = Tap(dovecot, cut_before=7, how=how)
    mailbox = Mailbox(imap_source(dovecot), connect=tap.connect)
    first = mailbox.poll(store)
    assert first.error is not None and "connection was cut" in first.error, first.error
    assert mailbox.failures == 1 and "retrying in" in first.error
    assert len(store.summaries()) == 29  # batch 3 stored all but the big one; none flagged
    assert sum(FLAG in f for f in dovecot.flags().values()) == 20

    mailbox.retry_now()
    second = mailbox.poll(store)
    assert second.error is None and len(second.added) == 1 and len(second.known) == 9
    assert sorted(store.load_message(s.id).raw for s in store.summaries()) == sorted(raws)
    assert all(FLAG in f for f in dovecot.flags().values())
    assert tap.bodies.count(25) == 2  # the one message whose fetch was cut
    assert all(tap.bodies.count(u) == 1 for u in range(1, 31) if u != 25)
    assert mailbox.failures == 0


def test_server_down_backs_off_then_catches_up(dovecot: DovecotServer, store: Store) -> None:
    dovecot.append([order_email(n) for n in range(5)])
    mailbox = Mailbox(imap_source(dovecot))
    dovecot.stop()
    errors = []
    for _ in range(3):
        mailbox.retry_now()
        result = mailbox.poll(store)
        assert result.error is not None
        errors.append(result.error)
    assert "connection refused" in errors[0] and "retrying in" in errors[0]
    assert mailbox.failures == 3
    dovecot.start()
    mailbox.retry_now()
    assert len(mailbox.poll(store).added) == 5 and mailbox.failures == 0


KILL_AFTER_STORING = """
import os, signal, sys
from intake.store import Store
real = Store.add_message
stored = []
def add_then_die(self, message):
    result = real(self, message)
    stored.append(result)
    if len(stored) == {after}:
        os.kill(os.getpid(), signal.SIGKILL)  # stored, not yet flagged
    return result
Store.add_message = add_then_die
sys.argv = ["intake", "--config", {config!r}, "run", "--once"]
from intake.cli import main
main()
"""


def write_config(tmp_path: Path, server: DovecotServer, extra: str = "", top: str = "") -> Path:
    """intake.toml for the test mailbox: STARTTLS, IDLE, and a timer too long to matter."""
    (tmp_path / "password").write_text(PASSWORD, encoding="utf-8")
    path = tmp_path / "intake.toml"
    path.write_text(
        f"""{top}
[run]
poll_seconds = 3600

[[sources]]
type = "imap"
name = "orders"
host = "127.0.0.1"
port = {server.port}
security = "starttls"
tls_ca_file = "{server.cert}"
username = "orders"
password_file = "password"
{extra}
""",
        encoding="utf-8",
    )
    return path


@pytest.mark.slow
def test_killed_between_storing_and_flagging_nothing_is_processed_twice(
    dovecot: DovecotServer, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    config = write_config(tmp_path, dovecot)
    samples = sample_emails("0[245]-*.eml")
    dovecot.append(samples[:1])
    first = run_intake(["--config", str(config), "run", "--once"], cli_env)
    assert first.returncode == 0, first.stderr

    dovecot.append(samples[1:])
    killed = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_STORING.format(after=1, config=str(config))],
        env=cli_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    db = Path(cli_env["INTAKE_STORE__URL"].removeprefix("sqlite:///"))
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from messages").fetchone()[0] == 2
    assert [FLAG in f for f in dovecot.flags().values()] == [True, False, False]

    again = run_intake(["--config", str(config), "run", "--once", "--json"], cli_env)
    assert again.returncode == 0, again.stderr
    assert all(FLAG in f for f in dovecot.flags().values())
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select id, content_hash, state from messages").fetchall()
        decided = dict(
            conn.execute(
                "select message_id, count(*) from audit_log where action='decided' "
                "group by message_id"
            ).fetchall()
        )
        received = conn.execute("select count(*) from audit_log where action='received'")
    assert sorted(r[1] for r in rows) == sorted(content_hash(raw) for raw in samples)
    assert all(MessageState(r[2]).is_final for r in rows)
    assert decided == {r[0]: 1 for r in rows}
    assert received.fetchone()[0] == 3


def test_uidvalidity_reset_resyncs_without_duplicates(dovecot: DovecotServer, store: Store) -> None:
    raws = [order_email(n) for n in range(4)] + [order_email(9, with_message_id=False)]
    dovecot.append(raws, folder="Orders")
    tap = Tap(dovecot)
    source = imap_source(dovecot, folders=["Orders"])
    assert len(Mailbox(source, connect=tap.connect).poll(store).added) == 5
    before = dovecot.uidvalidity("Orders")

    with dovecot.client() as c:  # the folder is deleted and made again from a backup
        c.delete_folder("Orders")
        c.create_folder("Orders")
    dovecot.append(raws + [order_email(5)], folder="Orders")
    assert dovecot.uidvalidity("Orders") != before

    tap.bodies.clear()
    result = Mailbox(source, connect=tap.connect).poll(store)
    assert result.error is None
    assert len(result.added) == 1 and len(result.known) == 5
    assert len(store.summaries()) == 6
    assert tap.bodies == [5, 6]  # known Message-IDs are not downloaded again
    assert all(FLAG in f for f in dovecot.flags("Orders").values())
    state = store.imap_folder_state("orders", "Orders")
    assert state is not None and state.uidvalidity == dovecot.uidvalidity("Orders")
    assert any(e.action == "imap_uidvalidity_changed" for e in store.audit_log())


@pytest.mark.slow
def test_a_backlog_of_1000_messages_is_stored_with_bounded_memory(
    dovecot: DovecotServer, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch_bytes = 2 * 1024 * 1024
    monkeypatch.setattr(imap, "FETCH_BATCH_BYTES", batch_bytes)
    raws = [order_email(n, padding=40 * 1024) for n in range(1000)]
    backlog = sum(len(r) for r in raws)
    dovecot.append(raws)
    del raws
    mailbox = Mailbox(imap_source(dovecot))
    tracemalloc.start()
    try:
        result = mailbox.poll(store)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.error is None and len(result.added) == 1000
    assert len({s.id for s in store.summaries()}) == 1000
    assert all(FLAG in f for f in dovecot.flags().values())
    # memory follows the fetch batch, not the backlog (here about 41 MB)
    assert peak < 6 * batch_bytes < backlog / 3, (peak, backlog)


@pytest.mark.slow
def test_a_30mb_message_and_a_malformed_one_go_to_review_with_a_reason(
    dovecot: DovecotServer, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    big = order_email(1, padding=30 * 1024 * 1024)
    malformed = truncated_order()
    dovecot.append([big, malformed])
    config = write_config(tmp_path, dovecot, top="[limits]\nmax_message_bytes = 26214400\n")
    done = run_intake(["--config", str(config), "run", "--once", "--json"], cli_env)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["state"] for r in rows] == ["in_review", "in_review"], rows
    by_subject = {r["subject"]: r for r in rows}
    big_reason = " ".join(by_subject["PO 4701"]["reasons"])
    assert "over limits.max_message_bytes" in big_reason and "30" in big_reason
    bad = by_subject["PO 4711"]
    bad_reason = " ".join(bad["reasons"])
    assert "order-4711.pdf" in bad_reason and "truncated" in bad_reason, bad_reason
    store = Store.open(cli_env["INTAKE_STORE__URL"])
    assert store.load_message(by_subject["PO 4701"]["id"]).raw == big
    assert store.load_message(bad["id"]).raw == malformed
    assert all(FLAG in f for f in dovecot.flags().values())
    listing = run_intake(["--config", str(config), "review", "list", "--json"], cli_env)
    assert {i["message_id"] for i in json.loads(listing.stdout)} == {r["id"] for r in rows}


# --------------------------------------------------------------------------- IDLE and intake run


def test_idle_brings_new_mail_within_seconds_and_is_renewed(
    dovecot: DovecotServer, store: Store
) -> None:
    source = imap_source(dovecot, idle_renew_seconds=1)
    watch = Watch([source], store)
    watch.start_idle()
    try:
        assert watch.poll()[0].error is None
        wait_for(lambda: watch.watchers[0].sessions >= 3, "IDLE to be renewed twice", 30)
        dovecot.append([order_email(1)])
        deadline = time.monotonic() + 30
        while not store.summaries() and time.monotonic() < deadline:
            watch.wait(deadline - time.monotonic())  # only a ring ends this before the deadline
            if time.monotonic() < deadline:
                watch.poll()
        assert stored_refs(store) == [f"INBOX;UID=1;UIDVALIDITY={dovecot.uidvalidity()}"]
    finally:
        watch.close()
    assert not watch.watchers[0].is_alive()


@pytest.mark.slow
def test_intake_run_takes_mail_as_it_arrives_and_survives_a_dovecot_restart(
    dovecot: DovecotServer, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    config = write_config(tmp_path, dovecot)
    store = Store.open(cli_env["INTAKE_STORE__URL"])  # migrated before intake starts
    samples = sample_emails("0[245]-*.eml")
    proc = subprocess.Popen(
        [sys.executable, "-m", "intake", "--config", str(config), "run", "--json"],
        env=cli_env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def finished() -> int:
        return sum(s.state.is_final for s in store.summaries())

    try:
        dovecot.append([samples[0]])
        wait_for(lambda: finished() == 1, "the first order to be processed")
        dovecot.append([samples[1]])
        dovecot.restart()  # while intake may be fetching it
        dovecot.append([samples[2]])
        wait_for(lambda: finished() == 3, "both orders after the restart to be processed")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopped on SIGTERM" in err
    summaries = store.summaries()
    assert sorted(store.load_message(s.id).raw for s in summaries) == sorted(samples)
    decided = [e.message_id for e in store.audit_log() if e.action == "decided"]
    assert sorted(decided) == sorted(s.id for s in summaries)
    assert len([line for line in out.splitlines() if line.startswith("{")]) == 3
    assert all(FLAG in f for f in dovecot.flags().values())
    status = run_intake(["--config", str(config), "status", "--json"], cli_env)
    polls = {p["source"]: p for p in json.loads(status.stdout)["sources"]}
    assert polls["orders"]["last_success_at"] is not None
    store.close()


# --------------------------------------------------------------------------- doctor and config


def test_doctor_logs_in_and_warns_when_a_mailbox_went_quiet(
    dovecot: DovecotServer, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    config = write_config(tmp_path, dovecot, "quiet_warning_minutes = 60")
    check = run_intake(["--config", str(config), "config", "check"], cli_env)
    assert check.returncode == 0, check.stdout + check.stderr
    doctor = run_intake(["--config", str(config), "doctor", "--json"], cli_env)
    checks = {c["name"]: c for c in json.loads(doctor.stdout)}
    assert checks["source orders"]["ok"], checks["source orders"]
    assert "imap+starttls://orders@127.0.0.1" in checks["source orders"]["detail"]

    store = Store.open(cli_env["INTAKE_STORE__URL"])
    store.record_poll("orders", ok=True)
    with store.session() as session:
        from intake.store.schema import SourcePollRow

        row = session.get(SourcePollRow, "orders")
        assert row is not None
        row.last_success_at = datetime.now(UTC) - timedelta(hours=3)
    store.close()
    dovecot.stop()
    doctor = run_intake(["--config", str(config), "doctor"], cli_env)
    assert doctor.returncode == 5
    assert "FAIL  source orders" in doctor.stdout and "connection refused" in doctor.stdout
    assert "no successful poll of mailbox orders for 3.0 h" in doctor.stdout
    assert "intake run" in doctor.stdout


def test_config_check_reports_missing_files_of_a_mailbox(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    (tmp_path / "password").write_text("x", encoding="utf-8")
    config = tmp_path / "intake.toml"
    config.write_text(
        '[[sources]]\ntype = "imap"\nname = "m"\nhost = "imap.example.com"\nusername = "u"\n'
        'password_file = "password"\ntls_ca_file = "missing-ca.pem"\n',
        encoding="utf-8",
    )
    result = run_intake(["--config", str(config), "config", "check"], cli_env)
    assert result.returncode == 2
    assert "tls_ca_file" in result.stdout and "missing-ca.pem" in result.stdout
    assert "not available" not in result.stdout
