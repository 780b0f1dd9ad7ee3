"""Drop folders: every file put in the folder is one message.

The embedded default source. ``.eml`` files are emails; anything else (PDF, image, spreadsheet,
text) is a bare file and becomes a message of kind ``file``. Files are left where they are:
the store recognises one it has seen by its content hash, so a rescan never processes a file
twice and nothing is moved before its result is durably stored.
"""

from __future__ import annotations

import email.utils
from collections.abc import Iterator
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path

from intake.ids import new_id
from intake.models import Message
from intake.store import content_hash

EMAIL_SUFFIXES = {".eml", ".msg822"}
IGNORED_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}


def _is_candidate(path: Path) -> bool:
    return (
        path.is_file()
        and not path.name.startswith(".")
        and path.name not in IGNORED_NAMES
        and not path.name.endswith((".label.json", ".part", ".tmp", "~"))
        and path.name != "README.md"
    )


def list_files(folder: Path, recursive: bool = False) -> list[Path]:
    """The files of a drop folder that are messages, in name order (stable across runs)."""
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in folder.glob(pattern) if _is_candidate(p))


def message_from_file(path: Path, source: str, ref: str | None = None) -> Message:
    """Read one file into a Message; emails get their headers read, other files their name."""
    raw = path.read_bytes()
    ref = ref or path.name
    now = datetime.now(UTC)
    if path.suffix.lower() in EMAIL_SUFFIXES:
        return message_from_email_bytes(raw, source, ref, received_at=now)
    return Message(
        id=new_id(),
        source=source,
        source_ref=ref,
        kind="file",
        content_hash=content_hash(raw),
        filename=path.name,
        received_at=now,
        raw=raw,
    )


def message_from_email_bytes(
    raw: bytes, source: str, ref: str, received_at: datetime | None = None
) -> Message:
    """A Message for raw RFC 5322 bytes; headers that cannot be read are simply left empty.

    ``received_at`` is the email's own Date header when it is readable and not in the future
    (a dropped .eml may be weeks old; its dates must be judged against when it was sent),
    otherwise the time it reached intake.
    """
    headers = BytesHeaderParser(policy=default_policy).parsebytes(raw)

    def header(name: str) -> str | None:
        try:
            value = headers.get(name)
        except Exception:  # a malformed header must not lose the message
            return None
        return str(value).strip() or None if value is not None else None

    sender = None
    sent_at = None
    date_value = header("Date")
    if date_value:
        try:
            sent_at = email.utils.parsedate_to_datetime(date_value)
        except (TypeError, ValueError):
            sent_at = None
        if sent_at is not None and sent_at.tzinfo is None:
            sent_at = sent_at.replace(tzinfo=UTC)
    now = datetime.now(UTC)
    if sent_at is None or sent_at > now:
        sent_at = received_at or now
    from_value = header("From")
    if from_value:
        address = email.utils.parseaddr(from_value)[1]
        sender = address.lower() or None
    return Message(
        id=new_id(),
        source=source,
        source_ref=ref,
        kind="email",
        message_id=header("Message-ID"),
        content_hash=content_hash(raw),
        sender=sender,
        subject=header("Subject"),
        received_at=sent_at,
        raw=raw,
    )


def scan(folder: Path, source: str, recursive: bool = False) -> Iterator[Message]:
    """Yield a Message for every file in the folder."""
    for path in list_files(folder, recursive):
        ref = str(path.relative_to(folder)) if recursive else path.name
        yield message_from_file(path, source, ref)
