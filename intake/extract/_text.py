"""Text primitives shared by the offline extractor and the classifier.

Everything the rule-based stages read goes through :class:`TextLine`, which keeps the offset of
each line in its document's text. That is what makes the grounding contract cheap to keep: a
value found at ``line.start + i`` is reported with exactly that span, so ``Evidence.text`` is
always the slice of ``Document.text`` it claims to be.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from dateutil import parser as date_parser

from intake.models import (
    Document,
    Evidence,
    ExtractedDate,
    ExtractedNumber,
    ExtractedText,
)

# --------------------------------------------------------------------------- lines


@dataclass(frozen=True)
class TextLine:
    """One line of a document's text with its offsets; ``quoted`` marks reply history."""

    doc: Document
    index: int
    start: int
    end: int
    quoted: bool = False

    @property
    def text(self) -> str:
        """The line as it stands in the document (no trailing newline)."""
        return self.doc.text[self.start : self.end]

    @property
    def blank(self) -> bool:
        """True for a line holding only white space."""
        return not self.text.strip()


_REPLY_HEADER = re.compile(
    r"^\s*(?:"
    r"On\s.{4,250}?\bwrote:\s*$"
    r"|-{2,}\s*Original Message\s*-{2,}"
    r"|Am\s.{4,250}?\bschrieb\b.{0,120}:\s*$"
    r"|Le\s.{4,250}?\ba\s+écrit\s*:\s*$"
    r"|_{10,}\s*$"
    r")",
    re.IGNORECASE,
)
_OUTLOOK_FROM = re.compile(r"^\s*\*?(?:From|Von|De)\s*:\*?\s+\S", re.IGNORECASE)
_OUTLOOK_SENT = re.compile(r"^\s*\*?(?:Sent|Date|Gesendet|Datum|Envoyé)\s*:\*?\s+\S", re.IGNORECASE)
_FORWARD_MARK = re.compile(r"^\s*-{2,}\s*(?:Forwarded message|Weitergeleitete Nachricht)", re.I)


def split_lines(doc: Document, *, cut_history: bool = True) -> list[TextLine]:
    """Split a document into lines, marking quoted reply history in email bodies.

    Lines starting with ``>`` and everything after a reply header ("On … wrote:", an Outlook
    "From:/Sent:" block, "-----Original Message-----") are marked ``quoted`` in body documents,
    because there the history usually holds the seller's own earlier mail (old prices, other
    items). Forwarded messages are kept: in a forward the quoted part *is* the order.
    """
    lines: list[TextLine] = []
    pos = 0
    text = doc.text
    for index, raw in enumerate(re.split(r"\n|\f|\r\n?", text)):
        # re.split loses the separator length; recompute from the text itself.
        start = pos
        end = start + len(raw)
        lines.append(TextLine(doc, index, start, end))
        pos = end + (2 if text.startswith("\r\n", end) else 1)
    if doc.origin.kind != "body":
        return lines
    in_history = False
    marked: list[TextLine] = []
    for i, line in enumerate(lines):
        raw = line.text
        if cut_history and not in_history and not _FORWARD_MARK.match(raw):
            joined = raw + (" " + lines[i + 1].text if i + 1 < len(lines) else "")
            outlook = _OUTLOOK_FROM.match(raw) and any(
                _OUTLOOK_SENT.match(nxt.text) for nxt in lines[i + 1 : i + 4]
            )
            if (
                _REPLY_HEADER.match(raw)
                or (raw.lstrip().startswith("On ") and _REPLY_HEADER.match(joined))
                or outlook
                and i > 0
            ):
                in_history = True
        quoted = in_history or raw.lstrip().startswith(">")
        marked.append(TextLine(doc, line.index, line.start, line.end, quoted))
    return marked


# --------------------------------------------------------------------------- evidence


def evidence(doc: Document, start: int, end: int) -> Evidence:
    """Evidence for ``doc.text[start:end]``, with the page it falls on."""
    return Evidence(
        document_id=doc.id,
        page=doc.page_at(start),
        start=start,
        end=end,
        text=doc.text[start:end],
    )


def ocr_factor(doc: Document, start: int, end: int) -> float:
    """How far OCR uncertainty should lower a value read from ``doc.text[start:end]``.

    The mean confidence of the OCR words overlapping the span when the parser gave words,
    else the page's mean OCR confidence, else 1 for text that was not OCR'd.
    """
    confidences = [w.confidence for w in doc.words if w.start < end and w.end > start]
    if confidences:
        return sum(confidences) / len(confidences)
    page_no = doc.page_at(start)
    for page in doc.pages:
        if page.number == page_no and page.method == "ocr":
            return page.ocr_confidence if page.ocr_confidence is not None else 0.7
    return 1.0


