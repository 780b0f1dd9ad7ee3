"""Spreadsheets (XLSX, XLS, CSV) into documents and tables, and order lines from their columns.

Every workbook is written here with openpyxl (XLSX) or xlwt (a real Excel 97-2003 BIFF file),
CSVs in several dialects and encodings; password-protected workbooks are made with
msoffcrypto-tool. The readers run for real on those bytes.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from email.message import EmailMessage
from typing import Any

import openpyxl
import pytest
import xlwt
from msoffcrypto.format.ooxml import OOXMLFile

from intake.assess.grounding import check_grounding
from intake.config import Limits, OcrConfig
from intake.documents import parse_message
from intake.documents.columns import (
    CODE,
    DESCRIPTION,
    LINE_TOTAL,
    QUANTITY,
    UNIT_PRICE,
    UOM,
    column_field,
    detect_header,
)
from intake.documents.problems import ALL_CODES
from intake.documents.spreadsheets import render_row, sniff_dialect
from intake.extract.structured import extract_structured
from intake.models import Document, Message, ParsedMessage

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLS = "application/vnd.ms-excel"

ORDER_SHEET: list[list[Any]] = [
    ["Purchase Order"],
    ["PO Number:", "PO-778"],
    ["Order date:", datetime(2026, 3, 14)],
    [],
    ["Item Code", "Description", "Qty", "Unit", "Unit Price", "Total"],
    ["FURN_7800", "Desk Combination", 2, "Units", 450, 900],
    ["FURN_0002", "Desk Pad", 12, "Units", 1.98, 23.76],
    ["FURN_0006", "Monitor Stand", 0, "Units", 3.19, 0],  # on the form, not ordered
    [None, None, None, None, "Total", 923.76],
]


def message(raw: bytes, *, kind: str = "file", filename: str | None = None) -> Message:
    return Message(
        id="01SHEET",
        source="folder:test",
        source_ref=filename or "INBOX/1",
        kind=kind,  # type: ignore[arg-type]
        content_hash=hashlib.sha256(raw).hexdigest(),
        filename=filename,
        received_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        raw=raw,
    )


def parse(raw: bytes, name: str, limits: Limits | None = None) -> ParsedMessage:
    parsed = parse_message(message(raw, filename=name), limits or Limits(), OcrConfig())
    for item in parsed.problems:
        assert item.code in ALL_CODES, item
    return parsed


def xlsx(sheets: dict[str, list[list[Any]]]) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buf = io.BytesIO()
    workbook.save(buf)
    return buf.getvalue()


def xls(sheets: dict[str, list[list[Any]]]) -> bytes:
    """A real BIFF8 .xls written by xlwt; datetimes get a date format as Excel stores them."""
    book = xlwt.Workbook(encoding="utf-8")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for title, rows in sheets.items():
        sheet = book.add_sheet(title)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, datetime):
                    sheet.write(r, c, value, date_style)
                elif value is not None:
                    sheet.write(r, c, value)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def assert_exact(parsed: ParsedMessage, doc: Document) -> None:
    order = extract_structured(parsed)
    assert order is not None
    for line in order.lines:
        for value in (line.product_code, line.description, line.quantity, line.unit_price):
            if value.value is not None:
                assert value.evidence is not None and value.confidence == 1.0
                assert doc.text[value.evidence.start : value.evidence.end] == value.evidence.text


# --------------------------------------------------------------------------- XLSX


def test_xlsx_sheets_become_pages_with_rows_as_lines_and_a_table_from_the_header() -> None:
    raw = xlsx({"Order": ORDER_SHEET, "Notes": [["Deliver to the loading dock, gate 4"]]})
    parsed = parse(raw, "PO-778.xlsx")
    assert parsed.problems == ()
    (doc,) = parsed.documents
    assert doc.media_type == XLSX and [p.number for p in doc.pages] == [1, 2]
    first, notes = doc.text.split("\f")
    assert first.splitlines()[:4] == [
        "Purchase Order",
        "PO Number: | PO-778",
        "Order date: | 2026-03-14",
        "Item Code | Description | Qty | Unit | Unit Price | Total",
    ]
    assert "FURN_0002 | Desk Pad | 12 | Units | 1.98 | 23.76" in first.splitlines()
    assert notes == "Deliver to the loading dock, gate 4"
    table = doc.tables[0]
    assert table.page == 1
    assert table.rows[0] == ("Item Code", "Description", "Qty", "Unit", "Unit Price", "Total")
    assert table.rows[1] == ("FURN_7800", "Desk Combination", "2", "Units", "450", "900")
    assert doc.tables[1].page == 2


def test_xlsx_lines_come_from_the_recognised_columns_with_exact_evidence() -> None:
    parsed = parse(xlsx({"Order": ORDER_SHEET}), "PO-778.xlsx")
    order = extract_structured(parsed)
    assert order is not None and order.extractor.startswith("structured/spreadsheet+offline")
    assert [
        (ln.product_code.value, ln.description.value, ln.quantity.value, ln.uom.value)
        for ln in order.lines
    ] == [
        ("FURN_7800", "Desk Combination", Decimal(2), "Units"),
        ("FURN_0002", "Desk Pad", Decimal(12), "Units"),
    ]  # the zero-quantity row and the total row are not lines
    assert [ln.unit_price.value for ln in order.lines] == [Decimal(450), Decimal("1.98")]
    assert [ln.line_total.value for ln in order.lines] == [Decimal(900), Decimal("23.76")]
    assert order.po_number.value == "PO-778"  # the header fields come from the offline rules
    assert_exact(parsed, parsed.documents[0])
    assert check_grounding(order, parsed) == []


def test_xlsx_sniffed_by_content_whatever_its_name() -> None:
    raw = xlsx({"Order": ORDER_SHEET})
    for name in ("export.dat", "order", "PO-778.zip"):
        (doc,) = parse(raw, name).documents
        assert doc.media_type == XLSX, name


def test_xlsx_cell_limit_reads_the_first_cells_and_says_so() -> None:
    rows = [["Code", "Qty"], *[[f"P-{i}", i] for i in range(1, 200)]]
    parsed = parse(xlsx({"Order": rows}), "big.xlsx", Limits(max_spreadsheet_cells=50))
    (problem,) = parsed.problems
    assert problem.code == "spreadsheet_too_large"
    assert "limits.max_spreadsheet_cells" in problem.message and "big.xlsx" in problem.message
    (doc,) = parsed.documents
    assert "P-24 | 24" in doc.text and "P-25 | 25" not in doc.text


def test_password_protected_xlsx_asks_for_an_unprotected_copy() -> None:
    out = io.BytesIO()
    OOXMLFile(io.BytesIO(xlsx({"Order": ORDER_SHEET}))).encrypt("s3cret", out)
    parsed = parse(out.getvalue(), "PO-778.xlsx")
    assert parsed.documents == ()
    (problem,) = parsed.problems
    assert problem.code == "spreadsheet_encrypted" and "password" in problem.message


def test_truncated_xlsx_is_corrupt_not_a_crash() -> None:
    raw = xlsx({"Order": ORDER_SHEET})
    parsed = parse(raw[: len(raw) // 2], "PO-778.xlsx")
    assert parsed.documents == ()
    (problem,) = parsed.problems
    assert problem.code == "spreadsheet_corrupt" and "PO-778.xlsx" in problem.message


def test_xlsx_whose_sheet_is_a_zip_bomb_is_not_opened() -> None:
    raw = xlsx({"Order": ORDER_SHEET})
    source = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<sheetData>", b"<sheetData>" + b" " * 60_000_000)
            bomb.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    parsed = parse(out.getvalue(), "PO-778.xlsx")
    assert parsed.documents == ()
    (problem,) = parsed.problems
    assert problem.code in ("archive_ratio_too_high", "archive_too_large")
    assert "sheet1.xml" in problem.message or "expands" in problem.message


# --------------------------------------------------------------------------- XLS


def test_real_xls_workbook_is_read_like_xlsx() -> None:
    raw = xls({"Bestellung": ORDER_SHEET, "Leer": []})
    assert raw.startswith(b"\xd0\xcf\x11\xe0")  # an OLE2 compound file, as Excel writes
    parsed = parse(raw, "bestellung.xls")
    assert parsed.problems == ()
    (doc,) = parsed.documents
    assert doc.media_type == XLS and len(doc.pages) == 1  # the empty sheet gives no page
    assert "Order date: | 2026-03-14" in doc.text
    assert doc.tables[0].rows[2] == ("FURN_0002", "Desk Pad", "12", "Units", "1.98", "23.76")
    order = extract_structured(parsed)
    assert order is not None
    assert [ln.product_code.value for ln in order.lines] == ["FURN_7800", "FURN_0002"]
    assert_exact(parsed, doc)


def test_xls_named_wrongly_is_sniffed_by_content_and_garbage_xls_is_corrupt() -> None:
    raw = xls({"Order": ORDER_SHEET})
    (doc,) = parse(raw, "order.bin").documents
    assert doc.media_type == XLS
    broken = raw[:512] + b"\x00" * 2048
    parsed = parse(broken, "order.xls")
    assert parsed.documents == ()
    assert parsed.problems[0].code == "spreadsheet_corrupt"


# --------------------------------------------------------------------------- CSV


@pytest.mark.parametrize(
    ("data", "encoding", "rows"),
    [
        (
            "sku,description,qty,price\nFURN_7800,Desk Combination,2,450.00\n"
            'FURN_0002,"Desk Pad, black",12,1.98\n',
            "utf-8",
            [
                ("FURN_7800", "Desk Combination", "2", "450.00"),
                ("FURN_0002", "Desk Pad, black", "12", "1.98"),
            ],
        ),
        (
            "Artikelnummer;Bezeichnung;Menge;Einzelpreis\r\nFURN_7800;Schreibtisch-Kombination;2;450,00\r\n"
            "FURN_0002;Schreibunterlage Größe L;12;1,98\r\n",
            "cp1252",
            [
                ("FURN_7800", "Schreibtisch-Kombination", "2", "450,00"),
                ("FURN_0002", "Schreibunterlage Größe L", "12", "1,98"),
            ],
        ),
        (
            "\ufeffcode\tname\tquantity\tunit price\nFURN_7800\tDesk Combination\t2\t450\n",
            "utf-8",
            [("FURN_7800", "Desk Combination", "2", "450")],
        ),
        (
            "Code|Omschrijving|Aantal|Stukprijs\nFURN_7800|Bureau combinatie|2|450,00\n",
            "utf-8",
            [("FURN_7800", "Bureau combinatie", "2", "450,00")],
        ),
        (
            'ref,designation,qte,prix\nFURN_7800,"Bureau\ncombiné ""Pro""",2,450.00\n',
            "utf-8",
            [("FURN_7800", 'Bureau combiné "Pro"', "2", "450.00")],
        ),
    ],
    ids=["comma", "semicolon-decimal-comma-cp1252", "tab-bom", "pipe", "quoted-newline"],
)
def test_csv_dialects_and_encodings(data: str, encoding: str, rows: list[tuple[str, ...]]) -> None:
    parsed = parse(data.encode(encoding), "order.csv")
    (doc,) = parsed.documents
    assert doc.media_type == "text/csv"
    assert doc.tables[0].rows[1:] == tuple(rows)
    order = extract_structured(parsed)
    assert order is not None
    assert [ln.product_code.value for ln in order.lines] == [r[0] for r in rows]
    assert order.lines[0].quantity.value == Decimal(2)
    assert order.lines[0].unit_price.value == Decimal(450)
    assert_exact(parsed, doc)


