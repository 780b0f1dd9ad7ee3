"""PDF parts: the text layer where it is usable, OCR of the rendered page where it is not.

Most order PDFs are generated and carry a good text layer; its words are laid out in lines
that keep the columns apart, and ruled tables are read as tables. Scanned pages (or pages
whose text layer is only a fax header or scanner stamp on top of a page image) are rendered
with pdfium and OCR'd page by page. Encrypted, damaged and oversized PDFs become problems.
"""

from __future__ import annotations

import io
import math
import re
from typing import Any

import pdfplumber
import pypdfium2 as pdfium
from PIL import Image

from intake.config import Limits, OcrConfig
from intake.documents.layout import Box, arrange
from intake.documents.ocr import OcrFailure, ocr_page
from intake.documents.parts import Draft, PageText, Reading, Rows, clean_word
from intake.documents.problems import (
    NO_TEXT,
    OCR_UNAVAILABLE,
    PDF_CORRUPT,
    PDF_ENCRYPTED,
    TOO_MANY_PAGES,
    UNSUPPORTED_ATTACHMENT,
    problem,
)
from intake.documents.sniff import PDF
from intake.models import Origin, Problem

MIN_TEXT_CHARS = 20
"""A page with fewer letters and digits than this in its text layer is OCR'd."""
STAMP_TEXT_CHARS = 200
"""A page mostly covered by an image is OCR'd when its text layer is shorter than this."""
IMAGE_COVERAGE = 0.5
"""Share of the page an image must cover for the page to count as a scan."""

_CID = re.compile(r"\(cid:\d+\)")


def read_pdf(data: bytes, origin: Origin, limits: Limits, ocr: OcrConfig) -> Reading:
    """Read a PDF into one document, page by page.

    Args:
        data: the PDF bytes.
        origin: where the PDF came from, for documents and problems.
        limits: page, pixel and OCR-time limits.
        ocr: tesseract settings; ``ocr.dpi`` is the rendering resolution for OCR.
    """
    reading = Reading()
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        reading.problems.append(_open_problem(origin, str(exc)))
        return reading
    try:
        count = len(document)
        if count == 0:
            reading.problems.append(
                problem(PDF_CORRUPT, origin, "the PDF has no pages; ask the customer to resend it")
            )
            return reading
        if count > limits.max_pages:
            reading.problems.append(
                problem(
                    TOO_MANY_PAGES,
                    origin,
                    f"the PDF has {count} pages; only the first {limits.max_pages} were read "
                    "(limits.max_pages); raise limits.max_pages in intake.toml to read all",
                )
            )
            count = limits.max_pages
        pages = _read_pages(data, document, count, origin, limits, ocr, reading)
        embedded = embedded_files(document)
    finally:
        document.close()
    if any(p.text.strip() for p in pages):
        reading.drafts.append(Draft(origin=origin, media_type=PDF, pages=tuple(pages)))
    elif not reading.problems:
        where = (
            f"may be only in the embedded {', '.join(embedded)}" if embedded else "is not printed"
        )
        reading.problems.append(
            problem(
                NO_TEXT,
                origin,
                f"no text found in the PDF, not even by OCR (blank pages; the content {where}); "
                "ask the customer for a PDF with the order printed on its pages",
            )
        )
    for name in embedded:
        inner = Origin(kind="attachment", filename=name, path=(*origin.path, name))
        reading.problems.append(
            problem(
                UNSUPPORTED_ATTACHMENT,
                inner,
                "files embedded in a PDF (such as Order-X or ZUGFeRD XML) are not read yet; "
                "only the printed pages were read",
            )
        )
    return reading


def embedded_files(document: pdfium.PdfDocument) -> list[str]:
    """Names of files embedded in the PDF (hybrid Order-X/ZUGFeRD PDFs carry their XML)."""
    names: list[str] = []
    try:
        for index in range(document.count_attachments()):
            name = str(document.get_attachment(index).get_name()).strip()
            names.append(name.replace("/", " ").replace("\\", " ") or f"embedded-{index + 1}")
    except pdfium.PdfiumError:
        return names
    return names


def _open_problem(origin: Origin, error: str) -> Problem:
    if "password" in error.lower():
        return problem(
            PDF_ENCRYPTED,
            origin,
            "the PDF is password-protected and cannot be read; ask the customer for an "
            "unprotected PDF",
        )
    return problem(
        PDF_CORRUPT,
        origin,
        "the file is not a readable PDF (damaged, truncated or not a PDF at all); ask the "
        "customer to send it again",
    )


