"""IMAP mailboxes: every new message stored exactly once, and only then marked in the mailbox.

Per folder, the order of work never changes: find the UIDs not yet handled (above the last
handled UID the store keeps, and without the processed flag), read their Message-ID and sender,
fetch the bodies of the ones the store does not know with ``BODY.PEEK`` (so nothing is marked
read), store each one durably, then mark the batch as configured (a flag or keyword, a move, or
nothing) and only then advance the last handled UID. A crash or a cut connection anywhere in
between leaves the message in the mailbox; the next poll finds it again and the store
recognises it by Message-ID and content hash, so it is marked but never stored twice. When a
folder's UIDVALIDITY changes, its UIDs mean nothing any more: the folder is read again from the
start and the same recognition keeps it free of duplicates.

``open_connection`` is the one place the transport is built (implicit TLS, STARTTLS or plain;
password or XOAUTH2). ``Mailbox`` keeps one connection per configured mailbox between polls
and backs off exponentially, with jitter, after a failure. ``IdleWatcher`` waits in IMAP IDLE
on one folder in its own thread and only rings a doorbell when mail arrives; the fetching
itself always happens in the worker's loop, so there is one writer per mailbox.
"""

from __future__ import annotations

import imaplib
import logging
import random
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from intake.config import ImapSource
from intake.errors import DependencyError
from intake.sources.authresults import (
    authentication_results_headers,
    parse_authentication_results,
)
from intake.sources.folder import message_from_email_bytes
from intake.sources.result import PollResult
from intake.store import Store, content_hash

log = logging.getLogger(__name__)

FETCH_BATCH_BYTES = 8 * 1024 * 1024
"""Most message bytes fetched in one FETCH; memory per poll stays near this, whatever the
backlog."""
FETCH_BATCH_MESSAGES = 50
"""Most messages stored between two markings (a crash repeats at most this much work)."""
HEADER_BATCH = 500
"""UIDs whose size, Message-ID and sender are read with one FETCH."""
CHUNK_BYTES = 8 * 1024 * 1024
"""A message larger than this is fetched in partial chunks of this size."""
BACKOFF_BASE_SECONDS = 1.0
IDLE_CHECK_SECONDS = 1.0
"""How often an IDLE thread looks up from waiting to see whether it should stop."""
TOKEN_COMMAND_TIMEOUT = 60

_HEADER_FIELDS = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID FROM)]"
_SYSTEM_FLAG_UNSET = {
    "\\seen": ["UNSEEN"],
    "\\flagged": ["UNFLAGGED"],
    "\\answered": ["UNANSWERED"],
    "\\draft": ["UNDRAFT"],
}

ImapError = (OSError, imaplib.IMAP4.error, EOFError)
"""What a broken connection or a refusing server raises (imapclient's errors derive from
imaplib's; socket, TLS and timeout errors from OSError)."""


class MailboxError(DependencyError):
    """A mailbox cannot be used as configured; the message names the mailbox and the fix."""


# --------------------------------------------------------------------------- transport


def open_connection(source: ImapSource) -> IMAPClient:
    """Connect and log in to a mailbox: the one place the IMAP transport is built.

    Implicit TLS (``security = "tls"``, port 993) or STARTTLS (port 143) verify the server's
    certificate against the system CAs, or against ``tls_ca_file`` when set. Raises the
    transport's own errors; ``describe_error`` turns them into a sentence with the fix.
    """
    context = ssl.create_default_context(
        cafile=str(source.tls_ca_file) if source.tls_ca_file else None
    )
    client = IMAPClient(
        source.host,
        port=source.effective_port,
        ssl=source.security == "tls",
        ssl_context=context,
        timeout=source.timeout_seconds,
        use_uid=True,
    )
    try:
        if source.security == "starttls":
            client.starttls(context)
        if source.uses_oauth2:
            client.oauth2_login(source.username, read_oauth2_token(source))
        else:
            assert source.password is not None  # the config refuses a mailbox without one
            client.login(source.username, source.password.get_secret_value())
    except BaseException:
        _close_quietly(client)
        raise
    return client