def test_csv_decimal_comma_and_thousands() -> None:
    data = "Code;Menge;Preis;Betrag\nA-1;1.500;1.234,56;1.851.840,00\nB-2;2,5;0,99;2,48\n"
    parsed = parse(data.encode(), "liste.csv")
    order = extract_structured(parsed)
    assert order is not None
    first, second = order.lines
    assert (first.quantity.value, first.unit_price.value) == (Decimal(1500), Decimal("1234.56"))
    assert first.line_total.value == Decimal("1851840.00")
    assert (second.quantity.value, second.unit_price.value) == (Decimal("2.5"), Decimal("0.99"))


def test_csv_with_a_title_block_starts_its_table_at_the_header() -> None:
    data = "Bon de commande N° BC-2291\nClient: Deco Addict\n\nRéf.;Désignation;Qté;Prix unitaire\nFURN_8999;Canapé;1;1500\n"
    parsed = parse(data.encode(), "commande.csv")
    (doc,) = parsed.documents
    assert doc.text.splitlines()[0] == "Bon de commande N° BC-2291"
    assert doc.tables[0].rows == (
        ("Réf.", "Désignation", "Qté", "Prix unitaire"),
        ("FURN_8999", "Canapé", "1", "1500"),
    )
    order = extract_structured(parsed)
    assert order is not None and order.lines[0].product_code.value == "FURN_8999"


