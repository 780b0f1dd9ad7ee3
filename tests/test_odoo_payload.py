"""The pure side of the Odoo work: versions, payloads, ship-to, cassette scrubbing, outbox state."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from intake.catalog import Catalog, CatalogPartner, CatalogUom, load_catalog
from intake.match.address import match_ship_to
from intake.models import Decision, DecisionKind, Message, QuotationDraft, QuotationLine
from intake.odoo.catalog import (
    PACKAGING_UOMS,
    _since,
    _watermark,
    cached_catalog,
    product_data,
    uom_data,
)
from intake.odoo.payload import (
    attachment_files,
    order_values,
    price_checks,
    price_findings,
    ship_to_findings,
)
from intake.odoo.versions import OdooVersion
from intake.store import Store, content_hash
from tests.conftest import ROOT, SAMPLE_INBOX
from tests.odoo_lanes import SECRET, scrub_body


@pytest.mark.parametrize(
    ("text", "major", "minor"),
    [
        ("18.0", 18, 0),
        ("saas~18.2", 18, 2),
        ("17.0+e", 17, 0),
        ("19.0", 19, 0),
        # what the nightly builds the live lane ran against report (docs/odoo.md)
        ("17.0-20240709", 17, 0),
        ("19.0+e-20251227", 19, 0),
    ],
)
def test_version_parse(text: str, major: int, minor: int) -> None:
    version = OdooVersion.parse(text)
    assert (version.major, version.minor) == (major, minor) and version.supported


def test_version_differences_live_in_one_place() -> None:
    v16, v18, v19, v192 = (OdooVersion.parse(t) for t in ("16.0", "18.0", "19.0", "saas~19.2"))
    assert v16.access_check("create") == (
        "check_access_rights",
        ["create"],
        {"raise_exception": False},
    )
    assert v18.access_check("create") == ("has_access", [[], "create"], {})
    assert (v18.line_uom_field, v19.line_uom_field) == ("product_uom", "product_uom_id")
    assert v16.message_post_kwargs() == {} and v18.message_post_kwargs() == {"body_is_html": True}
    assert v18.packaging_model == "product.packaging" and v19.packaging_model is None
    assert not v19.has_customer_product_reference and v192.has_customer_product_reference
    assert not v18.jsonrpc_deprecated and v19.jsonrpc_deprecated
    assert (v16.packaging_uom_field, v18.packaging_uom_field) == (None, None)
    assert v19.packaging_uom_field == "uom_ids" and v192.packaging_uom_field == "uom_ids"
    assert (v18.uom_fields, v19.uom_fields) == (("name",), ("name", "factor"))
    with pytest.raises(ValueError):
        OdooVersion.parse("unknown")


def test_scrub_body_removes_every_credential() -> None:
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 12345,
            "params": {
                "service": "object",
                "method": "execute_kw",
                "args": ["db", 2, "the-key", "res.users", "write", [[5], {"password": "pw"}], {}],
            },
        }
    ).encode()
    scrubbed = scrub_body(body)
    assert isinstance(scrubbed, bytes)
    text = scrubbed.decode()
    assert "the-key" not in text and '"pw"' not in text and "12345" not in text
    data = json.loads(text)
    assert data["params"]["args"][2] == SECRET
    assert data["params"]["args"][5][1]["password"] == SECRET


def test_refresh_domain_skips_only_what_was_read() -> None:
    assert _since("2025-03-01 10:00:00", []) == [("write_date", ">=", "2025-03-01 10:00:00")]
    assert _since("2025-03-01 10:00:59", [3, 4]) == [
        "|",
        ("write_date", ">=", "2025-03-01 10:01:00"),
        "&",
        ("write_date", ">=", "2025-03-01 10:00:59"),
        ("id", "not in", [3, 4]),
    ]
    rows = [
        {"id": 1, "write_date": "2025-03-01 10:00:00"},
        {"id": 2, "write_date": "2025-03-01 10:00:05"},
    ]
    assert _watermark(rows, None, []) == ("2025-03-01 10:00:05", [2])
    assert _watermark([], "2025-03-01 10:00:05", [2]) == ("2025-03-01 10:00:05", [2])
    assert _watermark(
        [{"id": 7, "write_date": "2025-03-01 10:00:05"}], "2025-03-01 10:00:05", [2]
    ) == (
        "2025-03-01 10:00:05",
        [2, 7],
    )


CATALOG = Catalog(
    partners=(
        CatalogPartner(
            id=10,
            name="Deco Addict",
            is_company=True,
            street="77 Santa Barbara Rd",
            zip="94523",
            city="Pleasant Hill",
            pricelist_id=3,
        ),
        CatalogPartner(
            id=40,
            name="Deco Addict, Warehouse",
            parent_id=10,
            type="delivery",
            street="12 Harbor Way",
            zip="94107",
            city="San Francisco",
        ),
        CatalogPartner(id=19, name="Douglas Fletcher", parent_id=10, email="df@example.com"),
    ),
    uoms=(CatalogUom(id=1, name="Units"), CatalogUom(id=20, name="Dozens")),
)

DRAFT = QuotationDraft(
    partner_id=10,
    partner_name="Deco Addict",
    client_order_ref="PO-1",
    commitment_date=date(2025, 4, 2),
    lines=(
        QuotationLine(
            product_id=8,
            default_code="FURN_7800",
            name="Desk",
            quantity=Decimal(2),
            uom="Units",
            price_unit=Decimal("450"),
        ),
        QuotationLine(
            product_id=17,
            default_code="E-COM07",
            name="Cabinet",
            quantity=Decimal(1),
            uom="dozens",
            price_unit=Decimal("200"),
        ),
        QuotationLine(product_id=None, name="Unmatched line: 5 Blue unicorn polish"),
    ),
    idempotency_key="intake-abc",
)


def test_ship_to_matches_a_delivery_contact_or_flags_a_new_address() -> None:
    to_warehouse = match_ship_to(
        "Deco Addict Warehouse\n12 Harbor Way\nSan Francisco CA 94107", 10, CATALOG
    )
    assert to_warehouse is not None and to_warehouse.partner_id == 40
    to_company = match_ship_to("77 Santa Barbara Rd, Pleasant Hill 94523", 10, CATALOG)
    assert to_company is not None and to_company.partner_id == 10
    elsewhere = match_ship_to("1 Infinite Loop, Cupertino 95014", 10, CATALOG)
    assert elsewhere is not None and elsewhere.partner_id is None
    assert ship_to_findings(elsewhere)[0].code == "ship_to_new_address"
    assert match_ship_to(None, 10, CATALOG) is None


def test_order_values_keep_every_line_and_leave_prices_to_odoo() -> None:
    ship_to = match_ship_to("12 Harbor Way, San Francisco 94107", 10, CATALOG)
    values = order_values(DRAFT, CATALOG, OdooVersion.parse("18.0"), ship_to)
    assert values["partner_id"] == 10 and values["partner_shipping_id"] == 40
    assert values["client_order_ref"] == "PO-1" and values["origin"] == "intake-abc"
    assert values["pricelist_id"] == 3 and values["commitment_date"] == "2025-04-02 12:00:00"
    lines = [v for _, _, v in values["order_line"]]
    assert lines[0] == {"product_id": 8, "product_uom_qty": 2.0, "product_uom": 1}
    assert lines[1]["product_uom"] == 20  # unit names match case-insensitively
    assert lines[2] == {
        "display_type": "line_note",
        "name": "Unmatched line: 5 Blue unicorn polish",
    }
    assert all("price_unit" not in v for v in lines)
    v19 = order_values(DRAFT, CATALOG, OdooVersion.parse("19.0"))
    assert v19["order_line"][0][2]["product_uom_id"] == 1 and "partner_shipping_id" not in v19


def test_a_packaged_line_asks_odoo_for_units_in_packagings() -> None:
    boxed = QuotationLine(
        product_id=8,
        name="Screws",
        quantity=Decimal(36),
        uom="Units",
        price_unit=Decimal("0.5"),
        packaging_id=501,
        packages=Decimal(3),
    )
    draft = DRAFT.model_copy(update={"lines": (boxed,)})
    [(_, _, v18)] = order_values(draft, CATALOG, OdooVersion.parse("18.0"))["order_line"]
    assert v18 == {
        "product_id": 8,
        "product_uom_qty": 36.0,
        "product_uom": 1,
        "product_packaging_id": 501,
        "product_packaging_qty": 3.0,
    }
    # Odoo 19 has no product.packaging: the packaging is a unit (501 is a uom.uom id there),
    # and the line counts packages of it.
    [(_, _, v19)] = order_values(draft, CATALOG, OdooVersion.parse("19.0"))["order_line"]
    assert v19 == {"product_id": 8, "product_uom_qty": 3.0, "product_uom_id": 501}
    # Without a quantity read, still the packaging's unit and no made-up quantity.
    unknown = boxed.model_copy(update={"quantity": None, "packages": None})
    [(_, _, v19)] = order_values(
        DRAFT.model_copy(update={"lines": (unknown,)}), CATALOG, OdooVersion.parse("19.0")
    )["order_line"]
    assert v19 == {"product_id": 8, "product_uom_id": 501}


BOXED = QuotationLine(
    product_id=8,
    name="Conference chairs",
    quantity=Decimal(36),
    uom="Units",
    price_unit=Decimal("33"),  # the customer's 396.00 a box of 12
    packaging_id=501,
    packages=Decimal(3),
)


def test_a_19_box_line_compares_prices_per_unit_on_both_sides() -> None:
    """19 prices the line per box (its unit): 396.00 a box is the customer's 33.00 a chair."""
    draft = DRAFT.model_copy(update={"lines": (BOXED,)})
    v18, v19 = OdooVersion.parse("18.0"), OdooVersion.parse("19.0")
    [check] = price_checks(draft, [Decimal("396")], "odoo", v19)
    assert (check.customer, check.odoo, check.per, check.kept) == (
        Decimal(33),
        Decimal(33),
        Decimal(12),
        Decimal(33),
    )
    assert price_findings(draft, [check], Decimal("0.05")) == []
    assert check.odoo_line_price == Decimal("396")
    # Up to 18 the Odoo line counts units: its price is per unit already.
    [check18] = price_checks(draft, [Decimal("33")], "odoo", v18)
    assert (check18.odoo, check18.per) == (Decimal(33), Decimal(1))
    # A dearer box in Odoo is a finding per chair; the customer's price is written per box.
    [dear] = price_checks(draft, [Decimal("480")], "customer", v19)
    assert (dear.odoo, dear.kept, dear.odoo_line_price) == (Decimal(40), Decimal(33), Decimal(396))
    [finding] = price_findings(draft, [dear], Decimal("0.05"))
    assert "33" in finding.message and "40" in finding.message


