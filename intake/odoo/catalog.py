"""The catalog cache: Odoo's customers, products, pricelists and units, kept in intake's store.

Matching runs on the in-memory :class:`~intake.catalog.Catalog` and must never cost a round
trip per line, so intake copies what it matches against into its store and refreshes it
incrementally: each kind of record has a watermark (the newest ``write_date`` seen), and a
refresh reads only records written since, page by page (``id > last``, so a page boundary never
skips a record). Archived and deleted records are dropped by comparing the cached ids with the
ids Odoo still returns for the same domain (one cheap ``search``). Products also follow their
template's ``write_date``, because a list price changed on the template does not touch the
variant. A refresh is one store transaction per kind, so an interrupted one keeps the old cache.

Kinds: ``company`` (currency, own partner), ``partner`` (companies, contacts, delivery
addresses with email, VAT, pricelist), ``product`` (code, barcode, name, unit, list price,
``sale_ok``), ``pricelist``, ``uom`` and ``packaging`` (Odoo 16–18). On Odoo 19 packagings are
units of measure: the product rows carry their packaging units (``uom_ids``) and the units their
``factor``, and :func:`cached_catalog` joins the two into the products' packagings, so a changed
unit or a template given a new packaging reaches the cache like any other change. Customer
product codes:
``customer.product.reference`` exists only from Odoo 19.2 (see
:attr:`~intake.odoo.versions.OdooVersion.has_customer_product_reference`) and is not read yet.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from intake.catalog import (
    Catalog,
    CatalogPackaging,
    CatalogPartner,
    CatalogPricelist,
    CatalogProduct,
    CatalogUom,
)
from intake.odoo.client import OdooClient
from intake.store import Store

log = logging.getLogger(__name__)

PAGE_SIZE = 2000
"""Records per search_read page: large enough to be few round trips, small enough for RAM."""

MAX_BOUNDARY_IDS = 20000
"""Above this many records written in one second, the refresh re-reads that second instead."""

ODOO_DATETIME = "%Y-%m-%d %H:%M:%S"

Domain = list[Any]


def _id(value: Any) -> int | None:
    """A many2one as Odoo returns it ([id, name] or False) → the id."""
    return int(value[0]) if isinstance(value, list | tuple) and value else None


def _name(value: Any) -> str | None:
    """A many2one ([id, name] or False) → the display name."""
    return str(value[1]) if isinstance(value, list | tuple) and len(value) > 1 else None


def _text(value: Any) -> str | None:
    """Odoo sends False for an empty char field."""
    return str(value) if value not in (False, None, "") else None


def partner_data(row: dict[str, Any]) -> dict[str, Any]:
    """A res.partner row as CatalogPartner JSON."""
    return CatalogPartner(
        id=row["id"],
        name=_text(row.get("name")) or f"partner {row['id']}",
        parent_id=_id(row.get("parent_id")),
        email=_text(row.get("email")),
        vat=_text(row.get("vat")),
        street=_text(row.get("street")),
        city=_text(row.get("city")),
        zip=_text(row.get("zip")),
        country=_text(row.get("country_code")),
        type=_text(row.get("type")) or "contact",
        is_company=bool(row.get("is_company")),
        pricelist_id=_id(row.get("property_product_pricelist")),
    ).model_dump(mode="json")


PACKAGING_UOMS = "packaging_uom_ids"
"""Key of a cached product's packaging units (Odoo 19), resolved by :func:`cached_catalog`."""


def product_data(row: dict[str, Any]) -> dict[str, Any]:
    """A product.product row as CatalogProduct JSON (packagings are joined when loading)."""
    data = CatalogProduct(
        id=row["id"],
        name=_text(row.get("name")) or f"product {row['id']}",
        default_code=_text(row.get("default_code")),
        barcode=_text(row.get("barcode")),
        uom=_name(row.get("uom_id")) or "Units",
        uom_id=_id(row.get("uom_id")),
        list_price=Decimal(str(row.get("lst_price") or 0)),
        sale_ok=bool(row.get("sale_ok", True)),
        active=bool(row.get("active", True)),
    ).model_dump(mode="json")
    if "uom_ids" in row:  # Odoo 19: the packagings are units
        data[PACKAGING_UOMS] = [int(u) for u in row["uom_ids"] or []]
    return data


