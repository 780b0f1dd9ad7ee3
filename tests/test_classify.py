"""The classifier on real messages: the sample inbox, typical non-orders, and the corpus.

Messages are real RFC 5322 bytes read by the project's parser, so headers such as
``Auto-Submitted`` and ``List-Unsubscribe`` reach the classifier the way they do in production.
"""

from __future__ import annotations

import json
from email.message import EmailMessage
from typing import Any

import pytest

from intake.extract import classify
from intake.models import ParsedMessage
from tests.conftest import CORPUS, SAMPLE_INBOX
from tests.test_extract_offline import SAMPLES, corpus_doc, message_from, parse, sample


def mail(
    subject: str,
    body: str,
    *,
    sender: str = "Floyd Steward <floyd.steward34@example.com>",
    headers: dict[str, str] | None = None,
    html: bool = False,
) -> ParsedMessage:
    """Build a real e-mail and parse it as the pipeline would."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "YourCompany Orders <orders@yourcompany.example.com>"
    msg["Subject"] = subject
    msg["Date"] = "Wed, 19 Mar 2025 09:30:00 -0700"
    msg["Message-ID"] = f"<{abs(hash(subject + body))}@example.com>"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body, subtype="html" if html else "plain")
    return parse(message_from(msg.as_bytes(), "test.eml"))


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_inbox_classification_matches_label(name: str) -> None:
    label: dict[str, Any] = json.loads(
        (SAMPLE_INBOX / f"{name}.label.json").read_text(encoding="utf-8")
    )
    result = classify(sample(name))
    assert result.label == label["classification"]["label"], result.reasons
    assert result.kind == label["classification"]["kind"]
    assert result.confidence >= 0.9
    assert result.reasons and all(isinstance(r, str) and r for r in result.reasons)


def test_out_of_office_header_wins_over_quoted_order_words() -> None:
    result = classify(sample("05-lumber-inc-out-of-office.eml"))
    assert result.label == "not_order"
    assert result.kind == "auto_reply"
    assert any("Auto-Submitted" in r for r in result.reasons)


def test_out_of_office_without_headers_is_read_from_the_text() -> None:
    result = classify(
        mail(
            "Re: your quotation S00031",
            "Hello,\n\nI am currently out of the office with limited access to email and "
            "will be back on Monday, March 24.\nFor urgent matters please call our office.\n\n"
            "Floyd Steward\n",
        )
    )
    assert result.label == "not_order"
    assert result.kind == "auto_reply"


def test_erp_generated_order_is_not_an_auto_reply() -> None:
    result = classify(
        mail(
            "Purchase Order 4500012399",
            "Purchase Order No.: 4500012399\nOrder date: 2025-03-19\n\n"
            "Item code   Description           Qty   Unit price   Amount\n"
            "FURN_7777   Office Chair           12        70.00   840.00\n\n"
            "Total USD 840.00\n",
            headers={"Auto-Submitted": "auto-generated"},
        )
    )
    assert result.label == "order"
    assert any("PO number" in r for r in result.reasons)


def test_invoice_email_is_not_an_order() -> None:
    result = classify(
        mail(
            "Invoice INV/2025/00042 from Lumber Inc",
            "Dear customer,\n\nplease find our invoice INV/2025/00042 for the March delivery.\n"
            "Amount due: $1,250.00\nDue date: April 18, 2025\n\nKind regards,\nLumber Inc\n",
            sender="Lumber Inc <lumber-inv92@example.com>",
        )
    )
    assert result.label == "not_order"
    assert result.kind == "invoice"


def test_newsletter_is_not_an_order() -> None:
    result = classify(
        mail(
            "Spring collection: 20% off office chairs",
            "<html><body><h1>Spring collection</h1><p>Order now and save 20% on all chairs."
            "</p><p><a href='https://example.com/u'>Unsubscribe</a> | "
            "View this email in your browser</p></body></html>",
            sender="Wood Corner News <news@wood-corner.example.com>",
            headers={"List-Unsubscribe": "<https://example.com/u>", "Precedence": "bulk"},
            html=True,
        )
    )
    assert result.label == "not_order"
    assert result.kind == "newsletter"


def test_request_for_quotation_is_an_inquiry() -> None:
    result = classify(
        mail(
            "Request for quotation - conference room",
            "Hi,\n\ncould you please send us a quotation for 1 Large Meeting Table and 12 "
            "Conference Chairs? What is the lead time?\n\nThanks,\nFloyd\n",
        )
    )
    assert result.label == "not_order"
    assert result.kind == "inquiry"


def test_shipping_notice_is_not_an_order() -> None:
    result = classify(
        mail(
            "Your shipment has been dispatched",
            "Hello,\n\nyour goods have been shipped today. Tracking number: 1Z999AA10123456784\n"
            "Expected delivery in 2 days.\n",
            sender="Carrier Notifications <noreply@carrier.example.com>",
        )
    )
    assert result.label == "not_order"
    assert result.kind == "delivery_notice"


def test_bounce_of_our_own_mail_is_not_an_order() -> None:
    result = classify(
        mail(
            "Undeliverable: Purchase Order PO-DA-20417",
            "Delivery has failed to these recipients or groups:\n"
            "purchasing@deco-addict.example.com\n",
            sender="Mail Delivery System <mailer-daemon@example.com>",
        )
    )
    assert result.label == "not_order"
    assert result.kind == "bounce"


def test_vague_message_is_unsure() -> None:
    result = classify(
        mail("Next month", "Hi Marc,\n\ncan we talk tomorrow about next month?\n\nFloyd\n")
    )
    assert result.label == "unsure"
    assert result.reasons


def test_message_without_text_is_unsure() -> None:
    parsed = mail("PO 7788", "x")
    empty = parsed.model_copy(update={"documents": ()})
    result = classify(empty)
    assert result.label == "unsure"
    assert "no readable text" in result.reasons[0]


# --------------------------------------------------------------------------- corpus


@pytest.mark.parametrize(
    "relative",
    [
        "ShubhamKumarGautam98__po-extractor-revised/backend-python/tests/fixtures/"
        "brightkids_2450187.pdf",
        "VihaanMa11__DMart_po_extractor/sample data/PO.1.pdf",
        "abdurrahmanrussel__purchase-order-extractor/input_pdf_folder/PO100563L (1).pdf",
        "abdurrahmanrussel__PO_extractor_Lingbo_group/input_pdfs/New folder/"
        "PO_LINGBO_GROUP_INC_515065.pdf",
        "jehanxaibahmed__llm-order-extractor/samples/emails/04_relative_date.eml",
    ],
)
def test_corpus_purchase_orders_are_orders(relative: str) -> None:
    assert classify(corpus_doc(relative)).label == "order"


@pytest.mark.parametrize(
    "relative",
    [
        "invoice-x__invoice2data/tests/compare/AmazonWebServices.pdf",
        "invoice-x__invoice2data/tests/compare/AzureInterior.pdf",
        "invoice-x__invoice2data/tests/compare/FlipkartInvoice.pdf",
        "invoice-x__invoice2data/tests/compare/SammyMaystoneLinesTest.pdf",
        "invoice-x__invoice2data/tests/compare/coolblue1.pdf",
        "invoice-x__invoice2data/tests/compare/free_fiber.pdf",
    ],
)
def test_corpus_invoices_are_never_orders(relative: str) -> None:
    result = classify(corpus_doc(relative))
    assert result.label != "order", result.reasons


def test_corpus_invoice_with_clear_heading_is_rejected_as_invoice() -> None:
    result = classify(corpus_doc("invoice-x__invoice2data/tests/compare/AmazonWebServices.pdf"))
    assert (result.label, result.kind) == ("not_order", "invoice")


def test_corpus_is_present_or_skipped() -> None:
    if not CORPUS.exists():
        pytest.skip("the shared corpus is not mounted at ../shared/corpus")
    assert any(CORPUS.rglob("*.label.json"))
