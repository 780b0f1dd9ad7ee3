"""Turn the LLM's answer into an ExtractedOrder whose evidence intake found itself.

The LLM returns values with the text it says it read them from. That text is a claim, not
evidence: each quote is looked up in the documents — exactly, then with case and white space
folded, and a number or date quote also by what it says in any notation (``1234.56`` finds
``1.234,56``, ``2026-04-03`` finds ``03.04.2026``). A value gets evidence only where its quote
occurs and shows that value, or — for text, whose quote small models often take from a
neighbour — where the value itself is printed (on its line's row, for a line's value);
anything else keeps the value with no evidence and a low confidence, and the assess stage
raises a ``value_not_in_source`` finding. A line's values are
looked for on the text line holding its code or description first, so a short quote such as
a quantity "2" is not taken from somewhere else. Text that addresses an AI (prompt injection,
see :mod:`intake.assess.injection`) never counts as evidence.

Confidence follows how the quote was found: exactly 0.92, folded 0.85, by normalized number or
date (or a text value found without its quote) 0.75, not at all 0.2. OCR confidence of the
words scales it, and where the endpoint returned token logprobs, so does the probability of
the value's least likely token.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from email.utils import parseaddr
from typing import Any, TypeVar

from intake.assess.grounding import numbers_in, shows_value
from intake.assess.injection import inside, suspicious_spans
from intake.extract._text import DATE_TOKEN, DateOrder, evidence, ocr_factor, parse_date
from intake.extract.llm.contract import LlmLine, LlmOrder, QuotedDate, QuotedNumber, QuotedText
from intake.models import (
    Document,
    ExtractedDate,
    ExtractedLine,
    ExtractedNumber,
    ExtractedOrder,
    ExtractedText,
    ParsedMessage,
)

EXACT_QUOTE = 0.92
FOLDED_QUOTE = 0.85
NORMALIZED_QUOTE = 0.75
NOT_FOUND = 0.2
LOGPROB_FLOOR = 0.6
"""Confidence scale at probability 0 of a value's least likely token (1 at probability 1)."""

_NUMBER_RUN = re.compile(r"\d[\d.,'\u00a0\u202f]*")
_DAY_FIRST = DateOrder(True, False)
_MONTH_FIRST = DateOrder(False, False)

E = TypeVar("E", ExtractedText, ExtractedNumber, ExtractedDate)
Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Region:
    """A stretch of one document (an order line) where a line's values are looked for first."""

    doc: Document
    start: int
    end: int


