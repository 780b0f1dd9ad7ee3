"""What the review buttons do: approve (with corrections), reject with a reason, reprocess.

Approve turns the person's form into a corrected order, builds the draft quotation with the
same code the pipeline uses (:func:`intake.odoo.quotation.build_quotation`), and records it
with the labeled example and the learned mappings in one transaction; with Odoo configured the
outbox then sends the draft. Reprocess runs the pipeline again from the stored documents, so a
changed prompt or threshold takes effect. Form errors name the field and what to enter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from intake.catalog import Catalog
from intake.match.learned import PRODUCT_CODE, SHIP_TO
from intake.models import (
    Assessment,
    ExtractedDate,
    ExtractedLine,
    ExtractedNumber,
    ExtractedText,
    MatchedLine,
    MatchedOrder,
    MessageState,
    PartnerMatch,
    ProductMatch,
)
from intake.odoo.quotation import build_quotation
from intake.pipeline import JobContext
from intake.store import review as records

MAX_TEXT = 2000


class FormError(ValueError):
    """A field of the review form holds something that cannot be used; the message says which."""


@dataclass(frozen=True)
class LineForm:
    """One line as the person left it in the form."""

    product_id: int | None
    quantity: Decimal | None
    uom: str
    unit_price: Decimal | None
    description: str
    removed: bool = False


@dataclass(frozen=True)
class CorrectionForm:
    """The order as the person left it in the form."""

    customer_id: int | None
    po_number: str
    order_date: dt.date | None
    requested_delivery_date: dt.date | None
    currency: str
    ship_to: str
    delivery_id: int | None
    lines: tuple[LineForm, ...]


def _text(form: Mapping[str, str], name: str) -> str:
    value = (form.get(name, "") or "").replace("\r\n", "\n")  # browsers send CRLF
    if len(value) > MAX_TEXT:
        raise FormError(f"{name} is longer than {MAX_TEXT} characters: shorten it")
    return value.strip()


def _int(form: Mapping[str, str], name: str, label: str) -> int | None:
    value = _text(form, name)
    if not value:
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise FormError(f"{label}: {value!r} is not an id; pick it from the list") from exc


def _decimal(form: Mapping[str, str], name: str, label: str) -> Decimal | None:
    value = _text(form, name).replace(",", "")
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise FormError(f"{label}: {value!r} is not a number; write it like 12 or 12.50") from exc
    if not number.is_finite():
        raise FormError(f"{label}: {value!r} is not a number; write it like 12 or 12.50")
    return number


def _date(form: Mapping[str, str], name: str, label: str) -> dt.date | None:
    value = _text(form, name)
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise FormError(f"{label}: {value!r} is not a date; write it as YYYY-MM-DD") from exc


def parse_correction(form: Mapping[str, str]) -> CorrectionForm:
    """Read the review form; raises FormError naming the first field that cannot be used."""
    count = _int(form, "line_count", "line count") or 0
    if count > 1000:
        raise FormError("line count is above 1000: reload the page")
    lines = []
    for i in range(count):
        label = f"line {i + 1}"
        lines.append(
            LineForm(
                product_id=_int(form, f"line-{i}-product_id", f"{label} product"),
                quantity=_decimal(form, f"line-{i}-quantity", f"{label} quantity"),
                uom=_text(form, f"line-{i}-uom"),
                unit_price=_decimal(form, f"line-{i}-unit_price", f"{label} unit price"),
                description=_text(form, f"line-{i}-description"),
                removed=bool(form.get(f"line-{i}-remove")),
            )
        )
    return CorrectionForm(
        customer_id=_int(form, "customer_id", "customer"),
        po_number=_text(form, "po_number"),
        order_date=_date(form, "order_date", "order date"),
        requested_delivery_date=_date(form, "requested_delivery_date", "requested delivery date"),
        currency=_text(form, "currency").upper(),
        ship_to=_text(form, "ship_to"),
        delivery_id=_int(form, "delivery_id", "delivery address"),
        lines=tuple(lines),
    )


def _same_text(field: ExtractedText, value: str) -> ExtractedText:
    if (field.value or "").strip() == value:
        return field
    return ExtractedText(value=value or None, confidence=1.0)


def _same_number(field: ExtractedNumber, value: Decimal | None) -> ExtractedNumber:
    if field.value == value:
        return field
    return ExtractedNumber(value=value, confidence=1.0)


def _same_date(field: ExtractedDate, value: dt.date | None) -> ExtractedDate:
    if field.value == value:
        return field
    return ExtractedDate(value=value, confidence=1.0)


def _changed(before: object, after: object) -> bool:
    return before is not after


def build_approval(
    ctx: JobContext, message_id: str, form: CorrectionForm, actor: str
) -> records.Approval:
    """The corrected order, its draft, labeled example and learned mappings, ready to store."""
    store, catalog = ctx.store, ctx.catalog
    message = store.load_message(message_id)
    extraction = store.load_extraction(message_id)
    matched = store.load_match(message_id)
    if extraction is None or matched is None:
        raise FormError(
            f"message {message_id} has no extracted order to approve (it stopped before "
            "extraction): reprocess it, or reject it"
        )
    classification, original = extraction
    if form.customer_id is None:
        raise FormError("customer: pick the customer this order is from")
    customer = catalog.partner(form.customer_id)
    if customer is None:
        raise FormError(f"customer: #{form.customer_id} is not in the catalog; pick from the list")
    company = catalog.commercial_partner(customer)
    changes: list[str] = []
    partner = matched.customer
    if partner is None or partner.partner_id != company.id:
        partner = PartnerMatch(partner_id=company.id, name=company.name, score=1.0, method="review")
        changes.append(f"customer → {company.name}")

    header: dict[str, ExtractedText | ExtractedDate] = {
        "po_number": _same_text(original.po_number, form.po_number),
        "order_date": _same_date(original.order_date, form.order_date),
        "requested_delivery_date": _same_date(
            original.requested_delivery_date, form.requested_delivery_date
        ),
        "currency": _same_text(original.currency, form.currency),
        "ship_to": _same_text(original.ship_to, form.ship_to),
    }
    for name, value in header.items():
        if _changed(getattr(original, name), value):
            changes.append(f"{name} → {value.value}")

    mappings: list[records.Mapping] = []
    lines: list[MatchedLine] = []
    for i, entry in enumerate(form.lines):
        before = matched.lines[i] if i < len(matched.lines) else None
        if entry.removed:
            if before is not None:
                changes.append(f"lines[{i}] removed")
            continue
        old_line = before.line if before is not None else ExtractedLine()
        if before is None and entry.product_id is None and not entry.description:
            continue  # the empty row for a new line, left empty
        line = old_line.model_copy(
            update={
                "quantity": _same_number(old_line.quantity, entry.quantity),
                "unit_price": _same_number(old_line.unit_price, entry.unit_price),
                "description": _same_text(old_line.description, entry.description),
            }
        )
        for name in ("quantity", "unit_price", "description"):
            if _changed(getattr(old_line, name), getattr(line, name)):
                changes.append(f"lines[{i}].{name} → {getattr(line, name).value}")
        if line.quantity.value is None or line.quantity.value <= 0:
            raise FormError(f"line {i + 1} quantity: enter how many the customer ordered")
        product = _product(catalog, entry, before.product if before else None, i)
        if product is not None and (
            before is None
            or before.product is None
            or (before.product.product_id != product.product_id)
        ):
            changes.append(f"lines[{i}].product → {product.name}")
            code = old_line.product_code.value
            if code and code.strip():
                mappings.append(
                    records.Mapping(
                        PRODUCT_CODE, company.id, code, product.product_id, product.name
                    )
                )
        elif (
            product is not None and before and before.product and product.uom != before.product.uom
        ):
            changes.append(f"lines[{i}].uom → {product.uom}")
        lines.append(MatchedLine(line=line, product=product))
    if not lines:
        raise FormError("the order has no lines left: add a line, or reject the order")

    if form.delivery_id is not None and form.ship_to:
        delivery = catalog.partner(form.delivery_id)
        if delivery is None or catalog.commercial_partner(delivery).id != company.id:
            raise FormError(
                f"delivery address: #{form.delivery_id} is not an address of {company.name}"
            )
        mappings.append(
            records.Mapping(SHIP_TO, company.id, form.ship_to, delivery.id, _address(delivery))
        )
        changes.append(f"ship-to → {_address(delivery)}")

    corrected = original.model_copy(
        update={
            **header,
            "lines": tuple(m.line for m in lines),
            "extractor": f"review ({actor})",
        }
    )
    corrected_match = MatchedOrder(order=corrected, customer=partner, lines=tuple(lines))
    assessment = Assessment(matched=corrected_match, findings=(), confidence=1.0)
    draft = build_quotation(message, assessment)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    note = "\n".join(
        [
            f"Created by intake from {message.source_ref}"
            + (f" (Message-ID {message.message_id})" if message.message_id else ""),
            f"Checked and approved in intake review by {actor} at {stamp}.",
            *(f"Corrected: {c}" for c in changes),
        ]
    )
    return records.Approval(
        message_id=message_id,
        actor=actor,
        classification=classification,
        original=original,
        corrected=corrected,
        assessment=assessment,
        draft=draft.model_copy(update={"note": note}),
        target="odoo" if ctx.odoo is not None else "store",
        mappings=tuple(mappings),
        changes=tuple(changes),
    )


def _product(
    catalog: Catalog, entry: LineForm, before: ProductMatch | None, index: int
) -> ProductMatch | None:
    if entry.product_id is None:
        return None
    uom = entry.uom or (before.uom if before else "")
    if before is not None and before.product_id == entry.product_id:
        return before if not uom or uom == before.uom else before.model_copy(update={"uom": uom})
    chosen = next((p for p in catalog.products if p.id == entry.product_id), None)
    if chosen is None or not (chosen.sale_ok and chosen.active):
        raise FormError(
            f"line {index + 1} product: #{entry.product_id} is not a product that can be sold; "
            "search the catalog and pick another"
        )
    return ProductMatch(
        product_id=chosen.id,
        default_code=chosen.default_code,
        name=chosen.name,
        uom=chosen.uom if not uom or (before is not None and uom == before.uom) else uom,
        list_price=chosen.list_price,
        score=1.0,
        method="review",
    )


def _address(partner: object) -> str:
    parts = [getattr(partner, k, None) for k in ("name", "street", "zip", "city")]
    return ", ".join(str(p) for p in parts if p)


def approve(ctx: JobContext, message_id: str, form: CorrectionForm, actor: str) -> None:
    """Store the approved order and its draft; with Odoo configured, send it now."""
    records.approve(ctx.store, build_approval(ctx, message_id, form, actor))
    if ctx.odoo is not None:
        from intake.worker import flush_outbox

        flush_outbox(ctx)


def reject(ctx: JobContext, message_id: str, reason: str, actor: str) -> None:
    """Close the item as rejected; the reason is required and kept."""
    reason = reason.strip()
    if not reason:
        raise FormError("reason: say why the order is rejected (the customer may ask)")
    if len(reason) > MAX_TEXT:
        raise FormError(f"reason is longer than {MAX_TEXT} characters: shorten it")
    records.reject(ctx.store, message_id, reason, actor)


def reprocess(ctx: JobContext, message_id: str, actor: str) -> MessageState:
    """Run extraction and everything after it again; returns the message's new state."""
    from intake.worker import process_pending

    records.reopen_for_processing(ctx.store, message_id, actor)
    done = process_pending(ctx, only=[message_id])
    return done[-1][1] if done else ctx.store.message_state(message_id)
