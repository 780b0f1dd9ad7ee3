"""E-mails: the body text of the newest message, and every attachment in order.

The body is taken from ``text/plain`` when the sender wrote one and from ``text/html``
otherwise, decoded with a charset fallback and trimmed to the newest message of a reply
chain. Attachments (inline ones included) are handed to the part reader one by one;
attached e-mails (``message/rfc822``) are read recursively, their parts' ``Origin.path``
nested under the attached message's name. Small inline images such as logos are skipped.
"""

from __future__ import annotations

import logging
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser

from intake.documents import sniff
from intake.documents.htmltext import html_to_text
from intake.documents.parts import Draft, PageText, Reading, Rows, clean_text
from intake.documents.problems import EMPTY_MESSAGE, NESTING_TOO_DEEP, problem
from intake.documents.reply import is_forward, newest_message
from intake.documents.text import decode
from intake.models import Origin

log = logging.getLogger(__name__)

PartReader = Callable[[bytes, Origin, str | None, int], Reading]
"""Reads one attachment: ``(data, origin, declared content type, depth) -> Reading``."""

MAX_DEPTH = 5
"""Attached messages nested deeper than this are not opened (a recursion bomb guard)."""
DECORATION_BYTES = 10 * 1024
"""Inline images smaller than this (logos, social icons) are not OCR'd."""

_BODY_TYPES = frozenset({"text/plain", "text/html"})
_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]+")


@dataclass
class _Parts:
    """Body parts and attachment parts of one message, in the order they appear."""

    bodies: list[EmailMessage] = field(default_factory=list)
    leaves: list[EmailMessage] = field(default_factory=list)


