"""What the checks know beyond the order itself: the catalog and the customer's earlier orders.

"200 chairs when they always order 20", "a PO number we already quoted", "a ship-to address
never seen" are only visible against what came before. The pipeline reads the customer's
earlier quotations from the store (every draft intake made and every order a person approved)
and, with Odoo configured, the customer's orders in Odoo — years of orders people entered by
hand before intake, which a fresh intake store knows nothing of. Both are handed in as one
:class:`CustomerHistory`, so the checks themselves stay pure and can be re-run on a stored
order. :class:`AssessContext` carries it together with the catalog.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from intake.catalog import Catalog
from intake.match.learned import LearnedMappings
from intake.match.uom import uom_factor
from intake.models import Frozen

if TYPE_CHECKING:
    from intake.odoo.history import HistoryLine, OrderHistory
    from intake.store import PastQuotation


class PastLine(Frozen):
    """One product line of an earlier order."""

    product_id: int
    quantity: Decimal
    uom: str | None = None


class PastOrder(Frozen):
    """An earlier order of the customer: a quotation intake made, or an order in Odoo."""

    message_id: str | None = None
    """The message intake made it from; None for an order only Odoo knows."""
    odoo_order: str | None = None
    """The Odoo order's name (S00042) for an order read from Odoo."""
    po_number: str | None = None
    ordered_on: date | None = None
    ship_to: str | None = None
    lines: tuple[PastLine, ...] = ()

    @property
    def source(self) -> str:
        """Where a person finds it: ``message <id>`` or ``Odoo order S00042``."""
        if self.message_id is not None:
            return f"message {self.message_id}"
        return f"Odoo order {self.odoo_order}"


class CustomerHistory(Frozen):
    """The earlier orders of one customer (commercial partner), newest first."""

    partner_id: int
    orders: tuple[PastOrder, ...] = ()
    consulted: tuple[str, ...] = ("intake",)
    """Where the orders were looked for: intake's store, and Odoo when it was read."""

    def quantities(self, product_id: int, uom: str) -> list[Decimal]:
        """Every earlier quantity of ``product_id``, converted to ``uom`` where Odoo can.

        A past line in a unit that cannot be converted (a box of unknown size) is left out
        rather than compared wrongly.
        """
        found: list[Decimal] = []
        for order in self.orders:
            for line in order.lines:
                if line.product_id != product_id:
                    continue
                factor = uom_factor(line.uom, uom) if line.uom else Decimal(1)
                if factor is not None:
                    found.append(line.quantity * factor)
        return found

    def orders_with(self, product_id: int) -> int:
        """How many earlier orders hold ``product_id``."""
        return sum(1 for o in self.orders if any(ln.product_id == product_id for ln in o.lines))

    def with_po_number(self, po_number: str) -> PastOrder | None:
        """The newest earlier order with the same PO number (case and spaces ignored)."""
        key = _po_key(po_number)
        return next((o for o in self.orders if o.po_number and _po_key(o.po_number) == key), None)


@dataclass(frozen=True)
class AssessContext:
    """What the checks may consult besides the order: catalog, customer history, learned mappings.

    Any may be None (a unit test of one check, an evaluation run without a store); the checks
    that need it are then skipped, never guessed. ``learned`` holds what reviewers taught
    (a ship-to text they mapped to a delivery address is no new address).
    """

    catalog: Catalog | None = None
    history: CustomerHistory | None = None
    learned: LearnedMappings | None = None


@dataclass(frozen=True)
class Outlier:
    """How a quantity compares with the customer's earlier quantities of the product."""

    median: Decimal
    mad: Decimal
    z: float | None
    """Robust z-score 0.6745 × (q − median) / MAD; None when MAD is 0 (all alike)."""
    ratio: Decimal