def pricelist_data(row: dict[str, Any]) -> dict[str, Any]:
    """A product.pricelist row as CatalogPricelist JSON."""
    return CatalogPricelist(
        id=row["id"], name=str(row["name"]), currency=_name(row.get("currency_id"))
    ).model_dump(mode="json")


def uom_data(row: dict[str, Any]) -> dict[str, Any]:
    """A uom.uom row as CatalogUom JSON (with its factor where it was read: Odoo 19)."""
    factor = row.get("factor")
    return CatalogUom(
        id=row["id"],
        name=str(row["name"]),
        factor=Decimal(str(factor)) if isinstance(factor, int | float) and factor else None,
    ).model_dump(mode="json")


def packaging_data(row: dict[str, Any]) -> dict[str, Any]:
    """A product.packaging row, with its product id for joining."""
    return {
        "id": row["id"],
        "name": str(row["name"]),
        "qty": str(row.get("qty") or 0),
        "product_id": _id(row.get("product_id")),
    }


def company_data(row: dict[str, Any]) -> dict[str, Any]:
    """A res.company row: its currency and its own partner (never a customer)."""
    return {
        "id": row["id"],
        "name": str(row["name"]),
        "currency": _name(row.get("currency_id")),
        "partner_id": _id(row.get("partner_id")),
    }


@dataclass(frozen=True)
class Kind:
    """One kind of cached record: where it lives in Odoo and how it becomes catalog JSON."""

    name: str
    model: str
    domain: Domain
    fields: tuple[str, ...]
    convert: Callable[[dict[str, Any]], dict[str, Any]]
    template_follow: bool = False


def kinds_for(client: OdooClient) -> list[Kind]:
    """The kinds to sync from this server (packagings: a model until 18, units from 19)."""
    packaging_uoms = client.version.packaging_uom_field
    kinds = [
        Kind("company", "res.company", [], ("name", "currency_id", "partner_id"), company_data),
        Kind("pricelist", "product.pricelist", [], ("name", "currency_id"), pricelist_data),
        Kind("uom", "uom.uom", [], client.version.uom_fields, uom_data),
        Kind(
            "partner",
            "res.partner",
            # Not the partners of internal users (the company's own staff); portal users are
            # customers and stay.
            ["|", ("user_ids", "=", False), ("user_ids.share", "=", True)],
            (
                "name",
                "parent_id",
                "email",
                "vat",
                "street",
                "city",
                "zip",
                "country_code",
                "type",
                "is_company",
                "property_product_pricelist",
            ),
            partner_data,
        ),
        Kind(
            "product",
            "product.product",
            [("sale_ok", "=", True)],
            (
                "name",
                "default_code",
                "barcode",
                "uom_id",
                "lst_price",
                "sale_ok",
                "active",
                *([packaging_uoms] if packaging_uoms else []),
            ),
            product_data,
            template_follow=True,
        ),
    ]
    packaging = client.version.packaging_model
    if packaging is not None:
        kinds.append(
            Kind("packaging", packaging, [], ("name", "qty", "product_id"), packaging_data)
        )
    return kinds


@dataclass
class SyncReport:
    """What a refresh did: records read per kind, records cached per kind, seconds taken."""

    fetched: dict[str, int] = field(default_factory=dict)
    cached: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    full: bool = False


