"""Tell what a part is from its bytes, because file names and declared types lie.

A PNG renamed to ``order.pdf`` or a PDF sent as ``application/octet-stream`` is common; the
readers are chosen by magic bytes first, and the name or declared type only refines the
answer among formats that share a container (ZIP, OLE) or are both text (CSV, plain).
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import PurePath

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
TIFF = "image/tiff"
BMP = "image/bmp"
WEBP = "image/webp"
PLAIN = "text/plain"
CSV = "text/csv"
HTML = "text/html"
XML = "application/xml"
EMAIL = "message/rfc822"
TNEF = "application/ms-tnef"
ZIP = "application/zip"
OLE = "application/x-ole-storage"
OCTET = "application/octet-stream"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSM = "application/vnd.ms-excel.sheet.macroEnabled.12"
XLS = "application/vnd.ms-excel"
ENCRYPTED_OFFICE = "application/x-encrypted-office"

IMAGE_TYPES = frozenset({PNG, JPEG, GIF, TIFF, BMP, WEBP})
TEXT_TYPES = frozenset({PLAIN, CSV})
SPREADSHEET_TYPES = frozenset({CSV, XLSX, XLSM, XLS})

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
    (b"II*\x00", TIFF),
    (b"MM\x00*", TIFF),
    (b"PK\x03\x04", ZIP),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", OLE),
    (b"\x78\x9f\x3e\x22", TNEF),
    (b"\x1f\x8b", "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
)

_BY_EXTENSION = {
    ".xlsx": XLSX,
    ".xlsm": XLSM,
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".xls": XLS,
    ".doc": "application/msword",
    ".msg": "application/vnd.ms-outlook",
}

_HEADER_LINE = re.compile(rb"^[!-9;-~]{1,76}:[ \t]", re.MULTILINE)
_HEADER_NAME = re.compile(rb"^([!-9;-~]{1,76}):", re.MULTILINE)
_EMAIL_HEADERS = frozenset(
    {
        b"from",
        b"to",
        b"cc",
        b"subject",
        b"date",
        b"message-id",
        b"mime-version",
        b"received",
        b"return-path",
        b"content-type",
        b"reply-to",
        b"delivered-to",
        b"sender",
    }
)
_STRONG_HEADERS = frozenset(
    {b"from", b"subject", b"date", b"message-id", b"mime-version", b"received"}
)
_LEADING_COMMENTS = re.compile(rb"^\s*(<!--.*?-->\s*)*", re.S)
_HTML_START = re.compile(rb"<(!doctype\s+html|html|head|body)\b", re.I)
_XML_ROOT = re.compile(rb"<[A-Za-z_][\w.-]*(:[A-Za-z_][\w.-]*)?[\s>/]")


def extension(filename: str | None) -> str:
    """Lower-case extension of a file name, with the dot (``''`` when there is none)."""
    return PurePath(filename).suffix.lower() if filename else ""


def sniff(data: bytes, filename: str | None = None, declared: str | None = None) -> str:
    """Return the media type of ``data``, judged by content first.

    Args:
        data: the part's decoded bytes.
        filename: the name it came with, used only to tell apart look-alike formats.
        declared: the Content-Type it came with, used the same way.
    """
    head = data[:4096]
    if head.startswith(b"%PDF-"):
        return PDF
    for magic, media in _MAGIC:
        if head.startswith(magic):
            if media == ZIP:
                return _zip_kind(data) or _BY_EXTENSION.get(extension(filename), media)
            if media == OLE:
                return _ole_kind(data) or _BY_EXTENSION.get(extension(filename), media)
            return media
    if b"%PDF-" in data[:1024]:  # junk before the header, as some scanners write
        return PDF
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return WEBP
    if _is_bmp(data):
        return BMP
    if not _looks_textual(head):
        return declared if declared and not declared.startswith("text/") else OCTET
    return _text_kind(head, filename, declared)


def _zip_kind(data: bytes) -> str | None:
    """An Excel workbook by the parts it contains, whatever it is called; None otherwise.

    Only the archive's directory is read, not its members.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist()[:10_000])
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, RuntimeError):
        return None
    if "xl/workbook.xml" in names:
        return XLSM if "xl/vbaProject.bin" in names else XLSX
    return None


