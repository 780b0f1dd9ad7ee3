"""Structured orders (UBL, Peppol, Order-X, openTRANS, cXML, EDIFACT, Voxel) read without an LLM.

The third-party corpus in ../shared/corpus holds real examples of each format with labels;
every one of them goes through the real parse stage (PDFs with an embedded Order-X or UBL
file included) and must come out as its label says, field by field. Hostile XML (entity
bombs, external entities), odd but valid XML (entities, CDATA, ``>`` in attributes,
non-ASCII text before the values) and the end-to-end run of ``intake process`` are built here.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from intake.assess.grounding import check_grounding, order_fields
from intake.config import Limits, OcrConfig
from intake.documents import parse_message
from intake.extract import classify
from intake.extract.cascade import extract_order
from intake.extract.structured import extract_structured
from intake.match.uom import normalize_uom
from intake.models import (
    Classification,
    Document,
    ExtractedOrder,
    Message,
    Origin,
    Page,
    ParsedMessage,
)
from tests.conftest import CORPUS, run_intake

# --------------------------------------------------------------------------- helpers

STRUCTURED_CORPUS = {
    # UBL 2.x (OASIS examples, OCA/edi)
    "OCA__edi/sale_order_import_ubl/tests/files/UBL-Order-2.0-Example.xml": "structured/ubl-2.0",
    "OCA__edi/sale_order_import_ubl/tests/files/UBL-Order-2.0-Example_no-party-name.xml": (
        "structured/ubl-2.0"
    ),
    "OCA__edi/sale_order_import_ubl/tests/files/UBL-Order-2.1-Example.xml": "structured/ubl-2.1",
    "OCA__edi/sale_order_import_ubl/tests/files/UBL-RequestForQuotation-2.1-Example.xml": (
        "structured/ubl-2.1-rfq"
    ),
    # Peppol BIS 3 orders (UBL)
    "OpenPEPPOL__poacc-upgrade-3/rules/examples/Order use cases/UC2_Order.xml": "structured/ubl-2",
    "OpenPEPPOL__poacc-upgrade-3/rules/examples/Order use cases/UC4_Order.xml": "structured/ubl-2",
    "OpenPEPPOL__poacc-upgrade-3/rules/examples/Order use cases/UC6_Order.xml": "structured/ubl-2",
    "OpenPEPPOL__poacc-upgrade-3/rules/examples/Advanced Ordering scenarios/"
    "advanced_ordering_sc1/Order_sc1.xml": "structured/ubl-2",
    # Order-X (CII), as XML and embedded in PDFs
    "klst-de__e-order/src/test/resources/ORDER-X_EX01_ORDER_FULL_DATA-BASIC.xml": (
        "structured/order-x (urn:order-x.eu:1p0:basic)"
    ),
    "klst-de__e-order/src/test/resources/ORDER-X_EX11_ORDER_PICK-UP-BASIC.xml": (
        "structured/order-x (urn:order-x.eu:1p0:basic)"
    ),
    "ZUGFeRD__mustangproject/library/src/test/resources/ORDER-X_EX01_ORDER_FULL_DATA-COMFORT.pdf": (
        "structured/order-x (urn:order-x.eu:1p0:comfort)"
    ),
    "stafyniaksacha__facturx/examples/ORDER-X_EX03_ORDER_BASIC_DATA-COMFORT.pdf": (
        "structured/order-x (urn:order-x.eu:1p0:comfort)"
    ),
    "horstoeko__orderx/tests/assets/reader-order-x-comfort.pdf": (
        "structured/order-x (urn:order-x.eu:1p0:comfort)"
    ),
    # a UBL quotation embedded in an Odoo PDF
    "OCA__edi/purchase_order_import_ubl/tests/files/quote-PO00004.pdf": (
        "structured/ubl-2.1-quotation"
    ),
    # openTRANS 2.1, cXML, EDIFACT, Voxel
    "klst-de__e-order/src/test/resources/sample_order_opentrans_2_1.xml": (
        "structured/opentrans-2.1"
    ),
    "OCA__edi/punchout/tests/cxml/test_store_request.xml": "structured/cxml-punchout",
    "OCA__edi/base_edifact/tests/files/Retail_EDIFACT_ORDERS_sample1.txt": (
        "structured/edifact-orders-d96a"
    ),
    "OCA__edi/base_edifact/tests/files/Retail_EDIFACT_ORDERS_sample2.txt": (
        "structured/edifact-orders-d96a"
    ),
    "OCA__edi/base_edifact/tests/files/test_orders_-_no_PRI_segments.txt": (
        "structured/edifact-orders-d96a"
    ),
    "OCA__edi/edi_voxel_sale_order_import_oca/tests/voxel_xml/Pedido_20190619_145750_0611125750634.xml": (
        "structured/voxel-pedido"
    ),
}
"""Every labeled structured order in the corpus, with the extractor that must read it."""

COMPUTED_UNIT_PRICES = {
    ("ORDER-X_EX01_ORDER_FULL_DATA-BASIC.xml", "lines[1].unit_price"),
    ("ORDER-X_EX01_ORDER_FULL_DATA-COMFORT.pdf", "lines[1].unit_price"),
    ("ORDER-X_EX03_ORDER_BASIC_DATA-COMFORT.pdf", "lines[1].unit_price"),
    ("reader-order-x-comfort.pdf", "lines[1].unit_price"),
}
"""Prices stated per 2 units (20.00 for 2): the unit price 10 is computed, so the grounding
check rightly says the document does not show it."""


def message(raw: bytes, *, kind: str = "file", filename: str | None = None) -> Message:
    return Message(
        id="01STRUCT",
        source="folder:test",
        source_ref=filename or "INBOX/1",
        kind=kind,  # type: ignore[arg-type]
        content_hash=hashlib.sha256(raw).hexdigest(),
        filename=filename,
        sender="buyer@example.com",
        received_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        raw=raw,
    )


def parse_file(raw: bytes, name: str, limits: Limits | None = None) -> ParsedMessage:
    return parse_message(message(raw, filename=name), limits or Limits(), OcrConfig())


def corpus_path(relative: str) -> Path:
    path = CORPUS / relative
    if not path.is_file():
        pytest.skip(f"corpus file {relative} not present")
    return path


def fold(text: object) -> str:
    return " ".join(str(text).casefold().split())


def number(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


@dataclass
class Comparison:
    """Collects every mismatch between an extracted order and its label."""

    name: str
    unlabeled: set[str]
    problems: list[str]

    def skip(self, path: str) -> bool:
        generic = re.sub(r"lines\[\d+\]", "lines[*]", path)
        return path in self.unlabeled or generic in self.unlabeled

    def check(self, path: str, label: object, got: object, same: bool) -> None:
        if not self.skip(path) and not same:
            self.problems.append(f"{self.name}: {path}: label {label!r}, extracted {got!r}")


def compare(name: str, label: dict[str, Any], order: ExtractedOrder) -> list[str]:
    """Every difference between ``order`` and the label's order, one sentence each."""
    expected = label["order"]
    c = Comparison(name, set(label.get("unlabeled", [])), [])
    for field in ("po_number", "currency"):
        got = getattr(order, field).value
        c.check(field, expected[field], got, fold(got or "") == fold(expected[field] or ""))
    for field in ("order_date", "requested_delivery_date"):
        want = date.fromisoformat(expected[field]) if expected[field] else None
        c.check(field, want, getattr(order, field).value, getattr(order, field).value == want)
    buyer = expected["buyer"] or {}
    for key, attr in (
        ("name", "customer_name"),
        ("vat", "customer_vat"),
        ("email", "customer_email"),
    ):
        want, got = buyer.get(key), getattr(order, attr).value
        c.check(f"buyer.{key}", want, got, fold(want or "") == fold(got or ""))
    ship = expected["ship_to"]
    ship_text = fold(order.ship_to.value or "")
    if ship is None:
        c.check("ship_to", None, order.ship_to.value, order.ship_to.value is None)
    else:
        for key in ("city", "postal_code"):
            if ship.get(key):
                c.check(
                    f"ship_to.{key}", ship[key], order.ship_to.value, fold(ship[key]) in ship_text
                )
    subtotal = number(expected["subtotal"])
    c.check("subtotal", subtotal, order.total_amount.value, order.total_amount.value == subtotal)
    lines = expected["lines"]
    c.check(
        "lines", f"{len(lines)} lines", f"{len(order.lines)} lines", len(lines) == len(order.lines)
    )
    for i, (want_line, line) in enumerate(zip(lines, order.lines, strict=False)):
        p = f"lines[{i}]"
        sku, code = want_line["sku"], line.product_code.value
        gtin_only = sku is None and code is not None and is_gtin(code)
        c.check(f"{p}.sku", sku, code, fold(sku or "") == fold(code or "") or gtin_only)
        if want_line["description"] is not None:
            got = line.description.value
            c.check(
                f"{p}.description",
                want_line["description"],
                got,
                fold(want_line["description"]) == fold(got or ""),
            )
        for key, attr in (
            ("quantity", "quantity"),
            ("unit_price", "unit_price"),
            ("amount", "line_total"),
        ):
            want, got = number(want_line[key]), getattr(line, attr).value
            c.check(f"{p}.{key}", want, got, want == got)
        want_uom, got_uom = want_line["uom"], line.uom.value
        same_unit = fold(want_uom or "") == fold(got_uom or "") or (
            want_uom is not None
            and got_uom is not None
            and fold(normalize_uom(want_uom)) == fold(normalize_uom(got_uom))
        )
        c.check(f"{p}.uom", want_uom, got_uom, same_unit)
    return c.problems


