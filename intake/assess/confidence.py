"""The overall confidence of an order: one number in [0, 1] that ranks how far to trust it.

Formula::

    E = mean of the extraction terms that exist:
          customer   highest confidence of customer_name / customer_email / customer_vat
                     (1.0 when the customer was matched by the sender's address, which
                     does not depend on extraction)
          po_number  its confidence (left out when there is no PO number: that is a finding)
          lines      mean over lines of min(product, quantity), where product is the higher
                     confidence of product_code / description and a missing value counts 0
    M = sqrt(C × P)     C the customer match score (0 when unmatched),
                        P the mean product match score over lines (0 for an unmatched line)
    confidence = sqrt(E × M) × 0.85 ** (number of warn findings)
    if any block finding: confidence = min(confidence, 0.25)

Geometric means make one weak part pull the whole down (a perfect extraction of an unknown
customer is worth nothing), the warn penalty makes each doubt count, and the cap keeps a
blocked order from ranking above any draftable one. Info findings cost nothing.
"""

from __future__ import annotations

from math import sqrt

from intake.models import ExtractedLine, Finding, MatchedOrder, Severity

WARN_PENALTY = 0.85
BLOCKED_CAP = 0.25


def overall_confidence(matched: MatchedOrder, findings: list[Finding]) -> float:
    """Combine extraction confidences, match scores and findings as the module describes."""
    extraction = _extraction(matched)
    customer = matched.customer.score if matched.customer else 0.0
    products = [ml.product.score if ml.product else 0.0 for ml in matched.lines]
    product = sum(products) / len(products) if products else 0.0
    matching = sqrt(customer * product)
    confidence = sqrt(extraction * matching)
    warns = sum(1 for f in findings if f.severity is Severity.WARN)
    confidence *= WARN_PENALTY**warns
    if any(f.severity is Severity.BLOCK for f in findings):
        confidence = min(confidence, BLOCKED_CAP)
    return round(max(0.0, min(1.0, confidence)), 4)


def _extraction(matched: MatchedOrder) -> float:
    order = matched.order
    terms: list[float] = []
    customer_fields = (order.customer_name, order.customer_email, order.customer_vat)
    customer_terms = [f.confidence for f in customer_fields if f.value is not None]
    if matched.customer is not None and matched.customer.method == "sender_email":
        customer_terms.append(1.0)
    if customer_terms:
        terms.append(max(customer_terms))
    if order.po_number.value is not None:
        terms.append(order.po_number.confidence)
    if order.lines:
        terms.append(sum(_line_term(line) for line in order.lines) / len(order.lines))
    return sum(terms) / len(terms) if terms else 0.0


def _line_term(line: ExtractedLine) -> float:
    product = max(
        (f.confidence for f in (line.product_code, line.description) if f.value is not None),
        default=0.0,
    )
    quantity = line.quantity.confidence if line.quantity.value is not None else 0.0
    return min(product, quantity)
