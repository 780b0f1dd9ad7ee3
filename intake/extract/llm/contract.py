"""What the LLM is asked to return: pydantic models and the strict JSON Schema made from them.

The LLM-facing order is not :class:`intake.models.ExtractedOrder`. The model the LLM fills
holds, for every value, the value and the exact text of the document it was read from (the
*quote*); confidence and evidence (document, page, span) are never asked of the LLM, because
intake locates each quote in the document text itself (:mod:`intake.extract.llm.locate`).

The schema stays inside the strict subset every structured-output endpoint accepts: every
property is required, an optional value is a union with ``null``, every object forbids
additional properties, numbers are JSON numbers (never strings, so there is no "1.234,56"
ambiguity) and dates are ISO strings. The same schema is sent as OpenAI's strict
``json_schema``, as llama-cpp-python's ``json_object`` + ``schema``, or written into the prompt
for endpoints with plain JSON mode only; :func:`parse_reply` validates the reply in every case.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema

Number = Annotated[Decimal, WithJsonSchema({"type": "number"})]
"""A decimal the LLM writes as a JSON number; read back exactly (``parse_float=Decimal``)."""


class LlmModel(BaseModel):
    """Base of the LLM-facing models: unknown keys are errors, like the strict schema says."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class QuotedText(LlmModel):
    """A text value and the document text it was copied from."""

    value: str = Field(description="the value as the document states it")
    quote: str = Field(
        description="the exact characters of the document the value was read from (copy, do "
        "not rephrase)"
    )


class QuotedNumber(LlmModel):
    """A number and the document text it was read from."""

    value: Number = Field(
        description="the number as a JSON number with a dot as decimal point (1234.5)"
    )
    quote: str = Field(
        description="the exact characters of the document the number was read from, as "
        "printed (e.g. '1.234,50')"
    )


class QuotedDate(LlmModel):
    """A date and the document text it was read from."""

    value: date = Field(description="the date as YYYY-MM-DD")
    quote: str = Field(
        description="the exact characters of the document the date was read from, as printed "
        "(e.g. '03/04/2026')"
    )


Text = QuotedText | None
Amount = QuotedNumber | None
Day = QuotedDate | None


class LlmLine(LlmModel):
    """One order line as the customer wrote it; null for what the line does not state."""

    product_code: Text = Field(description="the item code or SKU only, as printed")
    description: Text = Field(description="the item description or name")
    quantity: Amount = Field(description="the ordered quantity")
    uom: Text = Field(description="the unit of measure as printed (EA, PCS, box, …)")
    unit_price: Amount = Field(description="the price per unit, if printed on the line")
    line_total: Amount = Field(description="the line amount, if printed on the line")


class LlmOrder(LlmModel):
    """A purchase order as the LLM reads it: each value with its quote, null when not stated."""

    customer_name: Text = Field(description="the ordering company (the buyer)")
    customer_email: Text = Field(
        description="the buyer's e-mail address as written in the document text"
    )
    customer_vat: Text = Field(description="the buyer's VAT or tax id")
    po_number: Text = Field(description="the buyer's purchase order number")
    order_date: Day = Field(description="the date of the order")
    requested_delivery_date: Day = Field(description="the requested delivery date")
    currency: Text = Field(
        description="ISO 4217 code (USD, EUR, …) of the prices, only if the document shows a "
        "currency code or symbol"
    )
    ship_to: Text = Field(description="the delivery address")
    total_amount: Amount = Field(description="the order total, if printed")
    lines: list[LlmLine] = Field(description="every ordered item, in document order")
    cannot_extract: str | None = Field(
        description="null normally; a short reason only if you cannot do the task at all"
    )


DocumentKind = Literal[
    "purchase_order",
    "invoice",
    "inquiry",
    "order_confirmation",
    "delivery_notice",
    "newsletter",
    "auto_reply",
    "other",
]


class LlmClassification(LlmModel):
    """The LLM's verdict on what a message is, with the text that shows it."""

    kind: DocumentKind = Field(
        description="purchase_order when the sender orders goods; otherwise what it is"
    )
    quote: str | None = Field(description="a short exact quote of the document that shows it")
    reason: str = Field(description="one sentence: why")


class Probe(LlmModel):
    """The smallest strict-schema request, used by ``intake doctor``."""

    answer: Literal["ok"]
    number: Number


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of ``model`` inside the strict structured-output subset.

    Pydantic's schema is post-processed: titles and defaults are dropped, every object gets
    ``additionalProperties: false`` and lists all its properties as required.
    """
    schema = model.model_json_schema()
    cleaned: dict[str, Any] = _strict(schema)
    return cleaned


def _strict(node: Any) -> Any:
    if isinstance(node, dict):
        out = {
            k: _strict(v)
            for k, v in node.items()
            if k not in ("title", "default") or isinstance(v, dict) and k == "title"
        }
        if out.get("type") == "object" and "properties" in out:
            out["additionalProperties"] = False
            out["required"] = list(out["properties"])
        return out
    if isinstance(node, list):
        return [_strict(v) for v in node]
    return node


_FENCE = re.compile(r"^\s*```(?:json)?\s*\n?(.*?)\n?```\s*$", re.DOTALL)


class ReplyError(Exception):
    """The reply is not valid against the contract; ``errors`` say what, one per line."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def parse_reply(content: str | None, model: type[LlmModel]) -> Any:
    """Parse and validate a reply: JSON (numbers read as exact decimals), then the model.

    Raises:
        ReplyError: with one readable line per problem, fit to be sent back in a re-ask.
    """
    if content is None or not content.strip():
        raise ReplyError(["the reply was empty; answer with one JSON object"])
    text = content.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ReplyError(
            [f"the reply is not valid JSON ({exc.msg} at character {exc.pos})"]
        ) from exc
    if not isinstance(data, dict):
        raise ReplyError(["the reply must be one JSON object"])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors()[:30]:
            where = ".".join(str(p) for p in err["loc"]) or "(top level)"
            errors.append(f"{where}: {err['msg']}")
        raise ReplyError(errors) from exc


def contract_errors(order: LlmOrder) -> list[str]:
    """Rules of the contract a schema cannot say: quotes not empty, ISO currency, lines.

    Returns:
        One line per problem (empty when the order keeps the contract).
    """
    errors: list[str] = []

    def quoted(path: str, field: QuotedText | QuotedNumber | QuotedDate | None) -> None:
        if field is not None and not field.quote.strip():
            errors.append(f"{path}: a value needs its quote (the exact text it was read from)")

    for name in HEADER_FIELDS:
        quoted(name, getattr(order, name))
    currency = order.currency.value if order.currency else None
    if currency is not None and not re.fullmatch(r"[A-Z]{3}", currency):
        errors.append(
            f"currency: '{currency}' is not an ISO 4217 code such as USD or EUR; use the "
            "code, or null when the document shows no currency"
        )
    for i, line in enumerate(order.lines):
        prefix = f"lines[{i}]"
        for name in LINE_FIELDS:
            quoted(f"{prefix}.{name}", getattr(line, name))
        if line.product_code is None and line.description is None:
            errors.append(f"{prefix}: a line needs a product_code or a description")
        if line.quantity is not None and line.quantity.value <= 0:
            errors.append(f"{prefix}.quantity: must be positive")
    return errors


HEADER_FIELDS = (
    "customer_name",
    "customer_email",
    "customer_vat",
    "po_number",
    "order_date",
    "requested_delivery_date",
    "currency",
    "ship_to",
    "total_amount",
)
LINE_FIELDS = ("product_code", "description", "quantity", "uom", "unit_price", "line_total")