class Locator:
    """Finds quotes and values of one message's documents, skipping injected passages."""

    def __init__(self, parsed: ParsedMessage) -> None:
        self.parsed = parsed
        self.docs = list(parsed.documents)
        self.blocked = {d.id: suspicious_spans(d) for d in self.docs}
        self._folded = {d.id: _fold_map(d.text) for d in self.docs}

    # ------------------------------------------------------------------ quotes

    def find_quote(
        self, quote: str, region: Region | None = None
    ) -> tuple[Document, int, int, bool] | None:
        """Where ``quote`` occurs: (document, start, end, exact?); only in ``region`` if given."""
        quote = quote.strip()
        if not quote:
            return None
        for doc, lo, hi in self._scopes(region):
            hit = self.find_in(doc, quote, lo, hi)
            if hit is not None:
                return doc, hit[0], hit[1], hit[2]
        return None

    def _scopes(self, region: Region | None) -> Iterator[tuple[Document, int, int]]:
        if region is not None:
            yield region.doc, region.start, region.end
            return
        for doc in self.docs:
            yield doc, 0, len(doc.text)

    def find_in(self, doc: Document, quote: str, lo: int, hi: int) -> tuple[int, int, bool] | None:
        """Where ``quote`` occurs in ``doc.text[lo:hi]``: (start, end, exact?), or None."""
        text = doc.text
        pos = text.find(quote, lo, hi)
        while pos != -1:
            if not inside(self.blocked[doc.id], pos, pos + len(quote)):
                return pos, pos + len(quote), True
            pos = text.find(quote, pos + 1, hi)
        folded, index = self._folded[doc.id]
        needle = _fold_map(quote)[0].strip()
        if not needle:
            return None
        f_lo = _bisect(index, lo)
        pos = folded.find(needle, f_lo)
        while pos != -1:
            start = index[pos]
            end = index[pos + len(needle) - 1] + 1
            if end > hi:
                break
            if not inside(self.blocked[doc.id], start, end):
                return start, end, False
            pos = folded.find(needle, pos + 1)
        return None

    # ------------------------------------------------------------------ values

    def _allowed(self, doc: Document, start: int, end: int) -> bool:
        return not inside(self.blocked[doc.id], start, end)

    def find_number(
        self, value: Decimal, region: Region | None, anywhere: bool
    ) -> tuple[Document, int, int] | None:
        """A printed number equal to ``value`` (any notation) on the line, or anywhere."""
        scopes: list[tuple[Document, int, int]] = []
        if region is not None:
            scopes.append((region.doc, region.start, region.end))
        if anywhere:
            scopes += [(d, 0, len(d.text)) for d in self.docs]
        for doc, lo, hi in scopes:
            for m in _NUMBER_RUN.finditer(doc.text, lo, hi):
                token = m.group(0).rstrip(".,'\u00a0\u202f")
                if abs(value) in numbers_in(token) and self._allowed(
                    doc, m.start(), m.start() + len(token)
                ):
                    return doc, m.start(), m.start() + len(token)
        return None

    def find_text_value(
        self, value: str, region: Region | None, anywhere: bool
    ) -> tuple[Document, int, int] | None:
        """Where a text value itself is printed, when the model's quote did not show it.

        Small models quote the wrong neighbour (a product code with the description as its
        quote). A line's value is looked for only on that line's row; a header value anywhere,
        and a line's value anywhere only when its row is unknown and the value is distinctive
        (a code with a digit), so a short word is not taken from another line.
        """
        if len(_fold_map(value)[0].strip()) < 2:
            return None
        if region is not None:
            hit = self.find_in(region.doc, value, region.start, region.end)
            return (region.doc, hit[0], hit[1]) if hit is not None else None
        if not anywhere:
            return None
        for doc in self.docs:
            hit = self.find_in(doc, value, 0, len(doc.text))
            if hit is not None:
                return doc, hit[0], hit[1]
        return None

    def find_date(self, value: date, region: Region | None) -> tuple[Document, int, int] | None:
        """A printed date that reads as ``value`` in either day/month order."""
        scopes = [(region.doc, region.start, region.end)] if region is not None else []
        scopes += [(d, 0, len(d.text)) for d in self.docs]
        for doc, lo, hi in scopes:
            for m in DATE_TOKEN.finditer(doc.text, lo, hi):
                if _reads_as(m, value) and self._allowed(doc, m.start(), m.end()):
                    return doc, m.start(), m.end()
        return None


# --------------------------------------------------------------------------- one field


def _number_in(doc: Document, start: int, end: int, value: Decimal) -> tuple[int, int] | None:
    """The span of the number inside ``doc.text[start:end]`` that equals ``value``."""
    for m in _NUMBER_RUN.finditer(doc.text, start, end):
        token = m.group(0).rstrip(".,'\u00a0\u202f")
        if abs(value) in numbers_in(token):
            return m.start(), m.start() + len(token)
    return None


def _date_in(doc: Document, start: int, end: int, value: date) -> tuple[int, int] | None:
    for m in DATE_TOKEN.finditer(doc.text, start, end):
        if _reads_as(m, value):
            return m.start(), m.end()
    return None


def _reads_as(match: re.Match[str], value: date) -> bool:
    for order in (_DAY_FIRST, _MONTH_FIRST):
        parsed = parse_date(match, order)
        if parsed is not None and parsed[0] == value:
            return True
    return False