def test_19_packaging_units_become_packagings_of_the_product(store_url: str) -> None:
    """The 19 catalog: a product's ``uom_ids`` and the units' factors give its packagings."""
    v19 = OdooVersion.parse("19.0")
    units: list[dict[str, Any]] = [
        {"id": 1, "name": "Units", "factor": 1.0},
        {"id": 3, "name": "Dozens", "factor": 12.0},
        {"id": 40, "name": "Box of 12", "factor": 12.0},
        {"id": 41, "name": "Pallet", "factor": 480.0},
        {"id": 12, "name": "L", "factor": 1000.0},
        {"id": 11, "name": "ml", "factor": 1.0},
    ]
    chair: dict[str, Any] = {
        "id": 8,
        "name": "Conference Chair",
        "default_code": "E-COM12",
        "uom_id": [1, "Units"],
        "lst_price": 33.0,
        "uom_ids": [40, 41, 1, 99],  # 1: its own unit; 99: archived, not cached
    }
    paint: dict[str, Any] = {
        "id": 9,
        "name": "Paint",
        "uom_id": [11, "ml"],
        "lst_price": 0.02,
        "uom_ids": [12],
    }
    plain: dict[str, Any] = {
        "id": 10,
        "name": "Desk",
        "uom_id": [1, "Units"],
        "lst_price": 450.0,
        "uom_ids": [],
    }
    store = Store.open(store_url)
    origin = "http://odoo.test|db19"
    store.catalog_apply(origin, "uom", [(u["id"], None, uom_data(u)) for u in units], None, None)
    products = [(p["id"], None, product_data(p)) for p in (chair, paint, plain)]
    store.catalog_apply(origin, "product", products, None, None)
    catalog = cached_catalog(store, origin)
    store.close()
    assert catalog is not None
    packagings = {p.id: [(k.id, k.name, k.qty) for k in p.packagings] for p in catalog.products}
    assert packagings == {
        8: [(40, "Box of 12", Decimal(12)), (41, "Pallet", Decimal(480))],
        9: [(12, "L", Decimal(1000))],
        10: [],
    }
    assert next(u for u in catalog.uoms if u.id == 40).factor == Decimal("12.0")
    # Before 19 neither the units' factors nor the products' uom_ids are read.
    v18 = OdooVersion.parse("18.0")
    assert "factor" not in v18.uom_fields and v18.packaging_uom_field is None
    assert v19.packaging_uom_field == "uom_ids"
    assert PACKAGING_UOMS not in product_data({"id": 1, "name": "Desk", "uom_id": [1, "Units"]})