def sync_catalog(client: OdooClient, store: Store) -> SyncReport:
    """Bring the cached catalog up to date with Odoo, reading only what changed.

    Raises:
        OdooUnavailable, OdooAccessError: as the client does; the cache is then unchanged
            for the kind being read (earlier kinds keep their refreshed state).
    """
    started = time.perf_counter()
    report = SyncReport()
    for kind in kinds_for(client):
        fetched, cached, full = _sync_kind(client, store, kind)
        report.fetched[kind.name] = fetched
        report.cached[kind.name] = cached
        report.full = report.full or full
    report.seconds = time.perf_counter() - started
    log.info(
        "catalog from %s: read %s, cached %s in %.2fs",
        client.url,
        report.fetched,
        report.cached,
        report.seconds,
    )
    return report


def _search_read_all(
    client: OdooClient, model: str, domain: Domain, fields: list[str]
) -> list[Any]:
    """Every record matching ``domain``, read in pages ordered by id."""
    rows: list[dict[str, Any]] = []
    last = 0
    while True:
        page = client.execute(
            model,
            "search_read",
            [*domain, ("id", ">", last)],
            fields=fields,
            order="id",
            limit=PAGE_SIZE,
            context=client.context,
        )
        rows += page
        if len(page) < PAGE_SIZE:
            return rows
        last = page[-1]["id"]


def _since(watermark: str, boundary: list[int]) -> Domain:
    """Records written after the watermark, or at its very second but not read then.

    Odoo shows ``write_date`` to the second but stores it finer, so "the watermark's second"
    is ``[watermark, watermark + 1s)``. ``>=`` alone would re-read a whole import written in
    one second on every refresh; skipping that second could miss a record written in it just
    after the last read. So: everything from the next second on, plus that second's records
    not read before.
    """
    if not boundary or len(boundary) > MAX_BOUNDARY_IDS:
        return [("write_date", ">=", watermark)]
    next_second = datetime.strptime(watermark, ODOO_DATETIME) + timedelta(seconds=1)
    return [
        "|",
        ("write_date", ">=", next_second.strftime(ODOO_DATETIME)),
        "&",
        ("write_date", ">=", watermark),
        ("id", "not in", boundary),
    ]


def _watermark(
    rows: list[dict[str, Any]], watermark: str | None, boundary: list[int]
) -> tuple[str | None, list[int]]:
    """The newest write_date among ``rows`` (or the old one) and the ids read at it."""
    newest = max([str(r["write_date"]) for r in rows if r.get("write_date")] + [watermark or ""])
    if not newest:
        return None, []
    at_newest = {int(r["id"]) for r in rows if str(r.get("write_date")) == newest}
    if newest == watermark:
        at_newest |= set(boundary)
    return newest, sorted(at_newest)


def _sync_kind(client: OdooClient, store: Store, kind: Kind) -> tuple[int, int, bool]:
    origin = client.origin
    state = store.catalog_sync_state(origin, kind.name)
    watermark, boundary = (state[0], state[1]) if state else (None, [])
    domain: Domain = list(kind.domain)
    if watermark is not None:
        changed: Domain = _since(watermark, boundary)
        if kind.template_follow:
            templates = _changed_templates(client, store)
            if templates:
                changed = ["|", *changed, ("product_tmpl_id", "in", templates)]
        domain = [*domain, *changed]
    elif kind.template_follow:
        _changed_templates(client, store)  # start the template watermark with the full read
    rows = _search_read_all(client, kind.model, domain, [*kind.fields, "write_date"])
    if watermark is None:
        live: set[int] = {r["id"] for r in rows}
    else:
        live = set(client.execute(kind.model, "search", kind.domain, context=client.context))
    newest, at_newest = _watermark(rows, watermark, boundary)
    cached = store.catalog_apply(
        origin,
        kind.name,
        [(r["id"], _text(r.get("write_date")), kind.convert(r)) for r in rows],
        live,
        newest,
        at_newest,
    )
    return len(rows), cached, watermark is None


