"""Typed hand-offs between the pipeline stages.

Each stage of intake is a function from one of these models to the next, so the flow of one
message can be read from the signatures alone and every intermediate result can be stored,
shown in review and compared in tests. Models are immutable (``frozen``): a stage that wants to
change something builds a new value, which keeps the stored history honest.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1"
"""Version of the ExtractedOrder JSON Schema; bump it when the extracted shape changes."""


class Frozen(BaseModel):
    """Base for all hand-off models: immutable and strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- message


class MessageState(StrEnum):
    """Where a message stands; the store records it after every stage so work can resume."""

    RECEIVED = "received"
    PARSED = "parsed"
    EXTRACTED = "extracted"
    MATCHED = "matched"
    ASSESSED = "assessed"
    DRAFTED = "drafted"
    IN_REVIEW = "in_review"
    REJECTED = "rejected"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        """True once nothing more happens to the message without a person acting."""
        return self in FINAL_STATES


FINAL_STATES = frozenset(
    {MessageState.DRAFTED, MessageState.IN_REVIEW, MessageState.REJECTED, MessageState.FAILED}
)


class AuthenticationResults(Frozen):
    """SPF, DKIM and DMARC verdicts the receiving mail server recorded (RFC 8601).

    Read from the topmost ``Authentication-Results`` header, or from the one written by a
    server listed in the mailbox's ``trusted_authserv_ids``; headers further down can be forged
    by the sender, so they are never used. Kept on the message so that assessment can raise a
    DMARC failure as a finding.
    """

    authserv_id: str = Field(
        description="the server that wrote the header, e.g. mx.google.com ('' when it is left out)"
    )
    trusted: bool = Field(description="authserv_id is one configured in trusted_authserv_ids")
    spf: str | None = Field(default=None, description="pass, fail, softfail, neutral, none, …")
    dkim: str | None = Field(default=None, description="pass when any signature passed")
    dmarc: str | None = None
    header: str = Field(description="the header as received, for people")


class Message(Frozen):
    """One item as it came from a source: an email, or a file dropped into a folder.

    The raw bytes are kept so the message can be re-processed and attached to the quotation.
    ``kind`` says whether ``raw`` is an RFC 5322 email or a bare file (PDF, image, …).
    """

    id: str = Field(description="intake's own time-sortable id")
    source: str = Field(description="source name from config, e.g. 'folder:inbox' or 'imap:orders'")
    source_ref: str = Field(description="where in the source: file name or IMAP folder/UID")
    kind: Literal["email", "file"]
    message_id: str | None = Field(default=None, description="RFC 5322 Message-ID, if any")
    content_hash: str = Field(description="sha256 of the raw bytes, hex")
    sender: str | None = None
    subject: str | None = None
    filename: str | None = Field(default=None, description="file name for kind='file'")
    received_at: datetime
    raw: bytes = Field(repr=False)
    authentication: AuthenticationResults | None = Field(
        default=None, description="SPF/DKIM/DMARC verdicts of the receiving server, if recorded"
    )


# --------------------------------------------------------------------------- documents


class Origin(Frozen):
    """Where a document came from inside its message, for people and for evidence."""

    kind: Literal["body", "attachment", "file"]
    filename: str | None = None
    path: tuple[str, ...] = Field(
        default=(), description="nesting path, e.g. ('forwarded.eml', 'order.pdf')"
    )

    def describe(self) -> str:
        """Human-readable origin, such as ``attachment order.pdf`` or ``email body``."""
        if self.kind == "body":
            return "email body"
        name = "/".join(self.path) if self.path else (self.filename or "?")
        return f"{self.kind} {name}"


class Page(Frozen):
    """One page of a document's text; ``start``/``end`` are offsets into ``Document.text``."""

    number: int = Field(ge=1)
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    method: Literal["text", "ocr", "plain"]
    ocr_confidence: float | None = Field(
        default=None, ge=0, le=1, description="mean OCR word confidence on this page"
    )


