"""Outlook's winmail.dat (application/ms-tnef): the body text and every attachment in it.

Outlook wraps a message sent in its rich-text format into one TNEF attachment, so the order
PDF the customer attached arrives inside ``winmail.dat``. This reader decodes the TNEF stream
(MS-OXTNEF: a list of attributes, some holding MAPI property lists), takes the body (plain
text, else HTML, else compressed RTF) and hands each attachment to the dispatcher as a part
of its own, named ``winmail.dat/order.pdf``; an attached Outlook message is a TNEF stream
again and is read the same way, one container level deeper.

It is written here rather than taken from tnefparse: that package's last release is from
January 2021, and its MAPI decoder trusts the counts in the file (``for i in
range(num_properties)`` goes on past the end of the data), so a 100-byte hostile winmail.dat
keeps a worker busy for billions of iterations. Every count and length here is checked
against the bytes that are actually there before it is used.
"""

from __future__ import annotations

import logging
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from compressed_rtf import decompress as decompress_rtf
from striprtf.striprtf import rtf_to_text as _rtf_to_text

from intake.documents.archives import MemberReader
from intake.documents.htmltext import html_to_text
from intake.documents.parts import Draft, PageText, Reading, clean_text
from intake.documents.problems import NO_TEXT, TNEF_CORRUPT, problem
from intake.documents.text import decode
from intake.models import Origin

log = logging.getLogger(__name__)

SIGNATURE = 0x223E9F78
LEVEL_MESSAGE = 1
LEVEL_ATTACHMENT = 2

# TNEF attribute ids (low word of the 32-bit attribute id)
ATT_BODY = 0x800C
ATT_ATTACH_DATA = 0x800F
ATT_ATTACH_TITLE = 0x8010
ATT_ATTACH_REND_DATA = 0x9002
ATT_MAPI_PROPS = 0x9003
ATT_ATTACHMENT = 0x9005
ATT_OEM_CODEPAGE = 0x9007

# MAPI property ids
PR_BODY = 0x1000
PR_RTF_COMPRESSED = 0x1009
PR_BODY_HTML = 0x1013
PR_DISPLAY_NAME = 0x3001
PR_ATTACH_DATA_OBJ = 0x3701
PR_ATTACH_FILENAME = 0x3704
PR_ATTACH_LONG_FILENAME = 0x3707
PR_INTERNET_CPID = 0x3FDE

# MAPI property types
PT_SHORT, PT_LONG, PT_FLOAT, PT_DOUBLE, PT_CURRENCY, PT_APPTIME = 2, 3, 4, 5, 6, 7
PT_ERROR, PT_BOOLEAN, PT_OBJECT, PT_I8 = 0x0A, 0x0B, 0x0D, 0x14
PT_STRING8, PT_UNICODE, PT_SYSTIME, PT_CLSID, PT_BINARY = 0x1E, 0x1F, 0x40, 0x48, 0x102
MV_FLAG = 0x1000
_FIXED_SIZES = {
    0: 0,
    1: 0,
    PT_SHORT: 2,
    PT_BOOLEAN: 2,
    PT_LONG: 4,
    PT_FLOAT: 4,
    PT_ERROR: 4,
    PT_DOUBLE: 8,
    PT_CURRENCY: 8,
    PT_APPTIME: 8,
    PT_I8: 8,
    PT_SYSTIME: 8,
    PT_CLSID: 16,
}
_VARIABLE = frozenset({PT_STRING8, PT_UNICODE, PT_BINARY, PT_OBJECT})
IID_IMESSAGE = bytes.fromhex("0703020000000000c000000000000046")
"""The interface id that prefixes an attached Outlook message (PT_OBJECT data)."""

MAX_RTF_BYTES = 4 * 1024 * 1024
"""A compressed RTF body larger than this is not decompressed (pure-Python, up to 9× growth)."""

rtf_to_text: Callable[..., str] = _rtf_to_text
"""striprtf's converter (the package has no type hints)."""

_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]+")


class TnefError(ValueError):
    """The stream is not valid TNEF; the message says where it went wrong."""