def is_gtin(code: str) -> bool:
    """A GTIN-8/12/13/14 with a valid check digit (a standard item id, not a seller's code)."""
    if not code.isdigit() or len(code) not in (8, 12, 13, 14):
        return False
    digits = [int(d) for d in code]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits[:-1])))
    return (10 - total % 10) % 10 == digits[-1]


# --------------------------------------------------------------------------- the corpus


LABEL_GAPS = {
    ("quote-PO00004.pdf", "buyer.email"): (
        "the label follows the printed quotation, which does not print the contact's e-mail; "
        "the embedded UBL states it (BuyerCustomerParty/Party/Contact/ElectronicMail)"
    ),
}
"""Fields the structured file states but the label (made from a PDF's printed page) does not;
each one is checked to be grounded in the embedded file instead."""


@pytest.mark.parametrize("relative", sorted(STRUCTURED_CORPUS))
def test_corpus_structured_order_parses_to_its_label(relative: str) -> None:
    path = corpus_path(relative)
    label = json.loads(Path(f"{path}.label.json").read_text(encoding="utf-8"))
    parsed = parse_file(path.read_bytes(), path.name)
    assert parsed.problems == (), parsed.problems
    order = extract_structured(parsed)
    assert order is not None, f"{path.name}: no structured order found in {parsed.documents}"
    assert order.extractor == STRUCTURED_CORPUS[relative]
    gaps = {field for name, field in LABEL_GAPS if name == path.name}
    label["unlabeled"] = [*label.get("unlabeled", []), *gaps]
    problems = compare(path.name, label, order)
    assert not problems, "\n".join(problems)
    for field in gaps:  # what the label leaves out must still be read from the file itself
        fields = {f.path.replace("customer_", "buyer."): f.extracted for f in order_fields(order)}
        evidence = fields[field].evidence
        assert evidence is not None, field
        doc = parsed.document(evidence.document_id)
        assert doc is not None and doc.media_type == "application/xml", field


