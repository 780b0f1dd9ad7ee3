"""Units of measure: map what customers write (PCS, dz, kgs) to Odoo's unit names.

Odoo converts quantities only between units of one category (Units and Dozens, kg and g), so
a line's unit is used on the quotation only when it is in the product's category; anything
else (a "box", a "pallet") stays as written, and the product's own unit is used instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from intake.catalog import CatalogPackaging
from intake.match.text import fold

UNITS = "Units"
DOZENS = "Dozens"

_ALIASES: dict[str, str] = {
    **dict.fromkeys(
        (
            "ea",
            "each",
            "pc",
            "pcs",
            "pce",
            "pces",
            "piece",
            "pieces",
            "unit",
            "units",
            "unit(s)",
            "u",
            "un",
            "nos",
            "stk",
            "stuck",
            "st",
        ),
        UNITS,
    ),
    **dict.fromkeys(("dozen", "dozens", "dz", "doz", "dzn"), DOZENS),
    **dict.fromkeys(("kg", "kgs", "kilo", "kilos", "kilogram", "kilograms"), "kg"),
    **dict.fromkeys(("g", "gr", "gram", "grams"), "g"),
    **dict.fromkeys(("t", "ton", "tons", "tonne", "tonnes"), "t"),
    **dict.fromkeys(("lb", "lbs", "pound", "pounds"), "lb"),
    **dict.fromkeys(("oz", "ounce", "ounces"), "oz"),
    **dict.fromkeys(("l", "lt", "ltr", "liter", "liters", "litre", "litres"), "L"),
    **dict.fromkeys(("m3", "m³", "cbm", "cubic meter", "cubic meters"), "m³"),
    **dict.fromkeys(("m", "meter", "meters", "metre", "metres"), "m"),
    **dict.fromkeys(("cm", "centimeter", "centimeters"), "cm"),
    **dict.fromkeys(("mm", "millimeter", "millimeters"), "mm"),
    **dict.fromkeys(("km", "kilometer", "kilometers"), "km"),
    **dict.fromkeys(("in", "inch", "inches"), "in"),
    **dict.fromkeys(("ft", "foot", "feet"), "ft"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "Hours"),
    **dict.fromkeys(("d", "day", "days"), "Days"),
}
"""Folded spellings → Odoo's unit name."""

_UNECE_REC20: dict[str, str] = {
    **dict.fromkeys(("c62", "h87", "nar", "niu"), UNITS),
    "dzn": DOZENS,
    "kgm": "kg",
    "grm": "g",
    "tne": "t",
    "lbr": "lb",
    "onz": "oz",
    "mtq": "m³",
    "mtr": "m",
    "cmt": "cm",
    "mmt": "mm",
    "kmt": "km",
    "inh": "in",
    "fot": "ft",
    "hur": "Hours",
}
"""UN/ECE Recommendation 20 unit codes, as UBL, Order-X and EDIFACT orders write units."""
_ALIASES.update(_UNECE_REC20)

_CATEGORY_FACTORS: dict[str, tuple[str, Decimal]] = {
    UNITS: ("unit", Decimal(1)),
    DOZENS: ("unit", Decimal(12)),
    "kg": ("weight", Decimal(1)),
    "g": ("weight", Decimal("0.001")),
    "t": ("weight", Decimal(1000)),
    "lb": ("weight", Decimal("0.45359237")),
    "oz": ("weight", Decimal("0.028349523125")),
    "L": ("volume", Decimal(1)),
    "m³": ("volume", Decimal(1000)),
    "m": ("length", Decimal(1)),
    "cm": ("length", Decimal("0.01")),
    "mm": ("length", Decimal("0.001")),
    "km": ("length", Decimal(1000)),
    "in": ("length", Decimal("0.0254")),
    "ft": ("length", Decimal("0.3048")),
    "Hours": ("time", Decimal(1)),
    "Days": ("time", Decimal(8)),
}
"""Odoo unit → (category, size in the category's reference unit); Days are 8 working hours."""


def normalize_uom(text: str) -> str:
    """Return Odoo's name for a unit as written (``PCS`` → ``Units``), or the text unchanged.

    Unknown units (``box``, ``pallet``) come back stripped but otherwise as written, so a
    reviewer sees what the customer meant.
    """
    cleaned = " ".join(text.split()).strip(" .")
    return _ALIASES.get(fold(cleaned), cleaned)


def uom_factor(from_uom: str, to_uom: str) -> Decimal | None:
    """How many ``to_uom`` make one ``from_uom`` (Dozens → Units: 12), or None if unrelated."""
    a, b = normalize_uom(from_uom), normalize_uom(to_uom)
    if fold(a) == fold(b):
        return Decimal(1)
    cat_a, cat_b = _CATEGORY_FACTORS.get(a), _CATEGORY_FACTORS.get(b)
    if cat_a is None or cat_b is None or cat_a[0] != cat_b[0]:
        return None
    return cat_a[1] / cat_b[1]


def compatible(a: str, b: str) -> bool:
    """True when Odoo can convert between the two units (same unit or same category)."""
    return uom_factor(a, b) is not None


_PACKAGE_WORDS = frozenset(
    {
        "box",
        "boxes",
        "bx",
        "case",
        "cases",
        "cs",
        "carton",
        "cartons",
        "ctn",
        "ctns",
        "pack",
        "packs",
        "pk",
        "pkg",
        "package",
        "packages",
        "bundle",
        "bundles",
        "bag",
        "bags",
        "pallet",
        "pallets",
        "plt",
        "tray",
        "trays",
        "crate",
        "crates",
        "roll",
        "rolls",
        "set",
        "sets",
        "karton",
        "kartons",
        "kiste",
        "paket",
        "pakete",
        "packung",
        "colis",
        "boite",
        "boites",
        "caja",
        "cajas",
        "paquete",
        "paquetes",
        "doos",
        "pak",
        "verpakking",
    }
)
"""Words (folded) that name a package rather than a unit, in the corpus' five languages."""

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_WORD = re.compile(r"[^\W\d_]+")


def find_packaging(written: str, packagings: Sequence[CatalogPackaging]) -> CatalogPackaging | None:
    """The product's packaging the customer ordered in (``box of 12`` → "Box of 12"), or None.

    Customers order many products by the box or case. A written unit selects a packaging when
    it is the packaging's name; or when it names a package ("box", "Karton", "colis") with a
    count that one packaging holds ("box of 12", "12er Karton", "ctn/24"); or when it names a
    package without a count and exactly one packaging has that word in its name. Anything
    else is left to the unit mapping, so an unclear unit never multiplies a quantity.
    """
    if not packagings or not written.strip():
        return None
    folded = " ".join(fold(written).split()).strip(" .")
    for packaging in packagings:
        if " ".join(fold(packaging.name).split()) == folded:
            return packaging
    words = set(_WORD.findall(folded))
    package_words = words & _PACKAGE_WORDS
    if not package_words:
        return None
    counts: set[Decimal] = set()
    for number in _NUMBER.findall(folded):
        try:
            counts.add(Decimal(number.replace(",", ".")))
        except InvalidOperation:  # pragma: no cover - the pattern only matches numbers
            continue
    if counts:
        holding = [p for p in packagings if p.qty in counts]
        return holding[0] if len(holding) == 1 else None
    named = [p for p in packagings if package_words & set(_WORD.findall(fold(p.name)))]
    return named[0] if len(named) == 1 else None
