"""Checks, confidence and decision on orders whose evidence points into real document text."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from intake.assess import assess, decide
from intake.catalog import Catalog, CatalogPartner, CatalogProduct
from intake.config import Thresholds
from intake.match import match_order
from intake.models import (
    Assessment,
    Classification,
    DecisionKind,
    Document,
    Evidence,
    ExtractedDate,
    ExtractedLine,
    ExtractedNumber,
    ExtractedOrder,
    ExtractedText,
    Finding,
    Message,
    Origin,
    ParsedMessage,
    Problem,
    Severity,
)

CATALOG = Catalog(
    partners=(
        CatalogPartner(
            id=10, name="Deco Addict", email="deco.addict82@example.com", is_company=True
        ),
        CatalogPartner(
            id=11, name="Douglas Fletcher", email="douglas.fletcher51@example.com", parent_id=10
        ),
        CatalogPartner(
            id=20, name="Azure Interior", email="azure.Interior24@example.com", is_company=True
        ),
        CatalogPartner(
            id=30, name="Gemini Furniture", email="info@geminifurniture.com", is_company=True
        ),
    ),
    products=(
        CatalogProduct(
            id=1, default_code="FURN_7800", name="Desk Combination", list_price=Decimal("450.00")
        ),
        CatalogProduct(
            id=2, default_code="FURN_8220", name="Four Person Desk", list_price=Decimal("2350.00")
        ),
        CatalogProduct(
            id=3, default_code="E-COM07", name="Large Cabinet", list_price=Decimal("320.00")
        ),
        CatalogProduct(
            id=4, default_code="E-COM11", name="Cabinet with Doors", list_price=Decimal("140.00")
        ),
        CatalogProduct(
            id=5, default_code="FURN_7777", name="Office Chair", list_price=Decimal("70.00")
        ),
    ),
)

SENDER = "Douglas Fletcher <douglas.fletcher51@example.com>"

PO_TEXT = """\
PURCHASE ORDER PO-2024-0042
Deco Addict, 77 Santa Barbara Rd, Pleasant Hill
Order date: 2024-05-02
Requested delivery: 2024-05-20

Code       Description          Qty   Unit   Price     Total
FURN_7800  Desk Combination     2     pcs    450.00    900.00
E-COM07    Large Cabinet        1     pcs    320.00    320.00

