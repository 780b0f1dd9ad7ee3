"""What the checks know beyond the order itself: the catalog and the customer's earlier orders.

"200 chairs when they always order 20", "a PO number we already quoted", "a ship-to address
never seen" are only visible against what came before. The pipeline reads the customer's
earlier quotations from the store (every draft intake made and every order a person approved;
the same history whether or not Odoo is configured) and hands them in as a
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
    from intake.store import PastQuotation


class PastLine(Frozen):
    """One product line of an earlier order."""

    product_id: int
    quantity: Decimal
    uom: str | None = None


class PastOrder(Frozen):
    """An earlier order of the customer, as the quotation intake made for it."""

    message_id: str
    po_number: str | None = None
    ordered_on: date | None = None
    ship_to: str | None = None
    lines: tuple[PastLine, ...] = ()

    @property
    def reference(self) -> str:
        """How people name the order in a message: its PO number, else the message id."""
        return f"PO {self.po_number}" if self.po_number else f"message {self.message_id}"


class CustomerHistory(Frozen):
    """The earlier orders of one customer (commercial partner), newest first."""

    partner_id: int
    orders: tuple[PastOrder, ...] = ()

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


def _po_key(po_number: str) -> str:
    return "".join(po_number.split()).casefold()