def robust_outlier(
    quantity: Decimal, past: list[Decimal], z_limit: float, ratio_limit: Decimal
) -> Outlier | None:
    """The comparison when ``quantity`` is far outside ``past``, else None.

    Far outside means both: a robust z-score (median and median absolute deviation, so one
    odd earlier order does not hide the next) above ``z_limit`` — or all earlier quantities
    alike — and at least ``ratio_limit`` times the median, or at most its 1/ratio_limit. The
    ratio keeps a customer who always orders exactly 10 from being flagged for 11.
    """
    if not past or quantity <= 0:
        return None
    median = Decimal(statistics.median(past))
    if median <= 0:
        return None
    mad = Decimal(statistics.median(abs(q - median) for q in past))
    z = float(Decimal("0.6745") * (quantity - median) / mad) if mad > 0 else None
    ratio = quantity / median
    far = ratio >= ratio_limit or ratio <= 1 / ratio_limit
    if not far or (z is not None and abs(z) <= z_limit):
        return None
    return Outlier(median=median, mad=mad, z=z, ratio=ratio)


def history_from_quotations(
    partner_id: int, quotations: Iterable[PastQuotation]
) -> CustomerHistory:
    """The customer's history from the store's earlier quotations (newest first)."""
    orders = tuple(
        PastOrder(
            message_id=q.message_id,
            po_number=q.draft.client_order_ref,
            ordered_on=q.created_at.date(),
            ship_to=q.ship_to,
            lines=tuple(
                PastLine(product_id=ln.product_id, quantity=ln.quantity, uom=ln.uom)
                for ln in q.draft.lines
                if ln.product_id is not None and ln.quantity is not None
            ),
        )
        for q in quotations
    )
    return CustomerHistory(partner_id=partner_id, orders=orders)


def history_from_odoo(
    partner_id: int, odoo: OrderHistory, skip_origins: Iterable[str] = ()
) -> tuple[PastOrder, ...]:
    """The customer's orders as Odoo holds them (newest first), one PastOrder per order.

    Orders whose source document is in ``skip_origins`` — the idempotency keys of quotations
    intake made and already counts from its store — are left out, so no order counts twice.
    """
    skip = set(skip_origins)
    by_order: dict[int, list[tuple[int, HistoryLine]]] = {}
    for product in odoo.products:
        if product.partner_id != partner_id:
            continue
        for line in product.lines:
            if line.origin is not None and line.origin in skip:
                continue
            by_order.setdefault(line.order_id, []).append((product.product_id, line))
    orders = [
        PastOrder(
            odoo_order=lines[0][1].order_name,
            po_number=lines[0][1].order_ref,
            ordered_on=lines[0][1].order_date,
            lines=tuple(
                PastLine(product_id=product_id, quantity=line.quantity, uom=line.uom)
                for product_id, line in lines
            ),
        )
        for lines in by_order.values()
    ]
    orders.sort(key=lambda o: o.ordered_on or date.min, reverse=True)
    return tuple(orders)


def merged_history(
    partner_id: int,
    quotations: Iterable[PastQuotation],
    odoo: OrderHistory | None,
    own_key: str | None = None,
) -> CustomerHistory:
    """The store's quotations and, when read, the customer's Odoo orders: one history.

    ``own_key`` is the idempotency key of the message being assessed: its own quotation, if
    an earlier run already sent it to Odoo, is not an earlier order (a reprocessed message
    is no duplicate of itself).
    """
    quotations = list(quotations)
    from_store = history_from_quotations(partner_id, quotations).orders
    if odoo is None:
        return CustomerHistory(partner_id=partner_id, orders=from_store)
    keys = [q.draft.idempotency_key for q in quotations]
    if own_key is not None:
        keys.append(own_key)
    from_odoo = history_from_odoo(partner_id, odoo, keys)
    orders = sorted((*from_store, *from_odoo), key=lambda o: o.ordered_on or date.min, reverse=True)
    return CustomerHistory(
        partner_id=partner_id, orders=tuple(orders), consulted=("intake", "Odoo")
    )


def _po_key(po_number: str) -> str:
    return "".join(po_number.split()).casefold()
