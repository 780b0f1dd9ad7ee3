"""EDIFACT ORDERS messages (EANCOM and plain UN/EDIFACT): segments with their offsets.

Retailers and their EDI providers send orders as EDIFACT interchanges (``UNB … UNH+…+ORDERS
… UNT … UNZ``). The tokenizer here honours the service string advice (``UNA``: separators,
decimal mark, release character) and records where every component starts and ends in the
document text, so each value can be grounded exactly. The message is then read by the
segments EANCOM defines for an order:

- ``BGM`` document number → PO number; header ``DTM+137`` → order date; requested delivery:
  ``DTM+2``, else the earliest (``64``), else the latest (``63``) date of the window;
- ``NAD+BY`` (the first with a name) → customer, with ``RFF+VA`` and ``COM …:EM`` of its group;
  ``NAD+DP`` (else ``NAD+ST``) → ship-to; ``CUX`` → currency; ``MOA+79`` → order total;
- per ``LIN`` group: the supplier's article number (``PIA … :SA``), else the ``LIN`` item
  number (usually the EAN), else the buyer's (``PIA … :BP``/``IN``); ``IMD`` description;
  ``QTY+21`` quantity and unit; ``PRI+AAA`` (net, else ``AAB`` gross) price per unit;
  ``MOA+203`` line amount.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from intake.extract._values import Span, date_at, number_at, per_unit, scaled_number, text_at
from intake.models import (
    Document,
    ExtractedDate,
    ExtractedLine,
    ExtractedNumber,
    ExtractedOrder,
    ExtractedText,
)

MAX_SEGMENTS = 100_000
"""An interchange with more segments than this is not read as a structured order."""
_START = re.compile(r"^\s*(UNA.{6}|UNB\+|UNH\+)", re.DOTALL)


@dataclass(frozen=True)
class Component:
    """One component value (release characters removed) and its span in the text."""

    value: str
    start: int
    end: int


@dataclass(frozen=True)
class Segment:
    """A segment: its tag and its data elements, each a list of components."""

    tag: str
    elements: tuple[tuple[Component, ...], ...]

    def get(self, element: int, component: int = 0) -> Component | None:
        """The component, or None when absent or empty (``element`` 0 follows the tag)."""
        if element >= len(self.elements) or component >= len(self.elements[element]):
            return None
        found = self.elements[element][component]
        return found if found.value.strip() else None

    def value(self, element: int, component: int = 0) -> str:
        """The component's value, ``''`` when absent."""
        found = self.get(element, component)
        return found.value if found else ""


@dataclass(frozen=True)
class Syntax:
    """The service characters of an interchange (``UNA``, else the defaults)."""

    component: str = ":"
    element: str = "+"
    decimal: str = "."
    release: str = "?"
    terminator: str = "'"


def looks_like_edifact(text: str) -> bool:
    """True for text that starts like an EDIFACT interchange or message."""
    return _START.match(text[:64]) is not None


def tokenize(text: str) -> tuple[list[Segment], Syntax]:
    """Split an interchange into segments with component spans.

    Raises:
        ValueError: the text is not EDIFACT, or has more than ``MAX_SEGMENTS`` segments.
    """
    match = _START.match(text[:64])
    if match is None:
        raise ValueError("not an EDIFACT interchange")
    position = match.start(1)
    syntax = Syntax()
    if text.startswith("UNA", position):
        advice = text[position + 3 : position + 9]
        syntax = Syntax(advice[0], advice[1], advice[2], advice[3], advice[5])
        position += 9
    segments: list[Segment] = []
    elements: list[tuple[Component, ...]] = []
    components: list[Component] = []
    chars: list[str] = []
    start = position
    index = position
    length = len(text)
    while index < length:
        ch = text[index]
        if not elements and not components and not chars and ch in " \t\r\n":
            index += 1  # line breaks between segments
            start = index
            continue
        if ch == syntax.release and index + 1 < length:
            chars.append(text[index + 1])
            index += 2
            continue
        if ch not in (syntax.component, syntax.element, syntax.terminator):
            chars.append(ch)
            index += 1
            continue
        components.append(Component("".join(chars), start, index))
        chars.clear()
        if ch != syntax.component:
            elements.append(tuple(components))
            components.clear()
        if ch == syntax.terminator:
            tag = elements[0][0].value.strip() if elements[0] else ""
            segments.append(Segment(tag=tag, elements=tuple(elements[1:])))
            elements.clear()
            if len(segments) > MAX_SEGMENTS:
                raise ValueError(f"more than {MAX_SEGMENTS} segments")
        index += 1
        start = index
    return segments, syntax


