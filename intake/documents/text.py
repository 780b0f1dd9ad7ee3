"""Plain text and CSV parts, and the charset decoding every text part goes through.

Mail clients often declare the wrong charset (``us-ascii`` for UTF-8, ``utf-8`` for
Windows-1252) or a name Python does not know. Decoding never fails: a wrong or unknown
declaration falls back to UTF-8, then Windows-1252, then Latin-1, which accepts any byte.
"""

from __future__ import annotations

import codecs
import csv

from intake.documents import sniff
from intake.documents.parts import Draft, PageText, Reading, Rows, clean_text
from intake.documents.problems import NO_TEXT, problem
from intake.models import Origin

_ASCII_FAMILY = frozenset({"ascii", "latin-1", "iso8859-1", "cp1252", "iso8859-15"})
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
MAX_CSV_ROWS = 5000


def decode(data: bytes, declared: str | None = None) -> str:
    """Decode text bytes with the declared charset when it fits, else the best fallback.

    Args:
        data: the raw bytes.
        declared: the charset the sender claimed, if any (may be bogus).

    Returns:
        The text; undecodable bytes never raise.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    candidates: list[str] = []
    codec_name = _codec(declared)
    if codec_name is not None:
        if codec_name in _ASCII_FAMILY:
            # Valid UTF-8 with non-ASCII bytes is almost never a single-byte charset.
            candidates.append("utf-8")
        candidates.append(codec_name)
    candidates += ["utf-8", "cp1252"]
    for name in candidates:
        try:
            return data.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("latin-1")


def _codec(declared: str | None) -> str | None:
    if not declared:
        return None
    try:
        return codecs.lookup(declared.strip().strip("\"'")).name
    except (LookupError, ValueError):
        return None


def read_text(data: bytes, origin: Origin, media_type: str) -> Reading:
    """Read a plain-text or CSV part into a one-page document.

    CSV files also get a table, so order lines keep their columns without guessing.
    """
    text = clean_text(decode(data))
    if not text.strip():
        return Reading(problems=[problem(NO_TEXT, origin, "the file is empty; nothing to read")])
    tables = (_csv_rows(text),) if media_type == sniff.CSV else ()
    page = PageText(text=text, method="plain", tables=tuple(t for t in tables if t))
    return Reading(drafts=[Draft(origin=origin, media_type=media_type, pages=(page,))])


def _csv_rows(text: str) -> Rows:
    """Parse CSV text with a sniffed delimiter; an unparseable file just has no table."""
    sample = text[:8192]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, ",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows: list[tuple[str | None, ...]] = []
    try:
        for row in csv.reader(text.splitlines(), dialect):
            cells = tuple((cell.strip() or None) for cell in row)
            if any(cells):
                rows.append(cells)
            if len(rows) >= MAX_CSV_ROWS:
                break
    except csv.Error:
        return ()
    return tuple(rows)