def test_price_comparison_names_the_line_and_the_price_kept() -> None:
    odoo_prices = [Decimal("450"), Decimal("320"), None]
    checks = price_checks(DRAFT, odoo_prices, "odoo")
    assert [c.kept for c in checks] == [Decimal("450"), Decimal("320")]
    [finding] = price_findings(DRAFT, checks, Decimal("0.10"))
    assert finding.field == "lines[1].unit_price" and "E-COM07" in finding.message
    assert [c.kept for c in price_checks(DRAFT, odoo_prices, "customer")] == [
        Decimal("450"),
        Decimal("200"),
    ]


def _message(path: Path) -> Message:
    raw = path.read_bytes()
    return Message(
        id="m1",
        source="cli",
        source_ref=f"inbox/{path.name}",
        kind="email",
        content_hash=content_hash(raw),
        received_at=datetime(2025, 3, 10, tzinfo=UTC),
        raw=raw,
    )


def test_attachment_files_are_the_original_and_its_attachments() -> None:
    message = _message(SAMPLE_INBOX / "01-deco-addict-pdf-order.eml")
    files = attachment_files(message)
    assert [(n, t) for n, _, t in files] == [
        ("01-deco-addict-pdf-order.eml", "message/rfc822"),
        ("PO-DA-20417.pdf", "application/pdf"),
    ]
    assert files[0][1] == message.raw and files[1][1].startswith(b"%PDF")


def test_outbox_state_in_the_store(store_url: str) -> None:
    store = Store.open(store_url)
    message = _message(SAMPLE_INBOX / "02-azure-interior-body-order.eml")
    store.add_message(message)
    store.finish(message.id, Decision(kind=DecisionKind.DRAFT), DRAFT, target="odoo")
    [item] = store.pending_quotations()
    assert (item.status, item.target, item.odoo_id, item.draft) == ("pending", "odoo", None, DRAFT)
    store.quotation_attempt_failed(item.id, "Odoo is not reachable", give_up=False)
    assert store.pending_quotations()[0].attempts == 1
    store.quotation_attempt_failed(item.id, "Odoo refused: bad value", give_up=True)
    assert store.pending_quotations() == []
    failed = store.outbox_item(message.id)
    assert failed is not None and failed.status == "failed"
    assert store.review_items()[0].reasons == ["Odoo refused: bad value"]
    store.close()


def test_sample_catalog_still_loads_with_the_new_fields() -> None:
    catalog = load_catalog(ROOT / "fixtures" / "sample-catalog.json")
    assert catalog.products and all(p.packagings == () for p in catalog.products)
