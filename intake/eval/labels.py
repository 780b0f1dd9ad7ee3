"""The label format ``intake-label/1``: what a careful person reads in one document.

Labels are how intake's accuracy is measured: the evaluation (``intake eval``) compares what
the pipeline extracted with the label next to each document, ``<document>.label.json``. The
same format is used by the project's fixtures and by the third-party corpus in
``../shared/corpus`` (see ``docs/labels.md``), so one scorer serves both. The pydantic models
here are the format's definition; ``python -m intake.eval.label_schema`` writes its JSON
Schema to ``schemas/label.v1.schema.json`` and a test fails when the two drift apart.

``null`` means the document does not state the value; a value the document states but the
label does not give is named in ``unlabeled`` and is left out of scoring.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from intake.errors import InputError

LABEL_SCHEMA = "intake-label/1"
LABEL_SUFFIX = ".label.json"

DocumentType = Literal[
    "purchase_order", "sales_order", "invoice", "order_confirmation", "rfq", "not_order"
]

ORDER_TYPES: frozenset[str] = frozenset({"purchase_order", "sales_order", "order_confirmation"})
"""Document types intake should read as an order; every other type should not be drafted."""


class LabelError(InputError):
    """A label file is missing, unreadable or not in the label format (exit code 3)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LabelBuyer(_Strict):
    """The party placing the order (for an invoice: the invoiced customer)."""

    name: str | None
    vat: str | None
    email: str | None
    phone: str | None


class LabelSeller(_Strict):
    """The party receiving the order (for an invoice: its issuer)."""

    name: str | None
    vat: str | None


class LabelAddress(_Strict):
    """A postal address as printed; ``country`` is ISO 3166 alpha-2."""

    name: str | None
    street: str | None
    city: str | None
    postal_code: str | None
    country: str | None


class LabelLine(_Strict):
    """One order line in document order; ``sku``: the seller's code, ``buyer_sku``: the buyer's."""

    line_no: str | None
    sku: str | None
    buyer_sku: str | None
    description: str | None
    quantity: float | None
    uom: str | None
    unit_price: float | None
    amount: float | None
    requested_date: date | None


class LabelOrder(_Strict):
    """The order as the document states it; every key is present, ``null`` when not stated."""

    po_number: str | None
    order_date: date | None
    requested_delivery_date: date | None
    currency: str | None = Field(pattern=r"^[A-Z]{3}$")
    buyer: LabelBuyer | None
    seller: LabelSeller | None
    ship_to: LabelAddress | None
    bill_to: LabelAddress | None
    payment_terms: str | None
    incoterms: str | None
    lines: list[LabelLine]
    subtotal: float | None
    tax: float | None
    total: float | None


class LabelClassification(_Strict):
    """What the classifier should answer (fixtures only; the corpus derives it from the type)."""

    label: Literal["order", "not_order", "unsure"]
    kind: str | None = None


class LabelExpected(_Strict):
    """What the message is designed to end as in the pipeline (fixtures only)."""

    customer_partner: str | None = Field(
        default=None, description="name of the catalog company the order must be matched to"
    )
    decision: Literal["draft", "review", "reject"] | None = None


UNLABELED_PATH = re.compile(
    r"^(?P<field>[a-z_]+)(?:\[(?P<index>\*|\d+)\])?(?:\.(?P<sub>[a-z_]+))?$"
)
_SUBFIELDS: dict[str, frozenset[str]] = {
    "buyer": frozenset(LabelBuyer.model_fields),
    "seller": frozenset(LabelSeller.model_fields),
    "ship_to": frozenset(LabelAddress.model_fields),
    "bill_to": frozenset(LabelAddress.model_fields),
    "lines": frozenset(LabelLine.model_fields),
}