class FieldLocator:
    """Grounds the fields of one answer, with logprobs per value path where known."""

    def __init__(
        self, locator: Locator, probabilities: dict[Path, float] | None, sender: str | None
    ) -> None:
        self.locator = locator
        self.probabilities = probabilities or {}
        self.sender = parseaddr(sender or "")[1].lower()

    def _confidence(self, base: float, doc: Document, start: int, end: int, path: Path) -> float:
        conf = base * ocr_factor(doc, start, end)
        p = self.probabilities.get(path)
        if p is not None:
            conf *= LOGPROB_FLOOR + (1 - LOGPROB_FLOOR) * p
        return round(max(0.0, min(1.0, conf)), 3)

    def _unfound(self, path: Path) -> float:
        p = self.probabilities.get(path)
        scale = LOGPROB_FLOOR + (1 - LOGPROB_FLOOR) * p if p is not None else 1.0
        return round(NOT_FOUND * scale, 3)

    def text(
        self, field: QuotedText | None, path: Path, region: Region | None = None
    ) -> ExtractedText:
        """A text value, grounded where its quote occurs and shows the value."""
        value = field.value.strip() if field is not None else ""
        if field is None or not value:
            return ExtractedText()
        hit = quote_hit(self.locator, field, region)
        if hit is not None:
            doc, start, end, base = hit
            return ExtractedText(
                value=value,
                confidence=self._confidence(base, doc, start, end, path),
                evidence=evidence(doc, start, end),
            )
        on_a_line = path[0] == "lines"
        distinctive = any(c.isdigit() for c in value) and len(value) >= 4
        found = self.locator.find_text_value(value, region, not on_a_line or distinctive)
        if found is not None:
            doc, start, end = found
            return ExtractedText(
                value=value,
                confidence=self._confidence(NORMALIZED_QUOTE, doc, start, end, path),
                evidence=evidence(doc, start, end),
            )
        if path == ("customer_email",) and value.lower() == self.sender:
            return ExtractedText()  # the sender's address is not document text; matching has it
        return ExtractedText(value=value, confidence=self._unfound(path), evidence=None)

    def number(
        self, field: QuotedNumber | None, path: Path, region: Region | None = None
    ) -> ExtractedNumber:
        """A number, grounded where its quote is printed (in any notation) and shows it."""
        if field is None:
            return ExtractedNumber()
        value = field.value
        if value == value.to_integral():
            value = value.quantize(Decimal(1))
        hit = quote_hit(self.locator, field, region)
        if hit is not None:
            doc, start, end, base = hit
            return ExtractedNumber(
                value=value,
                confidence=self._confidence(base, doc, start, end, path),
                evidence=evidence(doc, start, end),
            )
        return ExtractedNumber(value=value, confidence=self._unfound(path), evidence=None)

    def date(self, field: QuotedDate | None, path: Path) -> ExtractedDate:
        """A date, grounded where its quote is printed (in any common form) and shows it."""
        if field is None:
            return ExtractedDate()
        value = field.value
        hit = quote_hit(self.locator, field, None)
        if hit is not None:
            doc, start, end, base = hit
            return ExtractedDate(
                value=value,
                confidence=self._confidence(base, doc, start, end, path),
                evidence=evidence(doc, start, end),
            )
        return ExtractedDate(value=value, confidence=self._unfound(path), evidence=None)


