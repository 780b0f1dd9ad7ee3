"""Matching customers and products against a catalog built from Odoo demo names."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from intake.catalog import Catalog, CatalogPartner, CatalogProduct, load_catalog
from intake.match import compatible, match_order, normalize_uom, uom_factor
from intake.models import ExtractedLine, ExtractedOrder, ExtractedText, MatchedOrder

FIXTURE_CATALOG = Path(__file__).resolve().parent.parent / "fixtures" / "sample-catalog.json"

DECO, AZURE, GEMINI, WOOD = 10, 20, 30, 40
DOUGLAS, FLOYD, BRANDON, EDWIN = 11, 12, 21, 31


def partner(pid: int, name: str, email: str | None, **kw: object) -> CatalogPartner:
    return CatalogPartner(id=pid, name=name, email=email, **kw)  # type: ignore[arg-type]


def product(pid: int, code: str | None, name: str, price: str, **kw: object) -> CatalogProduct:
    return CatalogProduct(
        id=pid,
        default_code=code,
        name=name,
        list_price=Decimal(price),
        **kw,  # type: ignore[arg-type]
    )


CATALOG = Catalog(
    partners=(
        partner(
            DECO, "Deco Addict", "deco.addict82@example.com", is_company=True, vat="US12345673"
        ),
        partner(DOUGLAS, "Douglas Fletcher", "douglas.fletcher51@example.com", parent_id=DECO),
        partner(FLOYD, "Floyd Steward", "floyd.steward34@example.com", parent_id=DECO),
        partner(
            AZURE,
            "Azure Interior",
            "azure.Interior24@example.com",
            is_company=True,
            vat="US12345677",
        ),
        partner(BRANDON, "Brandon Freeman", "brandon.freeman55@example.com", parent_id=AZURE),
        partner(
            GEMINI,
            "Gemini Furniture",
            "info@geminifurniture.com",
            is_company=True,
            vat="BE0477472701",
        ),
        partner(EDWIN, "Edwin Hansen", "edwin.hansen@geminifurniture.com", parent_id=GEMINI),
        partner(WOOD, "Wood Corner", "woodcorner.orders@gmail.com", is_company=True),
    ),
    products=(
        product(1, "FURN_7800", "Desk Combination", "450.00"),
        product(2, "FURN_8220", "Four Person Desk", "2350.00"),
        product(3, "E-COM07", "Large Cabinet", "320.00"),
        product(4, "E-COM11", "Cabinet with Doors", "140.00"),
        product(5, "FURN_7777", "Office Chair", "70.00"),
        product(6, "FURN_0269", "Office Chair Black", "120.50"),
        product(7, "FURN_0001", "Desk Organizer", "5.10", barcode="2300001000008"),
        product(8, "E-COM12", "Conference Chair (Steel)", "33.00"),
        product(9, "E-COM13", "Conference Chair (Aluminium)", "39.40"),
        product(10, "FURN_0000", "Old Office Desk", "99.00", active=False),
        product(11, "FURN_LEG1", "Desk Leg (spare part)", "12.00", sale_ok=False),
        product(12, None, "Furniture Assembly", "2000.00", uom="Hours"),
    ),
)


def text(value: str | None) -> ExtractedText:
    return ExtractedText(value=value, confidence=0.9 if value is not None else 0.0)


def line(code: str | None = None, description: str | None = None, uom: str | None = None):
    return ExtractedLine(product_code=text(code), description=text(description), uom=text(uom))


def order(
    name: str | None = None,
    email: str | None = None,
    vat: str | None = None,
    lines: tuple[ExtractedLine, ...] = (),
) -> ExtractedOrder:
    return ExtractedOrder(
        customer_name=text(name),
        customer_email=text(email),
        customer_vat=text(vat),
        lines=lines,
        extractor="test",
    )


def customer_of(result: MatchedOrder) -> tuple[int, str] | None:
    return (result.customer.partner_id, result.customer.method) if result.customer else None


# --------------------------------------------------------------------------- customers


def test_sender_address_of_a_contact_matches_its_company_case_insensitively() -> None:
    result = match_order(order(), "Douglas Fletcher <Douglas.Fletcher51@EXAMPLE.com>", CATALOG)

    assert result.customer is not None
    assert result.customer.partner_id == DECO
    assert result.customer.name == "Deco Addict"
    assert result.customer.method == "sender_email"
    assert result.customer.score >= 0.95


def test_company_address_matches_the_company_itself() -> None:
    result = match_order(order(), "deco.addict82@example.com", CATALOG)

    assert customer_of(result) == (DECO, "sender_email")


def test_email_written_in_the_order_is_used_when_the_sender_is_unknown() -> None:
    result = match_order(order(email="brandon.freeman55@example.com"), "ops@ourshop.test", CATALOG)

    assert customer_of(result) == (AZURE, "customer_email")


def test_unknown_address_on_a_company_domain_matches_by_domain() -> None:
    result = match_order(order(), "purchasing@geminifurniture.com", CATALOG)

    assert customer_of(result) == (GEMINI, "email_domain")
    assert result.customer is not None
    assert result.customer.score < 0.95  # weaker than an exact address


def test_domain_shared_by_several_companies_is_no_match() -> None:
    # Odoo's demo data puts Deco Addict and Azure Interior on example.com.
    result = match_order(order(), "someone.new@example.com", CATALOG)

    assert result.customer is None


def test_free_mail_domain_is_no_match_even_if_one_company_uses_it() -> None:
    result = match_order(order(), "a.stranger@gmail.com", CATALOG)

    assert result.customer is None


def test_vat_is_normalised_before_lookup() -> None:
    result = match_order(order(vat="us 123.456.77"), None, CATALOG)

    assert customer_of(result) == (AZURE, "vat")


def test_vat_without_country_prefix_still_matches_with_lower_score() -> None:
    with_prefix = match_order(order(vat="BE 0477.472.701"), None, CATALOG)
    without = match_order(order(vat="0477 472 701"), None, CATALOG)

    assert customer_of(with_prefix) == (GEMINI, "vat")
    assert customer_of(without) == (GEMINI, "vat")
    assert with_prefix.customer is not None and without.customer is not None
    assert without.customer.score < with_prefix.customer.score


def test_name_with_legal_suffix_and_other_case_is_an_exact_name_match() -> None:
    result = match_order(order(name="AZURE INTERIOR, INC."), None, CATALOG)

    assert customer_of(result) == (AZURE, "name_exact")


def test_misspelt_name_matches_fuzzily_with_lower_score() -> None:
    exact = match_order(order(name="Azure Interior"), None, CATALOG)
    fuzzy = match_order(order(name="Azur Interiors Ltd"), None, CATALOG)

    assert customer_of(fuzzy) == (AZURE, "name_fuzzy")
    assert exact.customer is not None and fuzzy.customer is not None
    assert 0.6 < fuzzy.customer.score < exact.customer.score


def test_contact_person_name_matches_their_company() -> None:
    result = match_order(order(name="Floyd Steward"), None, CATALOG)

    assert customer_of(result) == (DECO, "name_exact")


def test_unrelated_name_is_no_match() -> None:
    result = match_order(order(name="Globex Heavy Industries"), None, CATALOG)

    assert result.customer is None


def test_agreeing_signals_score_higher_than_one_alone() -> None:
    domain_only = match_order(order(), "purchasing@geminifurniture.com", CATALOG)
    domain_and_name = match_order(
        order(name="Gemini Furniture GmbH"), "purchasing@geminifurniture.com", CATALOG
    )

    assert customer_of(domain_and_name) == (GEMINI, "email_domain")
    assert domain_only.customer is not None and domain_and_name.customer is not None
    assert domain_and_name.customer.score > domain_only.customer.score


def test_disagreeing_strong_signals_keep_the_stronger_and_offer_the_other() -> None:
    # Douglas (Deco Addict) sends an order that names Azure Interior and its VAT.
    result = match_order(
        order(name="Azure Interior", vat="US12345677"), "douglas.fletcher51@example.com", CATALOG
    )

    assert customer_of(result) == (DECO, "sender_email")
    assert result.customer is not None
    assert [c.id for c in result.customer.alternatives][:1] == [AZURE]
    # The disagreement is visible: below the default customer threshold of 0.6.
    assert result.customer.score < 0.6


def test_alternatives_are_the_three_best_others() -> None:
    branches = ("North", "South", "East", "West", "Central")
    catalog = Catalog(
        partners=tuple(
            partner(100 + i, f"Gemini Furniture {b}", None, is_company=True)
            for i, b in enumerate(branches)
        )
    )

    result = match_order(order(name="Gemini Furniture North"), None, catalog)

    assert customer_of(result) == (100, "name_exact")
    assert result.customer is not None
    assert len(result.customer.alternatives) == 3
    assert 100 not in {c.id for c in result.customer.alternatives}
    scores = [c.score for c in result.customer.alternatives]
    assert scores == sorted(scores, reverse=True)


# --------------------------------------------------------------------------- products


def product_of(result: MatchedOrder, i: int = 0) -> tuple[int, str] | None:
    match = result.lines[i].product
    return (match.product_id, match.method) if match else None


@pytest.mark.parametrize("code", ["FURN_7800", "furn-7800", "Furn 7800", " FURN7800 "])
def test_default_code_matches_ignoring_case_spaces_and_dashes(code: str) -> None:
    result = match_order(order(lines=(line(code=code),)), None, CATALOG)

    assert product_of(result) == (1, "default_code")
    assert result.lines[0].product is not None
    assert result.lines[0].product.score == 1.0
    assert result.lines[0].product.default_code == "FURN_7800"


def test_barcode_matches_with_spaces() -> None:
    result = match_order(order(lines=(line(code="230 0001 000008"),)), None, CATALOG)

    assert product_of(result) == (7, "barcode")


def test_code_inside_the_description_counts() -> None:
    result = match_order(
        order(lines=(line(description="Cabinet w/ doors, ref E-COM11"),)), None, CATALOG
    )

    assert product_of(result) == (4, "code_in_description")


def test_customer_own_code_falls_back_to_the_description() -> None:
    result = match_order(
        order(lines=(line(code="ACME-55512", description="four person desk"),)), None, CATALOG
    )

    assert product_of(result) == (2, "name_exact")


def test_fuzzy_description_matches_with_a_score_below_exact() -> None:
    result = match_order(order(lines=(line(description="Desk combo"),)), None, CATALOG)

    assert product_of(result) == (1, "name_fuzzy")
    assert result.lines[0].product is not None
    assert 0.6 <= result.lines[0].product.score < 0.95


def test_ambiguous_description_is_uncertain_and_offers_the_rival() -> None:
    result = match_order(order(lines=(line(description="Conference chair"),)), None, CATALOG)

    match = result.lines[0].product
    assert match is not None
    assert match.product_id in (8, 9)
    assert match.score < 0.75  # below the default product threshold
    assert {c.id for c in match.alternatives} & ({8, 9} - {match.product_id})


def test_unknown_product_is_unmatched() -> None:
    result = match_order(
        order(lines=(line(code="X-99", description="Banana crate"),)), None, CATALOG
    )

    assert result.lines[0].product is None


def test_archived_and_unsellable_products_are_never_matched() -> None:
    result = match_order(
        order(
            lines=(
                line(code="FURN_0000"),
                line(code="FURN_LEG1", description="Desk Leg (spare part)"),
            )
        ),
        None,
        CATALOG,
    )

    assert result.lines[0].product is None
    assert result.lines[1].product is None


def test_code_contradicted_by_description_is_kept_but_doubtful() -> None:
    result = match_order(
        order(lines=(line(code="FURN_7777", description="Four Person Desk"),)), None, CATALOG
    )

    match = result.lines[0].product
    assert match is not None
    assert (match.product_id, match.method) == (5, "default_code")
    assert match.score < 0.75
    assert match.alternatives[0].id == 2


def test_lines_keep_their_order_and_count() -> None:
    lines = (line(code="E-COM07"), line(description="nothing like it"), line(code="FURN_8220"))
    result = match_order(order(lines=lines), None, CATALOG)

    assert [ml.line for ml in result.lines] == list(lines)
    assert [product_of(result, i) for i in range(3)] == [
        (3, "default_code"),
        None,
        (2, "default_code"),
    ]


def test_exact_code_hit_does_not_run_fuzzy_search(monkeypatch: pytest.MonkeyPatch) -> None:
    import intake.match.text as text_module

    def no_fuzzy(*args: object, **kwargs: object) -> object:
        raise AssertionError("fuzzy search ran although the code index hit")

    monkeypatch.setattr(text_module.process, "extract", no_fuzzy)
    # The customer's own wording differs from the catalog name: still no fuzzy search.
    lines = tuple(
        line(code="FURN_7800", description=f"Bureau combiné chêne #{i}") for i in range(50)
    )
    result = match_order(order(lines=lines), None, CATALOG)

    assert all(product_of(result, i) == (1, "default_code") for i in range(50))
    with pytest.raises(AssertionError, match="fuzzy search ran"):
        match_order(order(lines=(line(description="Desk combo"),)), None, CATALOG)


def test_code_contradicted_by_another_code_in_the_description() -> None:
    result = match_order(
        order(lines=(line(code="E-COM07", description="Cabinet with doors E-COM11"),)),
        None,
        CATALOG,
    )

    match = result.lines[0].product
    assert match is not None
    assert (match.product_id, match.score) == (3, 0.6)
    assert [c.id for c in match.alternatives] == [4]


def test_customer_wording_for_the_coded_product_is_not_a_contradiction() -> None:
    result = match_order(
        order(lines=(line(code="E-COM07", description="Large cabinet E-COM07, oak"),)),
        None,
        CATALOG,
    )

    assert result.lines[0].product is not None
    assert result.lines[0].product.score == 1.0


# --------------------------------------------------------------------------- units


@pytest.mark.parametrize(
    ("written", "odoo"),
    [
        ("EA", "Units"),
        ("PCS", "Units"),
        ("pce", "Units"),
        ("pc.", "Units"),
        ("Piece", "Units"),
        ("Unit", "Units"),
        ("each", "Units"),
        ("dozen", "Dozens"),
        ("DZ", "Dozens"),
        ("kgs", "kg"),
        ("Box", "Box"),
        (" pallet ", "pallet"),
    ],
)
def test_normalize_uom(written: str, odoo: str) -> None:
    assert normalize_uom(written) == odoo


def test_uom_factor_and_compatibility() -> None:
    assert uom_factor("dozen", "Units") == 12
    assert uom_factor("PCS", "Units") == 1
    assert uom_factor("box", "Units") is None
    assert compatible("g", "kg")
    assert not compatible("kg", "Units")


def test_written_unit_is_mapped_onto_the_match() -> None:
    result = match_order(
        order(lines=(line("FURN_7800", uom="PCS"), line("E-COM07", uom="Box"))), None, CATALOG
    )

    first, second = (ml.product for ml in result.lines)
    assert first is not None and second is not None
    assert (first.uom, first.list_price) == ("Units", Decimal("450.00"))
    # A box cannot be converted to Units: the product's own unit stays.
    assert (second.uom, second.list_price) == ("Units", Decimal("320.00"))


def test_dozens_are_kept_and_the_list_price_converted() -> None:
    result = match_order(order(lines=(line("FURN_7777", uom="dz"),)), None, CATALOG)

    match = result.lines[0].product
    assert match is not None
    assert match.uom == "Dozens"
    assert match.list_price == Decimal("840.00")  # 12 × 70.00


def test_hours_product_ignores_an_incompatible_unit() -> None:
    result = match_order(
        order(lines=(line(description="Furniture Assembly", uom="pcs"),)), None, CATALOG
    )

    match = result.lines[0].product
    assert match is not None
    assert (match.product_id, match.uom) == (12, "Hours")


# --------------------------------------------------------------------------- shipped catalog


@pytest.mark.skipif(not FIXTURE_CATALOG.exists(), reason="fixtures/sample-catalog.json missing")
def test_sample_catalog_from_odoo_demo_data() -> None:
    catalog = load_catalog(FIXTURE_CATALOG)
    lines = (
        line(code="FURN_7800"),
        line(code="e-com07"),
        line(code="2300001000008"),
        line(description="Cabinet with doors"),
    )

    by_contact = match_order(order(lines=lines), "douglas.fletcher51@example.com", catalog)
    by_domain = match_order(order(), "buyer@fake.geminifurniture.com", catalog)
    shared_domain = match_order(order(), "new.person@example.com", catalog)

    assert by_contact.customer is not None
    assert (by_contact.customer.name, by_contact.customer.method) == ("Deco Addict", "sender_email")
    assert [ml.product.name if ml.product else None for ml in by_contact.lines] == [
        "Desk Combination",
        "Large Cabinet",
        "Desk Organizer",
        "Cabinet with Doors",
    ]
    assert by_domain.customer is not None
    assert (by_domain.customer.name, by_domain.customer.method) == (
        "Gemini Furniture",
        "email_domain",
    )
    assert shared_domain.customer is None


# --------------------------------------------------------------------------- packagings


def _packaged_product() -> CatalogProduct:
    from intake.catalog import CatalogPackaging

    return product(
        90,
        "SCREW-4",
        "Wood screw 4 mm",
        "0.50",
        packagings=(
            CatalogPackaging(id=501, name="Box of 12", qty=Decimal(12)),
            CatalogPackaging(id=502, name="Carton 144", qty=Decimal(144)),
        ),
    )


@pytest.mark.parametrize(
    ("written", "packaging_id"),
    [
        ("box of 12", 501),
        ("Box of 12", 501),
        ("12er Karton", 501),  # a package word and a count one packaging holds
        ("ctn/144", 502),
        ("carton", 502),  # one packaging named by that word
        ("box", 501),
        ("pcs", None),  # a unit, not a package
        ("box of 10", None),  # no packaging holds 10: never guess a multiplier
        ("dozen", None),  # Dozens is a unit Odoo converts, not a packaging
        ("", None),
    ],
)
def test_written_unit_selects_a_packaging_only_when_it_is_clear(
    written: str, packaging_id: int | None
) -> None:
    from intake.match.uom import find_packaging

    found = find_packaging(written, _packaged_product().packagings)
    assert (found.id if found else None) == packaging_id


def test_a_line_ordered_by_the_box_becomes_units_in_packagings_on_the_quotation() -> None:
    from datetime import UTC, datetime

    from intake.match.product import ProductIndex, match_line
    from intake.models import Assessment, ExtractedNumber, MatchedLine, Message
    from intake.odoo.quotation import build_quotation

    screws = _packaged_product()
    line = ExtractedLine(
        product_code=ExtractedText(value="SCREW-4", confidence=0.95),
        quantity=ExtractedNumber(value=Decimal(3), confidence=0.95),
        uom=ExtractedText(value="box of 12", confidence=0.95),
        unit_price=ExtractedNumber(value=Decimal("6.00"), confidence=0.95),
    )
    index = ProductIndex.build(Catalog(partners=CATALOG.partners, products=(screws,)))
    match = match_line(line, index)
    assert match is not None and match.packaging_id == 501 and match.packaging_qty == 12
    assert match.uom == "Units" and match.list_price == Decimal("6.00")  # per box

    matched = match_order(
        ExtractedOrder(lines=(line,), extractor="test"),
        "douglas.fletcher51@example.com",
        Catalog(partners=CATALOG.partners, products=(screws,)),
    )
    message = Message(
        id="m1",
        source="test",
        source_ref="order.eml",
        kind="email",
        message_id=None,
        content_hash="0" * 64,
        received_at=datetime(2025, 1, 1, tzinfo=UTC),
        raw=b"x",
    )
    assessment = Assessment(
        matched=MatchedOrder(
            order=matched.order,
            customer=matched.customer,
            lines=(MatchedLine(line=line, product=match),),
        ),
        findings=(),
        confidence=0.95,
    )
    [quoted] = build_quotation(message, assessment).lines
    assert quoted.quantity == 36 and quoted.packages == 3 and quoted.packaging_id == 501
    assert quoted.price_unit == Decimal("0.5000")  # the customer's price per unit
