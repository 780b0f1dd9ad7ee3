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

Tesseract's recognizer reads grey pixels, and on copier scans it reads background mottle and
JPEG ringing as strokes, so page-sized images are binarized first (Otsu's threshold). Tesseract
writes hOCR with a box per character; the boxes repair what it gets wrong most in order codes:
an ``O`` for a ``0`` (a narrow or squeezed O beside digits), a code split at a narrow gap
(``FU RN_8900``), a quantity glued to its unit (``25EA``).

Boxes are fractions of the page width and height (x0, top, x1, bottom), so they fit the page
at any rendering scale.
"""

from __future__ import annotations

import contextlib
import html
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
BINARIZE_MIN_SIDE = 2900
"""Pages at least this long (pixels) are binarized before reading: about 250 dpi and up."""
DOUBTFUL_CONFIDENCE = 50.0
"""Words tesseract is less sure of than this (0..100) are read a second time, cut out alone."""
DOUBTFUL_MAX_WORDS = 40
"""At most this many words per page are read again (the least confident first)."""
NARROW_O = 0.85
"""An ``O`` in a code at most this share of the code's other capitals' width is a digit 0."""
COVERED_GLYPH = 0.6
"""An O in a code whose box lies at least this much inside its neighbours' is not a letter."""
JOIN_GAP = 0.25
"""Words of one line closer than this share of their height are one code split in two."""
JOIN_GAP_AFTER_JOINER = 0.5
"""The same when the first word ends in ``_`` or ``-`` (``FURN_ 5555``), which no code does."""
JOIN_GAP_DIGITS = 0.42
"""The same for a code ending in a digit and a number (``E-COM1 3``). A printed word space
(about a quarter of the font size, plus the glyphs' side bearings) is wider than this share
of the digits' height; tesseract's false spaces in codes, often beside a ``1``, are narrower."""
COUNT_UNITS = frozenset(
    [
        "ea",
        "each",
        "pc",
        "pcs",
        "pce",
        "pces",
        "pz",
        "stk",
        "st",
        "stck",
        "ud",
        "uds",
        "un",
        "unit",
        "units",
        "nos",
        "ct",
        "ctn",
        "kg",
        "kgs",
    ]
)
"""Units that a quantity may be glued to (``25EA``); such a word is split into two."""
_DIGIT = re.compile(r"\d")
_OPEN_CODE = re.compile(r"[A-Z][A-Z\d]*(?:[_\-][A-Z\d]+)*[_\-]")
_CODE = re.compile(r"(?=.*[A-Z])(?=.*\d)[A-Z\d_\-./]+")
_GLUED_UNIT = re.compile(r"(\d+(?:[.,]\d+)*)([^\W\d_]{1,5}[.:]?)")
_LINE_KEYS = ("block_num", "par_num", "line_num")
_HOCR_ELEMENT = re.compile(
    r"<(?:div|p|span) class='(ocr_carea|ocr_par|ocr_line|ocr_header|ocr_caption|ocr_textfloat"
    r"|ocrx_word|ocrx_cinfo)'[^>]*?title=['\"]([^'\"]*)['\"][^>]*>([^<]*)"
)
_BBOX = re.compile(r"(?:bbox|x_bboxes) (-?\d+) (-?\d+) (-?\d+) (-?\d+)")
_CONF = re.compile(r"(?:x_wconf|x_conf) (-?[\d.]+)")
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

    Tesseract gets the page binarized (``_binarized``). Its doubtful number- and code-like
    words are then read once more on their own; when that second run fails or runs out of
    time, the first reading stands.
    """
    clean = _binarized(gray)
    data = _recognise(clean, folder, "page.pgm", config, languages, timeout, deadline)
    with contextlib.suppress(OcrFailure):
        _reread_doubtful(clean, data, folder, config, languages, timeout, deadline)
    return _page_from_data(data, gray.size)


def _binarized(gray: Image.Image) -> Image.Image:
    """The page in black and white at Otsu's threshold (from the grey-level histogram).

    Tesseract's layout analysis binarizes the page itself, but its LSTM recognizer reads the
    grey pixels; on copier scans their background mottle, speckles and JPEG ringing are read as
    strokes (``E-COM08`` as ``E-COMO8``, ``25 Stk`` as ``ZOmSts``). Clean black-on-white glyphs
    read better: on the 300-dpi scans of the corpus, 146 of 163 labeled lines against 139. It
    costs one histogram and one table lookup, about 1 % of reading the page. Smaller images
    (under ``BINARIZE_MIN_SIDE``: 200-dpi scans and faxes, screenshots, most photos) keep their
    grey levels: their strokes are only a few pixels wide and the grey edges carry the shapes
    (binarized, a 168-dpi form read ``10.00`` as ``16.00``, and the 200-dpi scans of the corpus
    read one labeled line fewer).
    """
    if max(gray.size) < BINARIZE_MIN_SIDE:
        return gray
    histogram = gray.histogram()
    total = sum(histogram)
    weighted = sum(level * count for level, count in enumerate(histogram))
    below = below_sum = 0.0
    best, threshold = -1.0, 127
    for level, count in enumerate(histogram):
        below += count
        if not below:
            continue
        above = total - below
        if not above:
            break
        below_sum += level * count
        spread = below * above * (below_sum / below - (weighted - below_sum) / above) ** 2
        if spread > best:
            best, threshold = spread, level
    return gray.point([0 if level <= threshold else 255 for level in range(256)])


def _recognise(
    image: Image.Image,
    folder: Path,
    name: str,
    config: str,
    languages: str,
    timeout: float,
    deadline: float,
) -> dict[str, list[Any]]:
    """Run tesseract on an image; its words as ``image_to_data`` columns, codes corrected.

    Tesseract writes hOCR with a box for every character (no slower than its TSV), so that
    ``_correct_codes`` can tell a phantom or a narrow ``O`` from a letter, and ``_page_from_data``
    can split a quantity glued to its unit where the characters meet.
    """
    raw = _run(
        pytesseract.image_to_pdf_or_hocr,
        _as_file(image, folder, name),
        timeout=timeout,
        deadline=deadline,
        languages=languages,
        lang=languages,
        config=config + " -c hocr_char_boxes=1",
        extension="hocr",
    )
    data = _data_from_hocr(raw.decode("utf-8", "replace"))
    _correct_codes(data)
    return data


def _data_from_hocr(text: str) -> dict[str, list[Any]]:
    """``image_to_data``-style columns (plus ``chars``: character, x0, x1) from tesseract hOCR."""
    data: dict[str, list[Any]] = {
        key: []
        for key in (
            "text",
            "conf",
            "left",
            "top",
            "width",
            "height",
            "block_num",
            "par_num",
            "line_num",
            "chars",
        )
    }
    block = par = line = 0
    chars: list[tuple[str, int, int]] | None = None
    for match in _HOCR_ELEMENT.finditer(text):
        kind, title, content = match.groups()
        box = _BBOX.search(title)
        if kind == "ocr_carea":
            block, par, line = block + 1, 0, 0
        elif kind == "ocr_par":
            par, line = par + 1, 0
        elif kind == "ocrx_word" and box:
            x0, y0, x1, y1 = (int(v) for v in box.groups())
            conf = _CONF.search(title)
            chars = []
            for key, value in (
                ("text", html.unescape(content)),
                ("conf", float(conf.group(1)) if conf else -1.0),
                ("left", x0),
                ("top", y0),
                ("width", x1 - x0),
                ("height", y1 - y0),
                ("block_num", block),
                ("par_num", par),
                ("line_num", line),
                ("chars", chars),
            ):
                data[key].append(value)
        elif kind == "ocrx_cinfo" and box and chars is not None:
            x0, _, x1, _ = (int(v) for v in box.groups())
            chars.append((html.unescape(content), x0, x1))
        elif kind not in ("ocrx_word", "ocrx_cinfo"):
            line += 1
            chars = None
    for i, chars in enumerate(data["chars"]):
        if chars:
            data["text"][i] = "".join(c for c, _, _ in chars)
    return data


def _correct_codes(data: dict[str, list[Any]]) -> None:
    """Fix the O-for-0 misreadings of tesseract in codes (words with letters and digits).

    In ``E-COM09`` tesseract often reads the digit 0 as a letter O, or reads the M's right
    stroke as an extra O before the 0 (``E-COMO09``). The character boxes tell them apart.
    An O beside a digit is taken for a 0 when it is clearly narrower than the word's other
    capitals (in printed fonts the letter O is about a third wider than the figures; in
    monospaced fonts, where the width says nothing, nothing changes), or when its box lies
    mostly inside its neighbours' (``_squeezed``): a well-read letter has a box of its own,
    tesseract overlaps boxes where it hesitated between glyphs. A squeezed O beside a 0 is
    the same glyph read twice and is dropped. ``data`` is changed in place.
    """
    for i, chars in enumerate(data["chars"]):
        text = str(data["text"][i])
        if "O" not in text or not _DIGIT.search(text) or not chars:
            continue
        capitals = [x1 - x0 for ch, x0, x1 in chars if ch.isupper() and ch not in "OIJL"]
        limit = NARROW_O * median(capitals) if capitals else 0.0
        kept: list[tuple[str, int, int]] = []
        for k, (ch, x0, x1) in enumerate(chars):
            beside = chars[max(0, k - 1) : k] + chars[k + 1 : k + 2]
            if ch != "O" or not any(b[0].isdigit() for b in beside):
                kept.append((ch, x0, x1))
            elif _squeezed(x0, x1, beside):
                if not any(b[0] == "0" for b in beside):
                    kept.append(("0", x0, x1))
            else:
                kept.append(("0" if x1 - x0 <= limit else ch, x0, x1))
        data["chars"][i] = kept
        data["text"][i] = "".join(c for c, _, _ in kept)


def _squeezed(x0: int, x1: int, neighbours: list[tuple[str, int, int]]) -> bool:
    """Whether the neighbours' boxes cover most (``COVERED_GLYPH``) of the span x0..x1."""
    covered = sum(max(0, min(x1, n[2]) - max(x0, n[1])) for n in neighbours)
    return covered >= COVERED_GLYPH * max(1, x1 - x0)


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
    lefts: list[int] = []  # where each crop starts on the page
    for i in chosen:
        left, top = int(data["left"][i]), int(data["top"][i])
        width, height = int(data["width"][i]), int(data["height"][i])
        pad = max(4, height // 3)
        lefts.append(max(0, left - pad))
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
    again = _recognise(sheet, folder, "doubtful.pgm", sheet_config, languages, timeout, deadline)
    pieces: list[list[tuple[int, str, float, list[tuple[str, int, int]]]]] = [[] for _ in chosen]
    for j, raw in enumerate(again.get("text", [])):
        text = str(raw).strip()
        conf = float(again["conf"][j])
        if not text or conf < 0:
            continue
        middle = int(again["top"][j]) + int(again["height"][j]) / 2
        for k, (start, end) in enumerate(rows):
            if start <= middle <= end:
                pieces[k].append((int(again["left"][j]), text, conf, again["chars"][j]))
                break
    for k, i in enumerate(chosen):
        if not pieces[k]:
            continue
        parts = sorted(pieces[k], key=lambda part: part[0])
        text = "".join(part for _, part, _, _ in parts)
        conf = min(c for _, _, c, _ in parts)
        if conf > float(data["conf"][i]) and text != str(data["text"][i]).strip():
            # Character boxes of the sheet, moved back onto the page.
            shift = lefts[k] - gap
            data["chars"][i] = [
                (ch, x0 + shift, x1 + shift) for _, _, _, chars in parts for ch, x0, x1 in chars
            ]
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
    """Build the page text and words from tesseract's word columns (``_recognise``)."""
    width, height = (max(1, size[0]), max(1, size[1]))
    boxes: list[Box] = []
    confidences: list[float] = []
    lines: list[tuple[Any, ...]] = []
    _join_split_codes(data)
    for i, raw in enumerate(data.get("text", [])):
        text = _trimmed(clean_word(str(raw)))
        conf = float(data["conf"][i])
        if not text or conf < 0:
            continue
        left, top = float(data["left"][i]), float(data["top"][i])
        right, bottom = left + float(data["width"][i]), top + float(data["height"][i])
        chars = data["chars"][i] if "chars" in data else []
        for part, x0, x1 in _unglued(text, left, right, chars):
            boxes.append(Box(part, x0, x1, top, bottom))
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


def _join_split_codes(data: dict[str, list[Any]]) -> None:
    """Join a code that tesseract split at a narrow gap (``FU RN_8900``, ``E-COM1 3``).

    Two neighbouring words of one line are joined when the gap between them is under
    ``JOIN_GAP`` of their height (a word space in print is wider; ``JOIN_GAP_AFTER_JOINER``
    after a dangling ``_`` or ``-``, ``JOIN_GAP_DIGITS`` between a code's digits and a number)
    and together they form a code: capitals and digits with at least one of each. Numbers
    with a space as thousands separator (``1 200``) have no capitals and stay apart. ``data``
    is changed in place; the second word is emptied.
    """
    texts = data.get("text", [])
    previous: int | None = None
    for i in range(len(texts)):
        text = clean_word(str(texts[i]))
        if not text or float(data["conf"][i]) < 0:
            continue
        j, previous = previous, i
        if j is None or any(data[key][j] != data[key][i] for key in _LINE_KEYS):
            continue
        first = clean_word(str(texts[j]))
        gap = int(data["left"][i]) - int(data["left"][j]) - int(data["width"][j])
        height = min(int(data["height"][i]), int(data["height"][j]))
        limit = JOIN_GAP
        if _OPEN_CODE.fullmatch(first):
            limit = JOIN_GAP_AFTER_JOINER
        elif first[-1].isdigit() and text.isdigit():
            limit = JOIN_GAP_DIGITS
        if gap > limit * height or not _CODE.fullmatch(first + text):
            continue
        right = int(data["left"][i]) + int(data["width"][i])
        top = min(int(data["top"][i]), int(data["top"][j]))
        bottom = max(
            int(data["top"][i]) + int(data["height"][i]),
            int(data["top"][j]) + int(data["height"][j]),
        )
        texts[j] = first + text
        data["conf"][j] = min(float(data["conf"][i]), float(data["conf"][j]))
        data["width"][j] = right - int(data["left"][j])
        data["top"][j], data["height"][j] = top, bottom - top
        if "chars" in data:
            data["chars"][j] = list(data["chars"][j]) + list(data["chars"][i])
        texts[i] = ""
        previous = j


def _trimmed(text: str) -> str:
    """A code without a stray ``-`` or ``_`` at either end (``-FURN_0006``, ``E-COM06_``).

    No code starts or ends with a joiner; a mark beside the code (a rule, a speck) read as
    one would hide the code from a search for it. Other words are left as they are.
    """
    core = text.strip("-_")
    return core if core != text and _CODE.fullmatch(core) else text


def _unglued(
    text: str, left: float, right: float, chars: list[tuple[str, int, int]]
) -> list[tuple[str, float, float]]:
    """A word, or a quantity glued to its unit (``25EA``, ``8ud.``) as two words.

    Tesseract misses the narrow space between a quantity and its unit in table cells; the
    number would then not read as a number. Only known units are split off (``COUNT_UNITS``),
    so codes such as ``4K`` or ``12B`` stay whole. The split falls where the characters meet
    when tesseract gave their boxes, else in proportion to the characters.
    """
    glued = _GLUED_UNIT.fullmatch(text)
    if not glued or glued.group(2).rstrip(".:").lower() not in COUNT_UNITS:
        return [(text, left, right)]
    number, unit = glued.groups()
    if len(chars) == len(text):
        cut_left, cut_right = float(chars[len(number) - 1][2]), float(chars[len(number)][1])
    else:
        cut_left = cut_right = left + (right - left) * len(number) / len(text)
    return [(number, left, max(left, cut_left)), (unit, min(right, cut_right), right)]


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