_OLE_WORKBOOK = ("Workbook".encode("utf-16-le"), "Book".encode("utf-16-le") + b"\x00\x00")
_OLE_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")


def _ole_kind(data: bytes) -> str | None:
    """An old Excel workbook, or a password-protected Office file, by its stream names."""
    if _OLE_ENCRYPTED in data:
        return ENCRYPTED_OFFICE
    if any(name in data for name in _OLE_WORKBOOK):
        return XLS
    return None


def _is_bmp(data: bytes) -> bool:
    return (
        len(data) > 26
        and data.startswith(b"BM")
        and int.from_bytes(data[2:6], "little") == len(data)
        and data[6:10] == b"\x00\x00\x00\x00"
    )


def _looks_textual(head: bytes) -> bool:
    """True for bytes that decode as text: no NULs (unless UTF-16) and few control bytes."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    if b"\x00" in head:
        return False
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls <= len(head) // 100


def _text_kind(head: bytes, filename: str | None, declared: str | None) -> str:
    stripped = head.removeprefix(b"\xef\xbb\xbf")
    comments = _LEADING_COMMENTS.match(stripped)
    markup = stripped[comments.end() :] if comments else stripped
    lower = markup[:1024].lower()
    if _HTML_START.match(markup):
        return HTML
    if lower.startswith(b"<?xml"):
        return HTML if b"<html" in lower else XML
    if _XML_ROOT.match(markup) and b"xmlns" in lower:
        return XML
    if _looks_like_email(stripped.lstrip()):
        return EMAIL
    ext = extension(filename)
    if ext in (".htm", ".html") or declared == HTML:
        return HTML if b"<" in head else PLAIN
    if ext in (".csv", ".tsv") or declared in (CSV, "text/tab-separated-values"):
        return CSV
    return PLAIN


def _looks_like_email(head: bytes) -> bool:
    """True when the bytes start with an RFC 5322 header block of well-known fields."""
    if head.startswith(b"From ") and b"\n" in head:
        head = head.split(b"\n", 1)[1]
    if not _HEADER_LINE.match(head):
        return False
    block = re.split(rb"\r?\n\r?\n", head, maxsplit=1)[0]
    names = {m.group(1).lower() for m in _HEADER_NAME.finditer(block)}
    known = names & _EMAIL_HEADERS
    return len(known) >= 2 and bool(known & _STRONG_HEADERS)


def type_description(media_type: str, filename: str | None) -> str:
    """Words a person recognises for a media type, used in 'unsupported' problems."""
    names = {
        ZIP: "ZIP archive",
        OLE: "old Microsoft Office file",
        TNEF: "Outlook winmail.dat (TNEF)",
        XML: "structured XML document (UBL, Order-X, openTRANS, …)",
        XLSX: "Excel workbook",
        XLSM: "Excel workbook",
        XLS: "Excel 97-2003 workbook",
        ENCRYPTED_OFFICE: "password-protected Office file",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (
            "Word document"
        ),
        "application/msword": "Word 97-2003 document",
        "application/vnd.oasis.opendocument.spreadsheet": "OpenDocument spreadsheet",
        "application/vnd.oasis.opendocument.text": "OpenDocument text",
        "application/vnd.ms-outlook": "Outlook .msg message",
        "application/gzip": "gzip archive",
        "application/x-7z-compressed": "7-Zip archive",
        "application/vnd.rar": "RAR archive",
    }
    if media_type in names:
        return f"{names[media_type]} ({media_type})"
    ext = extension(filename)
    return f"file of type {media_type}" + (f" ({ext})" if ext else "")
