"""The decision for an assessed order: a draft quotation, a person's review, or rejection.

Kept apart from the checks so the policy — when a machine may act alone — reads in one place:

1. classified ``not_order`` with confidence ≥ ``reject_not_order_confidence`` → REJECT;
2. any block finding → REVIEW;
3. no warn finding and confidence ≥ ``draft_min_confidence`` → DRAFT;
4. otherwise → REVIEW.
"""

from __future__ import annotations

from intake.config import Thresholds
from intake.models import Assessment, Classification, Decision, DecisionKind, Severity

_SEVERITY_ORDER = {Severity.BLOCK: 0, Severity.WARN: 1, Severity.INFO: 2}


def decide(
    assessment: Assessment, classification: Classification, thresholds: Thresholds
) -> Decision:
    """Decide what happens to the order, with the reasons a person will read.

    Args:
        assessment: the findings and confidence from :func:`intake.assess.assess`.
        classification: whether the message is an order; a confident "no" rejects it.
        thresholds: the confidences needed to reject or to draft without review.

    Returns:
        The decision; its reasons are the findings' messages, most severe first, preceded
        by one sentence saying why this outcome was chosen.
    """
    findings = sorted(assessment.findings, key=lambda f: _SEVERITY_ORDER[f.severity])
    messages = [f.message for f in findings]
    confidence = assessment.confidence
    if (
        classification.label == "not_order"
        and classification.confidence >= thresholds.reject_not_order_confidence
    ):
        kind = f" ({classification.kind})" if classification.kind else ""
        head = (
            f"Rejected: the message is not a purchase order{kind}, with confidence "
            f"{classification.confidence:.2f} (at least "
            f"{thresholds.reject_not_order_confidence:.2f} rejects)."
        )
        reasons = [head, *classification.reasons, *messages]
        return Decision(kind=DecisionKind.REJECT, reasons=_unique(reasons), confidence=confidence)
    blocks = sum(1 for f in findings if f.severity is Severity.BLOCK)
    warns = sum(1 for f in findings if f.severity is Severity.WARN)
    if blocks:
        head = f"Needs review: {blocks} problem(s) prevent a draft."
        kind_ = DecisionKind.REVIEW
    elif warns:
        head = f"Needs review: {warns} point(s) need a person's check."
        kind_ = DecisionKind.REVIEW
    elif confidence < thresholds.draft_min_confidence:
        head = (
            f"Needs review: overall confidence {confidence:.2f} is below the "
            f"{thresholds.draft_min_confidence:.2f} needed for a draft without review."
        )
        kind_ = DecisionKind.REVIEW
    else:
        head = (
            f"Drafted: every check passed and overall confidence {confidence:.2f} is at least "
            f"{thresholds.draft_min_confidence:.2f}."
        )
        kind_ = DecisionKind.DRAFT
    return Decision(kind=kind_, reasons=_unique([head, *messages]), confidence=confidence)


def _unique(reasons: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(r for r in reasons if r))