class Label(_Strict):
    """One label file: the document it describes, its type, the order and what is unlabeled."""

    schema_: Literal["intake-label/1"] = Field(alias="schema")
    document: str = Field(min_length=1, description="file name of the labeled document")
    document_type: DocumentType
    classification: LabelClassification | None = None
    order: LabelOrder | None
    expected: LabelExpected | None = None
    unlabeled: list[str] = Field(
        description="paths left out of scoring: 'ship_to', 'buyer.email', 'lines', "
        "'lines[*].sku', 'lines[1].unit_price'"
    )
    notes: str = ""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("unlabeled")
    @classmethod
    def _known_paths(cls, paths: list[str]) -> list[str]:
        for path in paths:
            m = UNLABELED_PATH.match(path)
            field = m.group("field") if m else None
            if m is None or field not in LabelOrder.model_fields:
                raise ValueError(f"unlabeled path {path!r} names no field of the order")
            if m.group("index") is not None and field != "lines":
                raise ValueError(f"unlabeled path {path!r}: only 'lines' takes an index")
            sub = m.group("sub")
            if sub is not None and sub not in _SUBFIELDS.get(field or "", frozenset()):
                raise ValueError(f"unlabeled path {path!r}: {field} has no field {sub!r}")
        return paths

    @property
    def expected_class(self) -> Literal["order", "not_order", "unsure"]:
        """Whether intake should read this document as an order."""
        if self.classification is not None:
            return self.classification.label
        return "order" if self.document_type in ORDER_TYPES else "not_order"

    def is_unlabeled(self, field: str, sub: str | None = None, index: int | None = None) -> bool:
        """True when ``field`` (``sub`` of it, on line ``index``) is left out of scoring.

        A whole field covers its parts (``buyer`` covers ``buyer.email``), and ``lines[*]``
        covers every line.
        """
        for path in self.unlabeled:
            m = UNLABELED_PATH.match(path)
            if m is None or m.group("field") != field:
                continue
            idx, psub = m.group("index"), m.group("sub")
            if idx is not None and (index is None or (idx != "*" and int(idx) != index)):
                continue  # a path about some lines does not cover the line set as a whole
            if psub is None or psub == sub:
                return True
        return False


def label_path_for(document: Path) -> Path:
    """Where the label of ``document`` lives: ``<document>.label.json`` beside it."""
    return document.with_name(document.name + LABEL_SUFFIX)


def load_label(path: Path) -> Label:
    """Read and validate one label file; errors name the file and what is wrong in it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise LabelError(f"label file {path} does not exist") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LabelError(f"label file {path} cannot be read as JSON: {exc}") from exc
    try:
        return Label.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
            for e in exc.errors()
        )
        raise LabelError(
            f"label file {path} is not in the {LABEL_SCHEMA} format ({problems}); "
            "see docs/labels.md"
        ) from exc


def find_labeled(root: Path) -> list[tuple[Path, Path]]:
    """Every (document, label) pair under ``root``, recursively, in path order.

    A document is any file with a sibling ``<file>.label.json``; ``root`` may also be one
    document or one label file. A label whose document is missing is an error, because a
    silently skipped label would make scores look better than they are.
    """
    if root.is_file():
        if root.name.endswith(LABEL_SUFFIX):
            label = root
            document = root.with_name(root.name[: -len(LABEL_SUFFIX)])
        else:
            document, label = root, label_path_for(root)
        pairs = [(document, label)]
    elif root.is_dir():
        pairs = [
            (p.with_name(p.name[: -len(LABEL_SUFFIX)]), p)
            for p in sorted(root.rglob("*" + LABEL_SUFFIX))
            if p.is_file()
        ]
    else:
        raise LabelError(f"{root} does not exist: give a folder of labeled documents")
    for document, label in pairs:
        if not label.is_file():
            raise LabelError(f"{document} has no label: write {label.name} beside it")
        if not document.is_file():
            raise LabelError(
                f"label {label} has no document beside it: restore {document.name} or "
                "remove the label"
            )
    return pairs