@pytest.mark.parametrize("relative", sorted(STRUCTURED_CORPUS))
def test_corpus_structured_values_are_grounded_exactly(relative: str) -> None:
    path = corpus_path(relative)
    parsed = parse_file(path.read_bytes(), path.name)
    order = extract_structured(parsed)
    assert order is not None
    present = 0
    for field in order_fields(order):
        value = field.extracted
        if value.value is None:
            assert value.evidence is None and value.confidence == 0, field.path
            continue
        present += 1
        evidence = value.evidence
        assert evidence is not None, field.path
        doc = parsed.document(evidence.document_id)
        assert doc is not None and doc.media_type in ("application/xml", "text/plain")
        assert evidence.text == doc.text[evidence.start : evidence.end], field.path
        assert evidence.page == 1 and value.confidence == 1.0, field.path
    assert present >= 5
    flagged = {(path.name, f.field) for f in check_grounding(order, parsed)}
    assert flagged <= COMPUTED_UNIT_PRICES, flagged


def test_every_labeled_structured_corpus_file_is_covered() -> None:
    if not CORPUS.is_dir():
        pytest.skip("corpus not present")
    found = set()
    for label in CORPUS.rglob("*.label.json"):
        document = label.with_name(label.name.removesuffix(".label.json"))
        head = (
            document.read_bytes()[:64].lstrip(b"\xef\xbb\xbf \r\n") if document.is_file() else b""
        )
        if document.suffix == ".xml" or head.startswith((b"UNA", b"UNB+")):
            found.add(str(document.relative_to(CORPUS)))
    missing = {f for f in found if f not in STRUCTURED_CORPUS}
    # the corpus' XML invoices are not orders: they must not parse as one
    for relative in sorted(missing):
        parsed = parse_file((CORPUS / relative).read_bytes(), Path(relative).name)
        assert extract_structured(parsed) is None, relative
    assert {f for f in STRUCTURED_CORPUS if not f.endswith(".pdf")} <= found