def quote_hit(
    locator: Locator, field: QuotedText | QuotedNumber | QuotedDate, region: Region | None
) -> tuple[Document, int, int, float] | None:
    """Where the field's quote is in the documents and shows its value: span and base confidence.

    The quote is looked up as written (exact, then case and white space folded); a number or
    date quote that is not printed that way is looked up by what it says, in any notation
    (``1234.56`` finds ``1.234,56``, ``2026-04-03`` finds ``03.04.2026``). A number or date is
    narrowed to the token inside the quote that shows it. Returns None when the quote is not
    in the documents or does not show the value — then the value has no evidence.
    """
    value = field.value
    quote = field.quote.strip()
    if not quote:
        return None
    hit = locator.find_quote(quote, region)
    if hit is not None:
        doc, start, end, exact = hit
        base = EXACT_QUOTE if exact else FOLDED_QUOTE
        if isinstance(value, Decimal):
            narrow = _number_in(doc, start, end, value)
        elif isinstance(value, date):
            narrow = _date_in(doc, start, end, value)
        else:
            narrow = (start, end) if shows_value(doc.text[start:end], value) else None
        if narrow is not None:
            return doc, narrow[0], narrow[1], base
    if isinstance(value, Decimal) and abs(value) in numbers_in(quote):
        # Small numbers occur everywhere: away from the line only a distinctive one counts.
        distinctive = len(value.as_tuple().digits) >= 3 or value != value.to_integral()
        found = locator.find_number(value, region, anywhere=region is None and distinctive)
        if found is not None:
            return found[0], found[1], found[2], NORMALIZED_QUOTE
    if isinstance(value, date) and any(_reads_as(m, value) for m in DATE_TOKEN.finditer(quote)):
        found_date = locator.find_date(value, region)
        if found_date is not None:
            return found_date[0], found_date[1], found_date[2], NORMALIZED_QUOTE
    return None


# --------------------------------------------------------------------------- the order


def ground_order(
    answer: LlmOrder,
    parsed: ParsedMessage,
    extractor: str,
    probabilities: dict[Path, float] | None = None,
) -> ExtractedOrder:
    """The ExtractedOrder for an LLM answer, with evidence located in ``parsed``.

    Args:
        answer: the validated answer.
        parsed: the message the answer is about; quotes are looked up in its documents.
        extractor: the extractor name to record (model, prompt versions, format).
        probabilities: per value path, the probability of its least likely token.
    """
    locator = Locator(parsed)
    fields = FieldLocator(locator, probabilities, parsed.message.sender)
    anchors: list[Region | None] = []
    after = 0
    for line in answer.lines:
        anchor = _line_region(locator, line, after)
        if anchor is not None:
            after = anchor.end
        anchors.append(anchor)
    regions = _row_regions(anchors)
    lines = [_line(fields, line, i, regions[i]) for i, line in enumerate(answer.lines)]
    return ExtractedOrder(
        customer_name=fields.text(answer.customer_name, ("customer_name",)),
        customer_email=fields.text(answer.customer_email, ("customer_email",)),
        customer_vat=fields.text(answer.customer_vat, ("customer_vat",)),
        po_number=fields.text(answer.po_number, ("po_number",)),
        order_date=fields.date(answer.order_date, ("order_date",)),
        requested_delivery_date=fields.date(
            answer.requested_delivery_date, ("requested_delivery_date",)
        ),
        currency=fields.text(answer.currency, ("currency",)),
        ship_to=fields.text(answer.ship_to, ("ship_to",)),
        total_amount=fields.number(answer.total_amount, ("total_amount",)),
        lines=tuple(lines),
        extractor=extractor,
    )


def _line_region(locator: Locator, line: LlmLine, after: int) -> Region | None:
    """The text line holding the line's code or description, from the previous line on."""
    candidates = [f.quote for f in (line.product_code, line.description) if f is not None]
    for quote in candidates:
        quote = quote.strip()
        if not quote:
            continue
        for doc in locator.docs:
            hit = locator.find_in(doc, quote, after, len(doc.text))
            if hit is None:
                hit = locator.find_in(doc, quote, 0, len(doc.text))
            if hit is not None:
                start = doc.text.rfind("\n", 0, hit[0]) + 1
                end_nl = doc.text.find("\n", hit[1])
                end = len(doc.text) if end_nl == -1 else end_nl
                return Region(doc, start, max(end, hit[1]))
    return None


def _row_regions(anchors: list[Region | None]) -> list[Region | None]:
    """Each line's region: its anchor text line and the next (a wrapped row).

    A region never reaches into the next order line's anchor, so a value is not taken from
    another line.
    """
    regions: list[Region | None] = []
    for i, anchor in enumerate(anchors):
        if anchor is None:
            regions.append(None)
            continue
        text = anchor.doc.text
        following = text.find("\n", anchor.end + 1)
        end = len(text) if following == -1 else following
        for later in anchors[i + 1 :]:
            if later is not None and later.doc.id == anchor.doc.id and later.start >= anchor.end:
                end = min(end, later.start)
                break
        regions.append(Region(anchor.doc, anchor.start, max(anchor.end, end)))
    return regions


