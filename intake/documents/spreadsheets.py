"""Spreadsheets (CSV, XLSX, XLS) into the table model, one page per sheet.

Customers export orders from their ERP as Excel or CSV files. Each sheet becomes one page: its
text is the non-empty rows, one per line, cells joined with ``" | "`` (so people and the
offline extractor read it like a table), and its table is the same rows from the detected
header row down (so a title block above the columns does not become a line). The rendering
is :func:`render_row`, which the structured extractor uses too, so a cell's characters can be
found in the document text exactly.

Limits are enforced before and while reading: an XLSX is a zip archive, and its parts are
checked like any archive (ratio and total size) before openpyxl opens it (openpyxl itself
parses with defusedxml when it is installed); at most ``limits.max_spreadsheet_cells``
non-empty cells are read from one file, the rest is reported as a problem.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import xlrd
from xlrd.biffh import XLRDError

from intake.config import Limits
from intake.documents import sniff
from intake.documents.archives import zip_limit_problem
from intake.documents.columns import detect_header
from intake.documents.parts import Draft, PageText, Reading, Rows
from intake.documents.problems import (
    NO_TEXT,
    SPREADSHEET_CORRUPT,
    SPREADSHEET_ENCRYPTED,
    SPREADSHEET_TOO_LARGE,
    problem,
)
from intake.documents.text import decode
from intake.models import Origin, Problem

log = logging.getLogger(__name__)

SEPARATOR = " | "
"""Between the cells of a row in a spreadsheet document's text."""
EMPTY_CELL_FACTOR = 10
"""Empty cells are cheap but not free: at most this many times the cell limit are visited."""
CSV_DELIMITERS = ",;\t|"

Row = tuple[str | None, ...]
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b\ufeff]")


def render_row(cells: Sequence[str | None]) -> str:
    """A row as one line of document text: the cells joined by ``" | "``, empty ones blank."""
    return SEPARATOR.join(cell or "" for cell in cells)


def cell_spans(cells: Sequence[str | None]) -> list[tuple[int, int]]:
    """Start and end of each cell's text within ``render_row(cells)``."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for cell in cells:
        length = len(cell or "")
        spans.append((offset, offset + length))
        offset += length + len(SEPARATOR)
    return spans


def cell_text(value: Any) -> str | None:
    """A cell value as the text a person sees: ``12`` not ``12.0``, dates as ISO dates.

    Args:
        value: what the spreadsheet library returned for the cell (None when empty).
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, int):
        return str(value)
    text = " ".join(_CONTROL.sub(" ", str(value)).split())
    return text or None


def _float_text(value: float) -> str | None:
    if value != value or value in (float("inf"), float("-inf")):
        return None
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    short = f"{value:.15g}"
    if "e" in short:
        try:
            return format(Decimal(short), "f")
        except InvalidOperation:
            return short
    return short


def _trim(row: Sequence[str | None]) -> Row:
    cells = list(row)
    while cells and not cells[-1]:
        cells.pop()
    return tuple(cells)


@dataclass
class _Budget:
    """How many more cells may be read from the file; shared by its sheets."""

    cells: int
    visits: int
    exceeded: bool = False

    def take(self, row: Sequence[object]) -> bool:
        """Count a row; False once the file has used up its cells (the row is not taken)."""
        filled = sum(1 for cell in row if cell is not None and cell != "")
        self.visits -= max(1, len(row))
        if filled > self.cells or self.visits < 0:
            self.exceeded = True
            return False
        self.cells -= filled
        return True


def sheet_page(rows: Iterable[Sequence[str | None]]) -> PageText | None:
    """One sheet's page: non-empty rows as text lines, the table from its header row down.

    Leading columns that are empty in every row are dropped, so a table that starts in
    column C does not begin every line with separators.
    """
    kept = [row for row in (_trim(r) for r in rows) if any(row)]
    if not kept:
        return None
    first = min(next(i for i, cell in enumerate(row) if cell) for row in kept)
    kept = [row[first:] for row in kept]
    text = "\n".join(render_row(row) for row in kept)
    header = detect_header(kept)
    table: Rows = tuple(kept[header:] if header is not None else kept)
    return PageText(text=text, method="plain", tables=(table,))


def _draft(origin: Origin, media_type: str, pages: list[PageText]) -> Draft:
    return Draft(origin=origin, media_type=media_type, pages=tuple(pages))