@pytest.mark.parametrize(
    "relative",
    [
        "OCA__edi/account_invoice_import_facturx/tests/files/Facture_FR_BASIC.pdf",
        "invoice-x__invoice2data/tests/compare/AzureInterior.pdf",
        "OCA__edi/account_invoice_import_ubl/tests/files/UBLKetentest_Referentiefactuur_20150100.xml",
    ],
)
def test_structured_invoices_are_not_orders(relative: str) -> None:
    path = corpus_path(relative)
    parsed = parse_file(path.read_bytes(), path.name)
    assert any(d.media_type == "application/xml" for d in parsed.documents)
    assert extract_structured(parsed) is None
    verdict = classify(parsed)
    assert verdict.label == "not_order" and verdict.kind == "invoice", verdict


def test_embedded_order_x_is_its_own_document_after_the_pages() -> None:
    path = corpus_path(
        "ZUGFeRD__mustangproject/library/src/test/resources/ORDER-X_EX01_ORDER_FULL_DATA-COMFORT.pdf"
    )
    parsed = parse_file(path.read_bytes(), path.name)
    pdf, xml = parsed.documents
    assert pdf.media_type == "application/pdf" and "PO123456789" in pdf.text
    assert xml.media_type == "application/xml"
    assert xml.origin.path == (path.name, "order-x.xml") and xml.origin.kind == "attachment"
    assert "<rsm:SCRDMCCBDACIOMessageStructure" in xml.text[:500]


# --------------------------------------------------------------------------- XML details

UBL_HEAD = """<?xml version="1.0" encoding="{encoding}"?>
<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">"""


def ubl_order(
    *,
    po: str = "PO-DA-7001",
    buyer: str = "Deco Addict",
    vat: str | None = "US12345673",
    lines: list[tuple[str, str, str, str]] = (  # type: ignore[assignment]
        ("FURN_7800", "Desk Combination", "2", "450.00"),
        ("FURN_8999", "Three-Seat Sofa", "1", "1500.00"),
    ),
    issued: date | None = None,
    delivery: date | None = None,
    encoding: str = "UTF-8",
    extra_header: str = "",
    note: str = "",
) -> str:
    """A Peppol BIS 3 style UBL 2.1 Order (the e2e tests use the sample catalog's names)."""
    issued = issued or date.today()
    delivery = delivery or issued + timedelta(days=30)
    total = sum(Decimal(q) * Decimal(p) for _, _, q, p in lines)
    party_vat = (
        f"<cac:PartyTaxScheme><cbc:CompanyID>{vat}</cbc:CompanyID>"
        "<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>"
        if vat
        else ""
    )
    body = [
        UBL_HEAD.format(encoding=encoding),
        extra_header,
        "  <cbc:UBLVersionID>2.1</cbc:UBLVersionID>",
        "  <cbc:CustomizationID>urn:fdc:peppol.eu:poacc:trns:order:3</cbc:CustomizationID>",
        f"  <cbc:ID>{po}</cbc:ID>",
        f"  <cbc:IssueDate>{issued.isoformat()}</cbc:IssueDate>",
        f"  <cbc:Note>{note}</cbc:Note>" if note else "",
        "  <cbc:DocumentCurrencyCode>USD</cbc:DocumentCurrencyCode>",
        "  <cac:BuyerCustomerParty><cac:Party>",
        f"    <cac:PartyName><cbc:Name>{buyer}</cbc:Name></cac:PartyName>{party_vat}",
        "  </cac:Party></cac:BuyerCustomerParty>",
        "  <cac:SellerSupplierParty><cac:Party><cac:PartyName><cbc:Name>YourCompany</cbc:Name>"
        "</cac:PartyName></cac:Party></cac:SellerSupplierParty>",
        "  <cac:Delivery><cac:DeliveryLocation><cac:Address>"
        "<cbc:StreetName>77 Santa Barbara Rd</cbc:StreetName><cbc:CityName>Pleasant Hill"
        "</cbc:CityName><cbc:PostalZone>94523</cbc:PostalZone><cac:Country>"
        "<cbc:IdentificationCode>US</cbc:IdentificationCode></cac:Country></cac:Address>"
        "</cac:DeliveryLocation>",
        f"    <cac:RequestedDeliveryPeriod><cbc:StartDate>{delivery.isoformat()}</cbc:StartDate>"
        "</cac:RequestedDeliveryPeriod></cac:Delivery>",
        f'  <cac:AnticipatedMonetaryTotal><cbc:LineExtensionAmount currencyID="USD">{total:.2f}'
        "</cbc:LineExtensionAmount></cac:AnticipatedMonetaryTotal>",
    ]
    for number_, (code, name, qty, price) in enumerate(lines, start=1):
        amount = Decimal(qty) * Decimal(price)
        body.append(
            f"  <cac:OrderLine><cac:LineItem><cbc:ID>{number_}</cbc:ID>"
            f'<cbc:Quantity unitCode="C62">{qty}</cbc:Quantity>'
            f'<cbc:LineExtensionAmount currencyID="USD">{amount:.2f}</cbc:LineExtensionAmount>'
            f'<cac:Price><cbc:PriceAmount currencyID="USD">{price}</cbc:PriceAmount></cac:Price>'
            f"<cac:Item><cbc:Name>{name}</cbc:Name><cac:SellersItemIdentification>"
            f"<cbc:ID>{code}</cbc:ID></cac:SellersItemIdentification></cac:Item>"
            "</cac:LineItem></cac:OrderLine>"
        )
    body.append("</Order>\n")
    return "\n".join(part for part in body if part)