def _line(fields: FieldLocator, line: LlmLine, i: int, region: Region | None) -> ExtractedLine:
    p: Path = ("lines", i)
    return ExtractedLine(
        product_code=fields.text(line.product_code, (*p, "product_code"), region),
        description=fields.text(line.description, (*p, "description"), region),
        quantity=fields.number(line.quantity, (*p, "quantity"), region),
        uom=fields.text(line.uom, (*p, "uom"), region),
        unit_price=fields.number(line.unit_price, (*p, "unit_price"), region),
        line_total=fields.number(line.line_total, (*p, "line_total"), region),
    )


# --------------------------------------------------------------------------- logprobs

_VALUE_KEY = re.compile(r'"value"\s*:\s*(null|"(?:[^"\\]|\\.)*"|-?[\d.eE+-]+|true|false)')


def value_probabilities(
    content: str | None, token_logprobs: tuple[tuple[str, float], ...] | None
) -> dict[Path, float] | None:
    """For every ``value`` in the answer, the probability of its least likely token.

    Returns None when the endpoint gave no logprobs or the tokens do not spell the content.
    """
    if not content or not token_logprobs:
        return None
    if "".join(t for t, _ in token_logprobs) != content:
        return None
    try:
        data = json.loads(content)
    except json.JSONDecodeError:
        return None
    paths = list(_value_paths(data))
    spans = [m.span(1) for m in _VALUE_KEY.finditer(content)]
    if len(paths) != len(spans):
        return None
    offsets = []
    pos = 0
    for token, logprob in token_logprobs:
        offsets.append((pos, pos + len(token), logprob))
        pos += len(token)
    result: dict[Path, float] = {}
    for path, (start, end) in zip(paths, spans, strict=True):
        if content[start] == '"' and end - start >= 2:
            start, end = start + 1, end - 1  # the string's characters, not its quotes
        lps = [lp for s, e, lp in offsets if s < end and start < e]
        if lps:
            result[path] = math.exp(min(lps))
    return result


def key_probability(
    content: str | None, token_logprobs: tuple[tuple[str, float], ...] | None, key: str
) -> float | None:
    """The probability of the least likely token of the first ``"key": value`` in the answer."""
    if not content or not token_logprobs:
        return None
    if "".join(t for t, _ in token_logprobs) != content:
        return None
    m = re.search(rf'"{re.escape(key)}"\s*:\s*("(?:[^"\\]|\\.)*")', content)
    if m is None:
        return None
    start, end = m.span(1)
    start, end = start + 1, max(start + 1, end - 1)
    pos = 0
    lps = []
    for token, logprob in token_logprobs:
        if pos < end and start < pos + len(token):
            lps.append(logprob)
        pos += len(token)
    return math.exp(min(lps)) if lps else None


def _value_paths(node: Any, path: Path = ()) -> Iterator[Path]:
    if isinstance(node, dict):
        for key, child in node.items():
            if key == "value" and "quote" in node:
                yield path
            else:
                yield from _value_paths(child, (*path, key))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from _value_paths(child, (*path, i))


# --------------------------------------------------------------------------- folding


def _fold_map(text: str) -> tuple[str, list[int]]:
    """``text`` lower-cased with white space runs as one space, and each char's origin."""
    out: list[str] = []
    index: list[int] = []
    space = False
    for i, ch in enumerate(text):
        if ch.isspace():
            if not space and out:
                out.append(" ")
                index.append(i)
            space = True
            continue
        space = False
        for low in ch.lower():
            out.append(low)
            index.append(i)
    return "".join(out), index


def _bisect(index: list[int], offset: int) -> int:
    lo, hi = 0, len(index)
    while lo < hi:
        mid = (lo + hi) // 2
        if index[mid] < offset:
            lo = mid + 1
        else:
            hi = mid
    return lo