def _too_large(origin: Origin, limits: Limits) -> Problem:
    return problem(
        SPREADSHEET_TOO_LARGE,
        origin,
        f"the spreadsheet has more than {limits.max_spreadsheet_cells} filled cells "
        "(limits.max_spreadsheet_cells); only the first ones were read. Raise the limit in "
        "intake.toml, or ask the customer for the order alone",
    )


def _finish(
    origin: Origin, media_type: str, pages: list[PageText], budget: _Budget, limits: Limits
) -> Reading:
    reading = Reading()
    if budget.exceeded:
        reading.problems.append(_too_large(origin, limits))
    if pages:
        reading.drafts.append(_draft(origin, media_type, pages))
    elif not budget.exceeded:
        reading.problems.append(problem(NO_TEXT, origin, "the spreadsheet has no filled cells"))
    return reading


def _budget(limits: Limits) -> _Budget:
    cells = limits.max_spreadsheet_cells
    return _Budget(cells=cells, visits=cells * EMPTY_CELL_FACTOR)


# --------------------------------------------------------------------------- CSV


def read_csv(data: bytes, origin: Origin, limits: Limits) -> Reading:
    """Read a CSV (or TSV) file, whatever its delimiter, quoting and encoding.

    The dialect is sniffed (``csv.Sniffer``) and checked: a delimiter that leaves most lines
    as one column loses to one that splits them consistently, so ``12;4,50`` (European CSV,
    decimal comma) is split at the semicolons.
    """
    text = decode(data).replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        return Reading(problems=[problem(NO_TEXT, origin, "the file is empty; nothing to read")])
    dialect = sniff_dialect(text)
    budget = _budget(limits)
    rows: list[Row] = []
    try:
        for raw in csv.reader(io.StringIO(text), dialect):
            row = tuple(cell_text(cell) for cell in raw)
            if not budget.take(row):
                break
            rows.append(row)
    except csv.Error as exc:
        log.info("%s: CSV parsing stopped: %s", origin.describe(), exc)
        if not rows:
            return Reading(
                problems=[
                    problem(
                        SPREADSHEET_CORRUPT,
                        origin,
                        f"the file is not readable CSV ({exc}); ask the customer to export it "
                        "again",
                    )
                ]
            )
    page = sheet_page(rows)
    return _finish(origin, sniff.CSV, [page] if page else [], budget, limits)


def sniff_dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    """The CSV dialect of ``text``: csv.Sniffer's guess, unless a delimiter splits better."""
    sample = text[:16384]
    lines = [line for line in sample.split("\n")[:40] if line.strip()]
    sniffed: type[csv.Dialect] | csv.Dialect | None
    try:
        sniffed = csv.Sniffer().sniff(sample, CSV_DELIMITERS)
    except csv.Error:
        sniffed = None
    best = max(CSV_DELIMITERS, key=lambda d: _split_score(lines, d))
    if sniffed is not None and _split_score(lines, sniffed.delimiter) >= _split_score(lines, best):
        best = sniffed.delimiter
    elif _split_score(lines, best) <= 0:
        return csv.excel
    quote = sniffed.quotechar if sniffed is not None and sniffed.quotechar else '"'

    class Chosen(csv.excel):
        """RFC 4180 quoting (doubled quotes), which the Sniffer often misjudges."""

        delimiter = best
        quotechar = quote
        doublequote = True
        skipinitialspace = bool(sniffed is not None and sniffed.skipinitialspace)

    return Chosen


def _split_score(lines: list[str], delimiter: str) -> float:
    """How well ``delimiter`` splits the lines: share of lines with the most common count > 1."""
    if not lines:
        return 0.0
    counts: dict[int, int] = {}
    try:
        for row in csv.reader(lines, delimiter=delimiter):
            counts[len(row)] = counts.get(len(row), 0) + 1
    except csv.Error:
        return 0.0
    columns, lines_with = max(counts.items(), key=lambda item: (item[1], item[0]))
    if columns < 2:
        return 0.0
    return lines_with / len(lines) + min(columns, 20) / 1000


# --------------------------------------------------------------------------- XLSX


