"""The store side of the review UI: a person's approve, reject and reprocess, each one transaction.

Approving writes everything at once — the corrected order (as the newest extraction, match and
assessment), the draft quotation (kept, or pending for the Odoo outbox), the labeled example,
the learned mappings, the resolved review item, the message's new state and the audit event —
so a crash never leaves an order half-approved. Every action is an audit event naming the
person. Lives beside the Store because it writes the same rows under the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from intake.match.learned import mapping_key
from intake.models import (
    Assessment,
    Classification,
    ExtractedOrder,
    MessageState,
    QuotationDraft,
)
from intake.store import Store, utcnow
from intake.store.schema import (
    AssessmentRow,
    DecisionRow,
    DocumentRow,
    ExtractionRow,
    LabeledExampleRow,
    LearnedMappingRow,
    MatchRow,
    MessageRow,
    QuotationRow,
    ReviewItemRow,
)


class ReviewConflict(Exception):
    """The review item is not open any more (someone else resolved it, or it was reprocessed)."""


@dataclass(frozen=True)
class Mapping:
    """One thing a person taught: this customer's ``text`` means target ``target_id``."""

    kind: str
    partner_id: int
    text: str
    target_id: int
    target_name: str


@dataclass(frozen=True)
class Approval:
    """Everything an approval writes, built by intake/review/actions.py."""

    message_id: str
    actor: str
    classification: Classification
    original: ExtractedOrder
    corrected: ExtractedOrder
    assessment: Assessment
    draft: QuotationDraft
    target: str
    mappings: tuple[Mapping, ...] = ()
    changes: tuple[str, ...] = field(default=())


def _open_item(session: Session, message_id: str) -> ReviewItemRow:
    item = session.scalars(
        select(ReviewItemRow).where(ReviewItemRow.message_id == message_id).with_for_update()
    ).first()
    if item is None or item.status != "open":
        state = "missing" if item is None else item.status
        raise ReviewConflict(
            f"the review item of message {message_id} is {state}, not open: reload the queue"
        )
    return item


def approve(store: Store, approval: Approval) -> None:
    """Record an approved (and possibly corrected) order and its draft, in one transaction."""
    message_id, actor, now = approval.message_id, approval.actor, utcnow()
    with store.session() as session:
        item = _open_item(session, message_id)
        session.add(
            ExtractionRow(
                message_id=message_id,
                extractor=approval.corrected.extractor,
                classification=approval.classification.model_dump(mode="json"),
                data=approval.corrected.model_dump(mode="json"),
                created_at=now,
            )
        )
        session.add(
            MatchRow(
                message_id=message_id,
                data=approval.assessment.matched.model_dump(mode="json"),
                created_at=now,
            )
        )
        session.add(
            AssessmentRow(
                message_id=message_id,
                confidence=approval.assessment.confidence,
                data=approval.assessment.model_dump(mode="json"),
                created_at=now,
            )
        )
        status = "pending" if approval.target == "odoo" else "kept"
        quotation = session.scalars(
            select(QuotationRow).where(QuotationRow.message_id == message_id)
        ).first()
        if quotation is None:
            session.add(
                QuotationRow(
                    message_id=message_id,
                    idempotency_key=approval.draft.idempotency_key,
                    target=approval.target,
                    odoo_id=None,
                    data=approval.draft.model_dump(mode="json"),
                    created_at=now,
                    status=status,
                    attempts=0,
                )
            )
        else:  # the outbox gave up on it or Odoo had the PO already: send the corrected one
            quotation.data = approval.draft.model_dump(mode="json")
            quotation.target = approval.target
            quotation.status = status
            quotation.attempts = 0
            quotation.last_error = None
        sender = session.scalar(select(MessageRow.sender).where(MessageRow.id == message_id))
        session.add(
            LabeledExampleRow(
                message_id=message_id,
                sender=sender,
                partner_id=approval.assessment.matched.customer.partner_id
                if approval.assessment.matched.customer
                else None,
                original=approval.original.model_dump(mode="json"),
                corrected=approval.corrected.model_dump(mode="json"),
                actor=actor,
                created_at=now,
            )
        )
        for mapping in approval.mappings:
            key = mapping_key(mapping.kind, mapping.text)
            row = session.scalars(
                select(LearnedMappingRow).where(
                    LearnedMappingRow.kind == mapping.kind,
                    LearnedMappingRow.partner_id == mapping.partner_id,
                    LearnedMappingRow.key == key,
                )
            ).first()
            if row is None:
                row = LearnedMappingRow(kind=mapping.kind, partner_id=mapping.partner_id, key=key)
                session.add(row)
            row.target_id = mapping.target_id
            row.target_name = mapping.target_name
            row.text = mapping.text
            row.message_id = message_id
            row.actor = actor
            row.created_at = now
        item.status = "approved"
        item.resolved_at = now
        item.resolved_by = actor
        item.note = "; ".join(approval.changes) or None
        store._set_state(session, message_id, MessageState.DRAFTED, last_error=None)
        store._audit(
            session,
            "review_approved",
            message_id,
            {
                "target": approval.target,
                "changes": list(approval.changes),
                "learned": [
                    {"kind": m.kind, "text": m.text, "target": m.target_id}
                    for m in approval.mappings
                ],
            },
            actor=actor,
        )


