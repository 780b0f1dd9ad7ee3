"""The store: durable record of every message, every stage's output, decisions and the audit log.

It is what makes processing resumable and exactly-once. A message is stored (raw bytes
included) before anything else happens to it; each stage's output is committed with the new
state, so a crash resumes at the next stage; the final step (decision, draft or review item, and
the final state) is one transaction, so a message is never decided twice. Workers claim a
message with a lease; a lease held by a process that no longer exists on this host is taken
over at once, one held elsewhere when it expires.

SQLite is the default; PostgreSQL is used by URL. The schema is created and upgraded by the
Alembic migrations in ``migrations/`` whenever the store is opened.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, func, or_, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from intake.config import mask_url
from intake.errors import StoreError
from intake.ids import new_id
from intake.match.learned import LearnedMappings
from intake.models import (
    FINAL_STATES,
    Assessment,
    AuthenticationResults,
    Classification,
    Decision,
    ExtractedOrder,
    MatchedOrder,
    Message,
    MessageState,
    ParsedMessage,
    QuotationDraft,
)
from intake.store.schema import (
    AssessmentRow,
    AuditRow,
    DecisionRow,
    DocumentRow,
    ExtractionRow,
    ImapFolderRow,
    LabeledExampleRow,
    LearnedMappingRow,
    LlmCallRow,
    MatchRow,
    MessageRow,
    OdooCatalogRow,
    OdooSyncRow,
    QuotationRow,
    ReviewItemRow,
    SourcePollRow,
    StageTimingRow,
)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
LEASE_SECONDS = 300


def utcnow() -> datetime:
    """Current time, timezone-aware UTC (the only clock the store uses)."""
    return datetime.now(UTC)


def content_hash(raw: bytes) -> str:
    """The sha256 of a message's raw bytes: identical input, identical hash."""
    return hashlib.sha256(raw).hexdigest()


def worker_name() -> str:
    """This process as a lease owner: host and pid, so dead owners can be detected."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_is_dead(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass(frozen=True)
class AddResult:
    """What happened when a message was offered to the store."""

    message_id: str
    created: bool
    state: MessageState


@dataclass(frozen=True)
class StateCount:
    """How many messages are in one state, and when the oldest of them arrived."""

    state: MessageState
    count: int
    oldest_received_at: datetime | None


@dataclass(frozen=True)
class SourcePoll:
    """Last poll of one source."""

    source: str
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class ImapFolderState:
    """Where intake stands in one IMAP folder (see ImapFolderRow)."""

    uidvalidity: int
    last_uid: int


@dataclass(frozen=True)
class OutboxItem:
    """A quotation and where it stands on its way to Odoo."""

    id: int
    message_id: str
    idempotency_key: str
    target: str
    status: str
    attempts: int
    odoo_id: int | None
    odoo_name: str | None
    last_error: str | None
    findings: list[dict[str, Any]]
    draft: QuotationDraft


@dataclass(frozen=True)
class PastQuotation:
    """An earlier order of a customer: the quotation intake made (or a person approved)."""

    message_id: str
    draft: QuotationDraft
    ship_to: str | None
    created_at: datetime


@dataclass(frozen=True)
class ReviewItem:
    """A message waiting for a person."""

    id: int
    message_id: str
    status: str
    reasons: list[str]
    created_at: datetime
    sender: str | None
    subject: str | None
    source_ref: str


@dataclass(frozen=True)
class LlmCall:
    """One request to an LLM endpoint as the call log keeps it (``intake llm log``)."""

    at: datetime
    message_id: str | None
    purpose: str
    base_url: str
    model: str
    response_format: str
    prompt_versions: dict[str, str]
    request: dict[str, Any]
    response: str | None
    status_code: int | None
    outcome: str
    error: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_seconds: float
    cost: float | None
    id: int | None = None


@dataclass(frozen=True)
class MessageSummary:
    """A message's outcome as ``intake process`` and ``intake status`` show it."""

    id: str
    source_ref: str
    sender: str | None
    subject: str | None
    state: MessageState
    attempts: int
    customer: str | None
    po_number: str | None
    lines: int | None
    confidence: float | None
    decision: str | None
    reasons: list[str]
    last_error: str | None


@dataclass(frozen=True)
class LabeledExample:
    """An order as a person approved it: the corrected extraction of one stored message."""

    message_id: str
    partner_id: int | None
    corrected: ExtractedOrder
    actor: str
    created_at: datetime


