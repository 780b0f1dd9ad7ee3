"""The work the PDF and OCR readers skip, and that skipping it changes nothing that comes out.

benchmarks/documents.py found intake reading text PDFs and scans much slower than bare
pdfplumber and the tesseract CLI; the causes were removed: duplicate-character removal no
longer sorts quadratically and is skipped on pages without duplicates, and orientation
detection runs only when the first OCR reading is poor. These tests hold the behaviour.
"""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime
from typing import Any

import pdfplumber
import pytesseract
import pytest
from PIL import Image, ImageDraw, ImageFont
from reportlab.pdfgen import canvas

from intake.config import Limits, OcrConfig
from intake.documents import parse_message
from intake.documents import pdf as pdf_module
from intake.documents.ocr import ocr_page
from intake.models import Message


def pdf_file(raw: bytes, name: str) -> Message:
    return Message(
        id="01SHORTCUT",
        source="folder:test",
        source_ref=name,
        kind="file",
        content_hash=hashlib.sha256(raw).hexdigest(),
        filename=name,
        received_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        raw=raw,
    )


def fake_bold_pdf() -> bytes:
    """A PDF whose total is printed twice, offset by a fraction of a point (poor man's bold)."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1)
    c.setFont("Helvetica", 12)
    c.drawString(72, 720, "Purchase order PO-4711 for YourCompany")
    c.drawString(72, 690, "FURN_7777 Office Chair 12 pcs")
    for dx, dy in ((0, 0), (0.3, 0.2)):
        c.drawString(72 + dx, 660 + dy, "Total USD 1,234.00")
    c.save()
    return buf.getvalue()


def test_characters_printed_twice_are_read_once() -> None:
    parsed = parse_message(pdf_file(fake_bold_pdf(), "bold.pdf"), Limits(), OcrConfig())
    (document,) = parsed.documents
    assert "Total USD 1,234.00" in document.text
    assert "TToottaall" not in document.text and document.text.count("1,234.00") == 1
    assert "FURN_7777 Office Chair 12 pcs" in document.text


def test_page_without_duplicates_is_not_copied() -> None:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1)
    c.drawString(72, 720, "Every character once, even 1111 and 0000 side by side")
    c.save()
    with pdfplumber.open(io.BytesIO(buf.getvalue())) as pdf:
        page = pdf.pages[0]
        assert pdf_module._deduped(page) is page
    with pdfplumber.open(io.BytesIO(fake_bold_pdf())) as pdf:
        page = pdf.pages[0]
        deduped = pdf_module._deduped(page)
        assert deduped is not page
        assert [c["text"] for c in deduped.chars] == [c["text"] for c in page.dedupe_chars().chars]


def page_image(lines: list[str]) -> Image.Image:
    image = Image.new("L", (1700, 900), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=44)
    for row, text in enumerate(lines):
        draw.text((80, 80 + 90 * row), text, fill=0, font=font)
    return image


LINES = [
    "PURCHASE ORDER PO-4711",
    "Customer Acme Widgets Limited",
    "FURN_7777 Office Chair 12 pieces",
    "Delivery to our warehouse in Fremont",
]


@pytest.mark.slow
def test_upright_page_is_read_without_orientation_detection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[Any] = []
    real = pytesseract.image_to_osd

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(pytesseract, "image_to_osd", spy)
    page = ocr_page(page_image(LINES), languages="eng", timeout=60)
    assert "PO-4711" in page.text and "Acme Widgets" in page.text
    assert calls == []


@pytest.mark.slow
def test_upside_down_page_is_detected_turned_and_read(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = pytesseract.image_to_osd

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(pytesseract, "image_to_osd", spy)
    page = ocr_page(page_image(LINES * 2).rotate(180), languages="eng", timeout=60)
    assert len(calls) == 1
    assert "PO-4711" in page.text and "Acme Widgets" in page.text
    assert page.confidence is not None and page.confidence > 0.6
