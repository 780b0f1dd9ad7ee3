"""The checks run on a matched order, each turning a doubt into a Finding a person can act on.

Every finding has a stable ``code`` (tests, the review queue and statistics key on it), a
severity (info is shown, warn sends the order to review, block stops any draft), a message that
names the value and says what to do, and the field path it concerns (``lines[0].quantity``,
zero-based; messages count lines from 1 as people do). See :mod:`intake.assess` for the list
of codes and :mod:`intake.assess.confidence` for how the findings lower the confidence.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from intake.assess.anomalies import check_anomalies
from intake.assess.confidence import overall_confidence
from intake.assess.grounding import check_grounding, show
from intake.assess.history import AssessContext
from intake.assess.injection import check_instructions
from intake.config import Thresholds
from intake.match.uom import UNITS, normalize_uom
from intake.models import (
    Assessment,
    Candidate,
    Classification,
    Extracted,
    ExtractedLine,
    Finding,
    MatchedLine,
    MatchedOrder,
    ParsedMessage,
    ProductMatch,
    Severity,
)

QUANTITY_IMPLAUSIBLE = Decimal(10000)
"""A quantity above this is more often a misread code or price than a real order."""

_SEVERITY_ORDER = {Severity.BLOCK: 0, Severity.WARN: 1, Severity.INFO: 2}


def assess(
    matched: MatchedOrder,
    parsed: ParsedMessage,
    classification: Classification,
    thresholds: Thresholds,
    context: AssessContext | None = None,
) -> Assessment:
    """Run every check on ``matched`` and compute the overall confidence.

    Args:
        matched: the order with its customer and products resolved.
        parsed: the parsed message the order was extracted from (evidence is checked in it).
        classification: whether the message is an order at all.
        thresholds: per-field minimum confidences, deviations and tolerances.
        context: the catalog and the customer's earlier orders; the checks that need them
            (sender, currency, lead time, ship-to, duplicate PO, history) are skipped without.

    Returns:
        The assessment; its findings are ordered block, warn, info, then by check.
    """
    findings: list[Finding] = []
    findings += _check_classification(classification)
    findings += _check_parse_problems(parsed)
    findings += check_instructions(parsed)
    findings += matched.order.notes
    grounding = check_grounding(matched.order, parsed)
    findings += grounding
    findings += _check_customer(matched, parsed, thresholds)
    findings += _check_header(matched, parsed)
    findings += _check_lines(matched, thresholds)
    findings += _check_totals(matched, thresholds)
    if classification.label != "not_order":
        findings += check_anomalies(matched, parsed, context or AssessContext(), thresholds)
    findings += _check_low_confidence(matched, thresholds, {f.field for f in grounding})
    findings.sort(key=lambda f: _SEVERITY_ORDER[f.severity])
    return Assessment(
        matched=matched,
        findings=tuple(findings),
        confidence=overall_confidence(matched, findings),
    )


# --------------------------------------------------------------------------- message level


def _check_classification(classification: Classification) -> list[Finding]:
    reasons = f": {'; '.join(classification.reasons)}" if classification.reasons else ""
    if classification.label == "not_order":
        kind = classification.kind
        kind = f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}" if kind else "something else"
        return [
            Finding(
                code="not_an_order",
                severity=Severity.BLOCK,
                message=f"The message looks like {kind}, not a purchase order "
                f"(confidence {classification.confidence:.2f}{reasons}); "
                "reject it, or process it by hand if it is an order.",
            )
        ]
    if classification.label == "unsure":
        return [
            Finding(
                code="classification_unsure",
                severity=Severity.WARN,
                message="It is not certain that the message is a purchase order "
                f"(confidence {classification.confidence:.2f}{reasons}); "
                "confirm that it is one before quoting.",
            )
        ]
    return []


def _check_parse_problems(parsed: ParsedMessage) -> list[Finding]:
    return [
        Finding(
            code="source_problem",
            severity=Severity.WARN,
            message=f"Part of the message could not be read"
            f"{f' ({p.origin.describe()})' if p.origin else ''}: {p.message}; "
            "check the original for order lines that may be missing.",
        )
        for p in parsed.problems
    ]


# --------------------------------------------------------------------------- customer, header


def _check_customer(
    matched: MatchedOrder, parsed: ParsedMessage, thresholds: Thresholds
) -> list[Finding]:
    customer = matched.customer
    if customer is None:
        order = matched.order
        clues = [
            f"{label} '{value}'"
            for label, value in (
                ("name", order.customer_name.value),
                ("email", order.customer_email.value),
                ("VAT", order.customer_vat.value),
                ("sender", parsed.message.sender),
            )
            if value
        ]
        known = f" ({', '.join(clues)})" if clues else ""
        return [
            Finding(
                code="customer_unknown",
                severity=Severity.BLOCK,
                message=f"The customer{known} matches no partner in Odoo; pick the customer, "
                "or create it in Odoo and process the message again.",
                field="customer_name",
            )
        ]
    if customer.score < thresholds.fields.customer:
        return [
            Finding(
                code="customer_uncertain",
                severity=Severity.WARN,
                message=f"The customer was matched to '{customer.name}' by {customer.method} "
                f"with score {customer.score:.2f}, below {thresholds.fields.customer:.2f}"
                f"{_alternatives(customer.alternatives)}; confirm the customer.",
                field="customer_name",
            )
        ]
    return []


def _check_header(matched: MatchedOrder, parsed: ParsedMessage) -> list[Finding]:
    order = matched.order
    findings: list[Finding] = []
    if not (order.po_number.value or "").strip():
        findings.append(
            Finding(
                code="po_number_missing",
                severity=Severity.WARN,
                message="The order has no PO number; ask the customer for it, or enter "
                "their reference on the quotation by hand.",
                field="po_number",
            )
        )
    delivery = order.requested_delivery_date.value
    if delivery is not None:
        order_date = order.order_date.value
        reference = order_date or parsed.message.received_at.date()
        what = "order date" if order_date else "date the message was received"
        if delivery < reference:
            findings.append(
                Finding(
                    code="delivery_date_past",
                    severity=Severity.WARN,
                    message=f"The requested delivery date {delivery.isoformat()} is before "
                    f"the {what} {reference.isoformat()}; confirm the date with the customer.",
                    field="requested_delivery_date",
                )
            )
    if not order.lines:
        findings.append(
            Finding(
                code="no_lines",
                severity=Severity.BLOCK,
                message="No order lines were found; enter the lines from the document by hand, "
                "or reject the message if it holds none.",
                field="lines",
            )
        )
    return findings


# --------------------------------------------------------------------------- lines


def _check_lines(matched: MatchedOrder, thresholds: Thresholds) -> list[Finding]:
    findings: list[Finding] = []
    seen: dict[int, int] = {}
    for i, ml in enumerate(matched.lines):
        findings += _check_product(i, ml, thresholds)
        findings += _check_quantity(i, ml)
        findings += _check_price(i, ml, thresholds)
        findings += _check_line_total(i, ml.line, thresholds)
        if ml.product is not None:
            first = seen.setdefault(ml.product.product_id, i)
            if first != i:
                findings.append(
                    Finding(
                        code="duplicate_product",
                        severity=Severity.INFO,
                        message=f"Line {i + 1} orders {_product(ml.product)} again (also "
                        f"line {first + 1}); check that it is not the same line twice.",
                        field=f"lines[{i}]",
                    )
                )
    return findings


def _check_product(i: int, ml: MatchedLine, thresholds: Thresholds) -> list[Finding]:
    n, line, product = i + 1, ml.line, ml.product
    if product is None:
        return [
            Finding(
                code="product_unmatched",
                severity=Severity.WARN,
                message=f"Line {n} ({_as_written(line)}) matches no product; it will be a "
                "note line on the quotation — pick the product in Odoo.",
                field=f"lines[{i}].product_code"
                if line.product_code.value
                else f"lines[{i}].description",
            )
        ]
    findings: list[Finding] = []
    if product.score < thresholds.fields.product:
        findings.append(
            Finding(
                code="product_uncertain",
                severity=Severity.WARN,
                message=f"Line {n} ({_as_written(line)}) was matched to {_product(product)} by "
                f"{product.method} with score {product.score:.2f}, below "
                f"{thresholds.fields.product:.2f}{_alternatives(product.alternatives)}; "
                "check the product.",
                field=f"lines[{i}].product_code"
                if line.product_code.value
                else f"lines[{i}].description",
            )
        )
    written = (line.uom.value or "").strip()
    if written and normalize_uom(written).casefold() != normalize_uom(product.uom).casefold():
        findings.append(
            Finding(
                code="uom_unknown",
                severity=Severity.WARN,
                message=f"Line {n} is ordered in '{written}', which cannot be converted to "
                f"{product.name}'s unit {product.uom}; the quantity is taken as "
                f"{product.uom} — check how many {product.uom} one {written} holds.",
                field=f"lines[{i}].uom",
            )
        )
    return findings


def _check_quantity(i: int, ml: MatchedLine) -> list[Finding]:
    n, quantity = i + 1, ml.line.quantity.value
    path = f"lines[{i}].quantity"
    if quantity is None:
        return [
            Finding(
                code="quantity_missing",
                severity=Severity.BLOCK,
                message=f"Line {n} ({_as_written(ml.line)}) has no quantity; enter the "
                "quantity ordered.",
                field=path,
            )
        ]
    if quantity <= 0:
        return [
            Finding(
                code="quantity_not_positive",
                severity=Severity.BLOCK,
                message=f"Line {n} quantity {quantity} is not a positive number; enter the "
                "quantity ordered.",
                field=path,
            )
        ]
    findings: list[Finding] = []
    product = ml.product
    if product is not None and product.uom == UNITS and quantity != quantity.to_integral_value():
        findings.append(
            Finding(
                code="quantity_fractional",
                severity=Severity.WARN,
                message=f"Line {n} quantity {quantity} is not a whole number, but "
                f"{product.name} is sold in {UNITS}; check the quantity.",
                field=path,
            )
        )
    if quantity > QUANTITY_IMPLAUSIBLE:
        findings.append(
            Finding(
                code="quantity_implausible",
                severity=Severity.WARN,
                message=f"Line {n} quantity {quantity} is unusually large (over "
                f"{QUANTITY_IMPLAUSIBLE}); check that it is not a code or a price read as "
                "a quantity.",
                field=path,
            )
        )
    return findings


def _check_price(i: int, ml: MatchedLine, thresholds: Thresholds) -> list[Finding]:
    price, product = ml.line.unit_price.value, ml.product
    if price is None or product is None or product.list_price <= 0:
        return []
    deviation = abs(price - product.list_price) / product.list_price
    if deviation <= thresholds.price_deviation_warn:
        return []
    direction = "below" if price < product.list_price else "above"
    return [
        Finding(
            code="price_deviation",
            severity=Severity.WARN,
            message=f"Line {i + 1} unit price {price} is {deviation:.0%} {direction} "
            f"{product.name}'s list price of {product.list_price} (per {product.uom}); check "
            "the price agreed with the customer.",
            field=f"lines[{i}].unit_price",
        )
    ]


def _check_line_total(i: int, line: ExtractedLine, thresholds: Thresholds) -> list[Finding]:
    quantity, price, total = line.quantity.value, line.unit_price.value, line.line_total.value
    if quantity is None or price is None or total is None:
        return []
    computed = quantity * price
    if _close(computed, total, thresholds):
        return []
    return [
        Finding(
            code="line_total_mismatch",
            severity=Severity.WARN,
            message=f"Line {i + 1}: {quantity} × {price} = {_amount(computed)}, but the line total "
            f"reads {total}; check the quantity and the prices.",
            field=f"lines[{i}].line_total",
        )
    ]


def _check_totals(matched: MatchedOrder, thresholds: Thresholds) -> list[Finding]:
    """The printed amounts must add up: lines to the subtotal, subtotal plus tax to the total.

    Without a printed subtotal the lines (plus the tax, when printed) are compared with the
    total directly. A line without any amount makes the sums uncheckable and skips them.
    """
    order = matched.order
    subtotal, tax, total = (
        order.subtotal.value,
        order.tax_amount.value,
        order.total_amount.value,
    )
    findings: list[Finding] = []
    lines_sum = _lines_sum(matched)
    if subtotal is not None:
        if lines_sum is not None and not _close(lines_sum, subtotal, thresholds):
            findings.append(
                Finding(
                    code="subtotal_mismatch",
                    severity=Severity.WARN,
                    message=f"The lines add up to {_amount(lines_sum)}, but the subtotal reads "
                    f"{subtotal}{_hint(subtotal, lines_sum)}; check for missing or misread "
                    "lines.",
                    field="subtotal",
                )
            )
        if total is not None:
            expected = subtotal + (tax or Decimal(0))
            if not _close(expected, total, thresholds):
                what = (
                    f"subtotal {subtotal} + tax {tax}"
                    if tax is not None
                    else f"subtotal {subtotal}"
                )
                findings.append(
                    Finding(
                        code="tax_total_mismatch",
                        severity=Severity.WARN,
                        message=f"The {what} = {_amount(expected)}, but the order total reads "
                        f"{total}; check the tax and the total (shipping or a discount may be "
                        "missing from the order).",
                        field="total_amount",
                    )
                )
        return findings
    if total is None or lines_sum is None:
        return findings
    expected = lines_sum + (tax or Decimal(0))
    if _close(expected, total, thresholds):
        return findings
    with_tax = f" plus tax {tax}" if tax is not None else ""
    findings.append(
        Finding(
            code="order_total_mismatch",
            severity=Severity.WARN,
            message=f"The lines{with_tax} add up to {_amount(expected)}, but the order total "
            f"reads {total}{_hint(total, expected)}; check for missing or misread lines.",
            field="total_amount",
        )
    )
    return findings


def _lines_sum(matched: MatchedOrder) -> Decimal | None:
    """The sum of the line amounts (quantity × price where no amount is printed), or None."""
    order = matched.order
    if not order.lines:
        return None
    amounts: list[Decimal] = []
    for line in order.lines:
        if line.line_total.value is not None:
            amounts.append(line.line_total.value)
        elif line.quantity.value is not None and line.unit_price.value is not None:
            amounts.append(line.quantity.value * line.unit_price.value)
        else:
            return None  # a line without any amount: the sum cannot be checked
    return sum(amounts, Decimal(0))


def _hint(printed: Decimal, computed: Decimal) -> str:
    return (
        " (the printed amount may include tax or shipping)"
        if printed > computed
        else " (a line may be counted twice or misread)"
    )


# --------------------------------------------------------------------------- confidence


def _check_low_confidence(
    matched: MatchedOrder, thresholds: Thresholds, already: set[str | None]
) -> list[Finding]:
    order, limits = matched.order, thresholds.fields
    checks: list[tuple[str, str, Extracted[Any], float]] = []
    # The name read from the document only decides the customer when the match rests on it;
    # a customer found by sender address or VAT is judged by its match score instead.
    if matched.customer is None or matched.customer.method.startswith("name"):
        checks.append(("customer_name", "Customer name", order.customer_name, limits.customer))
    checks += [
        ("po_number", "PO number", order.po_number, limits.po_number),
        (
            "requested_delivery_date",
            "Requested delivery date",
            order.requested_delivery_date,
            limits.delivery_date,
        ),
    ]
    for i, line in enumerate(order.lines):
        n = i + 1
        identifiers = [
            (f"lines[{i}].{name}", f"Line {n} {label}", value)
            for name, label, value in (
                ("product_code", "product code", line.product_code),
                ("description", "description", line.description),
            )
            if value.value is not None
        ]
        if identifiers:
            path, label, best = max(identifiers, key=lambda t: t[2].confidence)
            checks.append((path, label, best, limits.product))
        checks.append(
            (f"lines[{i}].quantity", f"Line {n} quantity", line.quantity, limits.quantity)
        )
        checks.append(
            (f"lines[{i}].unit_price", f"Line {n} unit price", line.unit_price, limits.unit_price)
        )
    return [
        Finding(
            code="low_confidence",
            severity=Severity.WARN,
            message=f"{label} '{show(extracted.value)}' was read with confidence "
            f"{extracted.confidence:.2f}, below {minimum:.2f}; check it against the document.",
            field=path,
        )
        for path, label, extracted, minimum in checks
        if extracted.value is not None and extracted.confidence < minimum and path not in already
    ]


# --------------------------------------------------------------------------- helpers


def _close(a: Decimal, b: Decimal, thresholds: Thresholds) -> bool:
    """Equal within the configured tolerance (rounding on the customer's side).

    ``thresholds.amount_tolerance`` absolute, or ``amount_relative_tolerance`` of the larger
    amount, whichever is more generous (0.01 and 0.5 % by default).
    """
    tolerance = max(
        thresholds.amount_tolerance,
        thresholds.amount_relative_tolerance * max(abs(a), abs(b)),
    )
    return abs(a - b) <= tolerance


def _amount(value: Decimal) -> Decimal:
    """An amount for a message: at most two decimals unless more are significant."""
    rounded = value.quantize(Decimal("0.01"))
    return rounded if rounded == value else value


def _as_written(line: ExtractedLine) -> str:
    parts = [v for v in (line.product_code.value, line.description.value) if v]
    return "'" + show(" ".join(parts)) + "'" if parts else "no code or description"


def _product(product: ProductMatch) -> str:
    code = f"[{product.default_code}] " if product.default_code else ""
    return f"{code}{product.name}"


def _alternatives(candidates: tuple[Candidate, ...]) -> str:
    if not candidates:
        return ""
    listed = ", ".join(f"{c.name} ({c.score:.2f})" for c in candidates)
    return f" (other candidates: {listed})"