class Store:
    """Access to the database; one per process, safe to use from one thread at a time."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.display_url = mask_url(url)
        self.engine = self._create_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    # ------------------------------------------------------------------ lifecycle

    def _create_engine(self, url: str) -> Engine:
        try:
            parsed = make_url(url)
        except Exception as exc:
            raise StoreError(f"store.url {mask_url(url)!r} is not a database URL: {exc}") from exc
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": 30})

            @event.listens_for(engine, "connect")
            def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=FULL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.close()

            return engine
        try:
            return create_engine(url, pool_pre_ping=True)
        except Exception as exc:
            raise StoreError(
                f"cannot use store.url {mask_url(url)}: {exc}; for PostgreSQL install "
                "the driver with pip install 'intake[postgres]'"
            ) from exc

    def migrate(self) -> None:
        """Create or upgrade the schema to the newest migration."""
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        try:
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except (OperationalError, SQLAlchemyError) as exc:
            cause = getattr(exc, "orig", None) or exc
            raise StoreError(
                f"cannot open or migrate the store at {self.display_url}: {cause}; "
                "check store.url in intake.toml (or INTAKE_STORE__URL) and that the database "
                "is reachable"
            ) from exc

    @classmethod
    def open(cls, url: str) -> Store:
        """Open the store at ``url`` and bring its schema up to date."""
        store = cls(url)
        store.migrate()
        return store

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    # ------------------------------------------------------------------ audit

    @staticmethod
    def _audit(
        session: Session,
        action: str,
        message_id: str | None,
        detail: dict[str, Any] | None = None,
        actor: str = "intake",
    ) -> None:
        session.add(
            AuditRow(
                at=utcnow(), actor=actor, action=action, message_id=message_id, detail=detail or {}
            )
        )

    def audit(
        self,
        action: str,
        message_id: str | None = None,
        detail: dict[str, Any] | None = None,
        actor: str = "intake",
    ) -> None:
        """Append one entry to the audit log."""
        with self.session() as session:
            self._audit(session, action, message_id, detail, actor)

    def audit_log(self, message_id: str | None = None) -> list[AuditRow]:
        """The audit log, oldest first, optionally for one message."""
        with self.session() as session:
            query = select(AuditRow).order_by(AuditRow.id)
            if message_id is not None:
                query = query.where(AuditRow.message_id == message_id)
            return list(session.scalars(query))

    # ------------------------------------------------------------------ messages

    def add_message(self, message: Message) -> AddResult:
        """Store a new message durably, or report the one already stored for the same input.

        The same input is the same content hash, or the same Message-ID from the same sender
        (a mail fetched twice with different transport headers).
        """
        with self.session() as session:
            existing = self._find_duplicate(session, message)
            if existing is not None:
                return AddResult(existing.id, False, MessageState(existing.state))
            now = utcnow()
            row = MessageRow(
                id=message.id,
                source=message.source,
                source_ref=message.source_ref,
                kind=message.kind,
                message_id=message.message_id,
                content_hash=message.content_hash,
                sender=message.sender,
                subject=message.subject,
                filename=message.filename,
                raw=message.raw,
                size=len(message.raw),
                state=MessageState.RECEIVED.value,
                attempts=0,
                problems=[],
                received_at=message.received_at,
                created_at=now,
                updated_at=now,
                auth_results=(
                    message.authentication.model_dump(mode="json")
                    if message.authentication is not None
                    else None
                ),
            )
            session.add(row)
            self._audit(
                session,
                "received",
                message.id,
                {"source": message.source, "ref": message.source_ref, "hash": message.content_hash},
            )
            try:
                session.flush()
            except IntegrityError:
                session.rollback()
                with self.session() as again:
                    existing = self._find_duplicate(again, message)
                    if existing is None:
                        raise
                    return AddResult(existing.id, False, MessageState(existing.state))
        return AddResult(message.id, True, MessageState.RECEIVED)

    @staticmethod
    def _find_duplicate(session: Session, message: Message) -> MessageRow | None:
        conditions = [MessageRow.content_hash == message.content_hash]
        if message.message_id:
            conditions.append(
                (MessageRow.message_id == message.message_id)
                & (MessageRow.sender == message.sender)
            )
        return session.scalars(select(MessageRow).where(or_(*conditions)).limit(1)).first()

    def load_message(self, message_id: str) -> Message:
        """The stored message as the pipeline's input model."""
        with self.session() as session:
            row = session.get(MessageRow, message_id)
            if row is None:
                raise KeyError(message_id)
            return _message_from_row(row)

    def message_state(self, message_id: str) -> MessageState:
        """Current state of one message."""
        with self.session() as session:
            row = session.get(MessageRow, message_id)
            if row is None:
                raise KeyError(message_id)
            return MessageState(row.state)

    def find_message(self, prefix: str) -> str | None:
        """Resolve a full id or a unique prefix of one to the message id."""
        with self.session() as session:
            ids = list(
                session.scalars(
                    select(MessageRow.id).where(MessageRow.id.like(prefix + "%")).limit(2)
                )
            )
        return ids[0] if len(ids) == 1 else None

    def claim_next(self, owner: str, only: Sequence[str] | None = None) -> str | None:
        """Lease the oldest unfinished message to ``owner``; None when nothing is waiting.

        A message whose lease has expired, or whose owner process on this host has died
        (killed mid-message), is claimed again and counts one more attempt.
        """
        now = utcnow()
        with self.session() as session:
            query = (
                select(MessageRow)
                .where(MessageRow.state.not_in([s.value for s in FINAL_STATES]))
                .order_by(MessageRow.received_at, MessageRow.id)
            )
            if only is not None:
                query = query.where(MessageRow.id.in_(list(only)))
            for row in session.scalars(query):
                lease_until = _aware(row.lease_until)
                if (
                    row.lease_owner
                    and row.lease_owner != owner
                    and lease_until is not None
                    and lease_until > now
                    and not _owner_is_dead(row.lease_owner)
                ):
                    continue
                same_owner = (
                    MessageRow.lease_owner.is_(None)
                    if row.lease_owner is None
                    else MessageRow.lease_owner == row.lease_owner
                )
                claimed = session.execute(
                    update(MessageRow)
                    .where(MessageRow.id == row.id, same_owner)
                    .values(
                        lease_owner=owner,
                        lease_until=now + timedelta(seconds=LEASE_SECONDS),
                        attempts=MessageRow.attempts + 1,
                        updated_at=now,
                    )
                )
                if claimed.rowcount == 1:  # type: ignore[attr-defined]
                    if row.lease_owner and row.lease_owner != owner:
                        self._audit(session, "lease_taken_over", row.id, {"from": row.lease_owner})
                    return row.id
        return None

    def release(self, message_id: str) -> None:
        """Give up the lease on a message without changing its state."""
        with self.session() as session:
            session.execute(
                update(MessageRow)
                .where(MessageRow.id == message_id)
                .values(lease_owner=None, lease_until=None)
            )

    def _set_state(
        self, session: Session, message_id: str, state: MessageState, **values: Any
    ) -> None:
        now = utcnow()
        extra: dict[str, Any] = {}
        if state in FINAL_STATES:
            extra = {"finished_at": now, "lease_owner": None, "lease_until": None}
        session.execute(
            update(MessageRow)
            .where(MessageRow.id == message_id)
            .values(state=state.value, updated_at=now, **extra, **values)
        )
        self._audit(session, state.value, message_id)

    # ------------------------------------------------------------------ stage outputs

    def record_timing(
        self, message_id: str, stage: str, attempt: int, seconds: float, outcome: str
    ) -> None:
        """Keep the wall time of one stage run."""
        with self.session() as session:
            session.add(
                StageTimingRow(
                    message_id=message_id,
                    stage=stage,
                    attempt=attempt,
                    seconds=seconds,
                    outcome=outcome,
                    at=utcnow(),
                )
            )

    def stage_timings(self, message_id: str) -> list[StageTimingRow]:
        """Every recorded stage run of a message, in order."""
        with self.session() as session:
            return list(
                session.scalars(
                    select(StageTimingRow)
                    .where(StageTimingRow.message_id == message_id)
                    .order_by(StageTimingRow.id)
                )
            )

    def attempts(self, message_id: str) -> int:
        """How many times processing of a message has been started."""
        with self.session() as session:
            row = session.get(MessageRow, message_id)
            return row.attempts if row else 0

    def save_parsed(self, parsed: ParsedMessage) -> None:
        """Keep the documents and problems of a parsed message; state becomes ``parsed``."""
        message_id = parsed.message.id
        with self.session() as session:
            session.query(DocumentRow).filter(DocumentRow.message_id == message_id).delete()
            for doc in parsed.documents:
                session.add(
                    DocumentRow(
                        message_id=message_id,
                        document_id=doc.id,
                        origin=doc.origin.describe(),
                        media_type=doc.media_type,
                        text=doc.text,
                        data=doc.model_dump(mode="json"),
                    )
                )
            self._set_state(
                session,
                message_id,
                MessageState.PARSED,
                problems=[p.model_dump(mode="json") for p in parsed.problems],
            )

    def load_parsed(self, message: Message) -> ParsedMessage:
        """Rebuild the parsed message from stored documents (for resuming)."""
        with self.session() as session:
            row = session.get(MessageRow, message.id)
            docs = session.scalars(
                select(DocumentRow)
                .where(DocumentRow.message_id == message.id)
                .order_by(DocumentRow.id)
            )
            return ParsedMessage.model_validate(
                {
                    "message": message,
                    "documents": [d.data for d in docs],
                    "problems": row.problems if row else [],
                }
            )

    def save_extraction(
        self, message_id: str, classification: Classification, order: ExtractedOrder
    ) -> None:
        """Keep the classification and extracted order; state becomes ``extracted``."""
        with self.session() as session:
            session.add(
                ExtractionRow(
                    message_id=message_id,
                    extractor=order.extractor,
                    classification=classification.model_dump(mode="json"),
                    data=order.model_dump(mode="json"),
                    created_at=utcnow(),
                )
            )
            self._set_state(session, message_id, MessageState.EXTRACTED)

    def load_extraction(self, message_id: str) -> tuple[Classification, ExtractedOrder] | None:
        """The newest classification and extracted order of a message, if any."""
        with self.session() as session:
            row = _newest(session, ExtractionRow, message_id)
            if row is None:
                return None
            return (
                Classification.model_validate(row.classification),
                ExtractedOrder.model_validate(row.data),
            )

    def save_match(self, message_id: str, matched: MatchedOrder) -> None:
        """Keep the matched order; state becomes ``matched``."""
        with self.session() as session:
            session.add(
                MatchRow(
                    message_id=message_id, data=matched.model_dump(mode="json"), created_at=utcnow()
                )
            )
            self._set_state(session, message_id, MessageState.MATCHED)

    def load_match(self, message_id: str) -> MatchedOrder | None:
        """The newest matched order of a message, if any."""
        with self.session() as session:
            row = _newest(session, MatchRow, message_id)
            return MatchedOrder.model_validate(row.data) if row else None

    def save_assessment(self, message_id: str, assessment: Assessment) -> None:
        """Keep findings and confidence; state becomes ``assessed``."""
        with self.session() as session:
            session.add(
                AssessmentRow(
                    message_id=message_id,
                    confidence=assessment.confidence,
                    data=assessment.model_dump(mode="json"),
                    created_at=utcnow(),
                )
            )
            self._set_state(session, message_id, MessageState.ASSESSED)

    def load_assessment(self, message_id: str) -> Assessment | None:
        """The newest assessment of a message, if any."""
        with self.session() as session:
            row = _newest(session, AssessmentRow, message_id)
            return Assessment.model_validate(row.data) if row else None

    def finish(
        self,
        message_id: str,
        decision: Decision,
        quotation: QuotationDraft | None = None,
        error: str | None = None,
        failed: bool = False,
        target: str = "store",
    ) -> MessageState:
        """Record the outcome of a message in one transaction: decision, draft or review item.

        Called once per message; if a decision already exists (a retry after a crash that
        happened after this commit), nothing is written twice and the stored state is returned.
        ``target`` "odoo" stores the draft as pending for the Odoo outbox.
        """
        with self.session() as session:
            row = session.get(MessageRow, message_id)
            if row is None:
                raise KeyError(message_id)
            if MessageState(row.state) in FINAL_STATES:
                return MessageState(row.state)
            now = utcnow()
            session.add(
                DecisionRow(
                    message_id=message_id,
                    kind=decision.kind.value,
                    confidence=decision.confidence,
                    reasons=list(decision.reasons),
                    created_at=now,
                )
            )
            if failed:
                state = MessageState.FAILED
            elif decision.kind.value == "draft" and quotation is not None:
                state = MessageState.DRAFTED
                session.add(
                    QuotationRow(
                        message_id=message_id,
                        idempotency_key=quotation.idempotency_key,
                        target=target,
                        odoo_id=None,
                        data=quotation.model_dump(mode="json"),
                        created_at=now,
                        # target="odoo": the outbox (intake/odoo/outbox.py) sends it later.
                        status="pending" if target == "odoo" else "kept",
                        attempts=0,
                    )
                )
            elif decision.kind.value == "reject":
                state = MessageState.REJECTED
            else:
                state = MessageState.IN_REVIEW
            if state in (MessageState.IN_REVIEW, MessageState.FAILED):
                session.add(
                    ReviewItemRow(
                        message_id=message_id,
                        status="open",
                        reasons=list(decision.reasons),
                        created_at=now,
                    )
                )
            self._set_state(session, message_id, state, last_error=error)
            self._audit(
                session,
                "decided",
                message_id,
                {"decision": decision.kind.value, "reasons": list(decision.reasons)},
            )
            return state

    # ------------------------------------------------------------------ queries

    def quotation(self, message_id: str) -> QuotationDraft | None:
        """The draft quotation made for a message, if any."""
        with self.session() as session:
            row = session.scalars(
                select(QuotationRow).where(QuotationRow.message_id == message_id)
            ).first()
            return QuotationDraft.model_validate(row.data) if row else None

    def past_quotations(
        self, partner_id: int, exclude_message_id: str | None = None, limit: int = 500
    ) -> list[PastQuotation]:
        """The customer's earlier quotations, newest first: the order history the checks use.

        Every quotation counts (kept in the store, sent to Odoo or waiting for it) except one
        Odoo refused as a duplicate PO. ``ship_to`` is the ship-to text of the order it was
        made from, read from the message's newest matched order.
        """
        with self.session() as session:
            query = (
                select(QuotationRow)
                .where(QuotationRow.data["partner_id"].as_integer() == partner_id)
                .where(QuotationRow.status != "duplicate")
                .order_by(QuotationRow.id.desc())
                .limit(limit)
            )
            if exclude_message_id is not None:
                query = query.where(QuotationRow.message_id != exclude_message_id)
            past: list[PastQuotation] = []
            for row in session.scalars(query):
                match = _newest(session, MatchRow, row.message_id)
                ship_to = None
                if match is not None:
                    value = (match.data.get("order") or {}).get("ship_to") or {}
                    ship_to = value.get("value") if isinstance(value, dict) else None
                past.append(
                    PastQuotation(
                        message_id=row.message_id,
                        draft=QuotationDraft.model_validate(row.data),
                        ship_to=ship_to if isinstance(ship_to, str) else None,
                        created_at=_aware(row.created_at) or row.created_at,
                    )
                )
            return past

    def count_quotations(self) -> int:
        """Number of draft quotations ever made."""
        with self.session() as session:
            return session.scalar(select(func.count()).select_from(QuotationRow)) or 0

    def state_counts(self) -> list[StateCount]:
        """Messages per state, with the oldest arrival in each."""
        with self.session() as session:
            rows = session.execute(
                select(MessageRow.state, func.count(), func.min(MessageRow.received_at)).group_by(
                    MessageRow.state
                )
            ).all()
        by_state = {r[0]: (r[1], _aware(r[2])) for r in rows}
        return [
            StateCount(s, by_state.get(s.value, (0, None))[0], by_state.get(s.value, (0, None))[1])
            for s in MessageState
        ]

    def oldest_waiting(self) -> MessageSummary | None:
        """The oldest message that is not finished or is waiting for review."""
        with self.session() as session:
            row = session.scalars(
                select(MessageRow)
                .where(
                    MessageRow.state.not_in(
                        [MessageState.DRAFTED.value, MessageState.REJECTED.value]
                    )
                )
                .order_by(MessageRow.received_at)
                .limit(1)
            ).first()
            return self._summary(session, row) if row else None

    def summaries(self, ids: Sequence[str] | None = None) -> list[MessageSummary]:
        """Outcome of messages (all, or the given ids in the given order)."""
        with self.session() as session:
            if ids is None:
                rows = list(session.scalars(select(MessageRow).order_by(MessageRow.received_at)))
            else:
                found = {
                    r.id: r
                    for r in session.scalars(select(MessageRow).where(MessageRow.id.in_(ids)))
                }
                rows = [found[i] for i in ids if i in found]
            return [self._summary(session, r) for r in rows]

    def summary(self, message_id: str) -> MessageSummary:
        """Outcome of one message."""
        with self.session() as session:
            row = session.get(MessageRow, message_id)
            if row is None:
                raise KeyError(message_id)
            return self._summary(session, row)

    @staticmethod
    def _summary(session: Session, row: MessageRow) -> MessageSummary:
        decision = session.scalars(
            select(DecisionRow).where(DecisionRow.message_id == row.id)
        ).first()
        assessment = _newest(session, AssessmentRow, row.id)
        extraction = _newest(session, ExtractionRow, row.id)
        customer = po_number = None
        lines = None
        confidence = decision.confidence if decision else None
        if assessment is not None:
            matched = assessment.data["matched"]
            customer = (matched.get("customer") or {}).get("name")
            confidence = assessment.confidence
        if extraction is not None:
            po_number = extraction.data["po_number"]["value"]
            lines = len(extraction.data["lines"])
            if customer is None:
                customer = extraction.data["customer_name"]["value"]
        return MessageSummary(
            id=row.id,
            source_ref=row.source_ref,
            sender=row.sender,
            subject=row.subject,
            state=MessageState(row.state),
            attempts=row.attempts,
            customer=customer,
            po_number=po_number,
            lines=lines,
            confidence=confidence,
            decision=decision.kind if decision else None,
            reasons=list(decision.reasons) if decision else [],
            last_error=row.last_error,
        )

    def review_items(self, status: str | None = "open") -> list[ReviewItem]:
        """Review items, oldest first."""
        with self.session() as session:
            query = (
                select(ReviewItemRow, MessageRow)
                .join(MessageRow, MessageRow.id == ReviewItemRow.message_id)
                .order_by(ReviewItemRow.created_at)
            )
            if status is not None:
                query = query.where(ReviewItemRow.status == status)
            return [
                ReviewItem(
                    id=item.id,
                    message_id=item.message_id,
                    status=item.status,
                    reasons=list(item.reasons),
                    created_at=_aware(item.created_at) or item.created_at,
                    sender=msg.sender,
                    subject=msg.subject,
                    source_ref=msg.source_ref,
                )
                for item, msg in session.execute(query).all()
            ]

    def review_item(self, item_id: int) -> ReviewItem | None:
        """One review item by id."""
        return next((i for i in self.review_items(status=None) if i.id == item_id), None)

    # ------------------------------------------------------------------ learned in review

    def learned_mappings(self) -> LearnedMappings:
        """Every mapping people taught in review, for the matcher (intake/match/learned.py)."""
        with self.session() as session:
            rows = session.execute(
                select(
                    LearnedMappingRow.kind,
                    LearnedMappingRow.partner_id,
                    LearnedMappingRow.key,
                    LearnedMappingRow.target_id,
                )
            ).all()
        return LearnedMappings({(r.kind, r.partner_id, r.key): r.target_id for r in rows})

    def labeled_examples(self) -> list[LabeledExample]:
        """Every order a person approved in review, oldest first, for ``review export-labels``."""
        with self.session() as session:
            rows = session.scalars(select(LabeledExampleRow).order_by(LabeledExampleRow.id))
            return [
                LabeledExample(
                    message_id=row.message_id,
                    partner_id=row.partner_id,
                    corrected=ExtractedOrder.model_validate(row.corrected),
                    actor=row.actor,
                    created_at=_aware(row.created_at) or row.created_at,
                )
                for row in rows
            ]

    def approved_examples(self, sender: str | None, limit: int = 3) -> list[tuple[str, str]]:
        """Orders people approved from this sender, newest first, as (document text, JSON).

        The shape the LLM extractor's ``examples`` takes; empty for an unknown sender.
        """
        if not sender:
            return []
        with self.session() as session:
            rows = list(
                session.scalars(
                    select(LabeledExampleRow)
                    .where(LabeledExampleRow.sender == sender)
                    .order_by(LabeledExampleRow.id.desc())
                    .limit(limit)
                )
            )
            examples = []
            for row in rows:
                texts = session.scalars(
                    select(DocumentRow.text)
                    .where(DocumentRow.message_id == row.message_id)
                    .order_by(DocumentRow.id)
                )
                examples.append(("\f".join(texts), json.dumps(row.corrected, sort_keys=True)))
            return examples

    # ------------------------------------------------------------------ sources

    def record_poll(self, source: str, ok: bool, error: str | None = None) -> None:
        """Remember that a source was polled, and whether it worked."""
        now = utcnow()
        with self.session() as session:
            row = session.get(SourcePollRow, source)
            if row is None:
                row = SourcePollRow(source=source)
                session.add(row)
            row.last_poll_at = now
            if ok:
                row.last_success_at = now
                row.last_error = None
            else:
                row.last_error = error

    def known_messages(
        self, keys: Sequence[tuple[str, str | None]]
    ) -> dict[tuple[str, str | None], AddResult]:
        """The stored messages among these (Message-ID, sender) pairs, in one query.

        Lets a mailbox recognise messages it has stored before from their headers alone, so a
        re-sync after a UIDVALIDITY change or a restart does not download them again.
        """
        wanted = set(keys)
        found: dict[tuple[str, str | None], AddResult] = {}
        if not wanted:
            return found
        with self.session() as session:
            rows = session.execute(
                select(MessageRow.id, MessageRow.state, MessageRow.message_id, MessageRow.sender)
                .where(MessageRow.message_id.in_(sorted({k[0] for k in wanted})))
                .order_by(MessageRow.created_at)
            ).all()
        for row in rows:
            key = (row.message_id, row.sender)
            if key in wanted and key not in found:
                found[key] = AddResult(row.id, False, MessageState(row.state))
        return found

    def imap_folder_state(self, source: str, folder: str) -> ImapFolderState | None:
        """The UIDVALIDITY and last handled UID of one IMAP folder, if it was read before."""
        with self.session() as session:
            row = session.get(ImapFolderRow, (source, folder))
            return ImapFolderState(row.uidvalidity, row.last_uid) if row else None

    def save_imap_folder_state(
        self, source: str, folder: str, uidvalidity: int, last_uid: int
    ) -> None:
        """Remember that every UID up to ``last_uid`` of the folder is stored and marked."""
        with self.session() as session:
            row = session.get(ImapFolderRow, (source, folder))
            if row is None:
                row = ImapFolderRow(source=source, folder=folder)
                session.add(row)
            row.uidvalidity = uidvalidity
            row.last_uid = last_uid
            row.updated_at = utcnow()

    def source_polls(self) -> list[SourcePoll]:
        """The last poll of every source ever polled."""
        with self.session() as session:
            return [
                SourcePoll(
                    r.source, _aware(r.last_poll_at), _aware(r.last_success_at), r.last_error
                )
                for r in session.scalars(select(SourcePollRow).order_by(SourcePollRow.source))
            ]

    # ------------------------------------------------------------------ LLM calls

    def log_llm_call(self, call: LlmCall) -> int:
        """Append one LLM request and its outcome to the call log; returns the row id."""
        with self.session() as session:
            row = LlmCallRow(
                at=call.at,
                message_id=call.message_id,
                purpose=call.purpose,
                base_url=call.base_url,
                model=call.model,
                response_format=call.response_format,
                prompt_versions=dict(call.prompt_versions),
                request=call.request,
                response=call.response,
                status_code=call.status_code,
                outcome=call.outcome,
                error=call.error,
                prompt_tokens=call.prompt_tokens,
                completion_tokens=call.completion_tokens,
                latency_seconds=call.latency_seconds,
                cost=call.cost,
            )
            session.add(row)
            session.flush()
            return row.id

    def llm_calls(self, message_id: str | None = None, limit: int | None = None) -> list[LlmCall]:
        """Logged LLM calls, newest first, optionally for one message."""
        with self.session() as session:
            query = select(LlmCallRow).order_by(LlmCallRow.id.desc())
            if message_id is not None:
                query = query.where(LlmCallRow.message_id == message_id)
            if limit is not None:
                query = query.limit(limit)
            return [_llm_call_from_row(r) for r in session.scalars(query)]

    def llm_response_format(self, base_url: str, model: str) -> str | None:
        """The response format the endpoint last accepted (HTTP 200), if any (remembered).

        An answer whose content did not hold (``invalid``, ``truncated``) still shows that the
        endpoint takes the format; only an HTTP error says it does not.
        """
        with self.session() as session:
            return session.scalars(
                select(LlmCallRow.response_format)
                .where(
                    LlmCallRow.base_url == base_url,
                    LlmCallRow.model == model,
                    LlmCallRow.status_code == 200,
                )
                .order_by(LlmCallRow.id.desc())
                .limit(1)
            ).first()

    # ------------------------------------------------------------------ odoo outbox

    def pending_quotations(self, limit: int = 100) -> list[OutboxItem]:
        """Quotations waiting to be sent to Odoo, oldest first (see intake/odoo/outbox.py)."""
        with self.session() as session:
            rows = session.scalars(
                select(QuotationRow)
                .where(QuotationRow.target == "odoo", QuotationRow.status == "pending")
                .order_by(QuotationRow.id)
                .limit(limit)
            )
            return [_outbox_item(r) for r in rows]

    def outbox_item(self, message_id: str) -> OutboxItem | None:
        """The quotation of a message with its Odoo outbox state, if it has one."""
        with self.session() as session:
            row = session.scalars(
                select(QuotationRow).where(QuotationRow.message_id == message_id)
            ).first()
            return _outbox_item(row) if row else None

    def quotation_sent(
        self,
        quotation_id: int,
        odoo_id: int,
        odoo_name: str,
        status: str,
        findings: list[dict[str, Any]],
    ) -> None:
        """Record that a quotation is in Odoo (``created`` now, or ``found`` from before)."""
        with self.session() as session:
            row = session.get(QuotationRow, quotation_id)
            if row is None:
                raise KeyError(quotation_id)
            row.odoo_id = odoo_id
            row.odoo_name = odoo_name
            row.status = status
            row.findings = findings
            row.last_error = None
            row.sent_at = utcnow()
            self._audit(
                session,
                f"odoo_{status}",
                row.message_id,
                {"odoo_id": odoo_id, "name": odoo_name, "key": row.idempotency_key},
            )

    def quotation_attempt_failed(self, quotation_id: int, error: str, give_up: bool) -> None:
        """Count a failed send; with ``give_up`` the quotation fails and goes to review."""
        with self.session() as session:
            row = session.get(QuotationRow, quotation_id)
            if row is None:
                raise KeyError(quotation_id)
            row.attempts = (row.attempts or 0) + 1
            row.last_error = error
            self._audit(
                session, "odoo_send_failed", row.message_id, {"error": error, "give_up": give_up}
            )
            if give_up:
                row.status = "failed"
                self._reopen_for_review(session, row.message_id, error)

    def quotation_duplicate(
        self, quotation_id: int, odoo_id: int, odoo_name: str, finding: dict[str, Any]
    ) -> None:
        """The customer's PO is already in Odoo: no second draft; a person looks instead."""
        with self.session() as session:
            row = session.get(QuotationRow, quotation_id)
            if row is None:
                raise KeyError(quotation_id)
            row.status = "duplicate"
            row.odoo_id = odoo_id
            row.odoo_name = odoo_name
            row.findings = [finding]
            row.sent_at = utcnow()
            self._audit(
                session, "odoo_duplicate", row.message_id, {"odoo_id": odoo_id, "name": odoo_name}
            )
            self._reopen_for_review(session, row.message_id, str(finding["message"]))

    def _reopen_for_review(self, session: Session, message_id: str, reason: str) -> None:
        """Send a drafted message to review after the fact (Odoo refused or had it already)."""
        item = session.scalars(
            select(ReviewItemRow).where(ReviewItemRow.message_id == message_id)
        ).first()
        if item is None:
            session.add(
                ReviewItemRow(
                    message_id=message_id, status="open", reasons=[reason], created_at=utcnow()
                )
            )
        self._set_state(session, message_id, MessageState.IN_REVIEW, last_error=reason)

    # ------------------------------------------------------------------ odoo catalog cache

    def catalog_sync_state(
        self, origin: str, kind: str
    ) -> tuple[str | None, list[int], int] | None:
        """The sync state of one kind of cached Odoo record.

        Returns the newest write_date synced, the ids written at that very second (already
        read, so the next refresh can skip them) and how many records are cached; None when
        the kind was never synced.
        """
        with self.session() as session:
            row = session.get(OdooSyncRow, (origin, kind))
            if row is None:
                return None
            return row.watermark, [int(i) for i in row.boundary_ids or []], row.count

    def catalog_apply(
        self,
        origin: str,
        kind: str,
        changed: Sequence[tuple[int, str | None, dict[str, Any]]],
        live_ids: set[int] | None,
        watermark: str | None,
        boundary_ids: Sequence[int] = (),
    ) -> int:
        """Upsert changed records, drop the ones Odoo no longer has, move the watermark.

        One transaction, so a sync that fails half-way leaves the previous cache intact.
        Returns the number of records cached afterwards.
        """
        with self.session() as session:
            ids = [c[0] for c in changed]
            for chunk in range(0, len(ids), 500):
                session.query(OdooCatalogRow).filter(
                    OdooCatalogRow.origin == origin,
                    OdooCatalogRow.kind == kind,
                    OdooCatalogRow.odoo_id.in_(ids[chunk : chunk + 500]),
                ).delete(synchronize_session=False)
            session.add_all(
                OdooCatalogRow(origin=origin, kind=kind, odoo_id=i, write_date=w, data=d)
                for i, w, d in changed
            )
            session.flush()
            if live_ids is not None:
                cached = set(
                    session.scalars(
                        select(OdooCatalogRow.odoo_id).where(
                            OdooCatalogRow.origin == origin, OdooCatalogRow.kind == kind
                        )
                    )
                )
                gone = sorted(cached - live_ids)
                for chunk in range(0, len(gone), 500):
                    session.query(OdooCatalogRow).filter(
                        OdooCatalogRow.origin == origin,
                        OdooCatalogRow.kind == kind,
                        OdooCatalogRow.odoo_id.in_(gone[chunk : chunk + 500]),
                    ).delete(synchronize_session=False)
            count = (
                session.scalar(
                    select(func.count())
                    .select_from(OdooCatalogRow)
                    .where(OdooCatalogRow.origin == origin, OdooCatalogRow.kind == kind)
                )
                or 0
            )
            state = session.get(OdooSyncRow, (origin, kind))
            if state is None:
                state = OdooSyncRow(origin=origin, kind=kind)
                session.add(state)
            state.watermark = watermark
            state.boundary_ids = sorted(boundary_ids)
            state.synced_at = utcnow()
            state.count = count
            return count

    def catalog_records(self, origin: str, kind: str) -> list[dict[str, Any]]:
        """Every cached record of one kind, by Odoo id."""
        with self.session() as session:
            return list(
                session.scalars(
                    select(OdooCatalogRow.data)
                    .where(OdooCatalogRow.origin == origin, OdooCatalogRow.kind == kind)
                    .order_by(OdooCatalogRow.odoo_id)
                )
            )