Total USD 1,220.00
"""

DOC = Document(
    id="d1",
    origin=Origin(kind="attachment", filename="PO-2024-0042.pdf"),
    media_type="application/pdf",
    text=PO_TEXT,
)

ORDER_CLASS = Classification(label="order", confidence=0.97)
THRESHOLDS = Thresholds()


def ev(snippet: str, after: str | None = None, doc: Document = DOC) -> Evidence:
    """Evidence for the first ``snippet`` (after ``after``) — text == doc.text[start:end]."""
    start = doc.text.index(snippet, doc.text.index(after) if after else 0)
    return Evidence(document_id=doc.id, start=start, end=start + len(snippet), text=snippet)


def t(value: str, after: str | None = None, confidence: float = 0.95) -> ExtractedText:
    return ExtractedText(value=value, confidence=confidence, evidence=ev(value, after))


def num(written: str, after: str | None = None, confidence: float = 0.95) -> ExtractedNumber:
    value = Decimal(written.replace(",", ""))
    return ExtractedNumber(value=value, confidence=confidence, evidence=ev(written, after))


def day(value: date, written: str, confidence: float = 0.9) -> ExtractedDate:
    return ExtractedDate(value=value, confidence=confidence, evidence=ev(written))


def po_line(code: str, description: str, qty: str, price: str, total: str) -> ExtractedLine:
    row = f"{code}  "
    return ExtractedLine(
        product_code=t(code, after="Code "),
        description=t(description, after=row),
        quantity=num(qty, after=description),
        uom=t("pcs", after=row),
        unit_price=num(price, after=description),
        line_total=num(total, after=f"{price} "),
    )


LINE_DESK = po_line("FURN_7800", "Desk Combination", "2", "450.00", "900.00")
LINE_CABINET = po_line("E-COM07", "Large Cabinet", "1", "320.00", "320.00")

ORDER = ExtractedOrder(
    customer_name=t("Deco Addict"),
    po_number=t("PO-2024-0042"),
    order_date=day(date(2024, 5, 2), "2024-05-02"),
    requested_delivery_date=day(date(2024, 5, 20), "2024-05-20"),
    currency=t("USD"),
    total_amount=num("1,220.00"),
    lines=(LINE_DESK, LINE_CABINET),
    extractor="test/1",
)


def parsed(*documents: Document, sender: str | None = SENDER, problems: tuple[Problem, ...] = ()):
    return ParsedMessage(
        message=Message(
            id="01HX0000000000000000000000",
            source="folder:inbox",
            source_ref="po.eml",
            kind="email",
            content_hash="0" * 64,
            sender=sender,
            subject="PO-2024-0042",
            received_at=datetime(2024, 5, 2, 9, 30, tzinfo=UTC),
            raw=b"",
        ),
        documents=documents or (DOC,),
        problems=problems,
    )


def with_line(i: int, **fields: Any) -> ExtractedOrder:
    lines = list(ORDER.lines)
    lines[i] = lines[i].model_copy(update=fields)
    return ORDER.model_copy(update={"lines": tuple(lines)})


def run(
    order: ExtractedOrder = ORDER,
    *,
    sender: str | None = SENDER,
    classification: Classification = ORDER_CLASS,
    message: ParsedMessage | None = None,
    thresholds: Thresholds = THRESHOLDS,
) -> Assessment:
    matched = match_order(order, sender, CATALOG)
    return assess(matched, message or parsed(sender=sender), classification, thresholds)


def codes(assessment: Assessment) -> dict[str, set[tuple[Severity, str | None]]]:
    found: dict[str, set[tuple[Severity, str | None]]] = {}
    for f in assessment.findings:
        found.setdefault(f.code, set()).add((f.severity, f.field))
    return found


def only(assessment: Assessment, code: str) -> Finding:
    matching = [f for f in assessment.findings if f.code == code]
    assert len(matching) == 1, assessment.findings
    return matching[0]


# --------------------------------------------------------------------------- a clean order


def test_test_evidence_honours_the_contract() -> None:
    for line in ORDER.lines:
        for field in (line.product_code, line.quantity, line.unit_price, line.line_total):
            assert field.evidence is not None
            assert PO_TEXT[field.evidence.start : field.evidence.end] == field.evidence.text
    assert LINE_CABINET.quantity.evidence is not None
    assert LINE_CABINET.quantity.evidence.start > PO_TEXT.index("Large Cabinet  ")


def test_clean_order_has_no_findings_and_is_drafted() -> None:
    assessment = run()
    decision = decide(assessment, ORDER_CLASS, THRESHOLDS)

    assert assessment.findings == ()
    assert assessment.confidence >= THRESHOLDS.draft_min_confidence
    assert decision.kind is DecisionKind.DRAFT
    assert decision.confidence == assessment.confidence
    assert decision.reasons[0].startswith("Drafted")


# --------------------------------------------------------------------------- grounding


def test_value_absent_from_the_source_warns() -> None:
    invented = ExtractedText(
        value="PO-9999",
        confidence=0.9,
        evidence=Evidence(document_id="d1", start=15, end=22, text="PO-9999"),
    )
    assessment = run(ORDER.model_copy(update={"po_number": invented}))

    finding = only(assessment, "value_not_in_source")
    assert (finding.severity, finding.field) == (Severity.WARN, "po_number")
    assert "PO-9999" in finding.message
    assert decide(assessment, ORDER_CLASS, THRESHOLDS).kind is DecisionKind.REVIEW


def test_wrong_offsets_are_forgiven_when_the_text_is_in_the_document() -> None:
    shifted = ExtractedText(
        value="PO-2024-0042",
        confidence=0.95,
        evidence=Evidence(document_id="d1", start=0, end=12, text="PO-2024-0042"),
    )
    assessment = run(ORDER.model_copy(update={"po_number": shifted}))

    assert "value_not_in_source" not in codes(assessment)


def test_quantity_whose_evidence_shows_another_number_blocks() -> None:
    misread = ExtractedNumber(
        value=Decimal(5), confidence=0.9, evidence=ev("2", after="Combination")
    )
    assessment = run(with_line(0, quantity=misread))

    assert codes(assessment)["value_not_in_source"] == {(Severity.BLOCK, "lines[0].quantity")}
    assert assessment.confidence <= 0.25
    assert decide(assessment, ORDER_CLASS, THRESHOLDS).kind is DecisionKind.REVIEW


def test_value_without_evidence_blocks_for_product_code() -> None:
    assessment = run(with_line(1, product_code=ExtractedText(value="E-COM07", confidence=0.9)))

    finding = only(assessment, "value_not_in_source")
    assert (finding.severity, finding.field) == (Severity.BLOCK, "lines[1].product_code")
    assert "no evidence" in finding.message


def test_evidence_in_a_document_the_message_lacks() -> None:
    ghost = ExtractedText(
        value="Deco Addict",
        confidence=0.9,
        evidence=Evidence(document_id="d7", start=0, end=11, text="Deco Addict"),
    )
    assessment = run(ORDER.model_copy(update={"customer_name": ghost}))

    finding = only(assessment, "value_not_in_source")
    assert (finding.severity, finding.field) == (Severity.BLOCK, "customer_name")
    assert "d7" in finding.message


def test_number_written_in_european_notation_is_grounded() -> None:
    doc = DOC.model_copy(update={"text": PO_TEXT.replace("1,220.00", "1.220,00")})
    total = ExtractedNumber(
        value=Decimal("1220.00"), confidence=0.95, evidence=ev("1.220,00", doc=doc)
    )
    assessment = run(ORDER.model_copy(update={"total_amount": total}), message=parsed(doc))

    assert "value_not_in_source" not in codes(assessment)


def test_value_found_in_the_document_without_matching_evidence_text_is_grounded() -> None:
    loose = ExtractedDate(
        value=date(2024, 5, 20),
        confidence=0.9,
        evidence=Evidence(document_id="d1", start=0, end=5, text="20 May"),
    )
    assessment = run(ORDER.model_copy(update={"requested_delivery_date": loose}))

    assert "value_not_in_source" not in codes(assessment)


def test_quantity_written_in_words_is_grounded_but_an_unrelated_word_is_not() -> None:
    doc = DOC.model_copy(
        update={"text": PO_TEXT.replace("Combination     2 ", "Combination   two ")}
    )
    in_words = ExtractedNumber(value=Decimal(2), confidence=0.9, evidence=ev("two", doc=doc))
    wrong_word = ExtractedNumber(value=Decimal(2), confidence=0.9, evidence=ev("Desk", doc=doc))

    grounded = run(with_line(0, quantity=in_words), message=parsed(doc))
    ungrounded = run(with_line(0, quantity=wrong_word), message=parsed(doc))

    assert "value_not_in_source" not in codes(grounded)
    assert codes(ungrounded)["value_not_in_source"] == {(Severity.BLOCK, "lines[0].quantity")}


def test_currency_code_for_a_symbol_is_grounded() -> None:
    doc = DOC.model_copy(update={"text": PO_TEXT.replace("Total USD 1,220.00", "Total $1,220.00")})
    currency = ExtractedText(value="USD", confidence=0.9, evidence=ev("$", doc=doc))
    total = ExtractedNumber(
        value=Decimal("1220.00"), confidence=0.9, evidence=ev("1,220.00", doc=doc)
    )
    order = ORDER.model_copy(update={"currency": currency, "total_amount": total})

    assert run(order, message=parsed(doc)).findings == ()


# --------------------------------------------------------------------------- classification


def test_confident_not_order_is_rejected() -> None:
    invoice = Classification(
        label="not_order", kind="invoice", confidence=0.96, reasons=("says 'INVOICE'",)
    )
    assessment = run(classification=invoice)
    decision = decide(assessment, invoice, THRESHOLDS)

    assert codes(assessment)["not_an_order"] == {(Severity.BLOCK, None)}
    assert decision.kind is DecisionKind.REJECT
    assert "invoice" in decision.reasons[0]
    assert "says 'INVOICE'" in decision.reasons


def test_doubtful_not_order_goes_to_review() -> None:
    doubtful = Classification(label="not_order", kind="inquiry", confidence=0.7)
    decision = decide(run(classification=doubtful), doubtful, THRESHOLDS)

    assert decision.kind is DecisionKind.REVIEW
    assert any("inquiry" in r for r in decision.reasons)


def test_unsure_classification_warns() -> None:
    unsure = Classification(label="unsure", confidence=0.55)
    assessment = run(classification=unsure)

    assert codes(assessment) == {"classification_unsure": {(Severity.WARN, None)}}
    assert decide(assessment, unsure, THRESHOLDS).kind is DecisionKind.REVIEW


# --------------------------------------------------------------------------- customer, header


def test_no_lines_blocks() -> None:
    assessment = run(ORDER.model_copy(update={"lines": (), "total_amount": ExtractedNumber()}))

    assert codes(assessment)["no_lines"] == {(Severity.BLOCK, "lines")}


def test_unknown_customer_blocks_and_names_the_clues() -> None:
    unknown = ORDER.model_copy(update={"customer_name": t("Pleasant Hill")})
    assessment = run(unknown, sender="someone.new@example.com")

    finding = only(assessment, "customer_unknown")
    assert finding.severity is Severity.BLOCK
    assert "Pleasant Hill" in finding.message
    assert "someone.new@example.com" in finding.message
    assert decide(assessment, ORDER_CLASS, THRESHOLDS).kind is DecisionKind.REVIEW


def test_conflicting_customer_signals_warn_with_the_alternative() -> None:
    doc_text = PO_TEXT.replace("Deco Addict,", "Azure Interior,")
    doc = DOC.model_copy(update={"text": doc_text})
    name = ExtractedText(
        value="Azure Interior", confidence=0.95, evidence=ev("Azure Interior", doc=doc)
    )
    assessment = run(ORDER.model_copy(update={"customer_name": name}), message=parsed(doc))

    finding = only(assessment, "customer_uncertain")
    assert finding.severity is Severity.WARN
    assert "Deco Addict" in finding.message and "Azure Interior" in finding.message


def test_missing_po_number_warns() -> None:
    assessment = run(ORDER.model_copy(update={"po_number": ExtractedText()}))

    assert codes(assessment) == {"po_number_missing": {(Severity.WARN, "po_number")}}


def test_low_confidence_field_warns_with_its_path() -> None:
    shaky = t("PO-2024-0042", confidence=0.3)
    assessment = run(ORDER.model_copy(update={"po_number": shaky}))

    finding = only(assessment, "low_confidence")
    assert (finding.severity, finding.field) == (Severity.WARN, "po_number")
    assert "0.30" in finding.message and "PO-2024-0042" in finding.message


def test_low_confidence_quantity_is_named_by_line() -> None:
    shaky = LINE_CABINET.quantity.model_copy(update={"confidence": 0.4})
    assessment = run(with_line(1, quantity=shaky))

    finding = only(assessment, "low_confidence")
    assert finding.field == "lines[1].quantity"
    assert finding.message.startswith("Line 2 quantity '1'")


def test_delivery_before_order_date_warns() -> None:
    doc = DOC.model_copy(update={"text": PO_TEXT.replace("2024-05-20", "2024-04-20")})
    past = ExtractedDate(
        value=date(2024, 4, 20), confidence=0.9, evidence=ev("2024-04-20", doc=doc)
    )
    assessment = run(
        ORDER.model_copy(update={"requested_delivery_date": past}), message=parsed(doc)
    )

    finding = only(assessment, "delivery_date_past")
    assert finding.field == "requested_delivery_date"
    assert "2024-04-20" in finding.message and "2024-05-02" in finding.message


def test_unreadable_part_of_the_message_warns() -> None:
    problem = Problem(
        code="pdf_encrypted",
        message="page 2 of order.pdf is encrypted",
        origin=Origin(kind="attachment", filename="order2.pdf"),
    )
    assessment = run(message=parsed(problems=(problem,)))

    finding = only(assessment, "source_problem")
    assert "encrypted" in finding.message and "order2.pdf" in finding.message


# --------------------------------------------------------------------------- lines


def test_unmatched_product_warns_that_it_becomes_a_note_line() -> None:
    doc = DOC.model_copy(
        update={"text": PO_TEXT.replace("E-COM07    Large Cabinet", "X-123      Banana crate ")}
    )
    line = ExtractedLine(
        product_code=ExtractedText(value="X-123", confidence=0.9, evidence=ev("X-123", doc=doc)),
        description=ExtractedText(
            value="Banana crate", confidence=0.9, evidence=ev("Banana crate", doc=doc)
        ),
        quantity=ExtractedNumber(
            value=Decimal(1), confidence=0.9, evidence=ev("1", after="Banana", doc=doc)
        ),
    )
    assessment = run(with_line(1, **dict(line)), message=parsed(doc))

    finding = only(assessment, "product_unmatched")
    assert (finding.severity, finding.field) == (Severity.WARN, "lines[1].product_code")
    assert "X-123" in finding.message and "note line" in finding.message


def test_uncertain_product_warns_with_candidates() -> None:
    doc = DOC.model_copy(
        update={"text": PO_TEXT.replace("E-COM07    Large Cabinet", "           Cabinet      ")}
    )
    vague = ExtractedText(value="Cabinet", confidence=0.9, evidence=ev("Cabinet", doc=doc))
    assessment = run(
        with_line(1, product_code=ExtractedText(), description=vague), message=parsed(doc)
    )

    finding = only(assessment, "product_uncertain")
    assert finding.field == "lines[1].description"
    assert "Large Cabinet" in finding.message and "Cabinet with Doors" in finding.message


@pytest.mark.parametrize(
    ("written", "code", "severity"),
    [("0", "quantity_not_positive", Severity.BLOCK), ("1.5", "quantity_fractional", Severity.WARN)],
)
def test_bad_quantities(written: str, code: str, severity: Severity) -> None:
    doc = DOC.model_copy(
        update={"text": PO_TEXT.replace("Cabinet        1 ", f"Cabinet        {written} ")}
    )
    qty = ExtractedNumber(
        value=Decimal(written), confidence=0.9, evidence=ev(written, after="Large Cabinet", doc=doc)
    )
    order = with_line(1, quantity=qty, line_total=ExtractedNumber()).model_copy(
        update={"total_amount": ExtractedNumber()}
    )
    assessment = run(order, message=parsed(doc))

    finding = only(assessment, code)
    assert (finding.severity, finding.field) == (severity, "lines[1].quantity")
    assert written in finding.message


def test_missing_quantity_blocks() -> None:
    assessment = run(with_line(0, quantity=ExtractedNumber()))

    assert codes(assessment)["quantity_missing"] == {(Severity.BLOCK, "lines[0].quantity")}
    assert decide(assessment, ORDER_CLASS, THRESHOLDS).kind is DecisionKind.REVIEW


def test_absurd_quantity_warns() -> None:
    doc = DOC.model_copy(update={"text": PO_TEXT + "\nNote: quantity line 1 is 50000\n"})
    qty = ExtractedNumber(value=Decimal(50000), confidence=0.9, evidence=ev("50000", doc=doc))
    assessment = run(with_line(0, quantity=qty), message=parsed(doc))

    assert codes(assessment)["quantity_implausible"] == {(Severity.WARN, "lines[0].quantity")}


def test_price_far_from_list_price_warns_with_both_prices() -> None:
    doc = DOC.model_copy(update={"text": PO_TEXT.replace("450.00    900.00", "300.00    600.00")})
    line = with_line(
        0,
        unit_price=ExtractedNumber(
            value=Decimal("300.00"), confidence=0.9, evidence=ev("300.00", doc=doc)
        ),
        line_total=ExtractedNumber(
            value=Decimal("600.00"), confidence=0.9, evidence=ev("600.00", doc=doc)
        ),
    )
    assessment = run(
        line.model_copy(update={"total_amount": ExtractedNumber()}), message=parsed(doc)
    )

    finding = only(assessment, "price_deviation")
    assert (finding.severity, finding.field) == (Severity.WARN, "lines[0].unit_price")
    assert "300.00" in finding.message and "450.00" in finding.message


def test_price_within_the_allowed_deviation_is_fine() -> None:
    lenient = Thresholds(price_deviation_warn=Decimal("0.40"))
    doc = DOC.model_copy(update={"text": PO_TEXT.replace("450.00    900.00", "300.00    600.00")})
    line = with_line(
        0,
        unit_price=ExtractedNumber(
            value=Decimal("300.00"), confidence=0.9, evidence=ev("300.00", doc=doc)
        ),
        line_total=ExtractedNumber(
            value=Decimal("600.00"), confidence=0.9, evidence=ev("600.00", doc=doc)
        ),
    )
    assessment = run(
        line.model_copy(update={"total_amount": ExtractedNumber()}),
        message=parsed(doc),
        thresholds=lenient,
    )

    assert "price_deviation" not in codes(assessment)


def test_price_per_dozen_is_compared_with_the_dozen_price() -> None:
    doc = DOC.model_copy(
        update={
            "text": PO_TEXT.replace(
                "2     pcs    450.00    900.00", "2     dz     5400.00   10800.00"
            ).replace("1,220.00", "11,120.00")
        }
    )
    order = with_line(
        0,
        uom=ExtractedText(value="dz", confidence=0.9, evidence=ev("dz", doc=doc)),
        unit_price=ExtractedNumber(
            value=Decimal("5400.00"), confidence=0.9, evidence=ev("5400.00", doc=doc)
        ),
        line_total=ExtractedNumber(
            value=Decimal("10800.00"), confidence=0.9, evidence=ev("10800.00", doc=doc)
        ),
    ).model_copy(
        update={
            "total_amount": ExtractedNumber(
                value=Decimal("11120.00"), confidence=0.9, evidence=ev("11,120.00", doc=doc)
            )
        }
    )
    assessment = run(order, message=parsed(doc))

    assert assessment.findings == ()
    assert assessment.matched.lines[0].product is not None
    assert assessment.matched.lines[0].product.uom == "Dozens"


def test_unit_that_cannot_be_converted_warns() -> None:
    doc = DOC.model_copy(update={"text": PO_TEXT.replace("1     pcs", "1     box")})
    assessment = run(
        with_line(1, uom=ExtractedText(value="box", confidence=0.9, evidence=ev("box", doc=doc))),
        message=parsed(doc),
    )

    finding = only(assessment, "uom_unknown")
    assert (finding.severity, finding.field) == (Severity.WARN, "lines[1].uom")
    assert "box" in finding.message and "Units" in finding.message


def test_line_total_that_does_not_add_up_warns() -> None:
    doc = DOC.model_copy(
        update={"text": PO_TEXT.replace("900.00", "950.00").replace("1,220.00", "1,270.00")}
    )
    order = with_line(
        0,
        line_total=ExtractedNumber(
            value=Decimal("950.00"), confidence=0.9, evidence=ev("950.00", doc=doc)
        ),
    ).model_copy(
        update={
            "total_amount": ExtractedNumber(
                value=Decimal("1270.00"), confidence=0.9, evidence=ev("1,270.00", doc=doc)
            )
        }
    )
    assessment = run(order, message=parsed(doc))

    finding = only(assessment, "line_total_mismatch")
    assert finding.field == "lines[0].line_total"
    assert "950.00" in finding.message and "900.00" in finding.message
    assert "order_total_mismatch" not in codes(assessment)


def test_rounding_within_half_a_percent_is_accepted() -> None:
    doc = DOC.model_copy(
        update={"text": PO_TEXT.replace("900.00", "903.00").replace("1,220.00", "1,223.00")}
    )
    order = with_line(
        0,
        line_total=ExtractedNumber(
            value=Decimal("903.00"), confidence=0.9, evidence=ev("903.00", doc=doc)
        ),
    ).model_copy(
        update={
            "total_amount": ExtractedNumber(
                value=Decimal("1223.00"), confidence=0.9, evidence=ev("1,223.00", doc=doc)
            )
        }
    )

    assert run(order, message=parsed(doc)).findings == ()


def test_order_total_that_differs_from_the_lines_warns() -> None:
    doc = DOC.model_copy(update={"text": PO_TEXT.replace("1,220.00", "1,342.00")})
    total = ExtractedNumber(
        value=Decimal("1342.00"), confidence=0.9, evidence=ev("1,342.00", doc=doc)
    )
    assessment = run(ORDER.model_copy(update={"total_amount": total}), message=parsed(doc))

    finding = only(assessment, "order_total_mismatch")
    assert (finding.severity, finding.field) == (Severity.WARN, "total_amount")
    assert "1220.00" in finding.message and "1342.00" in finding.message
    assert "tax" in finding.message


def test_same_product_twice_is_info_and_still_drafted() -> None:
    doc = DOC.model_copy(
        update={
            "text": PO_TEXT.replace(
                "Total USD 1,220.00",
                "FURN_7800  Desk Combination     1     pcs    450.00    450.00\n\nTotal USD 1,670.00",
            )
        }
    )
    third = ExtractedLine(
        product_code=ExtractedText(
            value="FURN_7800", confidence=0.95, evidence=ev("FURN_7800", after="320.00", doc=doc)
        ),
        quantity=ExtractedNumber(
            value=Decimal(1),
            confidence=0.95,
            evidence=ev("1", after="Combination     1", doc=doc),
        ),
    )
    order = ORDER.model_copy(
        update={
            "lines": (*ORDER.lines, third),
            "total_amount": ExtractedNumber(
                value=Decimal("1670.00"), confidence=0.95, evidence=ev("1,670.00", doc=doc)
            ),
        }
    )
    assessment = run(order, message=parsed(doc))
    decision = decide(assessment, ORDER_CLASS, THRESHOLDS)

    assert codes(assessment) == {"duplicate_product": {(Severity.INFO, "lines[2]")}}
    assert decision.kind is DecisionKind.DRAFT
    assert any("line 1" in r for r in decision.reasons)


# --------------------------------------------------------------------------- confidence, decision


def test_each_warning_lowers_the_confidence() -> None:
    clean = run()
    one = run(ORDER.model_copy(update={"po_number": ExtractedText()}))
    two = run(
        ORDER.model_copy(update={"po_number": ExtractedText()}),
        classification=Classification(label="unsure", confidence=0.6),
    )

    assert len(one.findings) == 1 and len(two.findings) == 2

    assert 0 <= two.confidence < one.confidence < clean.confidence <= 1


def test_low_extraction_confidence_lowers_the_overall_confidence() -> None:
    shaky_lines = tuple(
        line.model_copy(update={"quantity": line.quantity.model_copy(update={"confidence": 0.65})})
        for line in ORDER.lines
    )
    assessment = run(ORDER.model_copy(update={"lines": shaky_lines}))

    assert assessment.findings == ()
    assert assessment.confidence < run().confidence


def test_confidence_below_the_draft_minimum_goes_to_review_even_without_findings() -> None:
    assessment = run()
    strict = Thresholds(draft_min_confidence=0.99)
    decision = decide(assessment, ORDER_CLASS, strict)

    assert assessment.findings == ()
    assert decision.kind is DecisionKind.REVIEW
    assert "below the 0.99" in decision.reasons[0]


def test_reasons_are_ordered_by_severity() -> None:
    unsure = Classification(label="unsure", confidence=0.5)
    assessment = run(
        with_line(0, quantity=ExtractedNumber()).model_copy(update={"po_number": ExtractedText()}),
        classification=unsure,
    )
    decision = decide(assessment, unsure, THRESHOLDS)
    by_message = {f.message: f.severity for f in assessment.findings}
    severities = [by_message[r] for r in decision.reasons if r in by_message]

    assert decision.kind is DecisionKind.REVIEW
    assert severities[0] is Severity.BLOCK
    assert severities == sorted(
        severities, key=[Severity.BLOCK, Severity.WARN, Severity.INFO].index
    )
    assert {"quantity_missing", "po_number_missing", "classification_unsure"} <= set(
        codes(assessment)
    )


# --------------------------------------------------------------------------- history statistics


def test_robust_outlier_needs_both_a_high_z_score_and_a_large_ratio() -> None:
    from intake.assess.history import robust_outlier

    past = [Decimal(q) for q in (20, 22, 18, 25, 20)]
    far = robust_outlier(Decimal(200), past, 3.5, Decimal(3))
    assert far is not None and far.median == 20 and far.ratio == 10
    assert far.z is not None and far.z > 3.5
    # 2.5x is a large z-score for so steady a customer, but not "far outside"
    assert robust_outlier(Decimal(50), past, 3.5, Decimal(3)) is None
    # a tenth of the usual is as suspicious as ten times it
    low = robust_outlier(Decimal(2), past, 3.5, Decimal(3))
    assert low is not None and low.ratio == Decimal("0.1")


def test_robust_outlier_when_every_earlier_quantity_is_the_same() -> None:
    from intake.assess.history import robust_outlier

    same = [Decimal(10)] * 4
    flagged = robust_outlier(Decimal(100), same, 3.5, Decimal(3))
    assert flagged is not None and flagged.z is None and flagged.mad == 0
    assert robust_outlier(Decimal(11), same, 3.5, Decimal(3)) is None
    assert robust_outlier(Decimal(100), [], 3.5, Decimal(3)) is None


# --------------------------------------------------------------------------- history sources


def test_odoo_orders_join_the_store_history_without_counting_intakes_own_twice() -> None:
    from intake.assess.history import merged_history
    from intake.models import QuotationDraft, QuotationLine
    from intake.odoo.history import HistoryLine, OrderHistory, ProductHistory
    from intake.store import PastQuotation

    def odoo_line(order_id: int, day: int, qty: str, origin: str | None = None) -> HistoryLine:
        return HistoryLine(
            order_id=order_id,
            order_name=f"S{order_id:05d}",
            order_date=date(2025, 1, day),
            state="sale",
            order_ref=f"PO-{order_id}",
            origin=origin,
            quantity=Decimal(qty),
            uom="Units",
            price_unit=Decimal("10"),
        )

    odoo = OrderHistory(
        partner_ids=(7,),
        products=(
            ProductHistory(
                partner_id=7,
                product_id=1,
                lines=(odoo_line(1, 1, "3"), odoo_line(2, 5, "4"), odoo_line(3, 9, "2", "K-3")),
            ),
            ProductHistory(partner_id=7, product_id=2, lines=(odoo_line(2, 5, "12"),)),
            ProductHistory(partner_id=8, product_id=1, lines=(odoo_line(4, 6, "99"),)),
        ),
    )
    mine = PastQuotation(
        message_id="m-1",
        draft=QuotationDraft(
            partner_id=7,
            partner_name="Customer",
            client_order_ref="PO-3",
            lines=(QuotationLine(product_id=1, name="P1", quantity=Decimal(2), uom="Units"),),
            idempotency_key="K-3",
        ),
        ship_to=None,
        created_at=datetime(2025, 1, 9, 12, tzinfo=UTC),
    )
    history = merged_history(7, [mine], odoo)

    assert history.consulted == ("intake", "Odoo")
    # Order 3 is intake's own quotation (its key is the Odoo order's origin): counted once.
    assert [o.source for o in history.orders] == [
        "message m-1",
        "Odoo order S00002",
        "Odoo order S00001",
    ]
    assert sorted(history.quantities(1, "Units")) == [2, 3, 4], "another customer's 99 is not here"
    assert history.orders_with(2) == 1
    assert history.with_po_number("po-1") is not None
    assert merged_history(7, [mine], None).consulted == ("intake",)
    # Reprocessing a message whose quotation an earlier run sent to Odoo: not its own duplicate.
    again = merged_history(7, [], odoo, own_key="K-3")
    assert "Odoo order S00003" not in [o.source for o in again.orders]
    assert "Odoo order S00003" in [o.source for o in merged_history(7, [], odoo).orders]
