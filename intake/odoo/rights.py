"""The Odoo rights intake needs, checked up front so a missing one is named before any order.

``intake doctor`` asks Odoo, model by model, whether the configured user may do what the
catalog sync and the outbox will do; the answer lists what is missing as ``operation model``.
"""

from __future__ import annotations

from intake.odoo.client import OdooClient

REQUIRED_RIGHTS: tuple[tuple[str, str], ...] = (
    ("res.partner", "read"),
    ("res.company", "read"),
    ("product.product", "read"),
    ("product.template", "read"),
    ("product.pricelist", "read"),
    ("uom.uom", "read"),
    ("sale.order", "read"),
    ("sale.order", "create"),
    ("sale.order", "write"),
    ("sale.order.line", "read"),
    ("sale.order.line", "write"),
    ("ir.attachment", "create"),
    ("mail.message", "read"),
    ("mail.activity", "create"),
)
"""(model, operation) pairs the catalog sync and the outbox use."""


def missing_rights(client: OdooClient) -> list[str]:
    """Every required right the user lacks, as ``operation model`` (empty when all are there)."""
    required = list(REQUIRED_RIGHTS)
    packaging = client.version.packaging_model
    if packaging is not None:
        required.append((packaging, "read"))
    return [f"{op} {model}" for model, op in required if not client.can(model, op)]