def structured(raw: bytes, name: str = "order.xml") -> tuple[ParsedMessage, ExtractedOrder | None]:
    parsed = parse_file(raw, name)
    return parsed, extract_structured(parsed)


def assert_exact(parsed: ParsedMessage, order: ExtractedOrder) -> None:
    for field in order_fields(order):
        evidence = field.extracted.evidence
        if evidence is not None:
            doc = parsed.document(evidence.document_id)
            assert doc is not None
            assert doc.text[evidence.start : evidence.end] == evidence.text, field.path


def test_entities_cdata_and_angle_brackets_in_attributes_are_located() -> None:
    xml = ubl_order(
        buyer="Smith &amp; Sons &#8211; Trade",
        lines=[("A&lt;1&gt;", "<![CDATA[Bolt M8 <zinc> & washer]]>", "12", "0.35")],
        extra_header='  <cbc:ProfileExecutionID schemeName="a > b">x</cbc:ProfileExecutionID>',
    )
    parsed, order = structured(xml.encode())
    assert order is not None
    assert order.customer_name.value == "Smith & Sons – Trade"
    assert order.customer_name.evidence is not None
    assert order.customer_name.evidence.text == "Smith &amp; Sons &#8211; Trade"
    (line,) = order.lines
    assert line.product_code.value == "A<1>"
    assert line.description.value == "Bolt M8 <zinc> & washer"
    assert line.quantity.value == Decimal(12) and line.unit_price.value == Decimal("0.35")
    assert line.uom.evidence is not None and line.uom.evidence.text == "C62"
    assert_exact(parsed, order)
    assert check_grounding(order, parsed) == []


def test_non_ascii_text_before_values_keeps_offsets_exact() -> None:
    note = "Lieferung bitte über Tor 3 – Grüße aus Köln 🚚 " * 20
    xml = ubl_order(buyer="Müller Bürobedarf GmbH", note=note)
    parsed, order = structured(xml.encode())
    assert order is not None
    assert order.customer_name.value == "Müller Bürobedarf GmbH"
    assert [line.product_code.value for line in order.lines] == ["FURN_7800", "FURN_8999"]
    assert_exact(parsed, order)


def test_latin1_xml_is_decoded_by_its_declaration() -> None:
    xml = ubl_order(buyer="Société Générale des Pièces", encoding="ISO-8859-1")
    parsed, order = structured(xml.encode("latin-1"))
    assert order is not None and order.customer_name.value == "Société Générale des Pièces"
    assert_exact(parsed, order)