def parse_email(raw: bytes) -> EmailMessage:
    """Parse RFC 5322 bytes leniently with the modern ``email`` API."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def read_email(
    raw: bytes | EmailMessage, *, path: tuple[str, ...], depth: int, read_part: PartReader
) -> Reading:
    """Read an e-mail's body and attachments.

    Args:
        raw: the message bytes, or an already parsed (attached) message.
        path: the nesting path of this message, ``()`` for the top-level one.
        depth: how many attached messages deep this one is.
        read_part: reads one attachment (PDF, image, text, nested e-mail…).

    Returns:
        The body document (if any text), then the attachments' documents, and the problems;
        ``empty_message`` when the mail has neither text nor attachments.
    """
    message = raw if isinstance(raw, EmailMessage) else parse_email(raw)
    parts = _Parts()
    _collect(message, parts, want_body=True)
    forwarded = is_forward(_header(message, "subject"))
    reading = Reading()
    body = _body(parts.bodies, path, forwarded)
    if body is not None:
        reading.drafts.append(body)
    html_cids = _html_content_ids(parts.bodies)
    decorations = 0
    for number, leaf in enumerate(parts.leaves, start=1):
        if leaf.get_content_type() in _MESSAGE_TYPES:
            reading.extend(_read_attached_message(leaf, number, path, depth, read_part))
            continue
        data = _payload(leaf)
        if _is_decoration(leaf, data, html_cids):
            decorations += 1
            log.debug("skipped inline image %s (%d bytes)", _name(leaf, number), len(data))
            continue
        name = _name(leaf, number)
        origin = Origin(kind="attachment", filename=name, path=(*path, name))
        reading.extend(read_part(data, origin, leaf.get_content_type(), depth))
    if reading.empty:
        note = " (only small inline images such as logos)" if decorations else ""
        reading.problems.append(
            problem(
                EMPTY_MESSAGE,
                Origin(kind="body", path=path),
                f"the email has no text and no attachments{note}; nothing to extract",
            )
        )
    return reading


def _collect(part: EmailMessage, parts: _Parts, *, want_body: bool) -> None:
    """Sort the MIME tree into body candidates and attachments, in order of appearance.

    In ``multipart/alternative`` only the preferred alternative may give body text; the
    others still give their images and files, so a screenshot pasted into the HTML version
    is not lost when the plain-text version is used.
    """
    ctype = part.get_content_type()
    if ctype in _MESSAGE_TYPES:
        parts.leaves.append(part)
        return
    if part.is_multipart():
        children = [c for c in part.iter_parts() if isinstance(c, EmailMessage)]
        if ctype == "multipart/alternative":
            best = _best_alternative(children) if want_body else None
            for child in children:
                _collect(child, parts, want_body=child is best)
        elif ctype == "multipart/related":
            for index, child in enumerate(children):
                _collect(child, parts, want_body=want_body and index == 0)
        else:
            for child in children:
                _collect(child, parts, want_body=want_body)
        return
    if ctype.startswith("message/"):
        return  # delivery and read reports: their human-readable part is the body
    if ctype.startswith("text/") and not _is_attachment(part):
        if want_body and ctype in _BODY_TYPES:
            parts.bodies.append(part)
        return
    parts.leaves.append(part)


def _best_alternative(children: list[EmailMessage]) -> EmailMessage | None:
    """Plain text when it has text, else HTML (possibly inside multipart/related)."""

    def rank(child: EmailMessage) -> int:
        ctype = child.get_content_type()
        if ctype == "text/plain":
            return 3 if _body_text(child).strip() else 0
        if ctype == "text/html" or (child.is_multipart() and _contains_text(child)):
            return 2
        return 1 if child.is_multipart() else 0

    ranked = [(rank(c), i) for i, c in enumerate(children)]
    if not ranked:
        return None
    best_rank, best_index = max(ranked, key=lambda r: (r[0], -r[1]))
    return children[best_index] if best_rank > 0 else None


def _contains_text(part: EmailMessage) -> bool:
    return any(p.get_content_type() in _BODY_TYPES for p in part.walk())


def _is_attachment(part: EmailMessage) -> bool:
    return part.get_content_disposition() == "attachment" or _filename(part) is not None


def _body(bodies: list[EmailMessage], path: tuple[str, ...], forwarded: bool) -> Draft | None:
    """Join the body parts into one plain-text draft, newest message only."""
    texts: list[str] = []
    tables: list[Rows] = []
    media_type: str | None = None
    for part in bodies:
        raw = _body_text(part)
        if part.get_content_type() == "text/html":
            rendered = html_to_text(raw, drop_quotes=not forwarded)
            text, found = rendered.text, rendered.tables
        else:
            text, found = clean_text(raw), []
        text = newest_message(text, forwarded=forwarded)
        if text.strip():
            texts.append(text)
            tables.extend(found)
            media_type = media_type or part.get_content_type()
    if not texts or media_type is None:
        return None
    page = PageText(text="\n\n".join(texts), method="plain", tables=tuple(tables))
    return Draft(origin=Origin(kind="body", path=path), media_type=media_type, pages=(page,))


def _body_text(part: EmailMessage) -> str:
    """Decode a text part, undoing ``format=flowed`` soft line breaks."""
    try:
        charset = part.get_content_charset()
    except (ValueError, LookupError):
        charset = None
    text = decode(_payload(part), charset)
    if part.get_param("format", header="content-type") == "flowed":
        delsp = str(part.get_param("delsp", header="content-type") or "").lower() == "yes"
        text = _unflow(text, delsp=delsp)
    return text


def _unflow(text: str, *, delsp: bool) -> str:
    """Join RFC 3676 flowed lines (ending in a space) into the paragraphs they were."""
    out: list[str] = []
    carry = ""
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.endswith(" ") and line != "-- ":
            carry += line[:-1] if delsp else line
            continue
        out.append(carry + line)
        carry = ""
    if carry:
        out.append(carry)
    return "\n".join(out)


def _payload(part: EmailMessage) -> bytes:
    """The decoded bytes of a leaf part; broken transfer encodings give what is there."""
    try:
        data = part.get_payload(decode=True)
    except (ValueError, TypeError, LookupError):
        return b""
    return data if isinstance(data, bytes) else b""


def _html_content_ids(bodies: list[EmailMessage]) -> frozenset[str]:
    """Content-IDs that the HTML body refers to with ``cid:`` links."""
    found: set[str] = set()
    for part in bodies:
        if part.get_content_type() == "text/html":
            found.update(m.lower() for m in re.findall(r"cid:([^\"'\s>)]+)", _body_text(part)))
    return frozenset(found)


def _is_decoration(part: EmailMessage, data: bytes, html_cids: frozenset[str]) -> bool:
    """True for small inline images (logos, icons) that cannot hold an order."""
    if len(data) >= DECORATION_BYTES or sniff.sniff(data) not in sniff.IMAGE_TYPES:
        return False
    cid = _header(part, "content-id").strip().strip("<>").lower()
    if cid and (cid in html_cids or not html_cids):
        return True
    return part.get_content_disposition() == "inline"


def _read_attached_message(
    leaf: EmailMessage, number: int, path: tuple[str, ...], depth: int, read_part: PartReader
) -> Reading:
    """Read an attached e-mail, nesting its parts under its name."""
    inner = _inner_message(leaf)
    subject = _header(inner, "subject") if inner is not None else ""
    named = _safe_name(f"{subject}.eml") if subject.strip() else None
    name = _filename(leaf) or named or "attached message.eml"
    origin = Origin(kind="attachment", filename=name, path=(*path, name))
    if depth + 1 > MAX_DEPTH:
        return Reading(
            problems=[
                problem(
                    NESTING_TOO_DEEP,
                    origin,
                    f"e-mails are attached inside each other more than {MAX_DEPTH} levels "
                    "deep; the inner ones were not read. Ask the customer to forward the "
                    "order directly",
                )
            ]
        )
    if inner is None:
        return read_part(_payload(leaf), origin, "message/rfc822", depth)
    return read_email(inner, path=origin.path, depth=depth + 1, read_part=read_part)


def _inner_message(leaf: EmailMessage) -> EmailMessage | None:
    payload = leaf.get_payload()
    if isinstance(payload, list) and payload:
        first = payload[0]
        if isinstance(first, EmailMessage):
            return first
        if isinstance(first, Message):
            return parse_email(first.as_bytes())
    data = _payload(leaf)
    return parse_email(data) if data.strip() else None


def _header(part: Message, name: str) -> str:
    """A header as text; malformed headers give ``''`` instead of an exception."""
    try:
        value = part.get(name)
    except Exception:  # the header parser has known crashes on hostile input
        return ""
    return str(value) if value is not None else ""


def _filename(part: EmailMessage) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # malformed RFC 2231 parameters
        return None
    return _safe_name(name) if name else None


def _safe_name(name: str) -> str | None:
    """The last path component, without control characters: a name, never a path."""
    base = re.split(r"[/\\]", name.strip())[-1]
    cleaned = _UNSAFE_NAME.sub(" ", base).strip()
    return cleaned[:200] or None


def _name(part: EmailMessage, number: int) -> str:
    """The attachment's file name, or ``attachment-N.ext`` when it has none."""
    name = _filename(part)
    if name:
        return name
    ext = mimetypes.guess_extension(part.get_content_type()) or ""
    return f"attachment-{number}{ext}"
