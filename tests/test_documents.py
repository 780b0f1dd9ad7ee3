"""Tests of the parse stage (intake.documents) with real PDFs, images, e-mails and corpus files.

Every input is built here (reportlab PDFs, pypdfium2 renderings, PIL images, EmailMessage) or
read from the shared third-party corpus; tesseract really runs for the OCR cases.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

import pypdfium2 as pdfium
import pytesseract
import pytest
from PIL import Image
from reportlab.lib import colors
from reportlab.lib.pagesizes import A5
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

from intake.config import Limits, OcrConfig
from intake.documents import parse_message
from intake.documents import pdf as pdf_module
from intake.documents.images import prepare
from intake.documents.ocr import ocr_page
from intake.documents.problems import ALL_CODES
from intake.models import Document, Message, ParsedMessage, Problem

Kind = Literal["email", "file"]
CORPUS = Path(__file__).parents[1].parent / "shared" / "corpus"

ORDER_LINES = [
    ("Item", "Description", "Qty", "Price"),
    ("WID-100", "Blue widget", "12", "4.50"),
    ("WID-200", "Red widget", "5", "7.25"),
]


# --------------------------------------------------------------------------- helpers


def message(raw: bytes, *, kind: Kind = "email", filename: str | None = None) -> Message:
    return Message(
        id="01TEST",
        source="folder:test",
        source_ref=filename or "INBOX/1",
        kind=kind,
        content_hash=hashlib.sha256(raw).hexdigest(),
        filename=filename,
        received_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        raw=raw,
    )


def parse(
    raw: bytes,
    *,
    kind: Kind = "email",
    filename: str | None = None,
    limits: Limits | None = None,
    ocr: OcrConfig | None = None,
) -> ParsedMessage:
    parsed = parse_message(
        message(raw, kind=kind, filename=filename), limits or Limits(), ocr or OcrConfig()
    )
    for item in parsed.problems:
        assert item.code in ALL_CODES, item
        assert "/tmp" not in item.message, item.message
    return parsed


def parse_file(raw: bytes, filename: str, **kwargs: Any) -> ParsedMessage:
    return parse(raw, kind="file", filename=filename, **kwargs)


def only_problem(parsed: ParsedMessage, code: str) -> Problem:
    found = [p for p in parsed.problems if p.code == code]
    assert len(found) == 1, parsed.problems
    return found[0]


def order_pdf(*, encrypt: str | None = None) -> bytes:
    """A one-page text PDF purchase order with a ruled table of order lines."""
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A5, encrypt=encrypt, title="PO-4711")
    styles = getSampleStyleSheet()
    table = Table(ORDER_LINES, colWidths=[70, 130, 40, 50])
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black)]))
    doc.build(
        [
            Paragraph("PURCHASE ORDER PO-4711", styles["Title"]),
            Paragraph("Customer: Acme Widgets Ltd, deliver by 2026-03-01", styles["Normal"]),
            table,
        ]
    )
    return buf.getvalue()


def pages_pdf(count: int) -> bytes:
    """A text PDF with ``count`` pages, each saying which page it is."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A5)
    for number in range(1, count + 1):
        c.setFont("Helvetica", 12)
        c.drawString(50, 500, f"Order PO-4711 continued, this is sheet number {number}")
        c.drawString(50, 480, f"MARKER-{number}  line item for page {number}")
        c.showPage()
    c.save()
    return buf.getvalue()