def orders_message(segments: list[Segment]) -> tuple[list[Segment], str] | None:
    """The first ORDERS message (UNH … UNT) and its version, e.g. ``d96a``."""
    for index, segment in enumerate(segments):
        if segment.tag == "UNH" and segment.value(1, 0).upper() == "ORDERS":
            version = (segment.value(1, 1) + segment.value(1, 2)).lower()
            body: list[Segment] = []
            for inner in segments[index + 1 :]:
                if inner.tag in ("UNT", "UNH"):
                    break
                body.append(inner)
            return body, version
    return None


class _Reader:
    """Grounded values from one ORDERS message."""

    def __init__(self, doc: Document, syntax: Syntax) -> None:
        self.doc = doc
        self.comma = syntax.decimal == ","

    def text(self, *parts: Component | None, separator: str = " ") -> ExtractedText:
        found = [p for p in parts if p is not None and p.value.strip()]
        if not found:
            return ExtractedText()
        value = separator.join(" ".join(p.value.split()) for p in found)
        span = (min(p.start for p in found), max(p.end for p in found))
        return text_at(self.doc, span, value)

    def number(self, part: Component | None) -> ExtractedNumber:
        if part is None:
            return ExtractedNumber()
        return number_at(self.doc, (part.start, part.end), part.value, decimal_comma=self.comma)

    def date(self, part: Component | None) -> ExtractedDate:
        if part is None:
            return ExtractedDate()
        return date_at(self.doc, (part.start, part.end), part.value)


def read_edifact_order(doc: Document) -> ExtractedOrder | None:
    """The first ORDERS message of an EDIFACT document as an order; None for anything else."""
    if not looks_like_edifact(doc.text):
        return None
    segments, syntax = tokenize(doc.text)
    found = orders_message(segments)
    if found is None:
        return None
    body, version = found
    reader = _Reader(doc, syntax)
    first_line = next((i for i, s in enumerate(body) if s.tag == "LIN"), len(body))
    header, detail = body[:first_line], body[first_line:]
    parties = _parties(header)
    buyer = next((p for p in parties.get("BY", []) if p.name), None) or next(
        iter(parties.get("BY", [])), None
    )
    ship = next(iter(parties.get("DP", []) or parties.get("ST", [])), None)
    currency = next((s for s in header if s.tag == "CUX"), None)
    bgm = next((s for s in header if s.tag == "BGM"), None)
    return ExtractedOrder(
        extractor=f"structured/edifact-orders-{version or 'unknown'}",
        po_number=reader.text(bgm.get(1) if bgm else None),
        order_date=reader.date(_header_date(header, ("137",))),
        requested_delivery_date=reader.date(_header_date(header, ("2", "64", "63", "69"))),
        currency=reader.text(currency.get(0, 1) if currency else None),
        customer_name=reader.text(*buyer.name) if buyer else ExtractedText(),
        customer_vat=reader.text(buyer.vat) if buyer else ExtractedText(),
        customer_email=reader.text(buyer.email) if buyer else ExtractedText(),
        ship_to=reader.text(*ship.address(), separator=", ") if ship else ExtractedText(),
        total_amount=reader.number(_amount(body, "79")),
        lines=tuple(_line(reader, group) for group in _groups(detail)),
    )


def _header_date(header: list[Segment], qualifiers: tuple[str, ...]) -> Component | None:
    """A date of the message header (the DTM segments right after BGM), by qualifier order."""
    dates: list[Segment] = []
    seen_bgm = False
    for segment in header:
        if segment.tag == "BGM":
            seen_bgm = True
        elif seen_bgm and segment.tag == "DTM":
            dates.append(segment)
        elif seen_bgm:
            break
    for qualifier in qualifiers:
        for segment in dates:
            if segment.value(0, 0) == qualifier:
                return segment.get(0, 1)
    return None


