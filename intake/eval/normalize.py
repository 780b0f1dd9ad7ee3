"""Value normalization for scoring: two spellings of the same value must compare equal.

A label writes ``1234.56``; a document prints ``1.234,56`` and an extractor may return either.
Scoring compares normalized values so that only real differences count (LABELS.md: numbers to
2 decimals, text case- and space-folded, dates as dates). Each normalizer returns ``None`` for
"no value", and never raises for odd input: a value that cannot be normalized is compared as
folded text, so it simply does not match.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

_SPACES = re.compile(r"\s+")
_NOT_ALNUM = re.compile(r"[^0-9A-Z]")
_CENT = Decimal("0.01")


def fold_text(value: object) -> str | None:
    """Text compared case- and space-insensitively (Unicode NFKC, casefold, runs of space → 1)."""
    if value is None:
        return None
    text = _SPACES.sub(" ", unicodedata.normalize("NFKC", str(value))).strip().casefold()
    return text or None


def code(value: object) -> str | None:
    """A code (PO number, SKU, VAT, currency, unit): upper case, letters and digits only.

    ``PO-4711``, ``po 4711`` and ``#PO4711`` are the same code; separators carry no meaning in
    the codes intake reads, and documents print them inconsistently.
    """
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", str(value)).upper()
    return _NOT_ALNUM.sub("", text) or None


def email(value: object) -> str | None:
    """An e-mail address without ``mailto:`` or angle brackets, case-folded."""
    text = fold_text(value)
    if text is None:
        return None
    return text.removeprefix("mailto:").strip("<> ") or None


def number(value: object) -> Decimal | None:
    """A number rounded to 2 decimals (half up); strings may use either decimal mark.

    ``1.234,56``, ``1,234.56``, ``1 234,56`` and ``1234.56`` are all 1234.56. A single
    separator followed by exactly three digits (``1,234``) is read as a thousands separator.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal | int):
        parsed: Decimal | None = Decimal(value)
    elif isinstance(value, float):
        parsed = Decimal(repr(value))
    else:
        parsed = _parse_number(str(value))
    if parsed is None or not parsed.is_finite():
        return None
    return parsed.quantize(_CENT, rounding=ROUND_HALF_UP) + Decimal("0.00")  # no -0.00


def _parse_number(text: str) -> Decimal | None:
    text = unicodedata.normalize("NFKC", text).strip()
    negative = text.startswith(("-", "(")) or text.endswith("-")
    digits = re.sub(r"[^0-9.,]", "", text)
    if not any(c.isdigit() for c in digits):
        return None
    dot, comma = digits.rfind("."), digits.rfind(",")
    if dot >= 0 and comma >= 0:  # both marks: the last one is the decimal mark
        decimal_mark = "." if dot > comma else ","
    elif digits.count(",") == 1:  # "1,234" is a thousand; "12,5" is twelve and a half
        decimal_mark = "" if len(digits) - comma - 1 == 3 else ","
    elif digits.count(".") == 1:
        decimal_mark = "."
    else:  # no mark, or one mark repeated ("1.234.567"): thousands separators only
        decimal_mark = ""
    if decimal_mark:
        whole, _, fraction = digits.rpartition(decimal_mark)
        digits = re.sub(r"[.,]", "", whole) + "." + fraction
    else:
        digits = re.sub(r"[.,]", "", digits)
    try:
        parsed = Decimal(digits)
    except InvalidOperation:
        return None
    return -parsed if negative else parsed


def as_date(value: object) -> date | None:
    """A calendar date from a ``date``, a ``datetime`` or an ISO ``YYYY-MM-DD`` string."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None


def address_parts(parts: dict[str, str | None]) -> dict[str, str]:
    """The labeled parts of an address, each folded as text (empty parts dropped)."""
    folded = {k: fold_text(v) for k, v in parts.items()}
    return {k: v for k, v in folded.items() if v}


def address_contains(text: object, parts: dict[str, str]) -> bool:
    """True when the address text holds every labeled part (name, street, city, postal code).

    intake extracts the ship-to address as one block of text, while a label gives it in parts;
    the block is right when each part appears in it (case- and space-folded). The country is
    not compared: labels give an ISO code, documents print the name.
    """
    folded = fold_text(text)
    if folded is None:
        return False
    return all(part in folded for part in parts.values())