def _changed_templates(client: OdooClient, store: Store) -> list[int]:
    """Templates written since the last refresh (a price change lands on the template)."""
    origin, name = client.origin, "product_template"
    state = store.catalog_sync_state(origin, name)
    watermark, boundary = (state[0], state[1]) if state else (None, [])
    domain: Domain = [("sale_ok", "=", True)]
    if watermark is None:
        # A full read of the products follows: only the watermark is needed, not the rows.
        top = client.execute(
            "product.template",
            "search_read",
            domain,
            fields=["write_date"],
            order="write_date desc, id desc",
            limit=1,
            context=client.context,
        )
        newest = str(top[0]["write_date"]) if top else None
        at_newest = (
            client.execute(
                "product.template",
                "search",
                [*domain, ("write_date", ">=", newest)],
                order="id",
                context=client.context,
            )
            if newest
            else []
        )
        store.catalog_apply(origin, name, [], None, newest, at_newest)
        return []
    rows = _search_read_all(
        client, "product.template", [*domain, *_since(watermark, boundary)], ["write_date"]
    )
    newest, at_newest = _watermark(rows, watermark, boundary)
    store.catalog_apply(origin, name, [], None, newest, at_newest)
    return [int(r["id"]) for r in rows]


def cached_catalog(store: Store, origin: str) -> Catalog | None:
    """The catalog as last synced from the Odoo database ``origin``; None if never synced."""
    if store.catalog_sync_state(origin, "product") is None:
        return None
    packagings: dict[int, list[CatalogPackaging]] = defaultdict(list)
    for row in store.catalog_records(origin, "packaging"):
        if row.get("product_id") is not None:
            packagings[int(row["product_id"])].append(
                CatalogPackaging(id=row["id"], name=row["name"], qty=Decimal(row["qty"]))
            )
    uoms = [CatalogUom.model_validate(r) for r in store.catalog_records(origin, "uom")]
    units = {u.id: u for u in uoms}
    companies = store.catalog_records(origin, "company")
    own_partners = {c["partner_id"] for c in companies if c.get("partner_id")}
    currency = next((c["currency"] for c in companies if c.get("currency")), None) or "USD"
    products = []
    for row in store.catalog_records(origin, "product"):
        unit_ids = row.get(PACKAGING_UOMS)
        product = CatalogProduct.model_validate(
            {k: v for k, v in row.items() if k != PACKAGING_UOMS}
        )
        if unit_ids:
            packagings[product.id] += uom_packagings(product, unit_ids, units)
        if packagings.get(product.id):
            product = product.model_copy(update={"packagings": tuple(packagings[product.id])})
        products.append(product)
    return Catalog(
        currency=currency,
        partners=tuple(
            CatalogPartner.model_validate(row)
            for row in store.catalog_records(origin, "partner")
            if row["id"] not in own_partners
        ),
        products=tuple(products),
        pricelists=tuple(
            CatalogPricelist.model_validate(r) for r in store.catalog_records(origin, "pricelist")
        ),
        uoms=tuple(uoms),
    )


def uom_packagings(
    product: CatalogProduct, unit_ids: list[int], units: dict[int, CatalogUom]
) -> list[CatalogPackaging]:
    """Odoo 19: a product's packaging units as packagings holding so many of its unit.

    A unit's size is its factor over the factor of the product's unit (both absolute); a unit
    not cached (archived), without a factor, or the product's own unit is no packaging.
    """
    base = units.get(product.uom_id) if product.uom_id is not None else None
    if base is None or not base.factor:
        return []
    found = []
    for unit_id in unit_ids:
        unit = units.get(unit_id)
        if unit is None or not unit.factor or unit.id == base.id:
            continue
        qty = (unit.factor / base.factor).quantize(Decimal("0.000001"))
        if qty == qty.to_integral_value():
            qty = qty.to_integral_value()
        if qty > 0:
            found.append(CatalogPackaging(id=unit.id, name=unit.name, qty=qty))
    return found