class _Cursor:
    """Reads little-endian values from a byte range, refusing to read past its end."""

    def __init__(self, data: bytes, start: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = start
        self.end = len(data) if end is None else end

    @property
    def left(self) -> int:
        return self.end - self.pos

    def take(self, n: int) -> bytes:
        if n < 0 or n > self.left:
            raise TnefError(f"{n} bytes needed at offset {self.pos}, {self.left} left")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        value: int = struct.unpack("<H", self.take(2))[0]
        return value

    def u32(self) -> int:
        value: int = struct.unpack("<I", self.take(4))[0]
        return value

    def align(self) -> None:
        self.take(-self.pos % 4 if self.left >= -self.pos % 4 else self.left)


@dataclass
class Property:
    """One MAPI property: its id, type and raw values (bytes as stored)."""

    id: int
    type: int
    values: list[bytes]


@dataclass
class Attachment:
    """An attachment as TNEF describes it."""

    title: bytes = b""
    data: bytes | None = None
    properties: dict[int, Property] = field(default_factory=dict)


@dataclass
class TnefMessage:
    """What intake needs from a TNEF stream: the body variants, the codepage, attachments."""

    codepage: str = "cp1252"
    body: bytes | None = None
    properties: dict[int, Property] = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)


def parse_tnef(data: bytes) -> TnefMessage:
    """Decode a TNEF stream.

    Raises:
        TnefError: the bytes are not TNEF, or a length or count points past the data.
    """
    cursor = _Cursor(data)
    if cursor.u32() != SIGNATURE:
        raise TnefError("no TNEF signature")
    cursor.u16()  # legacy key
    message = TnefMessage()
    current: Attachment | None = None
    while cursor.left > 0:
        if cursor.left < 11:
            log.debug("TNEF: %d trailing bytes ignored", cursor.left)
            break
        level = cursor.u8()
        attribute = cursor.u32() & 0xFFFF
        length = cursor.u32()
        value = cursor.take(length)
        cursor.take(min(2, cursor.left))  # checksum, not verified: senders get it wrong
        if attribute == ATT_OEM_CODEPAGE and len(value) >= 4:
            message.codepage = _codec(struct.unpack("<I", value[:4])[0]) or message.codepage
        elif level == LEVEL_MESSAGE and attribute == ATT_BODY:
            message.body = value
        elif level == LEVEL_MESSAGE and attribute == ATT_MAPI_PROPS:
            message.properties.update(parse_properties(value))
        elif level == LEVEL_ATTACHMENT and attribute == ATT_ATTACH_REND_DATA:
            current = Attachment()
            message.attachments.append(current)
        elif level == LEVEL_ATTACHMENT and current is not None:
            if attribute == ATT_ATTACH_TITLE:
                current.title = value
            elif attribute == ATT_ATTACH_DATA:
                current.data = value
            elif attribute == ATT_ATTACHMENT:
                current.properties.update(parse_properties(value))
    return message


def parse_properties(data: bytes) -> dict[int, Property]:
    """Decode a MAPI property list (the value of attMAPIProps or attAttachment).

    Raises:
        TnefError: a count or length in the list points past its end.
    """
    cursor = _Cursor(data)
    count = cursor.u32()
    if count > cursor.left // 4:
        raise TnefError(f"{count} MAPI properties claimed in {cursor.left} bytes")
    found: dict[int, Property] = {}
    for _ in range(count):
        kind = cursor.u16()
        prop_id = cursor.u16()
        if prop_id >= 0x8000:  # a named property: GUID, then a number or a name
            cursor.take(16)
            if cursor.u32() == 0:
                cursor.u32()
            else:
                cursor.take(cursor.u32())
                cursor.align()
        multi = bool(kind & MV_FLAG)
        base = kind & ~MV_FLAG
        values = _values(cursor, base, multi)
        found.setdefault(prop_id, Property(prop_id, base, values))
    return found


def _values(cursor: _Cursor, kind: int, multi: bool) -> list[bytes]:
    if kind in _VARIABLE:
        count = cursor.u32()  # the value count, 1 for a single value
        if count > cursor.left // 4:
            raise TnefError(f"{count} values claimed in {cursor.left} bytes")
        values = []
        for _ in range(count):
            values.append(cursor.take(cursor.u32()))
            cursor.align()
        return values
    if kind not in _FIXED_SIZES:
        raise TnefError(f"unknown MAPI property type {kind:#x}")
    size = _FIXED_SIZES[kind]
    count = cursor.u32() if multi else 1
    if size and count > cursor.left // size:
        raise TnefError(f"{count} values claimed in {cursor.left} bytes")
    values = [cursor.take(size) for _ in range(count)]
    cursor.align()
    return values


def _codec(codepage: int) -> str | None:
    name = {65001: "utf-8", 1200: "utf-16-le", 20127: "ascii", 28591: "latin-1"}.get(
        codepage, f"cp{codepage}"
    )
    try:
        "".encode(name)
    except LookupError:
        return None
    return name


def _string(prop: Property | None, codepage: str) -> str | None:
    if prop is None or not prop.values:
        return None
    raw = prop.values[0]
    if prop.type == PT_UNICODE:
        return raw.decode("utf-16-le", errors="replace").split("\x00", 1)[0]
    return decode(raw.split(b"\x00", 1)[0], codepage)


