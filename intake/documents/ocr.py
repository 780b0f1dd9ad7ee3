"""OCR of one page image with tesseract, keeping per-word confidence.

Scans and photos of orders carry no text layer, so their text comes from tesseract. The words
keep tesseract's confidence (0..1) and their boxes, so later stages can tell a confidently
read quantity from a guessed one and show reviewers where a value sits on the page.

Nearly every page arrives upright, so a page is read as it is first. Only when that reading is
poor (low mean confidence or no words) does tesseract's orientation detection run; when it is
sure the page is upside down or sideways, the turned page is read again and the better reading
kept. Detection costs about as much as reading a page, so running it on every page would
nearly double the time of OCR; on sparse pages it fails and the first reading stands.

Tesseract gets the page as an uncompressed greyscale file: pytesseract would otherwise write a
PNG for every call, and compressing a 300-dpi page costs a noticeable share of reading it.

Tesseract's page layout analysis is weakest on what matters most in an order: a lone quantity
in a table cell (``50`` read as ``eo``, ``15`` as ``1522`` with the cell rule) and codes such as
``E-COM08`` (read ``E-COMO8``). Read alone, as one text line, such a word usually comes out
right. So the words of the first reading that are doubtful and could hold a number or a code
(low confidence; a digit, or three characters at most) are cut out, stacked on one sheet and
read once more in a single tesseract run; a second reading replaces the first only when
tesseract is more confident of it. One extra run on a small sheet costs a fraction of the page.

Boxes are fractions of the page width and height (x0, top, x1, bottom), so they fit the page
at any rendering scale.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median
from typing import Any

import pytesseract
from PIL import Image

from intake.documents.layout import Box, arrange
from intake.documents.parts import PageText, PageWord, clean_word
from intake.documents.problems import OCR_FAILED, OCR_TIMEOUT, OCR_UNAVAILABLE

BLANK_CONTRAST = 12
"""Pages whose grey levels span less than this are blank; tesseract is not even started."""
MIN_ROTATION_CONFIDENCE = 1.5
"""Orientation confidence tesseract must report before a page is turned."""
UPRIGHT_CONFIDENCE = 0.6
"""A first reading at least this confident (mean word confidence) is taken as upright."""
MAX_SKEW = 0.1
"""Largest tilt (about 6 degrees) that levelling words corrects; more is not a scan tilt."""
OSD_MAX_SIDE = 2000
"""Orientation detection runs on a copy no larger than this, which is plenty and faster."""
DOUBTFUL_CONFIDENCE = 50.0
"""Words tesseract is less sure of than this (0..100) are read a second time, cut out alone."""
DOUBTFUL_MAX_WORDS = 40
"""At most this many words per page are read again (the least confident first)."""
_DIGIT = re.compile(r"\d")
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")


class OcrFailure(Exception):
    """OCR of a page did not finish; ``code`` is a problem code, ``detail`` says what to do."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def ocr_page(
    image: Image.Image, *, languages: str, timeout: float, dpi: int | None = None
) -> PageText:
    """Read one page image with tesseract.

    Args:
        image: the page, any PIL mode.
        languages: tesseract languages such as ``eng`` or ``deu+eng``.
        timeout: seconds allowed for the whole page (orientation detection included).
        dpi: the image's resolution when known, which helps tesseract size the text.

    Returns:
        The page text laid out in lines, its words with confidences and the mean confidence
        (None when the page has no words).

    Raises:
        OcrFailure: tesseract is missing, timed out or failed.
    """
    deadline = time.monotonic() + timeout
    gray = image if image.mode == "L" else image.convert("L")
    low, high = _extrema(gray)
    if high - low < BLANK_CONTRAST:
        return PageText(text="", method="ocr")
    config = "--psm 3" + (f" --dpi {dpi}" if dpi else "")
    with tempfile.TemporaryDirectory(prefix="intake-ocr-") as folder:
        page = _read(gray, Path(folder), config, languages, timeout, deadline)
        if page.confidence is not None and page.confidence >= UPRIGHT_CONFIDENCE:
            return page
        try:
            turned = _turned(gray, Path(folder), deadline, timeout)
            if turned is None:
                return page
            again = _read(turned, Path(folder), config, languages, timeout, deadline)
        except OcrFailure:
            return page  # out of time (or tesseract failed) on the second try: keep the first
    return again if (again.confidence or 0.0) > (page.confidence or 0.0) else page