def small_scan(lines: list[str], *, dpi: int = 150) -> Image.Image:
    """Render a small reportlab page to a greyscale image, as a scanner would produce it."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(360, 40 + 30 * len(lines)))
    c.setFont("Helvetica", 18)
    for i, line in enumerate(lines):
        c.drawString(20, 20 + 30 * (len(lines) - 1 - i), line)
    c.save()
    document = pdfium.PdfDocument(buf.getvalue())
    image: Image.Image = document[0].render(scale=dpi / 72, grayscale=True).to_pil()
    document.close()
    return image


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def email_with(
    body: str = "Hello,\nplease find our order attached.\nRegards, Ann",
    attachments: Sequence[tuple[bytes, str, str, str]] = (),
    subject: str = "Order",
) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Ann Buyer <ann@acme.example>"
    msg["To"] = "orders@distributor.example"
    msg["Subject"] = subject
    msg.set_content(body)
    for data, maintype, subtype, name in attachments:
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


def check_offsets(doc: Document) -> None:
    """Pages tile the text between form feeds; OCR words sit at their offsets."""
    assert doc.text.count("\f") == len(doc.pages) - 1
    for page in doc.pages:
        assert "\f" not in doc.text[page.start : page.end]
    for word in doc.words:
        assert doc.text[word.start : word.end] == word.text
        assert 0 <= word.confidence <= 1


@pytest.fixture(scope="module")
def scan() -> Image.Image:
    return small_scan(
        ["PURCHASE ORDER PO-4711", "WID-100  Blue widget  12", "Deliver by 2026-03-01"]
    )


# --------------------------------------------------------------------------- e-mails


def test_email_body_and_pdf_attachment_become_documents_in_order() -> None:
    raw = email_with(attachments=[(order_pdf(), "application", "pdf", "order.pdf")])
    parsed = parse(raw)
    assert [d.id for d in parsed.documents] == ["d1", "d2"]
    body, pdf = parsed.documents
    assert body.origin.kind == "body" and "order attached" in body.text
    assert body.pages[0].method == "plain"
    assert pdf.origin.kind == "attachment"
    assert pdf.origin.filename == "order.pdf" and pdf.origin.path == ("order.pdf",)
    assert pdf.media_type == "application/pdf"
    assert "PURCHASE ORDER PO-4711" in pdf.text
    assert pdf.pages[0].method == "text"
    # columns stay apart by two or more spaces, one order line per text line
    assert re.search(r"WID-100 {2,}Blue widget {2,}12 {2,}4\.50", pdf.text)
    assert ("WID-100", "Blue widget", "12", "4.50") in pdf.tables[0].rows
    assert pdf.tables[0].page == 1
    assert parsed.problems == ()


def test_html_only_body_keeps_table_rows_as_lines() -> None:
    msg = EmailMessage()
    msg["From"] = "shop@acme.example"
    msg["Subject"] = "Order 88"
    msg.set_content(
        "<html><head><style>td {color: red}</style><script>var x = 1;</script></head><body>"
        "<p>Dear team,<br>please deliver:</p><table><tr><th>Code</th><th>Qty</th></tr>"
        "<tr><td>WID-100</td><td>12</td></tr><tr><td>WID-200</td><td>5</td></tr></table>"
        "<p>Thanks</p></body></html>",
        subtype="html",
    )
    parsed = parse(msg.as_bytes())
    (body,) = parsed.documents
    assert body.media_type == "text/html"
    lines = body.text.splitlines()
    assert "WID-100 | 12" in lines and "WID-200 | 5" in lines
    assert "Dear team," in lines and "please deliver:" in lines
    assert "color" not in body.text and "var x" not in body.text
    assert body.tables[0].rows == (("Code", "Qty"), ("WID-100", "12"), ("WID-200", "5"))


def test_plain_text_alternative_is_preferred_over_html() -> None:
    msg = EmailMessage()
    msg["From"] = "ann@acme.example"
    msg["Subject"] = "Order"
    msg.set_content("Plain version: 12 x WID-100")
    msg.add_alternative("<p>HTML version: 12 x WID-100</p>", subtype="html")
    (body,) = parse(msg.as_bytes()).documents
    assert body.media_type == "text/plain"
    assert "Plain version" in body.text and "HTML version" not in body.text


@pytest.mark.parametrize(
    ("charset", "payload"),
    [
        ("windows-1252", "Müller GmbH: 5 Stück à 3,50 €".encode("cp1252")),
        ("iso-8859-1", "Müller GmbH: 5 Stück à 3,50".encode("latin-1")),
        ("utf-8", "Müller GmbH: 5 Stück à 3,50".encode("latin-1")),  # lying declaration
        ("x-no-such-charset", "Müller GmbH: 5 Stück à 3,50 €".encode()),  # unknown name
        ("us-ascii", "Müller GmbH: 5 Stück à 3,50 €".encode()),  # UTF-8 sent as ASCII
    ],
)
def test_body_charsets_including_broken_declarations(charset: str, payload: bytes) -> None:
    raw = (
        b"From: hans@mueller.example\r\nSubject: Bestellung\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=" + charset.encode() + b"\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + payload + b"\r\n"
    )
    (body,) = parse(raw).documents
    assert "Müller GmbH: 5 Stück à 3,50" in body.text
    if "€".encode("cp1252") in payload or "€".encode() in payload:
        assert "€" in body.text


def test_reply_keeps_only_the_newest_message() -> None:
    body = (
        "Hi Bob,\n\nplease change the quantity of WID-100 to 20.\n\n"
        "On Mon, 5 Jan 2026 at 09:00, Bob Seller <bob@distributor.example>\nwrote:\n"
        "> Your order 4711: 10 x WID-100 is confirmed.\n> Bob\n\n"
        "-- \nAnn Buyer\nAcme Ltd | +1 555 0100\n"
    )
    (doc,) = parse(email_with(body=body, subject="Re: Order 4711")).documents
    assert "quantity of WID-100 to 20" in doc.text
    assert "10 x WID-100" not in doc.text
    assert "wrote:" not in doc.text and "+1 555 0100" not in doc.text


def test_outlook_reply_history_is_dropped() -> None:
    body = (
        "Please add 3 x WID-200.\n\n-----Original Message-----\nFrom: Bob\nSent: Monday\n"
        "Subject: Order\n\nOld order: 10 x WID-100\n"
    )
    (doc,) = parse(email_with(body=body, subject="RE: Order")).documents
    assert doc.text == "Please add 3 x WID-200."


@pytest.mark.parametrize(
    "history",
    [
        '<div class="gmail_quote"><div>On Mon, Bob wrote:<br></div>'
        '<blockquote class="gmail_quote">Your order: 10 x WID-100</blockquote></div>',
        '<blockquote type="cite">Your order: 10 x WID-100</blockquote>',
        '<div id="appendonsend"></div><hr><div id="divRplyFwdMsg"><b>From:</b> Bob<br>'
        "<b>Sent:</b> Monday</div><div>Your order: 10 x WID-100</div>",
    ],
)
def test_html_reply_drops_quoted_history(history: str) -> None:
    msg = EmailMessage()
    msg["From"] = "ann@acme.example"
    msg["Subject"] = "Re: Order"
    msg.set_content(
        f"<html><body><p>Make it 20 x WID-100.</p>{history}</body></html>", subtype="html"
    )
    (doc,) = parse(msg.as_bytes()).documents
    assert doc.text == "Make it 20 x WID-100."


def test_forwarded_message_attachment_is_read_recursively() -> None:
    inner = EmailMessage()
    inner["From"] = "purchasing@acme.example"
    inner["Subject"] = "PO 4711"
    inner.set_content("Our purchase order PO-4711 is attached.")
    inner.add_attachment(order_pdf(), maintype="application", subtype="pdf", filename="po.pdf")
    outer = EmailMessage()
    outer["From"] = "ann@acme.example"
    outer["Subject"] = "Fwd: PO 4711"
    outer.set_content("See the forwarded order below.")
    outer.add_attachment(inner, filename="forwarded.eml")
    parsed = parse(outer.as_bytes())
    assert [d.id for d in parsed.documents] == ["d1", "d2", "d3"]
    outer_body, inner_body, inner_pdf = parsed.documents
    assert "forwarded order below" in outer_body.text and outer_body.origin.path == ()
    assert inner_body.origin.kind == "body" and inner_body.origin.path == ("forwarded.eml",)
    assert "PO-4711 is attached" in inner_body.text
    assert inner_pdf.origin.path == ("forwarded.eml", "po.pdf")
    assert inner_pdf.origin.describe() == "attachment forwarded.eml/po.pdf"
    assert "WID-200" in inner_pdf.text


def test_empty_email_gives_empty_message_problem() -> None:
    raw = b"From: a@b.example\r\nSubject: (no subject)\r\n\r\n   \r\n"
    parsed = parse(raw)
    assert parsed.documents == ()
    problem = only_problem(parsed, "empty_message")
    assert "no text and no attachments" in problem.message


def test_small_inline_logo_is_skipped_without_problem() -> None:
    logo = png_bytes(Image.new("RGB", (40, 20), "navy"))
    msg = EmailMessage()
    msg["From"] = "ann@acme.example"
    msg["Subject"] = "Order"
    msg.set_content("Please send 4 x WID-100.")
    msg.add_alternative('<p>Please send 4 x WID-100.</p><img src="cid:logo1">', subtype="html")
    html_part = next(p for p in msg.iter_parts() if p.get_content_type() == "text/html")
    assert isinstance(html_part, EmailMessage)
    html_part.add_related(logo, maintype="image", subtype="png", cid="<logo1>")
    parsed = parse(msg.as_bytes())
    assert [d.origin.kind for d in parsed.documents] == ["body"]
    assert parsed.problems == ()


def test_unsupported_and_unknown_attachments_are_named_in_problems() -> None:
    docx = b"PK\x03\x04" + b"\x14\x00" * 40  # a ZIP container, as .docx files are
    blob = bytes(range(256)) * 4
    raw = email_with(
        attachments=[
            (docx, "application", "octet-stream", "order.docx"),
            (blob, "application", "octet-stream", "data.bin"),
        ]
    )
    parsed = parse(raw)
    assert [d.origin.kind for d in parsed.documents] == ["body"]
    problems = [p for p in parsed.problems if p.code == "unsupported_attachment"]
    assert [p.origin.filename for p in problems if p.origin] == ["order.docx", "data.bin"]
    assert "order.docx" in problems[0].message and "Word document" in problems[0].message
    assert "data.bin" in problems[1].message


def test_mail_signature_parts_are_skipped_silently() -> None:
    msg = EmailMessage()
    msg["From"] = "ann@acme.example"
    msg["Subject"] = "Signed order"
    msg.set_content("Please send 4 x WID-100.")
    msg.add_attachment(
        b"\x30\x82\x01\x00" * 20,
        maintype="application",
        subtype="pkcs7-signature",
        filename="smime.p7s",
    )
    parsed = parse(msg.as_bytes())
    assert len(parsed.documents) == 1 and parsed.problems == ()


def test_text_and_csv_attachments_become_plain_documents() -> None:
    csv_data = b"code;qty;price\nWID-100;12;4,50\nWID-200;5;7,25\n"
    note = "Lieferung an: Müller, Hauptstraße 1".encode("latin-1")
    raw = email_with(
        attachments=[
            (csv_data, "text", "csv", "lines.csv"),
            (note, "application", "octet-stream", "note.txt"),
        ]
    )
    _, csv_doc, note_doc = parse(raw).documents
    assert csv_doc.media_type == "text/csv" and csv_doc.pages[0].method == "plain"
    assert csv_doc.tables[0].rows[1] == ("WID-100", "12", "4,50")
    assert note_doc.media_type == "text/plain"
    assert "Müller, Hauptstraße 1" in note_doc.text


def test_message_over_size_limit_is_not_parsed() -> None:
    raw = email_with(attachments=[(order_pdf(), "application", "pdf", "order.pdf")])
    parsed = parse(raw, limits=Limits(max_message_bytes=1000))
    assert parsed.documents == ()
    problem = only_problem(parsed, "message_too_large")
    assert "limits.max_message_bytes" in problem.message and len(parsed.problems) == 1


def test_attachment_over_size_limit_is_refused_but_body_is_read() -> None:
    raw = email_with(attachments=[(order_pdf(), "application", "pdf", "order.pdf")])
    parsed = parse(raw, limits=Limits(max_attachment_bytes=500))
    assert [d.origin.kind for d in parsed.documents] == ["body"]
    problem = only_problem(parsed, "attachment_too_large")
    assert "order.pdf" in problem.message and "limits.max_attachment_bytes" in problem.message


# --------------------------------------------------------------------------- PDFs


def test_text_pdf_file_pages_and_tables() -> None:
    parsed = parse_file(order_pdf(), "PO-4711.pdf")
    (doc,) = parsed.documents
    assert doc.origin.kind == "file" and doc.origin.filename == "PO-4711.pdf"
    assert doc.pages[0].method == "text" and doc.pages[0].ocr_confidence is None
    assert "Acme Widgets Ltd" in doc.text
    assert doc.tables[0].rows[0] == ("Item", "Description", "Qty", "Price")
    check_offsets(doc)


def test_multi_page_pdf_offsets_and_page_limit() -> None:
    (doc,) = parse_file(pages_pdf(3), "long.pdf").documents
    assert [p.number for p in doc.pages] == [1, 2, 3]
    assert doc.text.count("\f") == 2
    assert doc.page_at(doc.text.index("MARKER-3")) == 3
    assert doc.page_at(doc.text.index("MARKER-1")) == 1
    check_offsets(doc)

    parsed = parse_file(pages_pdf(3), "long.pdf", limits=Limits(max_pages=2))
    assert len(parsed.documents[0].pages) == 2 and "MARKER-3" not in parsed.documents[0].text
    problem = only_problem(parsed, "too_many_pages")
    assert "long.pdf" in problem.message and "limits.max_pages" in problem.message


def test_encrypted_pdf_asks_for_an_unprotected_copy() -> None:
    parsed = parse(
        email_with(attachments=[(order_pdf(encrypt="secret"), "application", "pdf", "locked.pdf")])
    )
    problem = only_problem(parsed, "pdf_encrypted")
    assert "locked.pdf" in problem.message and "unprotected PDF" in problem.message
    assert problem.origin is not None and problem.origin.filename == "locked.pdf"
    assert [d.origin.kind for d in parsed.documents] == ["body"]


def test_truncated_pdf_is_reported_as_corrupt() -> None:
    data = order_pdf()
    parsed = parse_file(data[: len(data) // 2], "cut.pdf")
    assert parsed.documents == ()
    problem = only_problem(parsed, "pdf_corrupt")
    assert problem.message.startswith("file cut.pdf:")


def test_pdf_without_text_layer_goes_to_ocr(
    monkeypatch: pytest.MonkeyPatch, scan: Image.Image
) -> None:
    out = io.BytesIO()
    scan.save(out, "PDF", resolution=150)
    calls: list[int] = []
    real = ocr_page

    def spy(image: Image.Image, **kwargs: Any) -> Any:
        calls.append(image.width)
        return real(image, **kwargs)

    monkeypatch.setattr(pdf_module, "ocr_page", spy)
    (doc,) = parse_file(out.getvalue(), "scanned.pdf", ocr=OcrConfig(dpi=150)).documents
    assert calls, "the image-only page was not OCR'd"
    assert doc.media_type == "application/pdf" and doc.pages[0].method == "ocr"
    assert "PO-4711" in doc.text and "WID-100" in doc.text
    assert doc.pages[0].ocr_confidence is not None and doc.pages[0].ocr_confidence > 0.6
    assert any(w.text == "PO-4711" for w in doc.words)
    check_offsets(doc)


# --------------------------------------------------------------------------- images and OCR


@pytest.mark.slow
@pytest.mark.parametrize("name", ["scan.png", "order.pdf"])
def test_scanned_png_is_ocrd_even_when_named_pdf(name: str, scan: Image.Image) -> None:
    parsed = parse_file(png_bytes(scan), name)
    (doc,) = parsed.documents
    assert doc.media_type == "image/png" and doc.origin.filename == name
    assert doc.pages[0].method == "ocr"
    assert "PURCHASE ORDER PO-4711" in doc.text
    assert re.search(r"WID-100\s+Blue widget\s+12", doc.text)
    word = next(w for w in doc.words if w.text == "PO-4711")
    assert word.confidence > 0.5 and word.page == 1 and word.bbox is not None
    assert all(0 <= v <= 1 for v in word.bbox)
    check_offsets(doc)
    assert parsed.problems == ()


@pytest.mark.slow
def test_sideways_scan_is_turned_upright(scan: Image.Image) -> None:
    turned = small_scan(
        ["PURCHASE ORDER PO-4711", "Customer Acme Widgets Limited", "Blue widgets twelve pieces"]
        * 2
    ).rotate(90, expand=True)
    (doc,) = parse_file(png_bytes(turned), "sideways.png").documents
    assert "PO-4711" in doc.text and "Acme Widgets" in doc.text


@pytest.mark.slow
def test_tilted_scan_keeps_table_rows_on_one_line() -> None:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(420, 200))
    c.setFont("Helvetica", 16)
    for row in range(5):
        y = 160 - 30 * row
        c.drawString(20, y, f"WID-10{row} widget")
        c.drawString(330, y, f"{row + 3} pcs")
    c.save()
    document = pdfium.PdfDocument(buf.getvalue())
    image = document[0].render(scale=150 / 72, grayscale=True).to_pil()
    document.close()
    tilted = image.rotate(2.5, expand=True, fillcolor=255, resample=Image.Resampling.BICUBIC)
    (doc,) = parse_file(png_bytes(tilted), "tilted.png").documents
    for row in range(5):
        assert re.search(rf"WID-10{row} widget {{2,}}{row + 3} pcs", doc.text), doc.text


@pytest.mark.slow
def test_multi_page_tiff_gives_one_page_per_frame() -> None:
    first = small_scan(["Fax page one PO-4711"])
    second = small_scan(["Fax page two WID-200"])
    out = io.BytesIO()
    first.save(out, "TIFF", save_all=True, append_images=[second])
    (doc,) = parse_file(out.getvalue(), "fax.tif").documents
    assert doc.media_type == "image/tiff" and len(doc.pages) == 2
    assert doc.page_at(doc.text.index("PO-4711")) == 1
    assert doc.page_at(doc.text.index("WID-200")) == 2


def test_exif_orientation_is_applied_before_ocr() -> None:
    image = Image.new("RGB", (200, 100), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    with Image.open(io.BytesIO(out.getvalue())) as loaded:
        upright = prepare(loaded)
    assert upright.size == (100, 200) and upright.mode == "L"


def test_image_over_pixel_limit_is_refused() -> None:
    parsed = parse_file(
        png_bytes(Image.new("L", (100, 100), 255)),
        "photo.png",
        limits=Limits(max_image_pixels=5000),
    )
    problem = only_problem(parsed, "image_too_large")
    assert "photo.png" in problem.message and "limits.max_image_pixels" in problem.message
    assert parsed.documents == ()


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` (a decompression bomb)."""
    data = bytearray(png_bytes(Image.new("L", (8, 8), 255)))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