def read_xlsx(data: bytes, origin: Origin, limits: Limits) -> Reading:
    """Read every worksheet of an XLSX/XLSM workbook (cached values of formulas)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            bomb = zip_limit_problem(archive.infolist(), origin, limits, count_members=False)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, RuntimeError) as exc:
        return Reading(problems=[_corrupt(origin, exc)])
    if bomb is not None:
        return Reading(problems=[bomb])
    import openpyxl  # imported here: it takes a noticeable part of intake's start-up time

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged files
        return Reading(problems=[_corrupt(origin, exc)])
    budget = _budget(limits)
    pages: list[PageText] = []
    try:
        for sheet in workbook.worksheets:
            if budget.exceeded:
                break
            rows = _limited(
                (tuple(cell_text(v) for v in row) for row in sheet.iter_rows(values_only=True)),
                budget,
            )
            page = sheet_page(rows)
            if page is not None:
                pages.append(page)
    except Exception as exc:  # a damaged sheet part surfaces only while iterating
        log.info("%s: reading a sheet failed: %s", origin.describe(), exc)
        if not pages:
            return Reading(problems=[_corrupt(origin, exc)])
    finally:
        workbook.close()
    return _finish(origin, sniff.XLSX, pages, budget, limits)


def _limited(rows: Iterable[Row], budget: _Budget) -> Iterator[Row]:
    for row in rows:
        if not budget.take(row):
            return
        yield row


def _corrupt(origin: Origin, exc: BaseException) -> Problem:
    log.info("%s: not a readable spreadsheet: %s: %s", origin.describe(), type(exc).__name__, exc)
    return problem(
        SPREADSHEET_CORRUPT,
        origin,
        "the file is not a readable spreadsheet (damaged, truncated or not what its name "
        "says); ask the customer to send it again, or as a PDF",
    )


# --------------------------------------------------------------------------- XLS


def read_xls(data: bytes, origin: Origin, limits: Limits) -> Reading:
    """Read every sheet of an Excel 97-2003 (.xls) workbook."""
    try:
        book = xlrd.open_workbook(
            file_contents=data, on_demand=True, formatting_info=False, logfile=_NullLog()
        )
    except XLRDError as exc:
        if "encrypt" in str(exc).lower():
            return Reading(
                problems=[
                    problem(
                        SPREADSHEET_ENCRYPTED,
                        origin,
                        "the workbook is password-protected and cannot be read; ask the "
                        "customer to send it without a password (or as a PDF)",
                    )
                ]
            )
        return Reading(problems=[_corrupt(origin, exc)])
    except Exception as exc:  # xlrd raises struct, index and assertion errors on bad files
        return Reading(problems=[_corrupt(origin, exc)])
    budget = _budget(limits)
    pages: list[PageText] = []
    try:
        for index in range(book.nsheets):
            if budget.exceeded:
                break
            sheet = book.sheet_by_index(index)
            page = sheet_page(_limited(_xls_rows(sheet, book.datemode), budget))
            if page is not None:
                pages.append(page)
            book.unload_sheet(index)
    except Exception as exc:  # a damaged sheet record
        log.info("%s: reading a sheet failed: %s", origin.describe(), exc)
        if not pages:
            return Reading(problems=[_corrupt(origin, exc)])
    finally:
        book.release_resources()
    return _finish(origin, sniff.XLS, pages, budget, limits)


def _xls_rows(sheet: Any, datemode: Literal[0, 1]) -> Iterator[Row]:
    for r in range(sheet.nrows):
        cells: list[str | None] = []
        for c in range(sheet.row_len(r)):
            kind, value = sheet.cell_type(r, c), sheet.cell_value(r, c)
            if kind == xlrd.XL_CELL_DATE:
                try:
                    cells.append(cell_text(xlrd.xldate.xldate_as_datetime(value, datemode)))
                except (ValueError, OverflowError, xlrd.xldate.XLDateError):
                    cells.append(cell_text(value))
            elif kind == xlrd.XL_CELL_BOOLEAN:
                cells.append(cell_text(bool(value)))
            elif kind in (xlrd.XL_CELL_ERROR, xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                cells.append(None)
            else:
                cells.append(cell_text(value))
        yield tuple(cells)


class _NullLog:
    """xlrd writes warnings to a file-like log; they go to ours at debug level instead."""

    def write(self, text: str) -> int:
        if text.strip():
            log.debug("xlrd: %s", text.strip())
        return len(text)