def _read(
    gray: Image.Image, folder: Path, config: str, languages: str, timeout: float, deadline: float
) -> PageText:
    """One tesseract reading of the page as it is (layout analysis psm 3, words with boxes).

    Its doubtful number- and code-like words are then read once more on their own; when that
    second run fails or runs out of time, the first reading stands.
    """
    data = _run(
        pytesseract.image_to_data,
        _as_file(gray, folder, "page.pgm"),
        timeout=timeout,
        deadline=deadline,
        languages=languages,
        lang=languages,
        config=config,
        output_type=pytesseract.Output.DICT,
    )
    with contextlib.suppress(OcrFailure):
        _reread_doubtful(gray, data, folder, config, languages, timeout, deadline)
    return _page_from_data(data, gray.size)


def _doubtful(data: dict[str, list[Any]]) -> list[int]:
    """Indexes of the words worth a second reading, least confident first."""
    found: list[tuple[float, int]] = []
    for i, raw in enumerate(data.get("text", [])):
        text = str(raw).strip()
        conf = float(data["conf"][i])
        if not text or not 0 <= conf < DOUBTFUL_CONFIDENCE:
            continue
        if not _LETTER_OR_DIGIT.search(text):
            continue  # a rule or a stray mark: nothing to gain
        if _DIGIT.search(text) or len(text) <= 3:
            found.append((conf, i))
    return [i for _, i in sorted(found)[:DOUBTFUL_MAX_WORDS]]