def read_oauth2_token(source: ImapSource) -> str:
    """A current OAuth2 access token for XOAUTH2, read anew for every login (tokens expire)."""
    if source.oauth2_token_file is not None:
        try:
            token = source.oauth2_token_file.expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise MailboxError(
                f"mailbox {source.name}: oauth2_token_file {source.oauth2_token_file} cannot be "
                f"read ({exc.strerror}): check the path and that the token refresher writes it"
            ) from exc
        if not token:
            raise MailboxError(
                f"mailbox {source.name}: oauth2_token_file {source.oauth2_token_file} is empty: "
                "check that the token refresher writes it"
            )
        return token
    command = source.oauth2_token_command or []
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=TOKEN_COMMAND_TIMEOUT, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise MailboxError(
            f"mailbox {source.name}: oauth2_token_command {command[0]!r} could not run ({exc}): "
            "install it or fix oauth2_token_command in intake.toml"
        ) from exc
    token = done.stdout.strip()
    if done.returncode != 0 or not token:
        why = (done.stderr.strip().splitlines() or ["no output"])[-1][:200]
        raise MailboxError(
            f"mailbox {source.name}: oauth2_token_command {command[0]!r} exited with "
            f"{done.returncode} ({why}): run it by hand to see why"
        )
    return token