def body_text(message: TnefMessage) -> tuple[str, str] | None:
    """The message body as (media type, text): plain text, else HTML, else RTF."""
    plain = _string(message.properties.get(PR_BODY), message.codepage)
    if plain is None and message.body is not None:
        plain = decode(message.body.split(b"\x00", 1)[0], message.codepage)
    if plain and plain.strip():
        return "text/plain", clean_text(plain)
    html = message.properties.get(PR_BODY_HTML)
    if html is not None and html.values:
        cpid = message.properties.get(PR_INTERNET_CPID)
        codec = message.codepage
        if cpid is not None and cpid.values and len(cpid.values[0]) >= 4:
            codec = _codec(struct.unpack("<I", cpid.values[0][:4])[0]) or codec
        raw = html.values[0]
        text = (
            raw.decode("utf-16-le", errors="replace")
            if html.type == PT_UNICODE
            else decode(raw, codec)
        )
        rendered = html_to_text(text).text
        if rendered.strip():
            return "text/html", rendered
    rtf = message.properties.get(PR_RTF_COMPRESSED)
    if rtf is not None and rtf.values:
        from_rtf = rtf_text(rtf.values[0])
        if from_rtf and from_rtf.strip():
            return "text/rtf", from_rtf
    return None


def rtf_text(compressed: bytes) -> str | None:
    """Text of a compressed RTF body (MS-OXRTFCP); None when it cannot be decompressed."""
    if len(compressed) > MAX_RTF_BYTES:
        log.info("TNEF: RTF body of %d bytes not decompressed (limit)", len(compressed))
        return None
    try:
        rtf = decompress_rtf(compressed)
    except Exception as exc:  # compressed_rtf raises plain Exceptions for bad headers
        log.info("TNEF: RTF body not decompressed: %s", exc)
        return None
    return clean_text(rtf_to_text(rtf.decode("latin-1"), errors="ignore"))


def attachment_name(attachment: Attachment, codepage: str, number: int) -> str:
    """The attachment's long file name, else its short one, else ``attachment-N``."""
    for prop_id in (PR_ATTACH_LONG_FILENAME, PR_ATTACH_FILENAME, PR_DISPLAY_NAME):
        name = _string(attachment.properties.get(prop_id), codepage)
        if name and name.strip():
            break
    else:
        name = decode(attachment.title.split(b"\x00", 1)[0], codepage)
    base = re.split(r"[/\\]", name.strip())[-1] if name else ""
    cleaned = _UNSAFE_NAME.sub(" ", base).strip()[:200]
    return cleaned or f"attachment-{number}"


def attachment_data(attachment: Attachment) -> bytes:
    """The attachment's bytes; an attached Outlook message is its TNEF stream."""
    if attachment.data:
        return attachment.data
    prop = attachment.properties.get(PR_ATTACH_DATA_OBJ)
    if prop is None or not prop.values:
        return b""
    raw = prop.values[0]
    if prop.type == PT_OBJECT and raw[:16] == IID_IMESSAGE:
        return raw[16:]
    return raw


def read_tnef(data: bytes, origin: Origin, *, read_member: MemberReader) -> Reading:
    """Read a winmail.dat: its body as a document, its attachments as parts of their own.

    Args:
        data: the TNEF bytes.
        origin: the winmail.dat attachment; inner parts are named under it.
        read_member: reads one attachment (the dispatcher, one container level deeper).
    """
    try:
        message = parse_tnef(data)
    except TnefError as exc:
        log.info("%s: not valid TNEF: %s", origin.describe(), exc)
        return Reading(
            problems=[
                problem(
                    TNEF_CORRUPT,
                    origin,
                    f"the Outlook winmail.dat is damaged ({exc}); ask the customer to send the "
                    "order again as a PDF attachment, or to switch Outlook to HTML mail",
                )
            ]
        )
    reading = Reading()
    body = body_text(message)
    if body is not None:
        media_type, text = body
        page = PageText(text=text, method="plain")
        reading.drafts.append(Draft(origin=origin, media_type=media_type, pages=(page,)))
    for number, attachment in enumerate(message.attachments, start=1):
        name = attachment_name(attachment, message.codepage, number)
        inner = Origin(kind="attachment", filename=name, path=(*origin.path, name))
        reading.extend(read_member(attachment_data(attachment), inner))
    if reading.empty:
        reading.problems.append(
            problem(NO_TEXT, origin, "the Outlook winmail.dat holds no text and no attachments")
        )
    return reading