def _conf(doc: Document, start: int, end: int, confidence: float) -> float:
    return round(max(0.0, min(1.0, confidence * ocr_factor(doc, start, end))), 3)


def text_value(value: str, doc: Document, start: int, end: int, confidence: float) -> ExtractedText:
    """An ExtractedText grounded at ``doc.text[start:end]``."""
    return ExtractedText(
        value=value,
        confidence=_conf(doc, start, end, confidence),
        evidence=evidence(doc, start, end),
    )


def number_value(
    value: Decimal, doc: Document, start: int, end: int, confidence: float
) -> ExtractedNumber:
    """An ExtractedNumber grounded at ``doc.text[start:end]``."""
    return ExtractedNumber(
        value=value,
        confidence=_conf(doc, start, end, confidence),
        evidence=evidence(doc, start, end),
    )


def date_value(
    value: date, doc: Document, start: int, end: int, confidence: float
) -> ExtractedDate:
    """An ExtractedDate grounded at ``doc.text[start:end]``."""
    return ExtractedDate(
        value=value,
        confidence=_conf(doc, start, end, confidence),
        evidence=evidence(doc, start, end),
    )


def fold(text: str) -> str:
    """Runs of white space folded to one space, ends stripped (how labels compare text)."""
    return " ".join(text.split())


# --------------------------------------------------------------------------- numbers

NUMBER_TOKEN = re.compile(
    r"(?<![\w.,])[-+]?(?:\d{1,3}(?:[,.'’]\d{3})+(?:[.,]\d{1,4})?|\d+(?:[.,]\d{1,4})?)(?![\w])"
)
"""A number as printed: 12, 12.5, 1,234.50, 1.234,50, 1'234.50 (not part of a word)."""

_EDGE_JUNK = "|[](){}:;*_—–-\"'`"
_CURRENCY_AFFIX = re.compile(
    r"^(?:[A-Z]{3}\s*|US\$|[$€£¥₹])|(?:\s*[A-Z]{3}|[$€£¥₹])$",
)


def parse_number(token: str, *, decimal_comma: bool = False) -> Decimal | None:
    """Parse a printed number such as ``1,234.50``, ``1.234,50``, ``12.5`` or ``$ 450.00``.

    A lone comma followed by exactly three digits is a thousands separator (``1,500`` is one
    thousand five hundred), unless the document writes decimals with a comma
    (``decimal_comma``), where ``1.500`` is the thousands form instead. Returns None for
    anything that is not one number.
    """
    s = token.strip().strip(_EDGE_JUNK).strip()
    s = _CURRENCY_AFFIX.sub("", s).strip()
    if not s or not re.fullmatch(r"[-+]?[\d.,'’]+", s) or not re.search(r"\d", s):
        return None
    sign = ""
    if s[0] in "+-":
        sign, s = s[0], s[1:]
    s = s.replace("'", "").replace("’", "")
    if not s or not s[0].isdigit() or not s[-1].isdigit():
        return None
    if "," in s and "." in s:
        decimal_sep = "," if s.rfind(",") > s.rfind(".") else "."
        thousands = "." if decimal_sep == "," else ","
        head, _, tail = s.rpartition(decimal_sep)
        if not re.fullmatch(r"\d{1,3}(?:" + re.escape(thousands) + r"\d{3})*", head):
            return None
        s = head.replace(thousands, "") + "." + tail
    elif "," in s:
        parts = s.split(",")
        if len(parts) > 2 or (len(parts[1]) == 3 and not decimal_comma):
            if not all(len(p) == 3 for p in parts[1:]) or len(parts[0]) > 3:
                return None
            s = "".join(parts)
        else:
            s = parts[0] + "." + parts[1]
    elif "." in s:
        parts = s.split(".")
        if len(parts) > 2 or (len(parts[1]) == 3 and decimal_comma):
            if not all(len(p) == 3 for p in parts[1:]) or len(parts[0]) > 3:
                return None
            s = "".join(parts)
    try:
        return Decimal(sign + s)
    except InvalidOperation:
        return None


def uses_decimal_comma(text: str) -> bool:
    """Guess whether a text writes decimals with a comma (``12,50``) rather than a point."""
    comma = len(re.findall(r"(?<![\d.,])\d{1,3}(?:\.\d{3})*,\d{2}(?![\d.,])", text))
    point = len(re.findall(r"(?<![\d.,])\d{1,3}(?:,\d{3})*\.\d{2}(?![\d.,])", text))
    return comma > point


