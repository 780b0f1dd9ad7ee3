"""The original pages for the review screen: rendered images and where each value was read.

Everything comes from the message's raw bytes in the store — never from a path on disk — so
the UI cannot be made to serve any other file. A PDF page is rendered with pdfium; an image
(or one frame of a multi-page TIFF) is scaled down. A value's evidence is located on the page
as boxes in fractions of the page size: for a PDF text layer by searching the evidence text
with pdfium, for OCR'd pages from the OCR words' boxes. Documents without pages to show
(email bodies, spreadsheets, XML) are shown as their text, highlighted in the browser.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

import pypdfium2 as pdfium
from PIL import Image, ImageSequence

from intake.documents.mime import _collect, _name, _Parts, _payload, parse_email
from intake.models import Document, Evidence, Message

log = logging.getLogger(__name__)

MAX_WIDTH = 1400
"""Rendered pages are at most this many pixels wide: sharp on a screen, small to send."""
MAX_PIXELS = 12_000_000

Box = tuple[float, float, float, float]
"""x0, y0, x1, y1 as fractions of the page's width and height, origin top left."""


@dataclass(frozen=True)
class Source:
    """The bytes a document was read from, and what kind of file they are."""

    data: bytes
    kind: str  # "pdf" or "image"


def source_of(message: Message, document: Document) -> Source | None:
    """The original file behind ``document`` when it has pages to show, else None.

    Only files straight in the message (a dropped file, or an attachment of the email itself)
    are shown as pages; text found deeper (inside a zip or a forwarded mail) is shown as text.
    """
    kind = _page_kind(document.media_type)
    if kind is None:
        return None
    origin = document.origin
    if origin.kind == "file" and message.kind == "file":
        return Source(message.raw, kind)
    if origin.kind != "attachment" or message.kind != "email" or len(origin.path) != 1:
        return None
    parts = _Parts()
    _collect(parse_email(message.raw), parts, want_body=True)
    for number, leaf in enumerate(parts.leaves, start=1):
        if _name(leaf, number) == origin.path[0]:
            return Source(_payload(leaf), kind)
    return None


def _page_kind(media_type: str) -> str | None:
    if media_type == "application/pdf":
        return "pdf"
    if media_type.startswith("image/"):
        return "image"
    return None


def render_page(source: Source, number: int) -> bytes:
    """Page ``number`` (1-based) as a PNG at most MAX_WIDTH wide; ValueError if no such page."""
    if source.kind == "pdf":
        document = pdfium.PdfDocument(source.data)
        try:
            if not 1 <= number <= len(document):
                raise ValueError(f"the PDF has no page {number}")
            page = document[number - 1]
            try:
                width, height = page.get_size()
                scale = min(MAX_WIDTH / max(width, 1.0), 3.0)
                if width * height * scale * scale > MAX_PIXELS:
                    scale = (MAX_PIXELS / max(width * height, 1.0)) ** 0.5
                image = page.render(scale=scale).to_pil()
            finally:
                page.close()
        finally:
            document.close()
    else:
        image = _frame(source.data, number)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def _frame(data: bytes, number: int) -> Image.Image:
    with Image.open(io.BytesIO(data)) as opened:
        if opened.width * opened.height > 200_000_000:
            raise ValueError("the image is too large to show")
        for index, frame in enumerate(ImageSequence.Iterator(opened), start=1):
            if index == number:
                image = frame.convert("RGB")
                image.thumbnail((MAX_WIDTH, MAX_WIDTH * 4))
                return image
    raise ValueError(f"the image has no page {number}")


def page_count(source: Source) -> int:
    """How many pages (PDF) or frames (image) the file has."""
    if source.kind == "pdf":
        document = pdfium.PdfDocument(source.data)
        try:
            return len(document)
        finally:
            document.close()
    with Image.open(io.BytesIO(source.data)) as opened:
        return int(getattr(opened, "n_frames", 1))


def evidence_boxes(source: Source | None, document: Document, evidence: Evidence) -> list[Box]:
    """Where on its page ``evidence`` was read, as boxes; empty when it cannot be placed."""
    page = evidence.page or document.page_at(evidence.start)
    if page is None:
        return []
    words = [
        w
        for w in document.words
        if w.page == page
        and w.bbox is not None
        and w.start < evidence.end
        and w.end > evidence.start
    ]
    if words:
        return [w.bbox for w in words if w.bbox is not None]
    if source is None or source.kind != "pdf":
        return []
    try:
        return _pdf_boxes(source.data, page, evidence.text)
    except pdfium.PdfiumError as exc:
        log.debug("cannot place evidence %r on page %d: %s", evidence.text, page, exc)
        return []


def _pdf_boxes(data: bytes, number: int, text: str) -> list[Box]:
    needles = [text.strip(), *text.split()[:1]]
    document = pdfium.PdfDocument(data)
    try:
        if not 1 <= number <= len(document):
            return []
        page = document[number - 1]
        width, height = page.get_size()
        textpage = page.get_textpage()
        try:
            for needle in needles:
                if not needle:
                    continue
                searcher = textpage.search(needle, match_case=False)
                found = searcher.get_next()
                if not found:
                    continue
                index, count = found
                boxes = []
                for i in range(textpage.count_rects(index, count)):
                    left, bottom, right, top = textpage.get_rect(i)
                    boxes.append(
                        (
                            max(0.0, left / width),
                            max(0.0, (height - top) / height),
                            min(1.0, right / width),
                            min(1.0, (height - bottom) / height),
                        )
                    )
                return boxes
        finally:
            textpage.close()
            page.close()
    finally:
        document.close()
    return []
