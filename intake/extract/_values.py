"""Building extracted values for structured sources: exact spans, full confidence.

A value read from a structured order (an XML element, an EDIFACT data element, a spreadsheet
cell under a recognised column) is what the document states, so it gets confidence 1.0 and
evidence at exactly the characters it was read from. These helpers turn a span of the
document text and the parsed value into the ``Extracted…`` models, and say None (an empty
value, confidence 0) when the source did not hold the value at all.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from intake.extract._text import date_value, number_value, parse_number, text_value
from intake.models import Document, ExtractedDate, ExtractedNumber, ExtractedText

FULL = 1.0
"""Confidence of a value read from a structured source."""

Span = tuple[int, int]

_DATE = re.compile(r"^\s*(\d{4})-?(\d{2})-?(\d{2})")


def text_at(doc: Document, span: Span | None, value: str | None) -> ExtractedText:
    """The text ``value`` read at ``span`` of ``doc`` (nothing when either is missing)."""
    value = " ".join(value.split()) if value else None
    if span is None or not value:
        return ExtractedText()
    return text_value(value, doc, span[0], span[1], FULL)


def number_at(
    doc: Document, span: Span | None, raw: str | None, *, decimal_comma: bool = False
) -> ExtractedNumber:
    """The number written as ``raw`` at ``span``; nothing when it is not one number."""
    value = to_decimal(raw, decimal_comma=decimal_comma)
    if span is None or value is None:
        return ExtractedNumber()
    return number_value(value, doc, span[0], span[1], FULL)


def scaled_number(doc: Document, span: Span | None, value: Decimal | None) -> ExtractedNumber:
    """A number computed from stated values (a price per 2 units, per unit), at ``span``."""
    if span is None or value is None:
        return ExtractedNumber()
    return number_value(value, doc, span[0], span[1], FULL)


def date_at(doc: Document, span: Span | None, raw: str | None) -> ExtractedDate:
    """The date written as ``raw`` (ISO, ``CCYYMMDD``, ``CCYYMMDDHHMM``) at ``span``."""
    value = to_date(raw)
    if span is None or value is None:
        return ExtractedDate()
    return date_value(value, doc, span[0], span[1], FULL)


def to_decimal(raw: str | None, *, decimal_comma: bool = False) -> Decimal | None:
    """A machine-written number (``12.50``, ``1E+2``), else a printed one (``1.234,50``)."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip().replace("\u00a0", "").replace(" ", "")
    if not decimal_comma:
        try:
            value = Decimal(text)
        except InvalidOperation:
            value = None
        if value is not None and value.is_finite():
            return value
    return parse_number(text, decimal_comma=decimal_comma)


def to_date(raw: str | None) -> date | None:
    """A date from ISO ``2024-03-01`` (time ignored) or EDI ``20240301`` / ``202403011230``."""
    if raw is None:
        return None
    match = _DATE.match(raw)
    if match is None:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def per_unit(price: Decimal | None, basis: Decimal | None) -> Decimal | None:
    """A price per one unit from a price per ``basis`` units (``None`` basis: per one)."""
    if price is None:
        return None
    if basis is None or basis == 1 or basis <= 0:
        return price
    return Decimal(format((price / basis).normalize(), "f"))