_StageRow = TypeVar("_StageRow", ExtractionRow, MatchRow, AssessmentRow)


def _newest(session: Session, row_type: type[_StageRow], message_id: str) -> _StageRow | None:
    """The newest stored output of one stage for one message (a retry may have added more)."""
    return session.scalars(
        select(row_type)
        .where(row_type.message_id == message_id)
        .order_by(row_type.id.desc())
        .limit(1)
    ).first()


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; they were stored as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _llm_call_from_row(row: LlmCallRow) -> LlmCall:
    return LlmCall(
        id=row.id,
        at=_aware(row.at) or row.at,
        message_id=row.message_id,
        purpose=row.purpose,
        base_url=row.base_url,
        model=row.model,
        response_format=row.response_format,
        prompt_versions=dict(row.prompt_versions),
        request=dict(row.request),
        response=row.response,
        status_code=row.status_code,
        outcome=row.outcome,
        error=row.error,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        latency_seconds=row.latency_seconds,
        cost=row.cost,
    )


def _outbox_item(row: QuotationRow) -> OutboxItem:
    return OutboxItem(
        id=row.id,
        message_id=row.message_id,
        idempotency_key=row.idempotency_key,
        target=row.target,
        status=row.status,
        attempts=row.attempts or 0,
        odoo_id=row.odoo_id,
        odoo_name=row.odoo_name,
        last_error=row.last_error,
        findings=list(row.findings or []),
        draft=QuotationDraft.model_validate(row.data),
    )


def _message_from_row(row: MessageRow) -> Message:
    return Message(
        id=row.id,
        source=row.source,
        source_ref=row.source_ref,
        kind=row.kind,
        message_id=row.message_id,
        content_hash=row.content_hash,
        sender=row.sender,
        subject=row.subject,
        filename=row.filename,
        received_at=_aware(row.received_at) or row.received_at,
        raw=row.raw,
        authentication=(
            AuthenticationResults.model_validate(row.auth_results) if row.auth_results else None
        ),
    )


__all__ = [
    "AddResult",
    "LlmCall",
    "MessageSummary",
    "ReviewItem",
    "Store",
    "content_hash",
    "new_id",
]