class Word(Frozen):
    """A word with its place on the page and, for OCR, how sure tesseract was of it."""

    text: str
    page: int = Field(ge=1)
    start: int = Field(ge=0, description="offset into Document.text")
    end: int = Field(ge=0)
    confidence: float = Field(ge=0, le=1)
    bbox: tuple[float, float, float, float] | None = None


class Table(Frozen):
    """A table found on a page, as rows of cell strings (None for an empty cell)."""

    page: int = Field(ge=1)
    rows: tuple[tuple[str | None, ...], ...]


class Document(Frozen):
    """Text of one readable part of a message, with the layout facts later stages need."""

    id: str = Field(description="stable within its message: 'd1', 'd2', …")
    origin: Origin
    media_type: str
    text: str = Field(description="the whole text; pages are separated by form feeds")
    pages: tuple[Page, ...] = ()
    tables: tuple[Table, ...] = ()
    words: tuple[Word, ...] = Field(default=(), description="OCR words with confidence")

    def page_at(self, offset: int) -> int | None:
        """Return the page number holding character ``offset`` of ``text``, if known."""
        for page in self.pages:
            if page.start <= offset < max(page.end, page.start + 1):
                return page.number
        return self.pages[-1].number if self.pages else None


class Problem(Frozen):
    """Something in the message that could not be read, with the reason and the remedy."""

    code: str
    message: str
    origin: Origin | None = None


class ParsedMessage(Frozen):
    """A message after parsing: every readable document, and every part that was not."""

    message: Message
    documents: tuple[Document, ...]
    problems: tuple[Problem, ...] = ()

    def document(self, document_id: str) -> Document | None:
        """Return the document with this id, or None."""
        return next((d for d in self.documents if d.id == document_id), None)


# --------------------------------------------------------------------------- classification


class Classification(Frozen):
    """Is this message a purchase order at all? Decided before anything is extracted."""

    label: Literal["order", "not_order", "unsure"]
    kind: str | None = Field(
        default=None, description="what it is when not an order: invoice, inquiry, …"
    )
    confidence: float = Field(ge=0, le=1)
    reasons: tuple[str, ...] = ()


# --------------------------------------------------------------------------- extraction

T = TypeVar("T")


class Evidence(Frozen):
    """Where in the source a value was read: document, page, character span and the text."""

    document_id: str
    page: int | None = None
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str


class Extracted(Frozen, Generic[T]):
    """One extracted value with its confidence and evidence.

    ``value`` None means "not in the document", which is a valid answer; a value without
    evidence is one that was not found in the source and is flagged by the assess stage.
    """

    value: T | None = None
    confidence: float = Field(default=0.0, ge=0, le=1)
    evidence: Evidence | None = None


class ExtractedText(Extracted[str]):
    """An extracted string."""


class ExtractedNumber(Extracted[Decimal]):
    """An extracted decimal number (quantities, prices, amounts)."""


class ExtractedDate(Extracted[date]):
    """An extracted calendar date."""


class ExtractedLine(Frozen):
    """One order line as the customer wrote it."""

    product_code: ExtractedText = ExtractedText()
    description: ExtractedText = ExtractedText()
    quantity: ExtractedNumber = ExtractedNumber()
    uom: ExtractedText = ExtractedText()
    unit_price: ExtractedNumber = ExtractedNumber()
    line_total: ExtractedNumber = ExtractedNumber()


class ExtractedOrder(Frozen):
    """A purchase order as read from the source, before anything is matched to Odoo."""

    customer_name: ExtractedText = ExtractedText()
    customer_email: ExtractedText = ExtractedText()
    customer_vat: ExtractedText = ExtractedText()
    po_number: ExtractedText = ExtractedText()
    order_date: ExtractedDate = ExtractedDate()
    requested_delivery_date: ExtractedDate = ExtractedDate()
    currency: ExtractedText = ExtractedText()
    ship_to: ExtractedText = ExtractedText()
    subtotal: ExtractedNumber = ExtractedNumber()
    tax_amount: ExtractedNumber = ExtractedNumber()
    total_amount: ExtractedNumber = ExtractedNumber()
    lines: tuple[ExtractedLine, ...] = ()
    extractor: str = Field(description="which extractor produced this, with its version")
    notes: tuple[Finding, ...] = Field(
        default=(),
        description="what the extraction itself noticed (an LLM path that failed or was "
        "unreachable, …); the assess stage reports them as findings",
    )