def reject(store: Store, message_id: str, reason: str, actor: str) -> None:
    """Close the item as rejected with the person's reason; the message becomes ``rejected``."""
    with store.session() as session:
        item = _open_item(session, message_id)
        item.status = "rejected"
        item.resolved_at = utcnow()
        item.resolved_by = actor
        item.note = reason
        store._set_state(session, message_id, MessageState.REJECTED)
        store._audit(session, "review_rejected", message_id, {"reason": reason}, actor=actor)


def reopen_for_processing(store: Store, message_id: str, actor: str) -> None:
    """Put an open item's message back before extraction, so the pipeline runs it again.

    The stored documents are kept (parsing is not repeated); the decision and the review item
    go (the audit log keeps both), so the pipeline decides afresh with today's prompts and
    config. A draft already sent to Odoo is never touched: such an item cannot be reprocessed.
    """
    with store.session() as session:
        _open_item(session, message_id)
        sent = session.scalar(
            select(QuotationRow.status).where(
                QuotationRow.message_id == message_id,
                QuotationRow.status.in_(["created", "found"]),
            )
        )
        if sent is not None:
            raise ReviewConflict(
                f"message {message_id} already has a quotation in Odoo ({sent}): "
                "correct it there instead of reprocessing"
            )
        has_documents = session.scalar(
            select(DocumentRow.id).where(DocumentRow.message_id == message_id).limit(1)
        )
        session.execute(delete(ReviewItemRow).where(ReviewItemRow.message_id == message_id))
        session.execute(delete(DecisionRow).where(DecisionRow.message_id == message_id))
        session.execute(
            delete(QuotationRow).where(
                QuotationRow.message_id == message_id,
                QuotationRow.status.not_in(["created", "found"]),
            )
        )
        state = MessageState.PARSED if has_documents else MessageState.RECEIVED
        session.execute(
            update(MessageRow)
            .where(MessageRow.id == message_id)
            .values(attempts=0, finished_at=None, lease_owner=None, lease_until=None)
        )
        store._set_state(session, message_id, state, last_error=None)
        store._audit(session, "review_reprocess", message_id, {"from": state.value}, actor=actor)


@dataclass(frozen=True)
class ReviewStatus:
    """Where a message's review item stands, and who resolved it how."""

    status: str
    reasons: list[str]
    resolved_by: str | None
    resolved_at: datetime | None
    note: str | None


def review_note(store: Store, message_id: str) -> ReviewStatus | None:
    """The review item of a message, if it has one."""
    with store.session() as session:
        row = session.scalars(
            select(ReviewItemRow).where(ReviewItemRow.message_id == message_id)
        ).first()
        if row is None:
            return None
        return ReviewStatus(
            row.status, list(row.reasons), row.resolved_by, row.resolved_at, row.note
        )
