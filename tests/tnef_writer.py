"""Write real winmail.dat (TNEF) files for the tests, as MS-OXTNEF describes them.

No winmail.dat from elsewhere is copied into the project; the tests build their own with this
writer and check each one with an independent reader (Debian's ``tnef`` program) before
intake reads it, so a mistake here cannot make intake's reader look right.
"""

from __future__ import annotations

import struct

from compressed_rtf import compress

SIGNATURE = 0x223E9F78
LEVEL_MESSAGE = 1
LEVEL_ATTACHMENT = 2

ATT_TNEF_VERSION = 0x00089006
ATT_OEM_CODEPAGE = 0x00069007
ATT_MESSAGE_CLASS = 0x00078008
ATT_SUBJECT = 0x00018004
ATT_BODY = 0x0002800C
ATT_MAPI_PROPS = 0x00069003
ATT_ATTACH_REND_DATA = 0x00069002
ATT_ATTACH_TITLE = 0x00018010
ATT_ATTACH_DATA = 0x0006800F
ATT_ATTACHMENT = 0x00069005

PT_LONG = 0x0003
PT_STRING8 = 0x001E
PT_UNICODE = 0x001F
PT_BINARY = 0x0102
PT_OBJECT = 0x000D

PR_BODY = 0x1000
PR_RTF_COMPRESSED = 0x1009
PR_BODY_HTML = 0x1013
PR_INTERNET_CPID = 0x3FDE
PR_ATTACH_DATA_OBJ = 0x3701
PR_ATTACH_METHOD = 0x3705
PR_ATTACH_LONG_FILENAME = 0x3707
IID_IMESSAGE = bytes.fromhex("0703020000000000c000000000000046")


def attribute(level: int, attr: int, data: bytes) -> bytes:
    """One TNEF attribute: level, id, length, data and the 16-bit byte-sum checksum."""
    return (
        struct.pack("<BII", level, attr, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)
    )


def properties(props: list[tuple[int, int, bytes]]) -> bytes:
    """A MAPI property list of (type, id, value) with single values."""
    out = struct.pack("<I", len(props))
    for kind, prop_id, value in props:
        out += struct.pack("<HH", kind, prop_id)
        if kind in (PT_STRING8, PT_UNICODE, PT_BINARY, PT_OBJECT):
            out += struct.pack("<II", 1, len(value)) + value + b"\0" * (-len(value) % 4)
        else:
            out += value + b"\0" * (-len(value) % 4)
    return out


def winmail(
    *,
    body: str | None = None,
    html: str | None = None,
    rtf: str | None = None,
    attachments: list[tuple[str, bytes]] = (),  # type: ignore[assignment]
    embedded_messages: list[tuple[str, bytes]] = (),  # type: ignore[assignment]
    codepage: int = 1252,
) -> bytes:
    """A winmail.dat holding a body (plain, HTML or compressed RTF) and attachments.

    ``embedded_messages`` are (name, TNEF stream) pairs attached as Outlook items.
    """
    out = struct.pack("<IH", SIGNATURE, 0x4F2A)
    out += attribute(LEVEL_MESSAGE, ATT_TNEF_VERSION, struct.pack("<I", 0x00010000))
    out += attribute(LEVEL_MESSAGE, ATT_OEM_CODEPAGE, struct.pack("<II", codepage, 0))
    out += attribute(LEVEL_MESSAGE, ATT_MESSAGE_CLASS, b"IPM.Microsoft Mail.Note\0")
    out += attribute(LEVEL_MESSAGE, ATT_SUBJECT, b"Order\0")
    props: list[tuple[int, int, bytes]] = []
    if body is not None:
        props.append((PT_STRING8, PR_BODY, body.encode(f"cp{codepage}") + b"\0"))
    if html is not None:
        props.append((PT_BINARY, PR_BODY_HTML, html.encode("utf-8")))
        props.append((PT_LONG, PR_INTERNET_CPID, struct.pack("<I", 65001)))
    if rtf is not None:
        props.append((PT_BINARY, PR_RTF_COMPRESSED, compress(rtf.encode("ascii"))))
    out += attribute(LEVEL_MESSAGE, ATT_MAPI_PROPS, properties(props))
    for name, data in attachments:
        out += _attachment(name, data)
    for name, stream in embedded_messages:
        out += attribute(LEVEL_ATTACHMENT, ATT_ATTACH_REND_DATA, _rend_data())
        out += attribute(LEVEL_ATTACHMENT, ATT_ATTACH_TITLE, name.encode("ascii") + b"\0")
        out += attribute(
            LEVEL_ATTACHMENT,
            ATT_ATTACHMENT,
            properties(
                [
                    (PT_LONG, PR_ATTACH_METHOD, struct.pack("<I", 5)),
                    (PT_OBJECT, PR_ATTACH_DATA_OBJ, IID_IMESSAGE + stream),
                ]
            ),
        )
    return out


def _rend_data() -> bytes:
    # attach type (file), position, width, height, flags: 14 bytes
    return struct.pack("<HiHHI", 1, -1, 0, 0, 0)


def _attachment(name: str, data: bytes) -> bytes:
    short = (name[:8].upper() + ".DAT").encode("ascii", "replace")
    out = attribute(LEVEL_ATTACHMENT, ATT_ATTACH_REND_DATA, _rend_data())
    out += attribute(LEVEL_ATTACHMENT, ATT_ATTACH_TITLE, short + b"\0")
    out += attribute(LEVEL_ATTACHMENT, ATT_ATTACH_DATA, data)
    out += attribute(
        LEVEL_ATTACHMENT,
        ATT_ATTACHMENT,
        properties(
            [
                (PT_LONG, PR_ATTACH_METHOD, struct.pack("<I", 1)),
                (PT_UNICODE, PR_ATTACH_LONG_FILENAME, name.encode("utf-16-le") + b"\0\0"),
            ]
        ),
    )
    return out