def _close_quietly(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # the connection is already gone; closing is all that is left
        try:
            client.shutdown()
        except Exception:
            log.debug("closing an IMAP connection failed", exc_info=True)


def describe_error(source: ImapSource, exc: BaseException) -> str:
    """One sentence for people: which mailbox, what went wrong, and what to do about it."""
    where = f"mailbox {source.name} ({source.host}:{source.effective_port})"
    if isinstance(exc, MailboxError):
        return str(exc)
    if isinstance(exc, LoginError):
        if source.uses_oauth2:
            return (
                f"{where}: XOAUTH2 login refused for {source.username} ({_text(exc)}): the token "
                "is expired, lacks the IMAP scope, or belongs to another user"
            )
        return (
            f"{where}: login refused for {source.username} ({_text(exc)}): check username "
            "and password_file in intake.toml"
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"{where}: the server's TLS certificate is not trusted ({exc.verify_message}): set "
            "tls_ca_file to the CA that signed it, or fix the certificate on the server"
        )
    if isinstance(exc, ssl.SSLError):
        return (
            f"{where}: TLS failed ({exc.reason or exc}): check security in intake.toml "
            '("tls" for port 993, "starttls" for 143)'
        )
    if isinstance(exc, socket.gaierror):
        return f"{where}: host {source.host!r} not found: check host in intake.toml"
    if isinstance(exc, ConnectionRefusedError):
        return f"{where}: connection refused: check host and port, and that the server is up"
    if isinstance(exc, TimeoutError):
        return (
            f"{where}: no answer within {source.timeout_seconds:g} s: check the network, or "
            "raise timeout_seconds"
        )
    if isinstance(exc, imaplib.IMAP4.abort | OSError | EOFError):
        return f"{where}: the connection was cut ({_text(exc) or type(exc).__name__})"
    return f"{where}: the server refused a command: {_text(exc)}"


def _text(exc: BaseException) -> str:
    text = str(exc)
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else text


def backoff_seconds(failures: int, cap: float, rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait after ``failures`` failures in a row: doubling from 1 s up to ``cap``.

    The jitter (between half and all of the delay) keeps many workers that lost the same
    server from all reconnecting in the same second.
    """
    delay = min(cap, BACKOFF_BASE_SECONDS * 2 ** max(failures - 1, 0))
    return float(delay * (0.5 + rng() / 2))


# --------------------------------------------------------------------------- pure helpers


def sender_allowed(sender: str | None, allowed: Sequence[str]) -> bool:
    """Whether a sender passes the allow-list: empty list, exact address, domain or *.domain."""
    if not allowed:
        return True
    if not sender or "@" not in sender:
        return False
    sender = sender.lower()
    domain = sender.rpartition("@")[2]
    for entry in allowed:
        entry = entry.strip().lower()
        if "@" in entry and not entry.startswith("@"):
            if sender == entry:
                return True
        elif entry.startswith("*."):
            if domain.endswith(entry[1:]):
                return True
        elif domain == entry.lstrip("@"):
            return True
    return False


def unmarked_criteria(source: ImapSource) -> list[str]:
    """SEARCH keys for messages that do not carry the processed flag (none unless flagging)."""
    if source.after != "flag":
        return []
    flag = source.processed_flag
    return _SYSTEM_FLAG_UNSET.get(flag.lower(), ["UNKEYWORD", flag])


@dataclass(frozen=True)
class _Entry:
    """A message the folder holds and intake has not handled: what its headers say."""

    uid: int
    size: int
    message_id: str | None
    sender: str | None


def plan_batches(entries: Sequence[_Entry], max_bytes: int, max_count: int) -> list[list[_Entry]]:
    """Cut the UID-ordered entries into batches of at most ``max_bytes`` and ``max_count``.

    A message larger than ``max_bytes`` gets a batch of its own. Order is kept, so the last UID
    of a batch is the highest one handled once the batch is done.
    """
    batches: list[list[_Entry]] = []
    current: list[_Entry] = []
    size = 0
    for entry in entries:
        if current and (size + entry.size > max_bytes or len(current) >= max_count):
            batches.append(current)
            current, size = [], 0
        current.append(entry)
        size += entry.size
    if current:
        batches.append(current)
    return batches


def source_ref(folder: str, uidvalidity: int, uid: int) -> str:
    """Where a message is: folder, UID and UIDVALIDITY (a UID means nothing without it)."""
    return f"{folder};UID={uid};UIDVALIDITY={uidvalidity}"


def header_block(raw: bytes) -> bytes:
    """The header section of a raw message (up to and including the blank line)."""
    ends = [(i, n) for i, n in ((raw.find(b"\r\n\r\n"), 4), (raw.find(b"\n\n"), 2)) if i >= 0]
    if not ends:
        return raw
    index, length = min(ends)
    return raw[: index + length]


def _response_item(data: dict[bytes, object], prefix: bytes) -> object | None:
    """A FETCH response item by its name's start (servers echo section names differently)."""
    for key, value in data.items():
        if isinstance(key, bytes) and key.upper().startswith(prefix):
            return value
    return None


def _as_int(value: object) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, bytes | str):
        return int(value)
    raise TypeError(f"unexpected IMAP number {value!r}")


def _as_bytes(value: object) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    raise TypeError(f"unexpected FETCH item {type(value).__name__}")


# --------------------------------------------------------------------------- polling


class Mailbox:
    """One configured mailbox: its connection (kept between polls) and reconnect backoff.

    Used from one thread: the worker loop of ``intake run``, or a one-shot poll.
    """

    def __init__(
        self,
        source: ImapSource,
        connect: Callable[[ImapSource], IMAPClient] = open_connection,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.origin = f"imap:{source.name}"
        self._connect = connect
        self._clock = clock
        self._client: IMAPClient | None = None
        self._move_target_ready = False
        self.failures = 0
        self.next_attempt = 0.0

    # ----------------------------------------------------------- connection and backoff

    def due(self) -> bool:
        """True unless the mailbox is waiting out a reconnect backoff."""
        return self._clock() >= self.next_attempt

    def seconds_until_due(self) -> float:
        """How long until the next reconnect attempt is allowed (0 when it is now)."""
        return max(0.0, self.next_attempt - self._clock())

    def retry_now(self) -> None:
        """Drop the backoff: the server was just seen answering again (IDLE reconnected)."""
        self.next_attempt = 0.0

    def close(self) -> None:
        """Log out, if connected."""
        if self._client is not None:
            _close_quietly(self._client)
            self._client = None

    def _connection(self) -> IMAPClient:
        """The open connection, checked with NOOP, or a new one if it went stale."""
        if self._client is not None:
            try:
                self._client.noop()
                return self._client
            except ImapError:
                log.info("mailbox %s: the connection went stale; reconnecting", self.source.name)
                self.close()
        self._client = self._connect(self.source)
        self._move_target_ready = False
        return self._client

    # ----------------------------------------------------------- one poll

    def poll(self, store: Store, should_stop: Callable[[], bool] | None = None) -> PollResult:
        """Store every new message of every folder, marking each batch once it is stored.

        Never raises for mailbox trouble: the error is described in the result (and the
        mailbox backs off); what was stored and marked before it stays done.
        """
        result = PollResult(source=self.source.name)
        folder_errors = []
        try:
            client = self._connection()
            for folder in self.source.folders:
                if should_stop is not None and should_stop():
                    break
                try:
                    self._poll_folder(client, folder, store, result, should_stop)
                except MailboxError as exc:  # this folder is misconfigured; the others go on
                    folder_errors.append(str(exc))
        except (*ImapError, MailboxError) as exc:
            self.close()
            self.failures += 1
            wait = backoff_seconds(self.failures, self.source.reconnect_max_seconds)
            self.next_attempt = self._clock() + wait
            result.error = f"{describe_error(self.source, exc)}; retrying in {wait:.0f} s"
            return result
        self.failures = 0
        self.next_attempt = 0.0
        result.error = "; ".join(folder_errors) or None
        return result

    def _select(self, client: IMAPClient, folder: str) -> dict[bytes, object]:
        readonly = self.source.after == "leave"
        try:
            info: dict[bytes, object] = client.select_folder(folder, readonly=readonly)
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as exc:
            if not client.folder_exists(folder):
                names = sorted(str(f[2]) for f in client.list_folders())
                raise MailboxError(
                    f"mailbox {self.source.name}: folder {folder!r} does not exist: fix folders "
                    f"in intake.toml (the mailbox has: {', '.join(names[:20])})"
                ) from exc
            raise
        if self.source.after == "flag":
            self._check_flag_allowed(folder, info)
        return info

    def _check_flag_allowed(self, folder: str, info: dict[bytes, object]) -> None:
        flag = self.source.processed_flag
        permanent = info.get(b"PERMANENTFLAGS")
        if flag.startswith("\\") or not isinstance(permanent, tuple | list):
            return
        allowed = {_as_bytes(f).lower() for f in permanent}
        if b"\\*" not in allowed and flag.encode().lower() not in allowed:
            raise MailboxError(
                f"mailbox {self.source.name}: folder {folder!r} does not keep the keyword "
                f"{flag} (the server allows only "
                f"{' '.join(_as_bytes(f).decode() for f in permanent)}): set processed_flag = "
                '"\\\\Flagged" or after = "move" in intake.toml'
            )

    def _poll_folder(
        self,
        client: IMAPClient,
        folder: str,
        store: Store,
        result: PollResult,
        should_stop: Callable[[], bool] | None,
    ) -> None:
        info = self._select(client, folder)
        uidvalidity = _as_int(info.get(b"UIDVALIDITY"))
        state = store.imap_folder_state(self.source.name, folder)
        last_uid = 0
        if state is not None and state.uidvalidity == uidvalidity:
            last_uid = state.last_uid
        else:
            if state is not None:
                log.warning(
                    "mailbox %s folder %s: UIDVALIDITY changed from %d to %d; reading the folder "
                    "again, recognising stored messages by Message-ID and content hash",
                    self.source.name,
                    folder,
                    state.uidvalidity,
                    uidvalidity,
                )
                store.audit(
                    "imap_uidvalidity_changed",
                    None,
                    {
                        "source": self.source.name,
                        "folder": folder,
                        "old": state.uidvalidity,
                        "new": uidvalidity,
                    },
                )
            store.save_imap_folder_state(self.source.name, folder, uidvalidity, 0)
        if self.source.after == "move":
            self._ensure_move_target(client)
        criteria = ["UID", f"{last_uid + 1}:*", *unmarked_criteria(self.source)]
        uids = sorted(int(u) for u in client.search(criteria) if int(u) > last_uid)
        for start in range(0, len(uids), HEADER_BATCH):
            entries = self._read_headers(client, uids[start : start + HEADER_BATCH])
            for batch in plan_batches(entries, FETCH_BATCH_BYTES, FETCH_BATCH_MESSAGES):
                if should_stop is not None and should_stop():
                    return
                handled = self._store_batch(client, folder, uidvalidity, batch, store, result)
                self._mark(client, handled)
                store.save_imap_folder_state(self.source.name, folder, uidvalidity, batch[-1].uid)

    def _read_headers(self, client: IMAPClient, uids: list[int]) -> list[_Entry]:
        """Size, Message-ID and sender of each UID, without touching any flag."""
        data = client.fetch(uids, ["RFC822.SIZE", _HEADER_FIELDS])
        entries = []
        for uid in uids:
            item = data.get(uid)
            if item is None:  # expunged by someone else since the SEARCH
                continue
            head = _as_bytes(_response_item(item, b"BODY[HEADER.FIELDS"))
            parsed = message_from_email_bytes(head, self.origin, "")
            size = item.get(b"RFC822.SIZE")
            entries.append(
                _Entry(
                    uid, _as_int(size) if size is not None else 0, parsed.message_id, parsed.sender
                )
            )
        return entries

    def _store_batch(
        self,
        client: IMAPClient,
        folder: str,
        uidvalidity: int,
        batch: list[_Entry],
        store: Store,
        result: PollResult,
    ) -> list[int]:
        """Store the batch's new messages; return the UIDs now safe to mark as processed."""
        handled: list[int] = []
        to_fetch: list[_Entry] = []
        known_ones = store.known_messages(
            [(e.message_id, e.sender) for e in batch if e.message_id is not None]
        )
        for entry in batch:
            ref = source_ref(folder, uidvalidity, entry.uid)
            if not sender_allowed(entry.sender, self.source.allowed_senders):
                log.info(
                    "mailbox %s: %s from %s is not from an allowed sender; left in the mailbox",
                    self.source.name,
                    ref,
                    entry.sender or "(no sender)",
                )
                store.audit(
                    "imap_sender_not_allowed",
                    None,
                    {"source": self.source.name, "ref": ref, "sender": entry.sender},
                )
                result.skipped.append(ref)
                continue
            known = known_ones.get((entry.message_id, entry.sender)) if entry.message_id else None
            if known is not None:
                result.known.append(known)
                handled.append(entry.uid)
            else:
                to_fetch.append(entry)
        for entry, raw in self._fetch_bodies(client, to_fetch):
            head = header_block(raw)  # parse headers only: a 30 MB body is never decoded here
            auth = parse_authentication_results(
                authentication_results_headers(head), self.source.trusted_authserv_ids
            )
            message = message_from_email_bytes(
                head, self.origin, source_ref(folder, uidvalidity, entry.uid)
            ).model_copy(
                update={"raw": raw, "content_hash": content_hash(raw), "authentication": auth}
            )
            added = store.add_message(message)
            (result.added if added.created else result.known).append(added)
            handled.append(entry.uid)
        return handled

    def _fetch_bodies(
        self, client: IMAPClient, entries: list[_Entry]
    ) -> Iterator[tuple[_Entry, bytes]]:
        """The raw bytes of each message, fetched with BODY.PEEK so nothing is marked read."""
        small = [e for e in entries if e.size <= CHUNK_BYTES]
        if small:
            data = client.fetch([e.uid for e in small], ["BODY.PEEK[]"])
            for entry in small:
                item = data.pop(entry.uid, None)
                if item is not None:
                    yield entry, _as_bytes(_response_item(item, b"BODY[]"))
            del data
        for entry in entries:
            if entry.size > CHUNK_BYTES:
                raw = self._fetch_in_chunks(client, entry)
                if raw is not None:
                    yield entry, raw

    @staticmethod
    def _fetch_in_chunks(client: IMAPClient, entry: _Entry) -> bytes | None:
        """A large message in partial fetches, so no single response holds it twice."""
        buffer = bytearray()
        while True:
            part = f"BODY.PEEK[]<{len(buffer)}.{CHUNK_BYTES}>"
            item = client.fetch([entry.uid], [part]).get(entry.uid)
            if item is None:
                return None
            chunk = _as_bytes(_response_item(item, b"BODY[]"))
            buffer += chunk
            if len(chunk) < CHUNK_BYTES:
                return bytes(buffer)

    def _ensure_move_target(self, client: IMAPClient) -> None:
        target = self.source.move_to
        if self._move_target_ready or target is None:
            return
        if not client.folder_exists(target):
            log.info("mailbox %s: creating folder %s for processed mail", self.source.name, target)
            client.create_folder(target)
        self._move_target_ready = True

    def _mark(self, client: IMAPClient, uids: list[int]) -> None:
        """Mark stored messages as processed: flag, move (or COPY + EXPUNGE), or leave them."""
        if not uids or self.source.after == "leave":
            return
        if self.source.after == "flag":
            client.add_flags(uids, [self.source.processed_flag], silent=True)
            return
        target = self.source.move_to
        assert target is not None  # the config requires move_to with after = "move"
        if client.has_capability("MOVE"):
            client.move(uids, target)
            return
        client.copy(uids, target)
        client.add_flags(uids, [b"\\Deleted"], silent=True)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge(uids)
        else:  # without UIDPLUS only a plain EXPUNGE exists (it also removes others' \Deleted)
            client.expunge()


# --------------------------------------------------------------------------- IDLE


class IdleWatcher(threading.Thread):
    """Waits in IMAP IDLE on one folder and calls ``ring(source name)`` when mail arrives.

    It never fetches or stores anything: the worker loop does that when rung, so each mailbox
    has a single writer. IDLE is renewed every ``idle_renew_seconds`` (servers may end it after
    30 minutes, RFC 2177), which also finds a connection that died silently. After any
    disconnect it reconnects with exponential backoff and jitter, and it rings on every new
    IDLE session, so mail that came while it was away (or before the first IDLE) is fetched.
    A server without IDLE is left to the loop's timer; ``supported`` then turns False.
    """

    def __init__(
        self,
        source: ImapSource,
        folder: str,
        ring: Callable[[str], None],
        connect: Callable[[ImapSource], IMAPClient] = open_connection,
    ) -> None:
        super().__init__(name=f"imap-idle-{source.name}-{folder}", daemon=True)
        self.source = source
        self.folder = folder
        self._ring = ring
        self._connect = connect
        self._stopping = threading.Event()
        self.supported: bool | None = None
        self.sessions = 0
        """IDLE sessions started (renewals and reconnects included)."""
        self.last_error: str | None = None

    def stop(self) -> None:
        """Ask the thread to end; it leaves IDLE and logs out within about a second."""
        self._stopping.set()

    def run(self) -> None:
        """Connect, IDLE, ring; on any failure back off and start again, until stopped."""
        failures = 0
        while not self._stopping.is_set():
            try:
                client = self._connect(self.source)
            except (*ImapError, MailboxError) as exc:
                failures += 1
                self._wait_after(exc, failures)
                continue
            try:
                if not client.has_capability("IDLE"):
                    self.supported = False
                    log.info(
                        "mailbox %s: the server has no IDLE; new mail is found by polling",
                        self.source.name,
                    )
                    return
                self.supported = True
                client.select_folder(self.folder, readonly=True)
                failures = 0
                self._idle(client)
            except ImapError as exc:
                failures += 1
                self._wait_after(exc, failures)
            except Exception as exc:  # a bug must not end the thread: IDLE would stop silently
                log.exception("mailbox %s: IDLE on %s failed", self.source.name, self.folder)
                failures += 1
                self._wait_after(exc, failures)
            finally:
                _close_quietly(client)

    def _wait_after(self, exc: BaseException, failures: int) -> None:
        wait = backoff_seconds(failures, self.source.reconnect_max_seconds)
        self.last_error = describe_error(self.source, exc)
        log.warning("%s (IDLE on %s); reconnecting in %.1f s", self.last_error, self.folder, wait)
        self._stopping.wait(wait)

    def _idle(self, client: IMAPClient) -> None:
        renew = self.source.idle_renew_seconds
        while not self._stopping.is_set():
            client.idle()
            self.sessions += 1
            self._ring(self.source.name)
            started = time.monotonic()
            try:
                while not self._stopping.is_set() and time.monotonic() - started < renew:
                    responses = client.idle_check(timeout=IDLE_CHECK_SECONDS)
                    if any(_is_new_mail(r) for r in responses):
                        log.debug("mailbox %s folder %s: new mail", self.source.name, self.folder)
                        self._ring(self.source.name)
            finally:
                client.idle_done()


def _is_new_mail(response: object) -> bool:
    return (
        isinstance(response, tuple) and len(response) >= 2 and response[1] in (b"EXISTS", b"RECENT")
    )


# --------------------------------------------------------------------------- checks


def check_mailbox(source: ImapSource) -> tuple[bool, str]:
    """Log in and look at every folder, as ``intake doctor`` does: (ok, detail or the fix)."""
    try:
        client = open_connection(source)
    except (*ImapError, MailboxError) as exc:
        return False, describe_error(source, exc)
    try:
        scheme = {"tls": "imaps", "starttls": "imap+starttls", "none": "imap"}[source.security]
        parts = [f"{scheme}://{source.username}@{source.host}:{source.effective_port}"]
        mailbox = Mailbox(source, connect=lambda _s: client)
        for folder in source.folders:
            info = mailbox._select(client, folder)
            parts.append(f"{folder}: {info.get(b'EXISTS', '?')} messages")
        if source.after == "move" and source.move_to and not client.folder_exists(source.move_to):
            parts.append(f"{source.move_to} will be created")
        parts.append("IDLE" if client.has_capability("IDLE") else "no IDLE: polling")
        if source.after == "move" and not client.has_capability("MOVE"):
            parts.append("no MOVE: COPY + EXPUNGE")
        return True, "; ".join(parts)
    except (*ImapError, MailboxError) as exc:
        return False, describe_error(source, exc)
    finally:
        _close_quietly(client)


def quiet_problem(
    source: ImapSource, last_success_at: datetime | None, now: datetime
) -> str | None:
    """Why a mailbox looks stopped (no successful poll for too long), or None if it is fine."""
    if last_success_at is None:
        return None
    quiet = now - last_success_at
    if quiet <= timedelta(minutes=source.quiet_warning_minutes):
        return None
    hours = quiet.total_seconds() / 3600
    return (
        f"no successful poll of mailbox {source.name} for {hours:.1f} h (more than "
        f"quiet_warning_minutes = {source.quiet_warning_minutes}): check that intake run is "
        "running, and intake status for the last error"
    )


def config_problems(index: int, source: ImapSource) -> list[str]:
    """What the schema cannot see: files and programs the mailbox needs, checked up front."""
    problems = []
    label = f"sources[{index}] ({source.name})"
    if source.tls_ca_file is not None and not source.tls_ca_file.is_file():
        problems.append(f"{label}: tls_ca_file {source.tls_ca_file} does not exist: fix the path")
    if source.oauth2_token_file is not None and not source.oauth2_token_file.is_file():
        problems.append(
            f"{label}: oauth2_token_file {source.oauth2_token_file} does not exist: fix the path "
            "or start the program that refreshes it"
        )
    if source.oauth2_token_command and shutil.which(source.oauth2_token_command[0]) is None:
        problems.append(
            f"{label}: oauth2_token_command {source.oauth2_token_command[0]!r} is not found: "
            "install it or give its full path"
        )
    return problems
