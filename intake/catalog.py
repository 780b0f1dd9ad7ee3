"""The customer and product catalog that orders are matched against.

With Odoo configured the catalog is read from Odoo; without it, from a JSON file (the sample
inbox ships one made from Odoo's demo data), so matching works the same way offline. Matching
always works from this in-memory catalog, never one round trip per line.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from intake.errors import ConfigError


class CatalogPartner(BaseModel):
    """A customer or one of its contacts (``parent_id`` points at the company)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    name: str
    parent_id: int | None = None
    email: str | None = None
    vat: str | None = None
    street: str | None = None
    city: str | None = None
    zip: str | None = None
    country: str | None = None
    type: str = Field(default="contact", description="contact, delivery or invoice, as in Odoo")
    is_company: bool = False
    pricelist_id: int | None = Field(default=None, description="the customer's Odoo pricelist")


class CatalogPackaging(BaseModel):
    """A packaging of a product (``box of 12``): a name and how many units it holds.

    ``id`` is a ``product.packaging`` id on Odoo 16–18 and a ``uom.uom`` id from Odoo 19, where
    packagings are units of measure (:attr:`intake.odoo.versions.OdooVersion.packaging_uom_field`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    name: str
    qty: Decimal


class CatalogProduct(BaseModel):
    """A product that can be sold (``sale_ok``) with its codes, unit and list price."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    name: str
    default_code: str | None = None
    barcode: str | None = None
    uom: str = "Units"
    list_price: Decimal = Decimal("0")
    sale_ok: bool = True
    active: bool = True
    uom_id: int | None = Field(default=None, description="Odoo id of ``uom``")
    packagings: tuple[CatalogPackaging, ...] = ()
    sale_delay: float | None = Field(
        default=None,
        ge=0,
        description="customer lead time in days (Odoo's sale_delay); None: the configured "
        "default_lead_time_days applies",
    )


class CatalogPricelist(BaseModel):
    """An Odoo pricelist; the customer's one prices the draft quotation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    name: str
    currency: str | None = None


class CatalogUom(BaseModel):
    """An Odoo unit of measure, so a line's unit can be sent by id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    name: str
    factor: Decimal | None = Field(
        default=None,
        description="Odoo 19's absolute factor (read there only): a packaging unit's size is "
        "its factor over the factor of the product's unit",
    )


class Catalog(BaseModel):
    """Customers and products, as Odoo would give them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    currency: str = "USD"
    partners: tuple[CatalogPartner, ...] = ()
    products: tuple[CatalogProduct, ...] = ()
    pricelists: tuple[CatalogPricelist, ...] = ()
    uoms: tuple[CatalogUom, ...] = ()

    def partner(self, partner_id: int) -> CatalogPartner | None:
        """Return the partner with this id, or None."""
        return next((p for p in self.partners if p.id == partner_id), None)

    def commercial_partner(self, partner: CatalogPartner) -> CatalogPartner:
        """Return the company a contact belongs to (the partner itself for a company)."""
        seen = {partner.id}
        while partner.parent_id is not None:
            parent = self.partner(partner.parent_id)
            if parent is None or parent.id in seen:
                break
            seen.add(parent.id)
            partner = parent
        return partner


def load_catalog(path: Path) -> Catalog:
    """Read a catalog JSON file; a missing or invalid file names the file and the fix."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(
            f"catalog file {path} does not exist: set [catalog] path in intake.toml "
            "to a JSON catalog, or configure [odoo]"
        ) from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"catalog file {path} cannot be read as JSON: {exc}") from exc
    try:
        return Catalog.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"catalog file {path} is not a valid catalog: {exc}") from exc
