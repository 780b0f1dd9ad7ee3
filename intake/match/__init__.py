"""Matching: resolve an extracted order's customer and products against the Odoo catalog.

The one entry point is :func:`match_order`. It is a pure function of the order, the sender and
the in-memory catalog (no I/O), so it can be re-run on stored orders and tested with small
hand-made catalogs. Indexes are built once per call; see :mod:`intake.match.customer` and
:mod:`intake.match.product` for the methods and their scores.
"""

from __future__ import annotations

from intake.catalog import Catalog
from intake.match.customer import PartnerIndex, match_customer
from intake.match.learned import SCORE_LEARNED, LearnedMappings
from intake.match.product import ProductIndex, match_line, ordered_unit
from intake.match.uom import compatible, normalize_uom, uom_factor
from intake.models import ExtractedLine, ExtractedOrder, MatchedLine, MatchedOrder, ProductMatch

__all__ = ["LearnedMappings", "compatible", "match_order", "normalize_uom", "uom_factor"]


def match_order(
    order: ExtractedOrder,
    sender: str | None,
    catalog: Catalog,
    learned: LearnedMappings | None = None,
) -> MatchedOrder:
    """Match the customer and every line of ``order`` against ``catalog``.

    Args:
        order: the extracted order.
        sender: the message's From address (``Name <a@b.c>`` or bare), None for dropped files.
        catalog: customers and products, as read from Odoo or the catalog file.
        learned: mappings people taught in review; a line whose code a person mapped for
            this customer gets that product (method ``learned``) before any rule is tried.

    Returns:
        The order with its customer (None when nothing matched) and one MatchedLine per line,
        in the order's line order; a line whose product is unknown has ``product`` None.
    """
    partners = PartnerIndex.build(catalog)
    products = ProductIndex.build(catalog)
    customer = match_customer(order, sender, partners)

    def product(line: ExtractedLine) -> ProductMatch | None:
        if learned and customer is not None:
            taught = _learned_product(line, customer.partner_id, learned, catalog)
            if taught is not None:
                return taught
        return match_line(line, products)

    return MatchedOrder(
        order=order,
        customer=customer,
        lines=tuple(MatchedLine(line=line, product=product(line)) for line in order.lines),
    )


def _learned_product(
    line: ExtractedLine, partner_id: int, learned: LearnedMappings, catalog: Catalog
) -> ProductMatch | None:
    """The product a reviewer chose for this customer's code, if it is still sellable."""
    product_id = learned.product_for(partner_id, line.product_code.value)
    if product_id is None:
        return None
    chosen = next((p for p in catalog.products if p.id == product_id), None)
    if chosen is None or not (chosen.sale_ok and chosen.active):
        return None
    return ProductMatch(
        product_id=chosen.id,
        default_code=chosen.default_code,
        name=chosen.name,
        score=SCORE_LEARNED,
        method="learned",
        **ordered_unit(line, chosen),
    )