def _read_pages(
    data: bytes,
    document: pdfium.PdfDocument,
    count: int,
    origin: Origin,
    limits: Limits,
    ocr: OcrConfig,
    reading: Reading,
) -> list[PageText]:
    """Read the first ``count`` pages, from the text layer or by OCR."""
    layers = _text_layers(data, count)
    pages: list[PageText] = []
    ocr_possible = True
    for index in range(count):
        layer = layers[index] if index < len(layers) else None
        if layer is not None:
            pages.append(layer)
            continue
        if not ocr_possible:
            pages.append(PageText(text="", method="ocr"))
            continue
        try:
            image, dpi = render_page(document, index, ocr.dpi, limits.max_image_pixels)
            pages.append(
                ocr_page(
                    image, languages=ocr.languages, timeout=limits.ocr_seconds_per_page, dpi=dpi
                )
            )
        except OcrFailure as failure:
            reading.problems.append(
                problem(failure.code, origin, f"page {index + 1}: {failure.detail}")
            )
            ocr_possible = failure.code != OCR_UNAVAILABLE
            pages.append(PageText(text="", method="ocr"))
    return pages


def _text_layers(data: bytes, count: int) -> list[PageText | None]:
    """Usable text layers of the first pages (None where a page needs OCR).

    A text layer pdfminer cannot parse at all is treated as absent: pdfium opened the file,
    so its pages can still be rendered and OCR'd.
    """
    layers: list[PageText | None] = []
    try:
        with pdfplumber.open(io.BytesIO(data), pages=list(range(1, count + 1))) as pdf:
            for page in pdf.pages:
                layers.append(_layer(page))
                page.close()
    except Exception:  # pdfminer raises many exception types for damaged files
        return layers + [None] * (count - len(layers))
    return layers


def _layer(page: Any) -> PageText | None:
    """The page's text layer laid out in lines, or None when it is not worth using."""
    page = page.dedupe_chars()
    words = page.extract_words(keep_blank_chars=False, use_text_flow=False)
    boxes = []
    for word in words:
        text = clean_word(_CID.sub("", str(word["text"])))
        if text:
            boxes.append(Box(text, word["x0"], word["x1"], word["top"], word["bottom"]))
    text, _ = arrange(boxes)
    real = sum(1 for ch in text if ch.isalnum())
    if real < MIN_TEXT_CHARS or (
        real < STAMP_TEXT_CHARS and _image_coverage(page) >= IMAGE_COVERAGE
    ):
        return None
    return PageText(text=text, method="text", tables=_tables(page))


def _image_coverage(page: Any) -> float:
    """Share of the page area covered by images (overlaps counted twice, capped at 1)."""
    area = float(page.width) * float(page.height)
    if area <= 0:
        return 0.0
    covered = 0.0
    for image in page.images:
        x0, x1 = max(0.0, float(image["x0"])), min(float(page.width), float(image["x1"]))
        top, bottom = max(0.0, float(image["top"])), min(float(page.height), float(image["bottom"]))
        covered += max(0.0, x1 - x0) * max(0.0, bottom - top)
    return min(1.0, covered / area)


def _tables(page: Any) -> tuple[Rows, ...]:
    """Ruled tables on the page, with empty cells as None and cell text on one line."""
    tables: list[Rows] = []
    for table in page.extract_tables():
        rows = tuple(
            tuple(
                (" ".join(str(cell).split()) or None) if cell is not None else None for cell in row
            )
            for row in table
        )
        rows = tuple(row for row in rows if any(row))
        if rows:
            tables.append(rows)
    return tuple(tables)


def render_page(
    document: pdfium.PdfDocument, index: int, dpi: int, max_pixels: int
) -> tuple[Image.Image, int]:
    """Render a page in grey at ``dpi``, lowered when the page would exceed ``max_pixels``.

    A PDF page can be metres wide; rendering it at full resolution would exhaust memory.

    Returns:
        The image and the resolution it was actually rendered at.
    """
    page = document[index]
    try:
        width, height = page.get_size()
        scale = dpi / 72
        pixels = width * scale * height * scale
        if pixels > max_pixels:
            scale = math.sqrt(max_pixels / max(1.0, width * height))
        bitmap = page.render(scale=scale, grayscale=True)
        image: Image.Image = bitmap.to_pil()
        return image, max(1, round(scale * 72))
    finally:
        page.close()