# --------------------------------------------------------------------------- matching


class Candidate(Frozen):
    """An alternative a matcher considered, kept so a reviewer can pick another."""

    id: int
    name: str
    score: float = Field(ge=0, le=1)


class PartnerMatch(Frozen):
    """The customer the order was matched to, how, and what else came close."""

    partner_id: int
    name: str
    score: float = Field(ge=0, le=1)
    method: str = Field(description="sender_email, email_domain, vat, name_fuzzy, …")
    alternatives: tuple[Candidate, ...] = ()


class ProductMatch(Frozen):
    """The product an order line was matched to, how, and what else came close."""

    product_id: int
    default_code: str | None
    name: str
    uom: str
    list_price: Decimal
    score: float = Field(ge=0, le=1)
    method: str = Field(description="default_code, barcode, name_exact, name_fuzzy, …")
    alternatives: tuple[Candidate, ...] = ()
    packaging_id: int | None = Field(
        default=None, description="the Odoo packaging ordered in (a box of 12), if any"
    )
    packaging_name: str | None = None
    packaging_qty: Decimal | None = Field(
        default=None, description="units of ``uom`` in one packaging; list_price is per packaging"
    )


class MatchedLine(Frozen):
    """An extracted line and the product it matched, if any."""

    line: ExtractedLine
    product: ProductMatch | None = None


class MatchedOrder(Frozen):
    """An extracted order with its customer and products resolved against the catalog."""

    order: ExtractedOrder
    customer: PartnerMatch | None = None
    lines: tuple[MatchedLine, ...] = ()


# --------------------------------------------------------------------------- assessment


class Severity(StrEnum):
    """How much a finding matters: info is shown, warn lowers trust, block stops a draft."""

    INFO = "info"
    WARN = "warn"
    BLOCK = "block"


class Finding(Frozen):
    """One thing the checks noticed, with the field it concerns (a path like 'lines[0].qty')."""

    code: str
    severity: Severity
    message: str
    field: str | None = None


class Assessment(Frozen):
    """Everything checked about one order: the findings and the overall confidence."""

    matched: MatchedOrder
    findings: tuple[Finding, ...] = ()
    confidence: float = Field(ge=0, le=1)


# --------------------------------------------------------------------------- decision


class DecisionKind(StrEnum):
    """What happens to the order: a draft quotation, a person's review, or rejection."""

    DRAFT = "draft"
    REVIEW = "review"
    REJECT = "reject"


class Decision(Frozen):
    """The outcome for one message, with the reasons a person will read."""

    kind: DecisionKind
    reasons: tuple[str, ...] = ()
    confidence: float = Field(default=0.0, ge=0, le=1)


class QuotationLine(Frozen):
    """A line of the draft quotation; ``product_id`` None makes it a note line."""

    product_id: int | None
    default_code: str | None = None
    name: str
    quantity: Decimal | None = None
    uom: str | None = None
    price_unit: Decimal | None = None
    packaging_id: int | None = Field(
        default=None, description="ordered by packaging: quantity counts units, packages boxes"
    )
    packages: Decimal | None = None


class QuotationDraft(Frozen):
    """What is (or would be) sent to Odoo as a draft sale.order."""

    partner_id: int
    partner_name: str
    client_order_ref: str | None
    commitment_date: date | None = None
    currency: str | None = None
    lines: tuple[QuotationLine, ...]
    note: str = ""
    idempotency_key: str = Field(description="intake's key, unique per message")
