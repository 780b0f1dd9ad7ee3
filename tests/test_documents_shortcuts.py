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
from intake.documents import ocr as ocr_module
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


# --------------------------------------------------------------------------- OCR word repairs

HOCR_WORD = """
<div class='ocr_carea' id='block_1_1' title="bbox 15 15 215 51">
 <p class='ocr_par' id='par_1_1' lang='eng' title="bbox 15 15 215 51">
  <span class='ocr_line' id='line_1_1' title="bbox 15 15 215 51; baseline -0.01 0; x_size 44">
   <span class='ocrx_word' id='word_1_1' title='bbox 15 15 215 51; x_wconf 46'>
    <span class='ocrx_cinfo' title='x_bboxes 15 19 42 51; x_conf 98.8'>E</span>
    <span class='ocrx_cinfo' title='x_bboxes 44 38 56 42; x_conf 99.0'>-</span>
    <span class='ocrx_cinfo' title='x_bboxes 60 18 89 51; x_conf 99.0'>C</span>
    <span class='ocrx_cinfo' title='x_bboxes 92 17 124 50; x_conf 98.8'>O</span>
    <span class='ocrx_cinfo' title='x_bboxes 127 16 167 49; x_conf 99.0'>M</span>
    <span class='ocrx_cinfo' title='x_bboxes 153 15 167 51; x_conf 88.1'>O</span>
    <span class='ocrx_cinfo' title='x_bboxes 170 16 192 49; x_conf 96.9'>0</span>
    <span class='ocrx_cinfo' title='x_bboxes 194 15 215 49; x_conf 99.0'>9</span>
   </span>
   <span class='ocrx_word' id='word_1_2' title='bbox 240 15 300 51; x_wconf 91'>
    <span class='ocrx_cinfo' title='x_bboxes 240 15 270 51; x_conf 99.0'>&amp;</span>
    <span class='ocrx_cinfo' title='x_bboxes 272 15 300 51; x_conf 99.0'>C</span>
   </span>
  </span>
 </p>
</div>
"""


def word_data(words: list[tuple[str, int, int, list[tuple[str, int, int]]]]) -> dict[str, Any]:
    """``_recognise``-style columns for words on one line: text, left, width, characters."""
    return {
        "text": [w[0] for w in words],
        "conf": [90.0] * len(words),
        "left": [w[1] for w in words],
        "top": [100] * len(words),
        "width": [w[2] for w in words],
        "height": [30] * len(words),
        "block_num": [1] * len(words),
        "par_num": [1] * len(words),
        "line_num": [1] * len(words),
        "chars": [w[3] for w in words],
    }


def test_hocr_words_keep_their_characters_and_a_phantom_o_is_dropped() -> None:
    data = ocr_module._data_from_hocr(HOCR_WORD)
    assert data["text"] == ["E-COMO09", "&C"]
    assert data["conf"] == [46.0, 91.0]
    assert (data["left"][1], data["width"][1], data["line_num"][1]) == (240, 60, 1)
    ocr_module._correct_codes(data)
    assert data["text"] == ["E-COM09", "&C"]


def test_a_narrow_o_beside_digits_is_a_zero_but_a_wide_one_stays() -> None:
    proportional = [("E", 0, 20), ("-", 24, 32), ("C", 36, 60), ("O", 63, 90), ("M", 93, 120)]
    data = word_data(
        [
            ("E-COMO7", 0, 160, [*proportional, ("O", 123, 141), ("7", 143, 161)]),
            ("PO01", 200, 83, [("P", 0, 22), ("O", 24, 51), ("0", 53, 71), ("1", 73, 83)]),
            ("MONO7", 400, 100, [(c, 20 * k, 20 * k + 18) for k, c in enumerate("MONO7")]),
        ]
    )
    ocr_module._correct_codes(data)
    assert data["text"] == ["E-COM07", "PO01", "MONO7"]  # monospaced: the width says nothing


def test_a_code_split_at_a_narrow_gap_is_joined_but_numbers_and_words_are_not() -> None:
    data = word_data(
        [
            ("FU", 0, 44, []),
            ("RN_8900", 50, 160, []),
            ("1", 400, 20, []),
            ("200", 426, 60, []),
            ("FURN_", 700, 112, []),
            ("5555", 824, 80, []),
            ("Desk", 1000, 80, []),
            ("12", 1086, 40, []),
        ]
    )
    page = ocr_module._page_from_data(data, (2000, 400))
    assert [word.text for word in page.words] == [
        "FURN_8900",
        "1",
        "200",
        "FURN_5555",
        "Desk",
        "12",
    ]


def test_a_quantity_glued_to_its_unit_is_split_where_the_characters_meet() -> None:
    assert ocr_module._unglued(
        "25EA", 0, 80, [("2", 0, 18), ("5", 20, 38), ("E", 42, 60), ("A", 62, 80)]
    ) == [
        ("25", 0, 38),
        ("EA", 42, 80),
    ]
    assert ocr_module._unglued("8ud.", 0, 40, []) == [("8", 0, 10), ("ud.", 10, 40)]
    assert ocr_module._unglued("4K", 0, 40, []) == [("4K", 0, 40)]
    assert ocr_module._unglued("12B", 0, 40, []) == [("12B", 0, 40)]


def test_large_pages_are_binarized_and_small_images_keep_their_greys() -> None:
    small = Image.new("L", (800, 600), 200)
    assert ocr_module._binarized(small) is small
    large = Image.new("L", (3000, 1000), 210)
    ImageDraw.Draw(large).rectangle((100, 100, 400, 160), fill=60)
    levels = {
        level for level, count in enumerate(ocr_module._binarized(large).histogram()) if count
    }
    assert levels == {0, 255}
