"""Tables of the store, as SQLAlchemy 2 declarative models.

The Alembic migrations in ``migrations/versions`` create exactly these tables; a test compares
the migrated database with this metadata so the two never drift. Stage outputs are kept as the
JSON of their pydantic models: the models are the contract, the tables only index them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of every intake table."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class MessageRow(Base):
    """One received message, its raw bytes and where it stands in the pipeline."""

    __tablename__ = "messages"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    source_ref: Mapped[str] = mapped_column(String(1000))
    kind: Mapped[str] = mapped_column(String(10))
    message_id: Mapped[str | None] = mapped_column(String(1000), index=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    sender: Mapped[str | None] = mapped_column(String(1000))
    subject: Mapped[str | None] = mapped_column(Text)
    filename: Mapped[str | None] = mapped_column(String(1000))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    problems: Mapped[list[Any]] = mapped_column(default=list)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    auth_results: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class DocumentRow(Base):
    """One document read from a message (body, attachment or file)."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("message_id", "document_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"), index=True)
    document_id: Mapped[str] = mapped_column(String(20))
    origin: Mapped[str] = mapped_column(String(1000))
    media_type: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column()


class ExtractionRow(Base):
    """The classification and extracted order of a message, with the extractor that made it."""

    __tablename__ = "extractions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"), index=True)
    extractor: Mapped[str] = mapped_column(String(200))
    classification: Mapped[dict[str, Any]] = mapped_column()
    data: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MatchRow(Base):
    """The order matched against the catalog (customer, products, alternatives)."""

    __tablename__ = "matches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AssessmentRow(Base):
    """Findings and confidence for a matched order."""

    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"), index=True)
    confidence: Mapped[float] = mapped_column(Float)
    data: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DecisionRow(Base):
    """The outcome for a message; one per message, so a decision is never made twice."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    confidence: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list[Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class QuotationRow(Base):
    """A draft quotation: kept here without Odoo, or the record of the one created in Odoo."""

    __tablename__ = "quotations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    target: Mapped[str] = mapped_column(String(20))
    odoo_id: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Outbox state for target="odoo" (migration 0003): kept, pending, created, found,
    # duplicate or failed; see intake/odoo/outbox.py.
    status: Mapped[str] = mapped_column(String(20), server_default="kept", index=True)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    odoo_name: Mapped[str | None] = mapped_column(String(100))
    findings: Mapped[list[Any] | None] = mapped_column(JSON)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ReviewItemRow(Base):
    """A message waiting for a person, with the reasons it could not go through alone."""

    __tablename__ = "review_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    reasons: Mapped[list[Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    # Migration 0005: why a person rejected it, or what they approved (see intake/review).
    note: Mapped[str | None] = mapped_column(Text)


class StageTimingRow(Base):
    """Wall time of one stage run for one message, kept for benchmarks and debugging."""

    __tablename__ = "stage_timings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"), index=True)
    stage: Mapped[str] = mapped_column(String(40))
    attempt: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SourcePollRow(Base):
    """When each source was last polled, and last polled successfully."""

    __tablename__ = "source_polls"

    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_poll_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)


class ImapFolderRow(Base):
    """Where intake stands in one IMAP folder: its UIDVALIDITY and the last UID fully handled.

    A UID is "handled" once its message is stored and marked in the mailbox. When the server
    reports another UIDVALIDITY, the folder is read again from the start and every message is
    recognised by Message-ID and content hash, so nothing is stored twice.
    """

    __tablename__ = "imap_folders"

    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    folder: Mapped[str] = mapped_column(String(1000), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditRow(Base):
    """Append-only log of who did what, when; database triggers refuse updates and deletes."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_message_id", "message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    message_id: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class LlmCallRow(Base):
    """One request to an LLM endpoint: rendered prompt, raw response, tokens, latency, cost."""

    __tablename__ = "llm_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    message_id: Mapped[str | None] = mapped_column(ForeignKey("messages.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(40))
    base_url: Mapped[str] = mapped_column(String(1000))
    model: Mapped[str] = mapped_column(String(200))
    response_format: Mapped[str] = mapped_column(String(40))
    prompt_versions: Mapped[dict[str, Any]] = mapped_column()
    request: Mapped[dict[str, Any]] = mapped_column()
    response: Mapped[str | None] = mapped_column(Text)
    status_code: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(Text)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    latency_seconds: Mapped[float] = mapped_column(Float)
    cost: Mapped[float | None] = mapped_column(Float)


class OdooCatalogRow(Base):
    """One cached Odoo record (partner, product, pricelist, unit, packaging) for matching.

    ``origin`` (``url|database``) keeps two Odoo databases apart; ``data`` is the catalog
    model's JSON, so the cache is read back without another round trip to Odoo.
    """

    __tablename__ = "odoo_catalog"

    origin: Mapped[str] = mapped_column(String(300), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    odoo_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    write_date: Mapped[str | None] = mapped_column(String(30))
    data: Mapped[dict[str, Any]] = mapped_column()


class OdooSyncRow(Base):
    """How far the catalog cache of one kind is synced: the newest write_date seen."""

    __tablename__ = "odoo_sync"

    origin: Mapped[str] = mapped_column(String(300), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    watermark: Mapped[str | None] = mapped_column(String(30))
    boundary_ids: Mapped[list[Any] | None] = mapped_column(JSON)
    synced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    count: Mapped[int] = mapped_column(Integer)


class LabeledExampleRow(Base):
    """An order as a person approved it in review: the label for evaluation and LLM hints.

    ``original`` is what intake extracted, ``corrected`` the ExtractedOrder the person
    approved (both as model JSON), so evaluation can score the extractor against people.
    """

    __tablename__ = "labeled_examples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"), index=True)
    sender: Mapped[str | None] = mapped_column(String(1000), index=True)
    partner_id: Mapped[int | None] = mapped_column(Integer, index=True)
    original: Mapped[dict[str, Any]] = mapped_column()
    corrected: Mapped[dict[str, Any]] = mapped_column()
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LearnedMappingRow(Base):
    """What a person taught intake: this customer's code means that product, and so on.

    ``kind`` is ``product_code`` (customer's product code → product id) or ``ship_to``
    (ship-to text → delivery partner id); ``key`` is the normalised customer text. The
    matcher consults these before its own rules (intake/match/learned.py).
    """

    __tablename__ = "learned_mappings"
    __table_args__ = (UniqueConstraint("kind", "partner_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    partner_id: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(500))
    target_id: Mapped[int] = mapped_column(Integer)
    target_name: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
