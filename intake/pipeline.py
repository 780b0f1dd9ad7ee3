"""The orchestrator: one message through every stage, resumable and exactly once.

``process`` reads like a table of contents: parse, classify, extract, match, assess, decide,
act. Each stage is its own module with one function from a typed model to the next; this module
only sequences them, times them, and records each output in the store together with the new
state. A message that was interrupted (crash, SIGKILL, power loss) resumes at the first stage
whose output was not stored. Anything a stage raises sends that one message to review with the
reason; it never stops the loop.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from intake.assess import assess
from intake.assess.decide import decide
from intake.assess.history import AssessContext, merged_history
from intake.catalog import Catalog
from intake.config import Settings
from intake.documents import parse_message
from intake.errors import StageError
from intake.extract.cascade import classify_message, extract_order
from intake.extract.llm import llm_for_message
from intake.match import match_order
from intake.models import (
    Classification,
    Decision,
    DecisionKind,
    ExtractedOrder,
    MatchedOrder,
    Message,
    MessageState,
    ParsedMessage,
)
from intake.odoo.quotation import build_quotation, idempotency_key
from intake.store import Store

if TYPE_CHECKING:
    from intake.odoo.client import OdooClient
    from intake.odoo.history import OrderHistory

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
"""A message whose processing was started this many times without finishing is failed."""

STATE_ORDER = [
    MessageState.RECEIVED,
    MessageState.PARSED,
    MessageState.EXTRACTED,
    MessageState.MATCHED,
    MessageState.ASSESSED,
]

T = TypeVar("T")


@dataclass
class JobContext:
    """What every stage run may need: settings, the store, the catalog and a work folder."""

    settings: Settings
    store: Store
    catalog: Catalog
    workdir: Path
    owner: str = field(default="")
    odoo: OdooClient | None = field(default=None)
    """The Odoo client when [odoo] is configured; drafts then go to Odoo's outbox."""

    def get_path(self, message_id: str, name: str) -> Path:
        """A path for an intermediate file, named after the message (never a bare temp name)."""
        folder = self.workdir / message_id
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name


class _Stages:
    """Runs one stage at a time for one message: skip if already stored, time it, save it."""

    def __init__(self, message: Message, ctx: JobContext) -> None:
        self.message = message
        self.ctx = ctx
        self.state = ctx.store.message_state(message.id)
        self.attempt = ctx.store.attempts(message.id)
        self.current = ""

    def reached(self, state: MessageState) -> bool:
        return self.state in STATE_ORDER and STATE_ORDER.index(self.state) >= STATE_ORDER.index(
            state
        )

    def timed(self, name: str, work: Callable[[], T]) -> T:
        self.current = name
        started = time.perf_counter()
        outcome = "error"
        try:
            result = work()
            outcome = "ok"
            return result
        finally:
            self.ctx.store.record_timing(
                self.message.id, name, self.attempt, time.perf_counter() - started, outcome
            )

    def run(
        self,
        name: str | None,
        done_state: MessageState,
        work: Callable[[], T],
        save: Callable[[T], None],
        load: Callable[[], T | None],
    ) -> T:
        if self.reached(done_state):
            stored = load()
            if stored is not None:
                return stored
        result = self.timed(name, work) if name is not None else work()
        save(result)
        self.state = done_state
        return result


def process(message: Message, ctx: JobContext) -> MessageState:
    """Take one stored message through every stage and return its final state."""
    store, settings = ctx.store, ctx.settings
    stages = _Stages(message, ctx)
    if stages.attempt > MAX_ATTEMPTS:
        return _give_up(message, ctx, stages.attempt)
    try:
        parsed = stages.run(
            "parse",
            MessageState.PARSED,
            lambda: parse_message(message, settings.limits, settings.ocr),
            store.save_parsed,
            lambda: store.load_parsed(message),
        )
        require_documents(parsed)
        classification, order = stages.run(
            None,  # classify and extract are timed one by one inside
            MessageState.EXTRACTED,
            lambda: classify_and_extract(parsed, stages),
            lambda result: store.save_extraction(message.id, *result),
            lambda: store.load_extraction(message.id),
        )
        matched = stages.run(
            "match",
            MessageState.MATCHED,
            lambda: match_order(order, message.sender, ctx.catalog, store.learned_mappings()),
            lambda result: store.save_match(message.id, result),
            lambda: store.load_match(message.id),
        )
        assessment = stages.run(
            "assess",
            MessageState.ASSESSED,
            lambda: assess(
                matched,
                parsed,
                classification,
                settings.thresholds,
                assess_context(ctx, message, matched),
            ),
            lambda result: store.save_assessment(message.id, result),
            lambda: store.load_assessment(message.id),
        )
        decision = stages.timed(
            "decide", lambda: decide(assessment, classification, settings.thresholds)
        )
        quotation = (
            stages.timed("act", lambda: build_quotation(message, assessment))
            if decision.kind is DecisionKind.DRAFT
            else None
        )
        target = "odoo" if ctx.odoo is not None else "store"
        return store.finish(message.id, decision, quotation, target=target)
    except StageError as exc:
        log.warning("%s: %s goes to review: %s", message.source_ref, stages.current, exc.reason)
        return _to_review(message, ctx, f"{exc.reason} [{exc.code}]")
    except Exception as exc:
        log.error(
            "%s: stage %s failed: %s\n%s",
            message.source_ref,
            stages.current,
            exc,
            traceback.format_exc(),
        )
        reason = (
            f"stage '{stages.current}' failed with {type(exc).__name__}: {exc}; the message is "
            "kept — fix the cause, then reprocess it"
        )
        return _to_review(message, ctx, reason, error=traceback.format_exc(limit=5))