def _amount(segments: list[Segment], qualifier: str) -> Component | None:
    for segment in segments:
        if segment.tag == "MOA" and segment.value(0, 0) == qualifier:
            return segment.get(0, 1)
    return None


@dataclass
class _Party:
    segment: Segment
    vat: Component | None = None
    email: Component | None = None

    @property
    def name(self) -> list[Component]:
        """The structured party name (C080), else the free-form name and address (C058)."""
        named = (
            [c for c in self.segment.elements[3] if c.value.strip()]
            if len(self.segment.elements) > 3
            else []
        )
        if named:
            return named
        free = self.segment.elements[2] if len(self.segment.elements) > 2 else ()
        return [c for c in free[:1] if c.value.strip()]

    def address(self) -> list[Component | None]:
        """Name, street, postcode, city, country, in that order (the ones present)."""
        seg = self.segment
        street = list(seg.elements[4]) if len(seg.elements) > 4 else []
        return [*self.name, *street, seg.get(7), seg.get(5), seg.get(8)]


def _parties(header: list[Segment]) -> dict[str, list[_Party]]:
    """NAD groups by qualifier, with the VAT number and e-mail address that follow each."""
    found: dict[str, list[_Party]] = {}
    current: _Party | None = None
    for segment in header:
        if segment.tag == "NAD":
            current = _Party(segment)
            found.setdefault(segment.value(0).upper(), []).append(current)
        elif current is not None and segment.tag == "RFF" and segment.value(0, 0) == "VA":
            current.vat = current.vat or segment.get(0, 1)
        elif current is not None and segment.tag == "COM" and segment.value(0, 1) == "EM":
            current.email = current.email or segment.get(0, 0)
        elif segment.tag not in ("RFF", "DTM", "CTA", "COM", "LOC", "FII"):
            current = None
    return found


def _groups(detail: list[Segment]) -> list[list[Segment]]:
    """The LIN groups (a LIN segment and what follows it, up to the next LIN or UNS)."""
    groups: list[list[Segment]] = []
    for segment in detail:
        if segment.tag == "UNS":
            break
        if segment.tag == "LIN":
            groups.append([segment])
        elif groups:
            groups[-1].append(segment)
    return groups


_SUPPLIER_CODES = ("SA",)
_OTHER_CODES = ("BP", "IN", "MF", "SRV")


def _line(reader: _Reader, group: list[Segment]) -> ExtractedLine:
    lin = group[0]
    ids: dict[str, Component] = {}
    for segment in group:
        if segment.tag != "PIA":
            continue
        for element in range(1, len(segment.elements)):
            number, kind = segment.get(element, 0), segment.value(element, 1).upper()
            if number is not None and kind not in ids:
                ids[kind] = number
    code = next((ids[k] for k in _SUPPLIER_CODES if k in ids), None) or lin.get(2, 0)
    code = code or next((ids[k] for k in _OTHER_CODES if k in ids), None)
    quantity = next(
        (s for s in group if s.tag == "QTY" and s.value(0, 0) == "21"),
        next((s for s in group if s.tag == "QTY"), None),
    )
    price = next(
        (s for q in ("AAA", "AAB") for s in group if s.tag == "PRI" and s.value(0, 0) == q),
        None,
    )
    descriptions = [s for s in group if s.tag == "IMD"]
    description = next((d for d in descriptions if d.get(2, 3) is not None), None)
    return ExtractedLine(
        product_code=reader.text(code),
        description=(
            reader.text(description.get(2, 3), description.get(2, 4))
            if description
            else ExtractedText()
        ),
        quantity=reader.number(quantity.get(0, 1) if quantity else None),
        uom=reader.text(quantity.get(0, 2) if quantity else None),
        unit_price=_price(reader, price),
        line_total=reader.number(_amount(group, "203")),
    )


def _price(reader: _Reader, price: Segment | None) -> ExtractedNumber:
    if price is None:
        return ExtractedNumber()
    amount, basis = price.get(0, 1), price.get(0, 4)
    stated = reader.number(amount)
    if basis is None or stated.value is None:
        return stated
    base = reader.number(basis).value
    value = per_unit(stated.value, base)
    if value == stated.value or amount is None:
        return stated
    span: Span = (amount.start, basis.end)
    return scaled_number(reader.doc, span, value)
