"""Image parts (PNG, JPEG, TIFF, GIF, BMP, WebP): checked, turned upright and OCR'd.

Photos and scans of orders arrive as images. The pixel count is checked from the header
before anything is decoded, so a small file claiming huge dimensions (a decompression bomb)
is refused without using the memory. Phone photos are turned by their EXIF orientation, and
every page of a multi-page TIFF (fax) is read, up to ``limits.max_pages``.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from intake.config import Limits, OcrConfig
from intake.documents.ocr import OcrFailure, ocr_page
from intake.documents.parts import Draft, PageText, Reading
from intake.documents.problems import (
    IMAGE_CORRUPT,
    IMAGE_TOO_LARGE,
    NO_TEXT,
    OCR_UNAVAILABLE,
    TOO_MANY_PAGES,
    problem,
)
from intake.documents.sniff import GIF
from intake.models import Origin, Problem

_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError)


def read_image(
    data: bytes, origin: Origin, media_type: str, limits: Limits, ocr: OcrConfig
) -> Reading:
    """OCR an image file, one page per frame (TIFF) or a single page (other formats).

    Args:
        data: the image bytes.
        origin: where the image came from, for documents and problems.
        media_type: the sniffed type, e.g. ``image/png``.
        limits: pixel, page and time limits.
        ocr: tesseract settings.
    """
    reading = Reading()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        reading.problems.append(_too_large_text(origin, str(exc), limits))
        return reading
    except _DECODE_ERRORS as exc:
        reading.problems.append(_corrupt(origin, exc))
        return reading
    with image:
        frames = 1 if media_type == GIF else max(1, int(getattr(image, "n_frames", 1)))
        if frames > limits.max_pages:
            reading.problems.append(
                problem(
                    TOO_MANY_PAGES,
                    origin,
                    f"the image has {frames} pages; only the first {limits.max_pages} were "
                    "read (limits.max_pages); raise limits.max_pages in intake.toml to read all",
                )
            )
            frames = limits.max_pages
        pages = _read_frames(image, frames, origin, limits, ocr, reading.problems)
    if pages and any(p.text.strip() for p in pages):
        reading.drafts.append(Draft(origin=origin, media_type=media_type, pages=tuple(pages)))
    elif pages and all(p.code == TOO_MANY_PAGES for p in reading.problems):
        reading.problems.append(
            problem(
                NO_TEXT,
                origin,
                "OCR found no text in the image (blank or unreadable); ask the customer "
                "for a sharper scan or a PDF",
            )
        )
    return reading


def _read_frames(
    image: Image.Image,
    frames: int,
    origin: Origin,
    limits: Limits,
    ocr: OcrConfig,
    problems: list[Problem],
) -> list[PageText]:
    pages: list[PageText] = []
    for index in range(frames):
        label = f"page {index + 1}: " if frames > 1 else ""
        try:
            image.seek(index)
            width, height = image.size
            if width * height > limits.max_image_pixels:
                problems.append(_too_large(origin, label, width, height, limits))
                return pages
            frame = prepare(image)
        except _DECODE_ERRORS as exc:
            problems.append(_corrupt(origin, exc, label))
            return pages
        try:
            pages.append(
                ocr_page(
                    frame,
                    languages=ocr.languages,
                    timeout=limits.ocr_seconds_per_page,
                    dpi=_dpi(image),
                )
            )
        except OcrFailure as failure:
            problems.append(problem(failure.code, origin, label + failure.detail))
            if failure.code == OCR_UNAVAILABLE:
                return []
            pages.append(PageText(text="", method="ocr"))
    return pages


def prepare(image: Image.Image) -> Image.Image:
    """Decode the current frame, apply EXIF orientation and flatten it onto white, grey.

    Transparent pixels become white rather than black, so dark text on a transparent
    background stays readable; 16-bit greys are scaled rather than clipped.
    """
    frame = ImageOps.exif_transpose(image) or image.copy()
    if frame.mode in ("I;16", "I;16B", "I;16L", "I"):
        frame = frame.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if frame.mode in ("RGBA", "LA", "PA") or (frame.mode == "P" and "transparency" in frame.info):
        rgba = frame.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        frame = Image.alpha_composite(background, rgba)
    return frame.convert("L")


def _dpi(image: Image.Image) -> int | None:
    """The image's resolution when it states a plausible one."""
    dpi = image.info.get("dpi")
    if isinstance(dpi, tuple) and dpi:
        try:
            value = round(float(dpi[0]))
        except (TypeError, ValueError):
            return None
        return value if 70 <= value <= 1200 else None
    return None


def _too_large(origin: Origin, label: str, width: int, height: int, limits: Limits) -> Problem:
    megapixels = width * height / 1e6
    return problem(
        IMAGE_TOO_LARGE,
        origin,
        f"{label}the image is {width}x{height} pixels ({megapixels:.0f} megapixels), over "
        f"limits.max_image_pixels ({limits.max_image_pixels / 1e6:.0f} megapixels); it was "
        "not decoded. Ask the customer for a smaller scan, or raise limits.max_image_pixels "
        "in intake.toml if the file is trusted",
    )


def _too_large_text(origin: Origin, detail: str, limits: Limits) -> Problem:
    return problem(
        IMAGE_TOO_LARGE,
        origin,
        f"the image is far too large to decode safely ({detail}); it was not decoded. Ask "
        "the customer for a smaller scan (limits.max_image_pixels is "
        f"{limits.max_image_pixels / 1e6:.0f} megapixels)",
    )


def _corrupt(origin: Origin, exc: BaseException, label: str = "") -> Problem:
    return problem(
        IMAGE_CORRUPT,
        origin,
        f"{label}the image cannot be decoded ({exc}); it is damaged or truncated. Ask the "
        "customer to send it again",
    )
