"""Matching: resolve an extracted order's customer and products against the Odoo catalog.

The one entry point is :func:`match_order`. It is a pure function of the order, the sender and
the in-memory catalog (no I/O), so it can be re-run on stored orders and tested with small
hand-made catalogs. Indexes are built once per call; see :mod:`intake.match.customer` and
:mod:`intake.match.product` for the methods and their scores.
"""

from __future__ import annotations

from intake.catalog import Catalog
from intake.match.customer import PartnerIndex, match_customer
from intake.match.product import ProductIndex, match_line
from intake.match.uom import compatible, normalize_uom, uom_factor
from intake.models import ExtractedOrder, MatchedLine, MatchedOrder

__all__ = ["compatible", "match_order", "normalize_uom", "uom_factor"]


def match_order(order: ExtractedOrder, sender: str | None, catalog: Catalog) -> MatchedOrder:
    """Match the customer and every line of ``order`` against ``catalog``.

    Args:
        order: the extracted order.
        sender: the message's From address (``Name <a@b.c>`` or bare), None for dropped files.
        catalog: customers and products, as read from Odoo or the catalog file.

    Returns:
        The order with its customer (None when nothing matched) and one MatchedLine per line,
        in the order's line order; a line whose product is unknown has ``product`` None.
    """
    partners = PartnerIndex.build(catalog)
    products = ProductIndex.build(catalog)
    return MatchedOrder(
        order=order,
        customer=match_customer(order, sender, partners),
        lines=tuple(
            MatchedLine(line=line, product=match_line(line, products)) for line in order.lines
        ),
    )
