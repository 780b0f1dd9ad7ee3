"""Find the catalog product each order line means, and the unit it is ordered in.

Only products that can be sold (``sale_ok``) and are ``active`` are candidates. Lookups, in
order, the first hit wins:

=======================  =====  ===========================================================
method                   score  when
=======================  =====  ===========================================================
``default_code``         1.00   the line's code is a product's internal reference, ignoring
                                case, spaces, dashes and underscores (furn-7800 = FURN_7800)
``barcode``              0.98   the line's code (or a number in its text) is a barcode
``code_in_description``  0.92   a product's reference appears inside the description
``name_exact``           0.95   the description equals a product name (case, punctuation)
``name_fuzzy``           s      similarity ``s`` of description and name, at least 0.6;
                                lowered when the runner-up is within 0.1 (ambiguous)
=======================  =====  ===========================================================

Exact lookups use dictionaries built once per order, so fuzzy search runs only for lines no
index resolves (and once per distinct description). A code hit whose description is exactly
another product's name or holds another product's code (the customer mistyped a digit) is kept
but scored 0.6 with that product as alternative, so a person looks.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from intake.catalog import Catalog, CatalogProduct
from intake.match.text import (
    best_matches,
    normalize_barcode,
    normalize_code,
    normalize_text,
    tokens,
)
from intake.match.uom import find_packaging, normalize_uom, uom_factor
from intake.models import Candidate, ExtractedLine, ProductMatch

SCORE_CODE = 1.0
SCORE_BARCODE = 0.98
SCORE_NAME_EXACT = 0.95
SCORE_CODE_IN_TEXT = 0.92
SCORE_CONTRADICTED = 0.6
FUZZY_CUTOFF = 0.6
AMBIGUOUS_MARGIN = 0.1
MIN_CODE_LENGTH = 3
MIN_BARCODE_LENGTH = 8
MAX_ALTERNATIVES = 3


@dataclass(frozen=True)
class _Hit:
    product: CatalogProduct
    score: float
    method: str
    alternatives: tuple[Candidate, ...] = ()


@dataclass
class ProductIndex:
    """Lookup tables over the sellable products of a catalog, built once per order."""

    by_code: dict[str, list[CatalogProduct]] = field(default_factory=lambda: defaultdict(list))
    by_barcode: dict[str, list[CatalogProduct]] = field(default_factory=lambda: defaultdict(list))
    by_name: dict[str, list[CatalogProduct]] = field(default_factory=lambda: defaultdict(list))
    names: list[str] = field(default_factory=list)
    name_owner: list[CatalogProduct] = field(default_factory=list)
    _fuzzy_cache: dict[tuple[str, int], list[tuple[CatalogProduct, float]]] = field(
        default_factory=dict
    )

    @classmethod
    def build(cls, catalog: Catalog) -> ProductIndex:
        """Index sellable, active products by code, barcode and normalised name."""
        index = cls()
        for product in catalog.products:
            if not (product.sale_ok and product.active):
                continue
            if product.default_code and (code := normalize_code(product.default_code)):
                index.by_code[code].append(product)
            if product.barcode and (barcode := normalize_barcode(product.barcode)):
                index.by_barcode[barcode].append(product)
            name = normalize_text(product.name)
            if name:
                index.by_name[name].append(product)
                index.names.append(name)
                index.name_owner.append(product)
        return index

    def lookup_code(self, text: str) -> list[CatalogProduct]:
        """Products whose internal reference equals ``text`` once normalised."""
        return self.by_code.get(normalize_code(text), [])

    def lookup_barcode(self, text: str) -> list[CatalogProduct]:
        """Products whose barcode equals the digits of ``text`` (at least 8 of them)."""
        digits = normalize_barcode(text)
        if len(digits) < MIN_BARCODE_LENGTH:
            return []
        return self.by_barcode.get(digits, [])

    def codes_in(self, text: str) -> list[CatalogProduct]:
        """Products whose reference or barcode appears as a token (or two joined) in ``text``."""
        words = tokens(text)
        found: dict[int, CatalogProduct] = {}
        candidates = words + [a + b for a, b in zip(words, words[1:], strict=False)]
        for candidate in candidates:
            if len(normalize_code(candidate)) < MIN_CODE_LENGTH:
                continue
            for product in self.lookup_code(candidate) or self.lookup_barcode(candidate):
                found.setdefault(product.id, product)
        return list(found.values())

    def fuzzy(
        self, text: str, limit: int = MAX_ALTERNATIVES + 1
    ) -> list[tuple[CatalogProduct, float]]:
        """Products whose name resembles ``text``, best first, with similarity in [0, 1]."""
        query = normalize_text(text)
        key = (query, limit)
        if key not in self._fuzzy_cache:
            hits = best_matches(query, self.names, limit, FUZZY_CUTOFF)
            self._fuzzy_cache[key] = [(self.name_owner[pos], sim) for pos, sim in hits]
        return self._fuzzy_cache[key]


def match_line(line: ExtractedLine, index: ProductIndex) -> ProductMatch | None:
    """Return the product an order line means, with the unit it is ordered in, or None.

    Args:
        line: the extracted line; its code, description and unit are used.
        index: the product index of the catalog.
    """
    hit = _find(line, index)
    if hit is None:
        return None
    product = hit.product
    return ProductMatch(
        product_id=product.id,
        default_code=product.default_code,
        name=product.name,
        score=round(hit.score, 4),
        method=hit.method,
        alternatives=hit.alternatives,
        **ordered_unit(line, product),
    )


def ordered_unit(line: ExtractedLine, product: CatalogProduct) -> dict[str, Any]:
    """The unit fields of a :class:`ProductMatch`: unit, list price per ordered unit, packaging.

    A line ordered by one of the product's packagings ("3 box of 12") keeps the product's unit
    and prices one packaging (12 × the unit's list price), so the customer's price per box
    compares like with like; the quotation then asks Odoo for 36 units in 3 packagings.
    """
    packaging = find_packaging(line.uom.value or "", product.packagings)
    if packaging is not None and packaging.qty > 0:
        return {
            "uom": product.uom,
            "list_price": product.list_price * packaging.qty,
            "packaging_id": packaging.id,
            "packaging_name": packaging.name,
            "packaging_qty": packaging.qty,
        }
    uom, list_price = ordered_uom(line, product)
    return {"uom": uom, "list_price": list_price}


def _find(line: ExtractedLine, index: ProductIndex) -> _Hit | None:
    code = (line.product_code.value or "").strip()
    description = (line.description.value or "").strip()
    if code:
        products = index.lookup_code(code)
        if products:
            return _check_against_description(
                _exact(products, SCORE_CODE, "default_code"), description, index
            )
        products = index.lookup_barcode(code)
        if products:
            return _check_against_description(
                _exact(products, SCORE_BARCODE, "barcode"), description, index
            )
        # "Ref. FURN_7800" or "FURN 7800" in the code field.
        products = index.codes_in(code)
        if products:
            return _check_against_description(
                _exact(products, SCORE_CODE, "default_code"), description, index
            )
    if description:
        products = index.codes_in(description)
        if products:
            return _exact(products, SCORE_CODE_IN_TEXT, "code_in_description")
        products = index.by_name.get(normalize_text(description), [])
        if products:
            return _exact(products, SCORE_NAME_EXACT, "name_exact")
    return _fuzzy(description or code, index)


def _exact(products: list[CatalogProduct], score: float, method: str) -> _Hit:
    """A hit from an exact index; several products under one key make it uncertain."""
    first, others = products[0], products[1:]
    if others:
        score /= len(products)
    return _Hit(
        first,
        score,
        method,
        tuple(Candidate(id=p.id, name=p.name, score=round(score, 4)) for p in others)[
            :MAX_ALTERNATIVES
        ],
    )


def _check_against_description(hit: _Hit, description: str, index: ProductIndex) -> _Hit:
    """Lower a code hit whose description names a different product exactly.

    Only exact lookups (another product's name, or another product's code in the text) are
    used, so a line whose code hits never costs a fuzzy search over the catalog.
    """
    if not description:
        return hit
    named = index.by_name.get(normalize_text(description), []) or index.codes_in(description)
    others = [p for p in named if p.id != hit.product.id]
    if not others or len(others) < len(named):
        return hit  # the description names nothing else, or (also) the code's product
    alternatives = tuple(Candidate(id=p.id, name=p.name, score=SCORE_CONTRADICTED) for p in others)
    return _Hit(
        hit.product,
        SCORE_CONTRADICTED,
        hit.method,
        (alternatives + hit.alternatives)[:MAX_ALTERNATIVES],
    )


def _fuzzy(text: str, index: ProductIndex) -> _Hit | None:
    if not text:
        return None
    hits = index.fuzzy(text)
    if not hits:
        return None
    (product, sim), rest = hits[0], hits[1:]
    factor = 1.0
    if rest:
        margin = sim - rest[0][1]
        if margin < AMBIGUOUS_MARGIN:
            # Two names fit about equally well: halve the scores at a tie, keep them 0.1 apart.
            factor = 0.5 + 5 * margin
    alternatives = tuple(
        Candidate(id=p.id, name=p.name, score=round(s * factor, 4)) for p, s in rest
    )
    return _Hit(product, sim * factor, "name_fuzzy", alternatives[:MAX_ALTERNATIVES])


def ordered_uom(line: ExtractedLine, product: CatalogProduct) -> tuple[str, Decimal]:
    """The unit of the quotation line and the list price of one such unit.

    The customer's unit is used when Odoo can convert it to the product's (Dozens for a
    product sold in Units); the list price is then converted too, so the match stays
    self-consistent. Otherwise the product's own unit and price are returned.
    """
    written = (line.uom.value or "").strip()
    if not written:
        return product.uom, product.list_price
    ordered = normalize_uom(written)
    factor = uom_factor(ordered, product.uom)
    if factor is None or factor == 1:
        return product.uom, product.list_price
    price = product.list_price * factor
    rounded = price.quantize(Decimal("0.0001"))
    return ordered, price if rounded == price else rounded
