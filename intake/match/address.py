"""Match the order's ship-to block to one of the customer's delivery addresses in Odoo.

A draft quotation must go to the right place: the ship-to text is compared with the street,
zip and city of the customer's delivery contacts (``type = 'delivery'``), then with the
company's own address. A delivery contact whose street and zip (or street and city) both occur
in the ship-to text is a match; when the text names an address that none of them has, the
result says so, so the quotation flags it as a new address instead of shipping to the default.
Pure: works on the in-memory catalog.
"""

from __future__ import annotations

from dataclasses import dataclass

from intake.catalog import Catalog, CatalogPartner
from intake.match.learned import LearnedMappings
from intake.match.text import normalize_text


@dataclass(frozen=True)
class ShipToMatch:
    """Where to deliver: ``partner_id`` None means the ship-to names no known address."""

    partner_id: int | None
    score: float
    method: str
    text: str


def _occurs(part: str | None, haystack: str) -> bool:
    needle = normalize_text(part or "")
    return bool(needle) and f" {needle} " in f" {haystack} "


def _score(partner: CatalogPartner, haystack: str) -> float:
    street = _occurs(partner.street, haystack)
    if not street:
        return 0.0
    if _occurs(partner.zip, haystack):
        return 0.95
    if _occurs(partner.city, haystack):
        return 0.85
    return 0.6


def match_ship_to(
    ship_to: str | None,
    customer_id: int,
    catalog: Catalog,
    learned: LearnedMappings | None = None,
) -> ShipToMatch | None:
    """The delivery address of ``customer_id`` that ``ship_to`` names, or a 'new address'.

    A ship-to text a reviewer mapped to an address of this customer (``learned``) gets that
    address first. Returns None when the order has no ship-to text (Odoo's default delivery
    address is used).
    """
    if not ship_to or not ship_to.strip():
        return None
    taught = learned.delivery_for(customer_id, ship_to) if learned else None
    if taught is not None and catalog.partner(taught) is not None:
        return ShipToMatch(taught, 1.0, "learned", ship_to)
    haystack = normalize_text(ship_to)
    company = catalog.partner(customer_id)
    children = [
        p
        for p in catalog.partners
        if p.parent_id == customer_id and p.type == "delivery" and p.street
    ]
    scored = sorted(((_score(p, haystack), p.id) for p in children), reverse=True)
    if scored and scored[0][0] >= 0.6:
        return ShipToMatch(scored[0][1], scored[0][0], "delivery_address", ship_to)
    if company is not None and _score(company, haystack) >= 0.6:
        return ShipToMatch(company.id, _score(company, haystack), "company_address", ship_to)
    return ShipToMatch(None, 0.0, "new_address", ship_to)