# --------------------------------------------------------------------------- dates

_MONTH = (
    r"(?:jan(?:uary|uar)?|feb(?:ruary|ruar)?|m(?:ar(?:ch)?|ärz|aerz)|apr(?:il)?|ma[iy]|"
    r"june?|juni|july?|juli|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|okt(?:ober)?|"
    r"nov(?:ember)?|dec(?:ember)?|dez(?:ember)?)\.?"
)
_WEEKDAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
DATE_TOKEN = re.compile(
    _WEEKDAY
    + r"(?:"
    + r"(?P<iso>\d{4}-\d{1,2}-\d{1,2})"
    + r"|(?P<num>\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2}))"
    + r"|(?P<dmy>\d{1,2}(?:st|nd|rd|th)?\.?[ -](?:of\s+)?"
    + _MONTH
    + r",?[ -]\d{2,4})"
    + r"|(?P<mdy>"
    + _MONTH
    + r"[ -]\d{1,2}(?:st|nd|rd|th)?,?[ -]\d{4})"
    + r")(?![\d/.-]\d)",
    re.IGNORECASE,
)
"""A date as printed: 2025-03-10, 03/10/2025, 10.03.2025, 10 March 2025, March 10, 2025."""

_GERMAN_MONTHS = {
    "januar": "january",
    "februar": "february",
    "märz": "march",
    "maerz": "march",
    "mai": "may",
    "juni": "june",
    "juli": "july",
    "okt": "oct",
    "oktober": "october",
    "dez": "dec",
    "dezember": "december",
}


@dataclass(frozen=True)
class DateOrder:
    """How a document orders day and month in numeric dates, and how sure that is."""

    day_first: bool
    certain: bool


def numeric_date_order(text: str, *, default_day_first: bool) -> DateOrder:
    """Find day/month order from the unambiguous numeric dates in a text (13/03 vs 03/13).

    Dotted dates (``10.03.2025``) are day-first wherever they are written. Without any
    unambiguous date the caller's default applies (from the currency: USD is month-first).
    """
    votes_day = votes_month = 0
    for m in re.finditer(r"(?<!\d)(\d{1,2})([./-])(\d{1,2})\2(\d{2,4})(?!\d)", text):
        a, sep, b = int(m.group(1)), m.group(2), int(m.group(3))
        if sep == "." or a > 12 >= b:
            votes_day += 1
        elif b > 12 >= a:
            votes_month += 1
    if votes_day and not votes_month:
        return DateOrder(True, True)
    if votes_month and not votes_day:
        return DateOrder(False, True)
    return DateOrder(default_day_first, False)


def parse_date(match: re.Match[str], order: DateOrder) -> tuple[date, bool] | None:
    """Parse a DATE_TOKEN match; return the date and whether its reading was unambiguous."""
    token = match.group(0)
    if match.group("iso"):
        try:
            return datetime.strptime(match.group("iso"), "%Y-%m-%d").date(), True
        except ValueError:
            return None
    if match.group("num"):
        raw = match.group("num")
        a_s, b_s, y_s = re.split(r"[./-]", raw)
        a, b, year = int(a_s), int(b_s), int(y_s)
        if len(y_s) == 2:
            year += 2000
        sep = raw[len(a_s)]
        if sep == "." or a > 12:
            day, month, sure = a, b, True
        elif b > 12:
            day, month, sure = b, a, True
        elif a == b:
            day, month, sure = a, b, True
        else:
            day, month = (a, b) if order.day_first else (b, a)
            sure = order.certain
        try:
            return date(year, month, day), sure
        except ValueError:
            return None
    words = token.lower()
    for german, english in _GERMAN_MONTHS.items():
        words = re.sub(rf"\b{german}\b", english, words)
    try:
        parsed = date_parser.parse(words, default=datetime(2000, 1, 1), fuzzy=False)
    except (ValueError, OverflowError):
        return None
    if not 1990 <= parsed.year <= 2100:
        return None
    return parsed.date(), True


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class Token:
    """A white-space separated piece of a line, with offsets into the document."""

    text: str
    start: int
    end: int
    col: int
    """Column of the token's first character within its line."""

    @property
    def col_end(self) -> int:
        """Column just after the token's last character."""
        return self.col + (self.end - self.start)


def tokens(line: TextLine) -> list[Token]:
    """The white-space separated tokens of a line."""
    return [
        Token(m.group(0), line.start + m.start(), line.start + m.end(), m.start())
        for m in re.finditer(r"\S+", line.text)
    ]