def _reread_doubtful(
    gray: Image.Image,
    data: dict[str, list[Any]],
    folder: Path,
    config: str,
    languages: str,
    timeout: float,
    deadline: float,
) -> None:
    """Read doubtful words again, each alone on a line of one sheet; keep surer readings.

    Each word is cut out with a margin of a third of its height and pasted left-aligned under
    the previous one with a blank line between, so tesseract (psm 6, one block of lines) sees
    one short line per word and no table rules beside it. ``data`` is updated in place.
    """
    chosen = _doubtful(data)
    if not chosen:
        return
    crops: list[Image.Image] = []
    for i in chosen:
        left, top = int(data["left"][i]), int(data["top"][i])
        width, height = int(data["width"][i]), int(data["height"][i])
        pad = max(4, height // 3)
        crops.append(
            gray.crop(
                (
                    max(0, left - pad),
                    max(0, top - pad),
                    min(gray.width, left + width + pad),
                    min(gray.height, top + height + pad),
                )
            )
        )
    gap = max(c.height for c in crops)
    sheet = Image.new(
        "L", (max(c.width for c in crops) + 2 * gap, gap + sum(c.height + gap for c in crops)), 255
    )
    rows: list[tuple[int, int]] = []
    y = gap
    for crop in crops:
        sheet.paste(crop, (gap, y))
        rows.append((y, y + crop.height))
        y += crop.height + gap
    sheet_config = config.replace("--psm 3", "--psm 6")
    again = _run(
        pytesseract.image_to_data,
        _as_file(sheet, folder, "doubtful.pgm"),
        timeout=timeout,
        deadline=deadline,
        languages=languages,
        lang=languages,
        config=sheet_config,
        output_type=pytesseract.Output.DICT,
    )
    pieces: list[list[tuple[int, str, float]]] = [[] for _ in chosen]
    for j, raw in enumerate(again.get("text", [])):
        text = str(raw).strip()
        conf = float(again["conf"][j])
        if not text or conf < 0:
            continue
        middle = int(again["top"][j]) + int(again["height"][j]) / 2
        for k, (start, end) in enumerate(rows):
            if start <= middle <= end:
                pieces[k].append((int(again["left"][j]), text, conf))
                break
    for k, i in enumerate(chosen):
        if not pieces[k]:
            continue
        parts = sorted(pieces[k])
        text = "".join(part for _, part, _ in parts)
        conf = min(c for _, _, c in parts)
        if conf > float(data["conf"][i]) and text != str(data["text"][i]).strip():
            data["text"][i] = text
            data["conf"][i] = conf


def _as_file(gray: Image.Image, folder: Path, name: str) -> str:
    """Write the page as an uncompressed greyscale file (PGM) for tesseract; return its path."""
    path = folder / name
    gray.save(path, format="PPM")
    return str(path)


def _extrema(gray: Image.Image) -> tuple[float, float]:
    ext = gray.getextrema()
    low, high = ext[0], ext[1]
    if isinstance(low, tuple) or isinstance(high, tuple):  # pragma: no cover - "L" is 1 band
        return 0.0, 255.0
    return float(low), float(high)


def _turned(gray: Image.Image, folder: Path, deadline: float, timeout: float) -> Image.Image | None:
    """The page turned upright when orientation detection is confident it is not; else None."""
    probe = gray
    if max(gray.size) > OSD_MAX_SIDE:
        probe = gray.copy()
        probe.thumbnail((OSD_MAX_SIDE, OSD_MAX_SIDE))
    try:
        osd = _run(
            pytesseract.image_to_osd,
            _as_file(probe, folder, "probe.pgm"),
            timeout=timeout,
            deadline=deadline,
            languages="osd",
            config="--psm 0",
            output_type=pytesseract.Output.DICT,
        )
    except OcrFailure as failure:
        if failure.code == OCR_FAILED or (
            failure.code == OCR_UNAVAILABLE and "'osd'" in failure.detail
        ):
            return None  # too few characters to tell, or no osd data: read as it is
        raise
    rotate = int(osd.get("rotate", 0) or 0)
    confidence = float(osd.get("orientation_conf", 0) or 0)
    if rotate % 360 and confidence >= MIN_ROTATION_CONFIDENCE:
        return gray.rotate(-rotate, expand=True, fillcolor=255)
    return None


def _run(
    func: Callable[..., Any],
    image: Image.Image | str,
    *,
    timeout: float,
    deadline: float,
    languages: str,
    **kwargs: Any,
) -> Any:
    """Call a pytesseract function and turn its errors into ``OcrFailure``."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise OcrFailure(OCR_TIMEOUT, _timeout_text(timeout))
    try:
        return func(image, timeout=remaining, **kwargs)
    except pytesseract.TesseractNotFoundError as exc:
        raise OcrFailure(
            OCR_UNAVAILABLE,
            "OCR is needed but the tesseract program is not installed; install it "
            "(apt-get install tesseract-ocr) and process the message again",
        ) from exc
    except pytesseract.TesseractError as exc:
        text = str(exc)
        if "Failed loading language" in text or "Error opening data file" in text:
            raise OcrFailure(
                OCR_UNAVAILABLE,
                f"tesseract has no data for language '{languages}'; install it (e.g. "
                "apt-get install tesseract-ocr-deu for German) or fix ocr.languages in "
                "intake.toml",
            ) from exc
        raise OcrFailure(OCR_FAILED, f"tesseract failed ({text.strip()[:200]})") from exc
    except RuntimeError as exc:
        if "timeout" in str(exc).lower():
            raise OcrFailure(OCR_TIMEOUT, _timeout_text(timeout)) from exc
        raise OcrFailure(OCR_FAILED, f"tesseract failed ({exc})") from exc


def _timeout_text(timeout: float) -> str:
    return (
        f"OCR took longer than {timeout:g} s and was stopped; raise "
        "limits.ocr_seconds_per_page in intake.toml, or ask the customer for a text PDF"
    )


def _page_from_data(data: dict[str, list[Any]], size: tuple[int, int]) -> PageText:
    """Build the page text and words from ``image_to_data`` output."""
    width, height = (max(1, size[0]), max(1, size[1]))
    boxes: list[Box] = []
    confidences: list[float] = []
    lines: list[tuple[Any, ...]] = []
    for i, raw in enumerate(data.get("text", [])):
        text = clean_word(str(raw))
        conf = float(data["conf"][i])
        if not text or conf < 0:
            continue
        left, top = float(data["left"][i]), float(data["top"][i])
        boxes.append(
            Box(text, left, left + float(data["width"][i]), top, top + float(data["height"][i]))
        )
        confidences.append(min(1.0, max(0.0, conf / 100)))
        lines.append((data["block_num"][i], data["par_num"][i], data["line_num"][i]))
    slope = _skew(boxes, lines)
    level = [Box(b.text, b.x0, b.x1, b.top - slope * b.x0, b.bottom - slope * b.x0) for b in boxes]
    text, spans = arrange(level)
    words = tuple(
        PageWord(
            text=box.text,
            start=start,
            end=end,
            confidence=conf,
            bbox=(box.x0 / width, box.top / height, box.x1 / width, box.bottom / height),
        )
        for box, conf, (start, end) in zip(boxes, confidences, spans, strict=True)
    )
    mean = sum(confidences) / len(confidences) if confidences else None
    return PageText(text=text, method="ocr", confidence=mean, words=words)


def _skew(boxes: list[Box], lines: list[tuple[Any, ...]]) -> float:
    """The page's slope (dy/dx) from the lines tesseract found, 0 when unclear.

    Scans are rarely straight; a one-degree tilt moves the right end of a row by half a line,
    which would split table rows. Word boxes are levelled by this slope before laying out.
    """
    by_line: dict[tuple[Any, ...], list[Box]] = {}
    for box, line in zip(boxes, lines, strict=True):
        by_line.setdefault(line, []).append(box)
    slopes: list[float] = []
    for words in by_line.values():
        if len(words) < 2:
            continue
        first, last = min(words, key=lambda b: b.x0), max(words, key=lambda b: b.x0)
        if last.x0 - first.x0 > 4 * max(1.0, first.bottom - first.top):
            slopes.append((last.middle - first.middle) / (last.x0 - first.x0))
    if len(slopes) < 3:
        return 0.0
    return max(-MAX_SKEW, min(MAX_SKEW, median(slopes)))
