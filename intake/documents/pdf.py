"""PDF parts: the text layer where it is usable, OCR of the rendered page where it is not.

Most order PDFs are generated and carry a good text layer; its words are laid out in lines
that keep the columns apart, and ruled tables are read as tables. Scanned pages (or pages
whose text layer is only a fax header or scanner stamp on top of a page image) are rendered
with pdfium and OCR'd page by page. Files embedded in the PDF (the XML of a Factur-X or
Order-X PDF) are read as parts of their own. Encrypted, damaged and oversized PDFs become
problems.
"""

from __future__ import annotations

import io
import itertools
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import pdfplumber
import pypdfium2 as pdfium
from pdfplumber.utils.clustering import cluster_objects
from PIL import Image

from intake.config import Limits, OcrConfig
from intake.documents.layout import Box, arrange
from intake.documents.ocr import OcrFailure, ocr_page
from intake.documents.parts import Draft, PageText, Reading, Rows, clean_word
from intake.documents.problems import (
    ATTACHMENT_TOO_LARGE,
    NESTING_TOO_DEEP,
    NO_TEXT,
    OCR_UNAVAILABLE,
    PDF_CORRUPT,
    PDF_ENCRYPTED,
    TOO_MANY_PAGES,
    problem,
    size_text,
)
from intake.documents.sniff import PDF
from intake.models import Origin, Problem

log = logging.getLogger(__name__)

MIN_TEXT_CHARS = 20
"""A page with fewer letters and digits than this in its text layer is OCR'd."""
STAMP_TEXT_CHARS = 200
"""A page mostly covered by an image is OCR'd when its text layer is shorter than this."""
IMAGE_COVERAGE = 0.5
"""Share of the page an image must cover for the page to count as a scan."""

_CID = re.compile(r"\(cid:\d+\)")


EmbeddedReader = Callable[[bytes, Origin], Reading]
"""Reads a file embedded in a PDF: ``(data, origin) -> Reading`` (the dispatcher's reader)."""


