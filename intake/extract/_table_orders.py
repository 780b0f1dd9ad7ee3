"""Order lines from a spreadsheet whose columns are recognised (code, description, qty, …).

A customer's Excel or CSV order is structured data once its header row names the columns:
each row below it with a positive quantity is an order line, read cell by cell with full
confidence. The header vocabulary (English, German, French, Spanish, Dutch) lives in
``intake.documents.columns``. Each cell's evidence is its exact span in the document text,
which the spreadsheet reader rendered row by row with ``render_row``; a row that cannot be
found there again makes the whole table fall back to the other extractors rather than give
a value without its source.

Rows that are not lines are skipped: blank quantities or zero (an order form listing the
whole range, filled in where wanted), rows without a code or a description, and total rows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from intake.documents import sniff
from intake.documents.columns import (
    CODE,
    DESCRIPTION,
    LINE_TOTAL,
    QUANTITY,
    UNIT_PRICE,
    UOM,
    header_fields,
    is_header,
    normalize,
)
from intake.documents.spreadsheets import cell_spans, render_row
from intake.extract._text import uses_decimal_comma
from intake.extract._values import number_at, text_at, to_decimal
from intake.models import Document, ExtractedLine, Table

_TOTAL_ROW = re.compile(
    r"^(?:sub ?total|total|totals|sum|grand total|gesamt|gesamtsumme|summe|zwischensumme|"
    r"total general|total ht|total ttc|montant total|importe total|totaal|subtotaal)\b"
)
_NUMERIC_FIELDS = (QUANTITY, UNIT_PRICE, LINE_TOTAL)


def table_lines(doc: Document) -> tuple[ExtractedLine, ...]:
    """The order lines of the first table in ``doc`` with recognised columns, if any.

    Only spreadsheet documents (CSV, XLSX, XLS) are read this way: their text is exactly the
    rendered rows, so every cell can be grounded.
    """
    if doc.media_type not in sniff.SPREADSHEET_TYPES:
        return ()
    for table in doc.tables:
        if not table.rows or not is_header(table.rows[0]):
            continue
        lines = _lines(doc, table)
        if lines:
            return lines
    return ()


def _lines(doc: Document, table: Table) -> tuple[ExtractedLine, ...]:
    columns = {field: index for index, field in header_fields(table.rows[0]).items()}
    offsets = _row_offsets(doc, table)
    if offsets is None:
        return ()
    numbers = " ".join(
        _cell(row, columns.get(field)) or "" for row in table.rows[1:] for field in _NUMERIC_FIELDS
    )
    decimal_comma = uses_decimal_comma(numbers)  # one notation per table
    comma = dict.fromkeys(_NUMERIC_FIELDS, decimal_comma)
    lines: list[ExtractedLine] = []
    for row, offset in zip(table.rows[1:], offsets[1:], strict=True):
        if _is_total_row(row):
            continue
        code = _cell(row, columns.get(CODE))
        description = _cell(row, columns.get(DESCRIPTION))
        quantity = to_decimal(_cell(row, columns.get(QUANTITY)), decimal_comma=comma[QUANTITY])
        if quantity is None or quantity <= 0 or not (code or description):
            continue
        spans = [(offset + a, offset + b) for a, b in cell_spans(row)]

        def span(field: str, spans: list[tuple[int, int]] = spans) -> tuple[int, int] | None:
            index = columns.get(field)
            return spans[index] if index is not None and index < len(spans) else None

        lines.append(
            ExtractedLine(
                product_code=text_at(doc, span(CODE), code),
                description=text_at(doc, span(DESCRIPTION), description),
                quantity=number_at(
                    doc,
                    span(QUANTITY),
                    _cell(row, columns.get(QUANTITY)),
                    decimal_comma=comma[QUANTITY],
                ),
                uom=text_at(doc, span(UOM), _cell(row, columns.get(UOM))),
                unit_price=number_at(
                    doc,
                    span(UNIT_PRICE),
                    _cell(row, columns.get(UNIT_PRICE)),
                    decimal_comma=comma[UNIT_PRICE],
                ),
                line_total=number_at(
                    doc,
                    span(LINE_TOTAL),
                    _cell(row, columns.get(LINE_TOTAL)),
                    decimal_comma=comma[LINE_TOTAL],
                ),
            )
        )
    return tuple(lines)


def _cell(row: Sequence[str | None], index: int | None) -> str | None:
    if index is None or index >= len(row):
        return None
    value = row[index]
    return value if value and value.strip() else None


def _is_total_row(row: Sequence[str | None]) -> bool:
    words = [normalize(c) for c in row if c and to_decimal(c) is None]
    return any(_TOTAL_ROW.match(w) for w in words if w)


def _row_offsets(doc: Document, table: Table) -> list[int] | None:
    """Where each row of the table starts in the document text; None if one is not there."""
    page = next((p for p in doc.pages if p.number == table.page), None)
    if page is None:
        return None
    offsets: list[int] = []
    cursor = page.start
    for row in table.rows:
        line = render_row(row)
        found = doc.text.find(line, cursor, page.end)
        while found >= 0 and not _whole_line(doc.text, found, found + len(line), page.start):
            found = doc.text.find(line, found + 1, page.end)
        if found < 0:
            return None
        offsets.append(found)
        cursor = found + len(line)
    return offsets


def _whole_line(text: str, start: int, end: int, page_start: int) -> bool:
    starts = start == page_start or text[start - 1] == "\n"
    return starts and (end == len(text) or text[end] in "\n\f")