@pytest.mark.parametrize("side", [12_000, 100_000])
def test_decompression_bomb_is_refused_before_decoding(side: int) -> None:
    parsed = parse_file(_png_claiming(side, side), "bomb.png")
    problem = only_problem(parsed, "image_too_large")
    assert "bomb.png" in problem.message and parsed.documents == ()


def test_truncated_image_is_reported_as_corrupt(scan: Image.Image) -> None:
    data = png_bytes(scan)
    parsed = parse_file(data[: len(data) // 3], "cut.png")
    problem = only_problem(parsed, "image_corrupt")
    assert "cut.png" in problem.message


def test_ocr_timeout_becomes_a_problem(scan: Image.Image) -> None:
    parsed = parse_file(png_bytes(scan), "slow.png", limits=Limits(ocr_seconds_per_page=0.001))
    problem = only_problem(parsed, "ocr_timeout")
    assert "slow.png" in problem.message and "limits.ocr_seconds_per_page" in problem.message


def test_missing_tesseract_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, scan: Image.Image
) -> None:
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    parsed = parse_file(png_bytes(scan), "scan.png")
    problem = only_problem(parsed, "ocr_unavailable")
    assert "apt-get install tesseract-ocr" in problem.message and "scan.png" in problem.message


@pytest.mark.slow
def test_missing_ocr_language_names_the_config_key(scan: Image.Image) -> None:
    parsed = parse_file(png_bytes(scan), "scan.png", ocr=OcrConfig(languages="zzz"))
    problem = only_problem(parsed, "ocr_unavailable")
    assert "'zzz'" in problem.message and "ocr.languages" in problem.message


# --------------------------------------------------------------------------- files and robustness


def test_eml_file_is_parsed_as_an_email() -> None:
    raw = email_with(attachments=[(b"code,qty\nWID-100,12\n", "text", "csv", "lines.csv")])
    parsed = parse_file(raw, "dropped.eml")
    assert [d.origin.kind for d in parsed.documents] == ["body", "attachment"]
    assert parsed.documents[1].origin.filename == "lines.csv"


def test_plain_text_file_and_empty_file() -> None:
    (doc,) = parse_file(b"PO-4711\r\n12 x WID-100\r\n", "order.txt").documents
    assert doc.text == "PO-4711\n12 x WID-100" and doc.origin.kind == "file"
    parsed = parse_file(b"", "empty.pdf")
    assert only_problem(parsed, "no_text").message.startswith("file empty.pdf:")


@pytest.mark.parametrize(
    ("raw", "kind", "name"),
    [
        (b"\x00\xff" * 300, "email", None),
        (b"%PDF-1.7\n%\xe2\xe3\n1 0 obj << /Type /Catalog >> endobj\n", "file", "x.pdf"),
        (b"GIF89a\x01\x00\x01\x00", "file", "x.gif"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, "file", "x.png"),
        (b"Content-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\nContent-Type: ", "email", None),
        (b"From: a\r\nContent-Type: message/rfc822\r\n\r\nFrom: b\r\n\r\nhi", "email", None),
    ],
)
def test_hostile_input_never_raises(raw: bytes, kind: Kind, name: str | None) -> None:
    parsed = parse(raw, kind=kind, filename=name)
    assert parsed.documents or parsed.problems


# --------------------------------------------------------------------------- third-party corpus


def corpus_file(relative: str) -> bytes:
    path = CORPUS / relative
    if not path.is_file():
        pytest.skip(f"corpus file {relative} not present")
    return path.read_bytes()


def test_corpus_order_email_body() -> None:
    raw = corpus_file("jehanxaibahmed__llm-order-extractor/samples/emails/04_relative_date.eml")
    (body,) = parse(raw).documents
    assert "6 bunches of coriander" in body.text and "3 boxes of avocados" in body.text
    assert "Tuesday please." in body.text


def test_corpus_forwarded_order_keeps_forwarded_text_and_drops_disclaimer() -> None:
    raw = corpus_file(
        "jehanxaibahmed__llm-order-extractor/samples/emails/06_forwarded_signature.eml"
    )
    (body,) = parse(raw).documents
    assert "our order for Wednesday 7th" in body.text
    assert "2 sacks of strong white flour" in body.text
    assert "3 trays of strawberries" in body.text
    assert "CONFIDENTIALITY NOTICE" not in body.text


def test_corpus_text_pdf_purchase_order() -> None:
    raw = corpus_file(
        "ShubhamKumarGautam98__po-extractor-revised/backend-python/tests/fixtures/george_1208546.pdf"
    )
    (doc,) = parse_file(raw, "george_1208546.pdf").documents
    assert [p.method for p in doc.pages] == ["text", "text"]
    assert "Purchase Order Number" in doc.text and "1208546" in doc.text
    assert "Net Due 120 days" in doc.text and "32394.80" in doc.text
    pack_line = next(line for line in doc.text.splitlines() if line.startswith("10PC PRE-"))
    assert re.search(r"74\.30 {2,}124\.00", pack_line) and "436" in pack_line


def test_corpus_pdf_without_text_layer_goes_to_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = corpus_file("horstoeko__orderx/tests/assets/reader-order-x-comfort.pdf")
    calls: list[int] = []
    real = ocr_page

    def spy(image: Image.Image, **kwargs: Any) -> Any:
        calls.append(image.width)
        return real(image, **kwargs)

    monkeypatch.setattr(pdf_module, "ocr_page", spy)
    parsed = parse_file(raw, "reader-order-x-comfort.pdf")
    assert len(calls) == 1  # its only page has no text layer
    # the page is blank: the order is only in the embedded XML, which is read instead
    (embedded,) = parsed.documents
    assert embedded.media_type == "application/xml" and parsed.problems == ()
    assert embedded.origin.path == ("reader-order-x-comfort.pdf", "order-x.xml")


@pytest.mark.slow
def test_corpus_photo_of_purchase_order_is_ocrd() -> None:
    raw = corpus_file(
        "MicrosoftLearning__AI-102-AIEngineer/21-custom-form/Python/test-model/test1.jpg"
    )
    (doc,) = parse_file(raw, "test1.jpg").documents
    assert doc.pages[0].method == "ocr" and doc.pages[0].ocr_confidence is not None
    assert "3929423" in doc.text
    assert re.search(r"Long Yoga Mat\s{2,}50\s{2,}50\.00\s{2,}2500\.00", doc.text)
    check_offsets(doc)
