"""Order history for the anomaly checks: what each customer ordered before, how much, at what price.

"200 chairs when they always order 20" or "a price half of last time" is only visible against
the customer's past orders. This module reads them in bulk — every ``sale.order.line`` of the
given customers (and products) in three calls whatever the size: the lines page by page, then
their orders' dates, then the ordering partners' companies — and returns a typed
:class:`OrderHistory` the assess stage can query per (customer, product) without I/O.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from intake.odoo.client import OdooClient

CONFIRMED_STATES = ("sale", "done")
"""Order states that count as history by default: confirmed and locked (not quotations)."""
QUOTED_STATES = ("draft", "sent", "sale", "done")
"""Every order state but cancelled: what the anomaly checks compare with (a quotation sent
with a PO number makes a second one a duplicate, as intake's own drafts do)."""

PAGE_SIZE = 2000


class HistoryLine(BaseModel):
    """One past order line of a customer for a product."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    order_id: int
    order_name: str
    order_date: date | None
    state: str
    order_ref: str | None = None
    """The customer's reference (PO number) on the order, ``client_order_ref``."""
    origin: str | None = None
    """The order's source document; intake writes its idempotency key there."""
    quantity: Decimal
    uom: str | None
    price_unit: Decimal


class ProductHistory(BaseModel):
    """Every past line of one customer (commercial partner) for one product, oldest first."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    partner_id: int
    product_id: int
    lines: tuple[HistoryLine, ...]

    @property
    def median_quantity(self) -> Decimal:
        """The typical quantity ordered."""
        return Decimal(statistics.median(line.quantity for line in self.lines))

    @property
    def max_quantity(self) -> Decimal:
        """The largest quantity ever ordered."""
        return max(line.quantity for line in self.lines)

    @property
    def last_price(self) -> Decimal:
        """The unit price of the most recent line."""
        return self.lines[-1].price_unit

    @property
    def price_range(self) -> tuple[Decimal, Decimal]:
        """The lowest and highest unit price seen."""
        prices = [line.price_unit for line in self.lines]
        return min(prices), max(prices)


class OrderHistory(BaseModel):
    """Past order lines per (customer, product), as read from Odoo in one go."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    partner_ids: tuple[int, ...]
    since: date | None = None
    states: tuple[str, ...] = CONFIRMED_STATES
    products: tuple[ProductHistory, ...] = Field(default=())

    def get(self, partner_id: int, product_id: int) -> ProductHistory | None:
        """The history of one customer for one product, or None if never ordered."""
        return next(
            (p for p in self.products if p.partner_id == partner_id and p.product_id == product_id),
            None,
        )


def _many2one_id(value: Any) -> int | None:
    return int(value[0]) if isinstance(value, list | tuple) and value else None


def order_history(
    client: OdooClient,
    partner_ids: list[int],
    product_ids: list[int] | None = None,
    since: date | None = None,
    states: tuple[str, ...] = CONFIRMED_STATES,
) -> OrderHistory:
    """Read the past order lines of these customers (commercial partners), in bulk.

    Args:
        client: a connected Odoo client.
        partner_ids: commercial partners; orders of their contacts count for them.
        product_ids: only these products (all when None).
        since: only orders dated on or after this day.
        states: order states that count (confirmed orders by default).
    """
    partners = sorted(set(partner_ids))
    if not partners:
        return OrderHistory(partner_ids=(), since=since, states=states)
    domain: list[Any] = [
        ("order_id.partner_id", "child_of", partners),
        ("state", "in", list(states)),
        ("display_type", "=", False),
        ("product_id", "!=", False),
    ]
    if product_ids is not None:
        domain.append(("product_id", "in", sorted(set(product_ids))))
    if since is not None:
        domain.append(("order_id.date_order", ">=", f"{since.isoformat()} 00:00:00"))
    uom_field = client.version.line_uom_field
    lines: list[dict[str, Any]] = []
    last = 0
    while True:
        page = client.execute(
            "sale.order.line",
            "search_read",
            [*domain, ("id", ">", last)],
            fields=[
                "order_id",
                "order_partner_id",
                "product_id",
                "product_uom_qty",
                "price_unit",
                uom_field,
                "state",
            ],
            order="id",
            limit=PAGE_SIZE,
        )
        lines += page
        if len(page) < PAGE_SIZE:
            break
        last = page[-1]["id"]
    order_ids = sorted({oid for line in lines if (oid := _many2one_id(line["order_id"]))})
    orders = {
        row["id"]: row
        for row in (
            client.execute(
                "sale.order",
                "read",
                order_ids,
                fields=["name", "date_order", "client_order_ref", "origin"],
            )
            if order_ids
            else []
        )
    }
    ordering = sorted({pid for line in lines if (pid := _many2one_id(line["order_partner_id"]))})
    commercial = {
        row["id"]: _many2one_id(row["commercial_partner_id"])
        for row in (
            client.execute("res.partner", "read", ordering, fields=["commercial_partner_id"])
            if ordering
            else []
        )
    }
    grouped: dict[tuple[int, int], list[HistoryLine]] = defaultdict(list)
    for line in lines:
        order_id = _many2one_id(line["order_id"])
        product_id = _many2one_id(line["product_id"])
        partner = _many2one_id(line["order_partner_id"])
        company = commercial.get(partner) if partner is not None else None
        if order_id is None or product_id is None or company is None:
            continue
        order = orders.get(order_id, {})
        raw_date = order.get("date_order")
        uom = line.get(uom_field)
        grouped[(company, product_id)].append(
            HistoryLine(
                order_id=order_id,
                order_name=str(order.get("name") or order_id),
                order_date=date.fromisoformat(str(raw_date)[:10]) if raw_date else None,
                state=str(line["state"]),
                order_ref=order.get("client_order_ref") or None,
                origin=order.get("origin") or None,
                quantity=Decimal(str(line["product_uom_qty"])),
                uom=str(uom[1]) if isinstance(uom, list | tuple) and len(uom) > 1 else None,
                price_unit=Decimal(str(line["price_unit"])),
            )
        )
    products = tuple(
        ProductHistory(
            partner_id=company,
            product_id=product,
            lines=tuple(sorted(items, key=lambda h: (h.order_date or date.min, h.order_id))),
        )
        for (company, product), items in sorted(grouped.items())
    )
    return OrderHistory(partner_ids=tuple(partners), since=since, states=states, products=products)