def test_price_per_basis_quantity_is_divided() -> None:
    xml = ubl_order(lines=[("SCREW-4", "Screws", "500", "4.50")]).replace(
        '<cbc:PriceAmount currencyID="USD">4.50</cbc:PriceAmount>',
        '<cbc:PriceAmount currencyID="USD">4.50</cbc:PriceAmount>'
        '<cbc:BaseQuantity unitCode="C62">100</cbc:BaseQuantity>',
    )
    _, order = structured(xml.encode())
    assert order is not None
    (line,) = order.lines
    assert line.unit_price.value == Decimal("0.045")
    assert line.unit_price.evidence is not None
    assert "4.50" in line.unit_price.evidence.text and "100" in line.unit_price.evidence.text


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE Order [
  <!ENTITY a "aaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
  <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
  <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
  <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
  <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
  <!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">
  <!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">
]>
<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:ID>&i;</cbc:ID>
</Order>
"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE Order [ <!ENTITY secret SYSTEM "file:///etc/passwd"> ]>
<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:ID>&secret;</cbc:ID>
</Order>
"""


@pytest.mark.parametrize("hostile", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_entity_bombs_and_external_entities_are_refused(
    hostile: str, caplog: pytest.LogCaptureFixture
) -> None:
    parsed = parse_file(hostile.encode(), "order.xml")
    assert parsed.documents == ()
    (problem,) = parsed.problems
    assert problem.code == "xml_unsafe" and "order.xml" in problem.message
    assert "XML bombs" in problem.message
    # the structured reader refuses them too, should such a text reach it another way
    doc = Document(
        id="d1",
        origin=Origin(kind="file", filename="order.xml"),
        media_type="application/xml",
        text=hostile,
        pages=(Page(number=1, start=0, end=len(hostile), method="plain"),),
    )
    smuggled = ParsedMessage(message=parsed.message, documents=(doc,))
    assert extract_structured(smuggled) is None
    assert "cannot be read" in caplog.text and "Forbidden" in caplog.text
    assert "root:" not in caplog.text  # nothing of /etc/passwd was read
    classify(smuggled)  # the classifier meets the same refusal and does not raise
    offline = extract_order(smuggled, Classification(label="unsure", confidence=0.5))
    assert offline.extractor.startswith("offline")


def test_malformed_xml_is_kept_as_text_and_left_to_the_other_extractors() -> None:
    broken = ubl_order().replace("</Order>", "")
    parsed, order = structured(broken.encode())
    (doc,) = parsed.documents
    assert doc.media_type == "application/xml" and "FURN_7800" in doc.text
    (problem,) = parsed.problems
    assert problem.code == "xml_malformed" and "not well-formed" in problem.message
    assert order is None


def test_order_changes_and_responses_are_not_read_as_new_orders() -> None:
    change = ubl_order().replace("Order-2", "OrderChange-2").replace("<Order ", "<OrderChange ")
    change = change.replace("</Order>", "</OrderChange>")
    _, order = structured(change.encode())
    assert order is None


# --------------------------------------------------------------------------- EDIFACT

EDIFACT_UNA = (
    "UNA:+,? '\n"
    "UNB+UNOC:3+4012345000009:14+4098765000002:14+260105:0930+77'\n"
    "UNH+1+ORDERS:D:01B:UN:EAN010'\n"
    "BGM+220+PO?+2026?'01+9'\n"
    "DTM+137:20260105:102'\n"
    "DTM+2:20260120:102'\n"
    "NAD+BY+4012345000009::9++Müller ?+ Söhne GmbH+Hauptstraße 1+Köln++50667+DE'\n"
    "RFF+VA:DE123456789'\n"
    "CTA+PD+:Anna Berg'\n"
    "COM+anna.berg@mueller.example:EM'\n"
    "NAD+DP+4012345000016::9++Lager Nord+Industriestr. 9+Hamburg++20095+DE'\n"
    "CUX+2:EUR:9'\n"
    "LIN+1++4006381333931:EN'\n"
    "PIA+5+SCR-100:SA'\n"
    "IMD+F++:::Schrauben 4x40, verzinkt'\n"
    "QTY+21:12,5:KGM'\n"
    "PRI+AAA:145,00::NTP:100:KGM'\n"
    "MOA+203:18,13'\n"
    "LIN+2++4006381333948:EN'\n"
    "QTY+21:3:PCE'\n"
    "PRI+AAA:7,25'\n"
    "UNS+S'\n"
    "MOA+79:39,88'\n"
    "UNT+21+1'\n"
    "UNZ+1+77'\n"
)


def test_edifact_with_its_own_separators_release_characters_and_decimal_comma() -> None:
    parsed, order = structured(EDIFACT_UNA.encode("utf-8"), "ORDERS_77.edi")
    assert order is not None and order.extractor == "structured/edifact-orders-d01b"
    assert order.po_number.value == "PO+2026'01"
    assert order.po_number.evidence is not None
    assert order.po_number.evidence.text == "PO?+2026?'01"
    assert order.order_date.value == date(2026, 1, 5)
    assert order.requested_delivery_date.value == date(2026, 1, 20)
    assert order.customer_name.value == "Müller + Söhne GmbH"
    assert order.customer_vat.value == "DE123456789"
    assert order.customer_email.value == "anna.berg@mueller.example"
    assert order.currency.value == "EUR" and order.total_amount.value == Decimal("39.88")
    assert order.ship_to.value == "Lager Nord, Industriestr. 9, 20095, Hamburg, DE"
    first, second = order.lines
    assert first.product_code.value == "SCR-100"  # the supplier's article, not the EAN
    assert first.description.value == "Schrauben 4x40, verzinkt"
    assert (first.quantity.value, first.uom.value) == (Decimal("12.5"), "KGM")
    assert first.unit_price.value == Decimal("1.45")  # 145,00 per 100 kg
    assert first.line_total.value == Decimal("18.13")
    assert second.product_code.value == "4006381333948"  # no PIA: the EAN
    assert (second.quantity.value, second.unit_price.value) == (Decimal(3), Decimal("7.25"))
    assert_exact(parsed, order)
    assert classify(parsed).label == "order"


def test_edifact_invoice_is_not_an_order() -> None:
    invoic = EDIFACT_UNA.replace("ORDERS", "INVOIC").replace("BGM+220", "BGM+380")
    parsed, order = structured(invoic.encode(), "INVOIC.edi")
    assert order is None
    verdict = classify(parsed)
    assert verdict.kind == "invoice" and verdict.label == "not_order"


def test_truncated_edifact_gives_what_is_there_without_raising() -> None:
    parsed, order = structured(EDIFACT_UNA[:400].encode(), "cut.edi")
    assert order is not None and order.po_number.value == "PO+2026'01"
    assert_exact(parsed, order)


# --------------------------------------------------------------------------- cascade and classify


def test_cascade_takes_the_structured_path_first_and_offline_otherwise() -> None:
    email = EmailMessage()
    email["From"] = "douglas.fletcher51@example.com"
    email["Subject"] = "Order"
    email.set_content("Please deliver the attached order.\nPO number: PO-DA-7001")
    email.add_attachment(
        ubl_order().encode(), maintype="application", subtype="xml", filename="po.xml"
    )
    parsed = parse_message(message(bytes(email), kind="email"), Limits(), OcrConfig())
    verdict = classify(parsed)
    assert verdict.label == "order" and verdict.confidence >= 0.9
    assert any("UBL purchase order" in r for r in verdict.reasons)
    order = extract_order(parsed, verdict)
    assert order.extractor == "structured/ubl-2.1" and len(order.lines) == 2
    plain = EmailMessage()
    plain["From"] = "douglas.fletcher51@example.com"
    plain["Subject"] = "Order"
    plain.set_content("Please send 4 x FURN_7800.\nPO number: PO-88")
    parsed = parse_message(message(bytes(plain), kind="email"), Limits(), OcrConfig())
    assert extract_structured(parsed) is None
    assert extract_order(parsed, classify(parsed)).extractor.startswith("offline")


def test_request_for_quotation_is_not_rejected_without_a_person() -> None:
    path = corpus_path(
        "OCA__edi/sale_order_import_ubl/tests/files/UBL-RequestForQuotation-2.1-Example.xml"
    )
    verdict = classify(parse_file(path.read_bytes(), path.name))
    assert verdict.label == "not_order" and verdict.kind == "inquiry"
    assert verdict.confidence < 0.9  # below reject_not_order_confidence: a person decides


# --------------------------------------------------------------------------- end to end


def ubl_email(
    tmp_path: Path,
    xml: str,
    name: str = "ubl-order.eml",
    sender: str = "Douglas Fletcher <douglas.fletcher51@example.com>",
) -> Path:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = "orders@yourcompany.example.com"
    email["Subject"] = "Order PO-DA-7001"
    email["Message-ID"] = f"<{hashlib.sha1(xml.encode()).hexdigest()}@deco-addict.example.com>"
    email.set_content("Hello,\n\nour order is attached as UBL.\n\nDouglas Fletcher")
    email.add_attachment(
        xml.encode(), maintype="application", subtype="xml", filename="PO-DA-7001.xml"
    )
    inbox = tmp_path / "inbox"
    inbox.mkdir(exist_ok=True)
    path = inbox / name
    path.write_bytes(bytes(email))
    return path


@pytest.mark.slow
def test_intake_process_drafts_a_ubl_order_of_a_known_customer(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    path = ubl_email(tmp_path, ubl_order())
    result = run_intake(["process", str(path), "--json"], cli_env)
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert row["state"] == "drafted", row["reasons"]
    assert row["customer"] == "Deco Addict" and row["po_number"] == "PO-DA-7001"
    assert row["lines"] == 2 and row["confidence"] >= 0.9
    shown = run_intake(["show", row["id"], "--json"], cli_env)
    details = json.loads(shown.stdout)
    assert details["extraction"]["extractor"] == "structured/ubl-2.1"
    lines = details["quotation"]["lines"]
    assert [(ln["default_code"], ln["quantity"]) for ln in lines] == [
        ("FURN_7800", "2"),
        ("FURN_8999", "1"),
    ]


@pytest.mark.slow
def test_intake_process_sends_a_ubl_order_of_unknown_parties_to_review(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    xml = ubl_order(
        po="PO-ZZ-1",
        buyer="Nowhere Trading Ltd",
        vat=None,
        lines=[
            ("FURN_7800", "Desk Combination", "2", "450.00"),
            ("ZZ-404", "Mystery part", "3", "9.99"),
        ],
    )
    path = ubl_email(tmp_path, xml, "unknown.eml", sender="Ann Other <ann@nowhere-trading.example>")
    result = run_intake(["process", str(path), "--json"], cli_env)
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert row["state"] == "in_review"
    shown = json.loads(run_intake(["show", row["id"], "--json"], cli_env).stdout)
    findings = {(f["code"], f["field"]) for f in shown["assessment"]["findings"]}
    assert ("customer_unknown", "customer_name") in findings, findings
    assert ("product_unmatched", "lines[1].product_code") in findings, findings
    assert not any(code == "value_not_in_source" for code, _ in findings), findings
    assert shown["extraction"]["lines"][0]["product_code"]["value"] == "FURN_7800"


CXML_ORDER_REQUEST = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.050/cXML.dtd">
<cXML payloadID="1767600000.42@buyer.example" timestamp="2026-01-05T09:00:00+01:00">
  <Header><From><Credential domain="NetworkID"><Identity>AN0100</Identity></Credential></From>
  <To><Credential domain="NetworkID"><Identity>AN0200</Identity></Credential></To>
  <Sender><Credential domain="NetworkID"><Identity>AN0100</Identity></Credential>
  <UserAgent>Procurement 9</UserAgent></Sender></Header>
  <Request deploymentMode="production">
    <OrderRequest>
      <OrderRequestHeader orderID="PO-CX-5521" orderDate="2026-01-05T08:55:00+01:00" type="new">
        <Total><Money currency="EUR">1012.50</Money></Total>
        <ShipTo><Address addressID="DC-7"><Name xml:lang="en">Acme Distribution Center 7</Name>
          <PostalAddress><Street>Industrieweg 12</Street><City>Utrecht</City>
          <PostalCode>3542 AD</PostalCode><Country isoCountryCode="NL">Netherlands</Country>
          </PostalAddress></Address></ShipTo>
        <BillTo><Address addressID="HQ"><Name xml:lang="en">Acme Holding B.V.</Name>
          <Email>ap@acme.example</Email></Address></BillTo>
        <Contact role="buyer"><Name xml:lang="en">Piet Jansen</Name>
          <Email>piet.jansen@acme.example</Email></Contact>
      </OrderRequestHeader>
      <ItemOut quantity="25" lineNumber="1" requestedDeliveryDate="2026-01-19">
        <ItemID><SupplierPartID>FURN_0269</SupplierPartID><BuyerPartID>ACM-77</BuyerPartID></ItemID>
        <ItemDetail><UnitPrice><Money currency="EUR">40.50</Money></UnitPrice>
          <Description xml:lang="en">Office Chair Black</Description>
          <UnitOfMeasure>EA</UnitOfMeasure></ItemDetail>
      </ItemOut>
    </OrderRequest>
  </Request>
</cXML>
"""


def test_cxml_order_request() -> None:
    parsed, order = structured(CXML_ORDER_REQUEST.encode(), "order.cxml")
    assert order is not None and order.extractor == "structured/cxml-order-request"
    assert (order.po_number.value, order.order_date.value) == ("PO-CX-5521", date(2026, 1, 5))
    assert order.requested_delivery_date.value == date(2026, 1, 19)
    assert (order.currency.value, order.total_amount.value) == ("EUR", Decimal("1012.50"))
    assert order.customer_name.value == "Acme Holding B.V."
    assert order.customer_email.value == "piet.jansen@acme.example"
    assert (
        order.ship_to.value == "Acme Distribution Center 7, Industrieweg 12, 3542 AD, Utrecht, NL"
    )
    (line,) = order.lines
    assert (line.product_code.value, line.description.value) == ("FURN_0269", "Office Chair Black")
    assert (line.quantity.value, line.uom.value, line.unit_price.value) == (
        Decimal(25),
        "EA",
        Decimal("40.50"),
    )
    assert_exact(parsed, order)
    assert check_grounding(order, parsed) == []
    assert classify(parsed).label == "order"
