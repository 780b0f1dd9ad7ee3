"""Approved review corrections as labeled documents that ``intake eval`` can score.

Every order a person approves in the review UI is stored with the extraction as they corrected
it (``labeled_examples``). Written out as the original message plus an ``intake-label/1``
label beside it, those approvals become an evaluation set drawn from the distributor's own
mail: ``intake review export-labels DIR`` then ``intake eval DIR`` measures a prompt, model or
threshold change on exactly the orders people had to fix.

intake's order model holds a few label fields only as free text or not at all (the ship-to
address is one text, seller and bill-to are not extracted); those are written as
``unlabeled`` so they are left out of scoring rather than counted as misses.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from intake.catalog import Catalog
from intake.errors import InputError
from intake.eval.labels import LABEL_SUFFIX, load_label
from intake.models import ExtractedOrder, Message
from intake.store import LabeledExample, Store

UNLABELED = [
    "buyer.phone",
    "seller",
    "ship_to",
    "bill_to",
    "payment_terms",
    "incoterms",
    "lines[*].line_no",
    "lines[*].buyer_sku",
    "lines[*].requested_date",
]
"""Label paths intake's order model does not hold as the label format wants them."""

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class ExportReport:
    """What ``export_labels`` wrote: one (document, label) pair per approved order."""

    written: list[tuple[Path, Path]]
    skipped: list[str]


def export_labels(store: Store, folder: Path, catalog: Catalog | None = None) -> ExportReport:
    """Write every approved order's message and label into ``folder``; return what was written.

    Files are named after the message id, so running it again rewrites the same files (and
    adds newly approved ones) instead of duplicating them. Each label is read back with the
    evaluation's own loader before the export counts it, so a label ``intake eval`` would
    refuse is reported here, naming the message.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {folder}: {exc.strerror}; choose another folder") from exc
    written: list[tuple[Path, Path]] = []
    skipped: list[str] = []
    for example in store.labeled_examples():
        try:
            message = store.load_message(example.message_id)
        except KeyError:
            skipped.append(f"{example.message_id}: the message is no longer in the store")
            continue
        document = folder / _document_name(message)
        label_path = document.with_name(document.name + LABEL_SUFFIX)
        partner = (
            catalog.partner(example.partner_id)
            if catalog is not None and example.partner_id is not None
            else None
        )
        label = label_for(example, document.name, partner.name if partner else None)
        document.write_bytes(message.raw)
        label_path.write_text(json.dumps(label, indent=2, ensure_ascii=False) + "\n", "utf-8")
        load_label(label_path)  # raises, naming the file, if eval could not read it
        written.append((document, label_path))
    return ExportReport(written=written, skipped=skipped)


def label_for(example: LabeledExample, document: str, customer: str | None) -> dict[str, Any]:
    """The ``intake-label/1`` label of one approved order (see docs/labels.md)."""
    order = example.corrected
    label: dict[str, Any] = {
        "schema": "intake-label/1",
        "document": document,
        "document_type": "purchase_order",
        "classification": {"label": "order", "kind": None},
        "order": _order(order),
        "unlabeled": list(UNLABELED),
        "notes": f"approved in review by {example.actor} on {example.created_at:%Y-%m-%d}",
    }
    expected: dict[str, Any] = {"decision": "draft"}
    if customer:
        expected["customer_partner"] = customer
    label["expected"] = expected
    return label


def _order(order: ExtractedOrder) -> dict[str, Any]:
    return {
        "po_number": order.po_number.value,
        "order_date": _date(order.order_date.value),
        "requested_delivery_date": _date(order.requested_delivery_date.value),
        "currency": order.currency.value,
        "buyer": {
            "name": order.customer_name.value,
            "vat": order.customer_vat.value,
            "email": order.customer_email.value,
            "phone": None,
        },
        "seller": None,
        "ship_to": None,
        "bill_to": None,
        "payment_terms": None,
        "incoterms": None,
        "lines": [
            {
                "line_no": None,
                "sku": line.product_code.value,
                "buyer_sku": None,
                "description": line.description.value,
                "quantity": _number(line.quantity.value),
                "uom": line.uom.value,
                "unit_price": _number(line.unit_price.value),
                "amount": _number(line.line_total.value),
                "requested_date": None,
            }
            for line in order.lines
        ],
        "subtotal": _number(order.subtotal.value),
        "tax": _number(order.tax_amount.value),
        "total": _number(order.total_amount.value),
    }


def _document_name(message: Message) -> str:
    if message.kind == "email":
        return f"{message.id}.eml"
    original = _UNSAFE.sub("_", Path(message.filename or message.source_ref).name).strip("._")
    return f"{message.id}-{original or 'document'}"


def _date(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)