def test_csv_sniffer_is_overruled_when_another_delimiter_splits_better() -> None:
    text = "code;qty;price\nWID-100;12;4,50\nWID-200;5;7,25\nWID-300;1;10,00\n"
    assert sniff_dialect(text).delimiter == ";"
    assert sniff_dialect("a b c\nd e f\n").delimiter in (",", ";", "\t", "|")


def test_csv_cell_limit() -> None:
    data = "code,qty\n" + "".join(f"P-{i},{i}\n" for i in range(1, 1000))
    parsed = parse(data.encode(), "big.csv", Limits(max_spreadsheet_cells=100))
    assert [p.code for p in parsed.problems] == ["spreadsheet_too_large"]
    assert len(parsed.documents[0].tables[0].rows) == 50


# --------------------------------------------------------------------------- header words


@pytest.mark.parametrize(
    ("headers", "fields"),
    [
        (["SKU", "Item Description", "Qty Ordered", "UoM", "Unit Price (EUR)", "Line Total"], "en"),
        (["Art.-Nr.", "Bezeichnung", "Menge", "ME", "Einzelpreis", "Gesamtpreis"], "de"),
        (["Réf.", "Désignation", "Qté", "Unité", "Prix unitaire HT", "Montant HT"], "fr"),
        (["Código", "Descripción", "Cantidad", "Ud.", "Precio unitario", "Importe"], "es"),
        (["Artikelnummer", "Omschrijving", "Aantal", "Eenheid", "Stukprijs", "Totaal"], "nl"),
    ],
)
def test_header_words_in_five_languages(headers: list[str], fields: str) -> None:
    del fields
    assert [column_field(h) for h in headers] == [
        CODE,
        DESCRIPTION,
        QUANTITY,
        UOM,
        UNIT_PRICE,
        LINE_TOTAL,
    ]
    rows = [["Order"], headers, ["FURN_7800", "Desk", "2", "Units", "450", "900"]]
    assert detect_header(rows) == 1
    parsed = parse(xlsx({"Sheet": rows}), "order.xlsx")
    order = extract_structured(parsed)
    assert order is not None
    (line,) = order.lines
    assert (line.product_code.value, line.quantity.value, line.line_total.value) == (
        "FURN_7800",
        Decimal(2),
        Decimal(900),
    )


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Total Qty", QUANTITY),
        ("Price total", LINE_TOTAL),
        ("Unit", UOM),
        ("Unit cost", UNIT_PRICE),
        ("Item #", CODE),
        ("Pos.", None),
        ("Lieferdatum", None),
    ],
)
def test_ambiguous_header_words(header: str, field: str | None) -> None:
    assert column_field(header) == field