def read_pdf(
    data: bytes,
    origin: Origin,
    limits: Limits,
    ocr: OcrConfig,
    *,
    read_embedded: EmbeddedReader | None = None,
) -> Reading:
    """Read a PDF into one document, page by page, then the files embedded in it.

    Hybrid PDFs (Factur-X, ZUGFeRD, Order-X) carry the order as an embedded XML file; each
    embedded file is read as a part of its own, named ``pdf name/embedded name``, after the
    pages.

    Args:
        data: the PDF bytes.
        origin: where the PDF came from, for documents and problems.
        limits: page, pixel and OCR-time limits.
        ocr: tesseract settings; ``ocr.dpi`` is the rendering resolution for OCR.
        read_embedded: reads one embedded file; None when the PDF already sits as deep in
            containers as ``limits.max_zip_depth`` allows, so embedded files are not opened.
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
        embedded = embedded_files(document, limits.max_attachment_bytes)
    finally:
        document.close()
    inner = _read_embedded(embedded, origin, limits, read_embedded)
    if any(p.text.strip() for p in pages):
        reading.drafts.append(Draft(origin=origin, media_type=PDF, pages=tuple(pages)))
    elif inner.drafts:
        log.info("%s: no printed text; its embedded files were read", origin.describe())
    elif not reading.problems:
        names = [e.name for e in embedded]
        where = f"may be only in the embedded {', '.join(names)}" if names else "is not printed"
        reading.problems.append(
            problem(
                NO_TEXT,
                origin,
                f"no text found in the PDF, not even by OCR (blank pages; the content {where}); "
                "ask the customer for a PDF with the order printed on its pages",
            )
        )
    reading.extend(inner)
    return reading


@dataclass(frozen=True)
class Embedded:
    """A file embedded in a PDF: its name, and its bytes unless it was too large to take."""

    name: str
    data: bytes | None
    size: int


def embedded_files(document: pdfium.PdfDocument, max_bytes: int) -> list[Embedded]:
    """The files embedded in the PDF (hybrid Order-X/ZUGFeRD PDFs carry their XML).

    Args:
        document: the open PDF.
        max_bytes: a file larger than this is named but its bytes are not kept.
    """
    found: list[Embedded] = []
    try:
        for index in range(document.count_attachments()):
            attachment = document.get_attachment(index)
            name = str(attachment.get_name()).strip()
            name = name.replace("/", " ").replace("\\", " ") or f"embedded-{index + 1}"
            try:
                data = bytes(attachment.get_data())
            except pdfium.PdfiumError:
                data = b""
            found.append(Embedded(name, data if len(data) <= max_bytes else None, len(data)))
    except pdfium.PdfiumError:
        return found
    return found


def _read_embedded(
    embedded: list[Embedded],
    origin: Origin,
    limits: Limits,
    read_embedded: EmbeddedReader | None,
) -> Reading:
    """Read each embedded file as a part of its own, or say why it was not read."""
    reading = Reading()
    for item in embedded:
        inner = Origin(kind="attachment", filename=item.name, path=(*origin.path, item.name))
        if read_embedded is None:
            reading.problems.append(
                problem(
                    NESTING_TOO_DEEP,
                    inner,
                    "the PDF holding this embedded file already sits inside "
                    f"{limits.max_zip_depth} archive(s) (limits.max_zip_depth), so the file "
                    "was not opened; only the printed pages were read",
                )
            )
        elif item.data is None:
            reading.problems.append(
                problem(
                    ATTACHMENT_TOO_LARGE,
                    inner,
                    f"the embedded file is {size_text(item.size)}, over "
                    f"limits.max_attachment_bytes ({size_text(limits.max_attachment_bytes)}); "
                    "it was not read, only the printed pages were",
                )
            )
        elif item.data:
            reading.extend(read_embedded(item.data, inner))
        else:
            log.info("%s: empty or unreadable embedded file skipped", inner.describe())
    return reading


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
    page = _deduped(page)
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


def _deduped(page: Any) -> Any:
    """The page without duplicated characters (text printed twice to look bold).

    The rule is pdfplumber's ``Page.dedupe_chars`` (same text, font and size within one point
    of each other); that method puts its result back in order with ``list.index``, which is
    quadratic and cost more than parsing the page. Most pages have no character printed twice:
    they are recognised in one pass over a grid of one-point cells and returned as they are.
    """
    chars = page.chars
    if not _has_close_twins(chars):
        return page
    key = itemgetter("upright", "text", "fontname", "size")
    kept: set[int] = set()
    for _, same in itertools.groupby(sorted(chars, key=key), key=key):
        for row in cluster_objects(list(same), itemgetter("doctop"), 1):
            for cluster in cluster_objects(row, itemgetter("x0"), 1):
                kept.add(id(min(cluster, key=itemgetter("doctop", "x0"))))
    return page.filter(lambda obj: obj.get("object_type") != "char" or id(obj) in kept)


def _has_close_twins(chars: list[dict[str, Any]]) -> bool:
    """True when two characters with the same text, font and size lie within one point.

    Each character goes into a cell of one point square, keyed by an integer (character kind,
    row, column) so that looking at the nine neighbouring cells allocates nothing.
    """
    kinds: dict[tuple[Any, ...], int] = {}
    cells: dict[int, list[tuple[float, float]]] = {}
    row_step, offset = 1 << 21, 1 << 20
    for char in chars:
        top, x0 = float(char["doctop"]), float(char["x0"])
        kind = kinds.setdefault(
            (char["upright"], char["text"], char["fontname"], char["size"]), len(kinds)
        )
        cell = (kind << 42) + (math.floor(top) + offset) * row_step + math.floor(x0) + offset
        for near in (cell - row_step, cell, cell + row_step):
            for other in (near - 1, near, near + 1):
                for other_top, other_x0 in cells.get(other, ()):
                    if abs(other_top - top) <= 1 and abs(other_x0 - x0) <= 1:
                        return True
        cells.setdefault(cell, []).append((top, x0))
    return False


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
