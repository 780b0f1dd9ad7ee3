"""Grounding: every extracted value must be found in the message it was extracted from.

An extractor (a language model above all) can produce a plausible value that is nowhere in
the source. Each value therefore carries evidence — a document id, a character span and the
text at that span — and this check verifies it against the parsed documents:

1. the evidence names a document of the message, its span is inside the text and
   ``text[start:end]`` equals the evidence text; or, failing that,
2. the evidence text occurs elsewhere in that document (offsets off, text real); or
3. the value itself occurs in that document (numbers in any common notation, dates in common
   formats);

and, for 1 and 2, the evidence text must show the value (a quantity of 5 with evidence "12"
is not grounded; character references in evidence from XML, such as ``&amp;``, are read as
the characters they stand for). Strings are compared case- and space-insensitively (a
currency code may be shown by its symbol), numbers by value (digits in US or European
notation, or words up to twenty, dozens included); dates are not re-read.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from rapidfuzz import fuzz

from intake.models import Document, Extracted, ExtractedOrder, Finding, ParsedMessage, Severity

VALUE_NOT_IN_SOURCE = "value_not_in_source"

_NUMBER = re.compile(r"\d[\d.,'\u00a0\u202f]*")
# fmt: off
_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty",
)
# fmt: on
_WORD_NUMBERS = {**{w: i for i, w in enumerate(_WORDS)}, "a": 1, "an": 1, "single": 1, "pair": 2}
_CURRENCY_SYMBOLS = {
    "USD": ("$",),
    "CAD": ("$",),
    "AUD": ("$",),
    "EUR": ("€",),
    "GBP": ("£",),
    "JPY": ("¥",),
    "CNY": ("¥",),
    "INR": ("₹",),
    "CHF": ("Fr.",),
}
"""Currency codes an extractor writes for a symbol in the text."""
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


@dataclass(frozen=True)
class OrderField:
    """One extracted value to check, with its path, human label and whether it is critical."""

    path: str
    label: str
    extracted: Extracted[Any]
    critical: bool


def order_fields(order: ExtractedOrder) -> Iterator[OrderField]:
    """Every extracted value of ``order`` with its field path (``lines[2].quantity``).

    Critical fields — the customer and each line's code and quantity — decide who gets which
    goods, so an ungrounded one blocks the draft; the others only warn.
    """
    yield OrderField("customer_name", "Customer name", order.customer_name, True)
    yield OrderField("customer_email", "Customer email", order.customer_email, True)
    yield OrderField("customer_vat", "Customer VAT", order.customer_vat, True)
    yield OrderField("po_number", "PO number", order.po_number, False)
    yield OrderField("order_date", "Order date", order.order_date, False)
    yield OrderField(
        "requested_delivery_date",
        "Requested delivery date",
        order.requested_delivery_date,
        False,
    )
    yield OrderField("currency", "Currency", order.currency, False)
    yield OrderField("ship_to", "Ship-to address", order.ship_to, False)
    yield OrderField("subtotal", "Subtotal", order.subtotal, False)
    yield OrderField("tax_amount", "Tax amount", order.tax_amount, False)
    yield OrderField("total_amount", "Order total", order.total_amount, False)
    for i, line in enumerate(order.lines):
        n = i + 1
        prefix = f"lines[{i}]"
        yield OrderField(
            f"{prefix}.product_code", f"Line {n} product code", line.product_code, True
        )
        yield OrderField(f"{prefix}.description", f"Line {n} description", line.description, False)
        yield OrderField(f"{prefix}.quantity", f"Line {n} quantity", line.quantity, True)
        yield OrderField(f"{prefix}.uom", f"Line {n} unit", line.uom, False)
        yield OrderField(f"{prefix}.unit_price", f"Line {n} unit price", line.unit_price, False)
        yield OrderField(f"{prefix}.line_total", f"Line {n} line total", line.line_total, False)


def check_grounding(order: ExtractedOrder, parsed: ParsedMessage) -> list[Finding]:
    """Return a ``value_not_in_source`` finding for each value the source does not show."""
    findings = []
    for f in order_fields(order):
        value = f.extracted.value
        if value is None or (isinstance(value, str) and not value.strip()):
            continue  # "not in the document" needs no evidence
        problem = ungrounded_reason(f.extracted, parsed)
        if problem is None:
            continue
        severity = Severity.BLOCK if f.critical else Severity.WARN
        action = (
            "check it against the original document before the order is quoted"
            if f.critical
            else "check it against the original document"
        )
        findings.append(
            Finding(
                code=VALUE_NOT_IN_SOURCE,
                severity=severity,
                message=f"{f.label} '{show(value)}' was not found in the source: {problem}; "
                f"{action}.",
                field=f.path,
            )
        )
    return findings


def ungrounded_reason(extracted: Extracted[Any], parsed: ParsedMessage) -> str | None:
    """Why the value is not grounded in ``parsed`` (a phrase), or None when it is."""
    evidence = extracted.evidence
    value = extracted.value
    if evidence is None:
        return "the extractor gave no evidence for it"
    document = parsed.document(evidence.document_id)
    if document is None:
        return f"the evidence names document '{evidence.document_id}', which the message lacks"
    text = document.text
    quoted = evidence.text
    if quoted.strip():
        at_span = 0 <= evidence.start < evidence.end <= len(text) and (
            text[evidence.start : evidence.end] == quoted
        )
        if at_span or quoted in text:
            if shows_value(quoted, value) or shows_value(_unescaped(quoted), value):
                return None
            # Text found elsewhere still grounds a string; digits occur everywhere, so a
            # number must be shown by the text the extractor pointed at.
            if isinstance(value, str) and _value_in_document(value, document):
                return None
            return f"the evidence text '{_clip(quoted)}' does not show this value"
    if _value_in_document(value, document):
        return None
    where = document.origin.describe()
    if not quoted.strip():
        return f"the evidence text is empty and the value does not occur in the {where}"
    return f"the evidence text '{_clip(quoted)}' does not occur in the {where}"


def _unescaped(quoted: str) -> str:
    """Evidence from XML as a reader sees it: ``Smith &amp; Sons`` shows ``Smith & Sons``."""
    return html.unescape(quoted) if "&" in quoted else quoted


def shows_value(quoted: str, value: object) -> bool:
    """True when the evidence text plausibly shows ``value`` (strings fuzzily, numbers exactly).

    Dates are accepted as they are written in too many ways to re-read reliably here. Numbers
    written as words ("twelve", "two dozen") are understood up to twenty (dozens included).
    """
    if isinstance(value, str):
        v, q = _squash(value), _squash(quoted)
        if any(symbol in quoted for symbol in _CURRENCY_SYMBOLS.get(value.upper(), ())):
            return True
        if not v or v in q or q in v or fuzz.partial_ratio(v, q) >= 85:
            return True
        # A value put together from several lines (an address read from a column beside
        # another) is shown when every one of its parts is in the quoted text.
        parts = [_squash(p) for p in re.split(r"[,\n]", value) if p.strip()]
        return len(parts) > 1 and all(p in q for p in parts)
    if isinstance(value, Decimal):
        numbers = numbers_in(quoted) or _number_words(quoted)
        return abs(value) in numbers
    return True


def numbers_in(text: str) -> set[Decimal]:
    """Every number ``text`` may contain, in US (1,250.50) and European (1.250,50) notation."""
    found: set[Decimal] = set()
    for match in _NUMBER.finditer(text):
        raw = match.group().rstrip(".,'\u00a0\u202f")
        raw = raw.replace("'", "").replace("\u00a0", "").replace("\u202f", "")
        for candidate in _readings(raw):
            try:
                found.add(Decimal(candidate))
            except InvalidOperation:
                continue
    return found


def _number_words(text: str) -> set[Decimal]:
    """Numbers written as words: 'one' … 'twenty', 'a'/'an' (1), 'pair' (2), with 'dozen'."""
    words = re.findall(r"[a-z]+", text.casefold())
    found = {Decimal(_WORD_NUMBERS[w]) for w in words if w in _WORD_NUMBERS}
    if "dozen" in words or "dozens" in words:
        found = {n * 12 for n in found} | {Decimal(12)}
    return found


def _readings(raw: str) -> list[str]:
    """The possible meanings of one written number, e.g. '1,250' → ['1.250', '1250']."""
    if "," in raw and "." in raw:
        decimal_sep = "," if raw.rfind(",") > raw.rfind(".") else "."
        thousands = "." if decimal_sep == "," else ","
        return [raw.replace(thousands, "").replace(decimal_sep, ".")]
    for sep in (",", "."):
        if sep in raw:
            readings = [raw.replace(sep, "")]
            if raw.count(sep) == 1:
                readings.append(raw.replace(sep, "."))
            return readings
    return [raw]


def _value_in_document(value: object, document: Document) -> bool:
    text = document.text
    if isinstance(value, str):
        return bool(value.strip()) and _squash(value) in _squash(text)
    if isinstance(value, Decimal):
        return abs(value) in numbers_in(text)
    if isinstance(value, date):
        folded = _squash(text)
        return any(_squash(form) in folded for form in _date_forms(value))
    return False


def _date_forms(d: date) -> list[str]:
    month = _MONTHS[d.month - 1]
    short = month[:3]
    forms = [
        d.isoformat(),
        f"{d.day:02d}.{d.month:02d}.{d.year}",
        f"{d.day}.{d.month}.{d.year}",
        f"{d.day:02d}/{d.month:02d}/{d.year}",
        f"{d.month:02d}/{d.day:02d}/{d.year}",
        f"{d.day}/{d.month}/{d.year}",
        f"{d.month}/{d.day}/{d.year}",
        f"{d.day:02d}-{d.month:02d}-{d.year}",
        f"{d.year}/{d.month:02d}/{d.day:02d}",
    ]
    for name in (month, short):
        forms += [
            f"{name} {d.day}, {d.year}",
            f"{d.day} {name} {d.year}",
            f"{name} {d.day} {d.year}",
        ]
    return forms


def _squash(text: str) -> str:
    return " ".join(text.casefold().split())


def _clip(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def show(value: object) -> str:
    """A value as a person reads it in a message (dates ISO, long text clipped)."""
    if isinstance(value, date):
        return value.isoformat()
    return _clip(str(value))