def test_a_table_without_a_quantity_column_is_not_read_as_lines() -> None:
    parsed = parse(
        xlsx({"Prices": [["Code", "Description", "Price"], ["A", "Thing", "1.00"]]}), "prices.xlsx"
    )
    assert extract_structured(parsed) is None
    assert render_row(("a", None, "c")) == "a |  | c"


# --------------------------------------------------------------------------- end to end


def test_spreadsheet_order_by_email_gets_lines_from_columns_and_header_from_the_body() -> None:
    email = EmailMessage()
    email["From"] = "Douglas Fletcher <douglas.fletcher51@example.com>"
    email["Subject"] = "PO-DA-20555"
    email.set_content("Hello,\nplease find our order PO-DA-20555 attached.\nDouglas")
    email.add_attachment(
        xlsx({"Order": ORDER_SHEET[4:]}),
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename="order.xlsx",
    )
    parsed = parse_message(message(bytes(email), kind="email"), Limits(), OcrConfig())
    body, sheet = parsed.documents
    order = extract_structured(parsed)
    assert order is not None
    assert order.po_number.value == "PO-DA-20555"
    assert order.po_number.evidence is not None and order.po_number.evidence.document_id == body.id
    assert {
        ln.product_code.evidence.document_id for ln in order.lines if ln.product_code.evidence
    } == {sheet.id}
    assert order.order_date.value != date(2026, 3, 14)  # the title block is not in this sheet
