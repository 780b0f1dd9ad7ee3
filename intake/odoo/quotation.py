"""Build the draft quotation for an assessed order — the payload intake sends to Odoo.

Pure: from the assessment to a QuotationDraft. Lines that matched no product become note lines
that carry the customer's original text, so nothing the customer asked for is silently dropped.
The idempotency key is derived from the message's content hash, so the same input always maps
to the same key and Odoo can be searched for it before anything is created.
"""

from __future__ import annotations

from decimal import Decimal

from intake.models import (
    Assessment,
    ExtractedLine,
    Message,
    ProductMatch,
    QuotationDraft,
    QuotationLine,
    Severity,
)


def idempotency_key(message: Message) -> str:
    """The key that identifies this message's quotation everywhere: ``intake-<hash prefix>``."""
    return f"intake-{message.content_hash[:32]}"


def _line_text(line: ExtractedLine) -> str:
    parts = [
        str(line.quantity.value) if line.quantity.value is not None else None,
        line.uom.value,
        line.product_code.value,
        line.description.value,
    ]
    text = " ".join(p for p in parts if p)
    if line.unit_price.value is not None:
        text += f" @ {line.unit_price.value}"
    return text or "(empty line)"


def _product_line(
    product: ProductMatch, name: str, quantity: Decimal | None, price: Decimal | None
) -> QuotationLine:
    """A quotation line for a matched product; a line ordered by packaging counts units.

    Odoo's sale lines hold the quantity in the product's unit and the packaging beside it, so
    "3 box of 12 at 90.00" becomes 36 units at 7.50 in 3 packagings.
    """
    size = product.packaging_qty
    if product.packaging_id is None or size is None or size <= 0:
        return QuotationLine(
            product_id=product.product_id,
            default_code=product.default_code,
            name=name,
            quantity=quantity,
            uom=product.uom,
            price_unit=price,
        )
    return QuotationLine(
        product_id=product.product_id,
        default_code=product.default_code,
        name=name,
        quantity=None if quantity is None else quantity * size,
        uom=product.uom,
        price_unit=None if price is None else (price / size).quantize(Decimal("0.0001")),
        packaging_id=product.packaging_id,
        packages=quantity,
    )


def build_quotation(message: Message, assessment: Assessment) -> QuotationDraft:
    """The draft sale.order for an assessed order; the customer must have been matched."""
    matched = assessment.matched
    if matched.customer is None:
        raise ValueError("a quotation needs a matched customer")
    order = matched.order
    lines: list[QuotationLine] = []
    for item in matched.lines:
        product = item.product
        if product is None:
            lines.append(
                QuotationLine(product_id=None, name=f"Unmatched line: {_line_text(item.line)}")
            )
            continue
        lines.append(
            _product_line(
                product,
                item.line.description.value or product.name,
                item.line.quantity.value,
                item.line.unit_price.value,
            )
        )
    findings = [f for f in assessment.findings if f.severity is not Severity.INFO]
    note_lines = [
        f"Created by intake from {message.source_ref}"
        + (f" (Message-ID {message.message_id})" if message.message_id else ""),
        f"Extractor: {order.extractor}; confidence {assessment.confidence:.2f}",
    ]
    note_lines += [f"{f.severity.value}: {f.message}" for f in findings]
    return QuotationDraft(
        partner_id=matched.customer.partner_id,
        partner_name=matched.customer.name,
        client_order_ref=order.po_number.value,
        commitment_date=order.requested_delivery_date.value,
        currency=order.currency.value,
        lines=tuple(lines),
        note="\n".join(note_lines),
        idempotency_key=idempotency_key(message),
    )