def require_documents(parsed: ParsedMessage) -> None:
    """A message with nothing readable in it goes to review, with every reason found."""
    if parsed.documents:
        return
    if parsed.problems:
        reasons = "; ".join(p.message for p in parsed.problems)
        code = parsed.problems[0].code if len(parsed.problems) == 1 else "no_readable_documents"
        raise StageError(code, f"nothing in the message could be read: {reasons}")
    raise StageError("no_readable_documents", "the message holds no readable text or attachment")


def assess_context(ctx: JobContext, message: Message, matched: MatchedOrder) -> AssessContext:
    """The catalog, the customer's earlier orders and what reviewers taught, for the checks.

    The history is what the store holds — every draft intake made and every order a person
    approved — and, with Odoo configured, the customer's orders in Odoo for the products of
    this order (``odoo.history_days`` back); this message's own quotation never counts. Odoo
    not answering leaves the store's history: the checks run on what is known, and the log
    says so.
    """
    customer = matched.customer
    learned = ctx.store.learned_mappings()
    if customer is None:
        return AssessContext(catalog=ctx.catalog, learned=learned)
    past = ctx.store.past_quotations(customer.partner_id, exclude_message_id=message.id)
    odoo_history = None
    if ctx.odoo is not None:
        odoo_history = _odoo_history(ctx.odoo, ctx.settings, message, customer.partner_id, matched)
    return AssessContext(
        catalog=ctx.catalog,
        history=merged_history(
            customer.partner_id, past, odoo_history, own_key=idempotency_key(message)
        ),
        learned=learned,
    )


def _odoo_history(
    odoo: OdooClient, settings: Settings, message: Message, partner_id: int, matched: MatchedOrder
) -> OrderHistory | None:
    """The customer's orders in Odoo of this order's products, or None when Odoo fails."""
    from intake.odoo.errors import OdooError
    from intake.odoo.history import QUOTED_STATES, order_history

    products = sorted({ml.product.product_id for ml in matched.lines if ml.product is not None})
    if not products:
        return None  # nothing to compare; a PO number Odoo already has is caught on sending
    since = message.received_at.date() - timedelta(days=settings.odoo.history_days)
    try:
        # Only this order's products are read (a big customer has years of lines); the
        # outbox still refuses a second quotation for a PO number Odoo holds for other goods.
        return order_history(odoo, [partner_id], products, since=since, states=QUOTED_STATES)
    except OdooError as exc:
        log.warning(
            "%s: the customer's order history could not be read from Odoo (%s); the checks "
            "use intake's own history only",
            message.source_ref,
            exc,
        )
        return None


def classify_and_extract(
    parsed: ParsedMessage, stages: _Stages
) -> tuple[Classification, ExtractedOrder]:
    """Classify first; only something that may be an order is extracted.

    With an LLM endpoint configured, the LLM path (its calls logged in the store) classifies
    what the rules are unsure about and extracts the order; otherwise the offline path runs.
    """
    llm = llm_for_message(stages.ctx.settings, stages.ctx.store, parsed.message.id)
    classification = stages.timed("classify", lambda: classify_message(parsed, llm))
    if classification.label == "not_order":
        return classification, ExtractedOrder(extractor="none (not an order)")
    order = stages.timed("extract", lambda: extract_order(parsed, classification, llm))
    return classification, order


def _to_review(
    message: Message, ctx: JobContext, reason: str, error: str | None = None
) -> MessageState:
    decision = Decision(kind=DecisionKind.REVIEW, reasons=(reason,), confidence=0.0)
    return ctx.store.finish(message.id, decision, error=error or reason)


def _give_up(message: Message, ctx: JobContext, attempts: int) -> MessageState:
    reason = (
        f"processing was started {attempts} times and never finished (the process died each "
        "time, e.g. out of memory); the message is kept for a person — check the log, then "
        "reprocess it"
    )
    log.error("%s: %s", message.source_ref, reason)
    decision = Decision(kind=DecisionKind.REVIEW, reasons=(reason,), confidence=0.0)
    return ctx.store.finish(message.id, decision, error=reason, failed=True)
