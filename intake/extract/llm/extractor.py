"""The LLM path: classify when the rules are unsure, extract an order, judge the answer.

One :class:`LlmExtractor` serves one message. It renders the prompts, keeps the message inside
its token budget, asks for the strict schema through :class:`~intake.extract.llm.client.LlmClient`,
validates the answer against the contract and the document text (quotes must occur in it), asks
once more with the errors when the answer does not hold, and grounds the accepted answer in
the documents (:mod:`intake.extract.llm.locate`).

Every way this can end is its own outcome, never an exception that stops the pipeline:
``ok`` (an order), ``invalid`` (still wrong after the re-ask), ``refused``, ``truncated`` (the
answer ran into ``max_tokens``, as a looping small model does), ``budget`` (the message would
exceed ``llm.token_budget_per_message``), ``unavailable`` (timeout, connection, 5xx/429 after
retries, bad credentials) and ``rejected``. Anything but ``ok`` hands the message to the
offline extractor together with a finding that says what happened: a plain outage is noted
(info), every other failure sends the order to review (warn).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from intake.config import LlmConfig
from intake.extract.llm.client import CallMeta, LlmClient, LlmFailure, Messages, Reply
from intake.extract.llm.contract import (
    HEADER_FIELDS,
    LINE_FIELDS,
    LlmClassification,
    LlmOrder,
    QuotedDate,
    QuotedNumber,
    QuotedText,
    ReplyError,
    contract_errors,
    parse_reply,
    strict_schema,
)
from intake.extract.llm.locate import (
    Locator,
    ground_order,
    key_probability,
    quote_hit,
    value_probabilities,
)
from intake.extract.llm.prompts import PromptSet, Rendered, boundary_for, documents_context
from intake.models import Classification, ExtractedOrder, Finding, ParsedMessage, Severity

log = logging.getLogger(__name__)

EXTRACTOR = "llm/1"
"""Name and version of this path, recorded with the model and prompt versions on each order."""

CHARS_PER_TOKEN = 3.0
"""A cautious estimate of characters per token, for the budget check before a call."""

LLM_CLASSIFICATION_CAP = 0.85
"""The LLM advises: its verdict alone never reaches the confidence that rejects a message."""

ORDER_SCHEMA = strict_schema(LlmOrder)
CLASSIFICATION_SCHEMA = strict_schema(LlmClassification)

_NOT_ORDER_KINDS = {
    "invoice",
    "inquiry",
    "order_confirmation",
    "delivery_notice",
    "newsletter",
    "auto_reply",
}


@dataclass(frozen=True)
class Outcome:
    """What the LLM path made of one message: an order, or why there is none."""

    kind: str
    order: ExtractedOrder | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        """True when the LLM produced an order."""
        return self.order is not None

    def finding(self) -> Finding:
        """The finding that goes with a failed outcome (the offline order carries it)."""
        severity = Severity.INFO if self.kind == "unavailable" else Severity.WARN
        then = (
            "the offline extractor read the order instead"
            if severity is Severity.INFO
            else "the offline extractor read the order instead; check it against the document"
        )
        return Finding(
            code=f"llm_{self.kind}",
            severity=severity,
            message=f"LLM extraction: {self.reason}; {then}.",
        )


class BudgetExceeded(Exception):
    """The next call would take the message past ``llm.token_budget_per_message``."""


def customer_hints(prompt_dir: Path, sender: str | None) -> list[str]:
    """Hints an admin wrote for a customer: ``prompts/customers/<address or domain>.txt``.

    Each non-empty line not starting with ``#`` is one hint. These come from the company, so
    they go into the instructions, never into the untrusted document part of the prompt.
    """
    address = parseaddr(sender or "")[1].lower()
    if not address:
        return []
    names = [address, address.rpartition("@")[2]]
    hints: list[str] = []
    for name in names:
        path = prompt_dir / "customers" / f"{name}.txt"
        if "/" in name or not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                hints.append(line.strip())
    return hints


class LlmExtractor:
    """The LLM path for one message.

    Args:
        client: the endpoint client (shared by the calls of this message).
        prompts: the prompt templates.
        config: the ``[llm]`` section (budget, max tokens).
        message_id: for the call log.
        examples: approved past orders of the sender, as (document text, answer JSON) pairs;
            empty until people approve orders in the review UI.
    """

    def __init__(
        self,
        client: LlmClient,
        prompts: PromptSet,
        config: LlmConfig,
        message_id: str | None = None,
        examples: Callable[[str | None], Sequence[tuple[str, str]]] | None = None,
    ) -> None:
        self.client = client
        self.prompts = prompts
        self.config = config
        self.message_id = message_id
        self.examples = examples
        self.tokens_used = 0

    # ------------------------------------------------------------------ budget

    def _reserve(self, messages: Messages, max_tokens: int) -> None:
        estimate = int(sum(len(m["content"]) for m in messages) / CHARS_PER_TOKEN) + max_tokens
        budget = self.config.token_budget_per_message
        if self.tokens_used + estimate > budget:
            raise BudgetExceeded(
                f"the call would need about {estimate} tokens and {self.tokens_used} were "
                f"already used, beyond llm.token_budget_per_message = {budget}; raise it if "
                "such messages are expected"
            )

    def _spend(self, reply: Reply) -> None:
        self.tokens_used += reply.prompt_tokens + reply.completion_tokens

    # ------------------------------------------------------------------ prompts

    def _context(self, parsed: ParsedMessage) -> dict[str, Any]:
        sender = parsed.message.sender
        examples = self.examples(sender) if self.examples is not None else []
        return {
            "documents": documents_context(parsed),
            "boundary": boundary_for(parsed),
            "message": {"sender": sender, "subject": parsed.message.subject},
            "hints": customer_hints(self.prompts.prompt_dir, sender),
            "examples": [{"document": d, "answer": a} for d, a in examples],
        }

    def _builder(
        self, task: Rendered, schema: dict[str, Any], reask: Rendered | None = None
    ) -> Callable[[str], tuple[Messages, dict[str, str]]]:
        """The messages for a response format; a re-ask adds the errors after the task.

        The re-ask does not show the model its previous answer: a small model at temperature
        0 copies it back unchanged; told only what was wrong, it answers afresh.
        """

        def build(fmt: str) -> tuple[Messages, dict[str, str]]:
            schema_json = json.dumps(schema, indent=1) if fmt == "json_object" else ""
            system = self.prompts.render("system", schema_json=schema_json)
            user = task.text if reask is None else f"{task.text}\n{reask.text}"
            messages = [
                {"role": "system", "content": system.text},
                {"role": "user", "content": user},
            ]
            versions = {system.name: system.version, task.name: task.version}
            if reask is not None:
                versions[reask.name] = reask.version
            self._reserve(messages, self.config.max_tokens)
            return messages, versions

        return build

    def _versions(self, *names: str) -> str:
        return " ".join(f"{n}@{self.prompts.version(n)}" for n in names)

    # ------------------------------------------------------------------ classify

    def classify(self, parsed: ParsedMessage, rules: Classification) -> Classification:
        """Ask the LLM what an ``unsure`` message is; the rules' verdict stands on failure.

        The answer is advice: its confidence is capped below the rejection threshold's
        default, so only the rules can reject a message without a person.
        """
        context = self._context(parsed)
        context["rules"] = {"label": rules.label, "reasons": list(rules.reasons)}
        task = self.prompts.render("classify", **context)
        locator = Locator(parsed)

        def check(content: str | None) -> list[str]:
            try:
                parse_reply(content, LlmClassification)
            except ReplyError as exc:
                return exc.errors
            return []

        try:
            reply = self.client.chat(
                self._builder(task, CLASSIFICATION_SCHEMA),
                CLASSIFICATION_SCHEMA,
                "message_kind",
                CallMeta("classify", self.message_id),
                check=check,
                max_tokens=min(self.config.max_tokens, 400),
            )
        except (LlmFailure, BudgetExceeded) as exc:
            reason = exc.reason if isinstance(exc, LlmFailure) else str(exc)
            return rules.model_copy(
                update={"reasons": (*rules.reasons, f"the LLM could not be asked: {reason}")}
            )
        self._spend(reply)
        if reply.errors or reply.refusal or reply.finish_reason == "length":
            why = "; ".join(reply.errors) or reply.refusal or "the answer was cut off"
            return rules.model_copy(
                update={"reasons": (*rules.reasons, f"the LLM gave no usable answer: {why}")}
            )
        verdict: LlmClassification = parse_reply(reply.content, LlmClassification)
        p = key_probability(reply.content, reply.token_logprobs, "kind")
        confidence = min(LLM_CLASSIFICATION_CAP, p if p is not None else 0.7)
        quote_note = ""
        if verdict.quote and locator.find_quote(verdict.quote) is None:
            confidence *= 0.8
            quote_note = " (its quote is not in the message)"
        reason = f"LLM {reply.model}: {verdict.kind}: {verdict.reason}{quote_note}"
        kind: str | None
        if verdict.kind == "purchase_order":
            label, kind = "order", None
        elif verdict.kind in _NOT_ORDER_KINDS:
            label, kind = "not_order", verdict.kind
        else:
            label, kind = "unsure", rules.kind
        return Classification(
            label=label,
            kind=kind,
            confidence=round(confidence, 2),
            reasons=(reason, *(f"rules: {r}" for r in rules.reasons)),
        )

    # ------------------------------------------------------------------ extract

    def extract(self, parsed: ParsedMessage) -> Outcome:
        """Extract the order; one re-ask with the errors when the first answer does not hold."""
        try:
            return self._extract(parsed)
        except LlmFailure as exc:
            log.warning("%s: LLM %s: %s", parsed.message.source_ref, exc.outcome, exc.reason)
            return Outcome(exc.outcome, reason=exc.reason)
        except BudgetExceeded as exc:
            return Outcome("budget", reason=str(exc))

    def _extract(self, parsed: ParsedMessage) -> Outcome:
        task = self.prompts.render("extract", **self._context(parsed))
        locator = Locator(parsed)

        def check(content: str | None) -> list[str]:
            try:
                answer: LlmOrder = parse_reply(content, LlmOrder)
            except ReplyError as exc:
                return exc.errors
            return contract_errors(answer) + quote_errors(answer, locator)

        reask: Rendered | None = None
        reply: Reply | None = None
        for attempt in range(2):
            reply = self.client.chat(
                self._builder(task, ORDER_SCHEMA, reask),
                ORDER_SCHEMA,
                "purchase_order",
                CallMeta("extract" if attempt == 0 else "reask", self.message_id),
                check=check,
            )
            self._spend(reply)
            if reply.refusal:
                return Outcome("refused", reason=f"the model refused: {reply.refusal}")
            if reply.finish_reason == "length":
                return Outcome(
                    "truncated",
                    reason=f"the answer was cut off at llm.max_tokens = {self.config.max_tokens} "
                    "tokens (the model may have looped); raise llm.max_tokens if orders are long",
                )
            refusal = _schema_refusal(reply.content)
            if refusal:
                return Outcome("refused", reason=f"the model declined: {refusal}")
            hard = _hard_errors(reply.content)
            if not reply.errors or (attempt == 1 and not hard):
                break
            if attempt == 1:
                return Outcome(
                    "invalid",
                    reason="the answer was still invalid after one re-ask: "
                    + "; ".join(reply.errors[:5]),
                )
            reask = self.prompts.render("reask", errors=list(reply.errors))
        assert reply is not None
        answer: LlmOrder = parse_reply(reply.content, LlmOrder)
        names = ["system", "extract"] + (["reask"] if reask is not None else [])
        extractor = (
            f"{EXTRACTOR} {reply.model} ({reply.response_format}; prompts {self._versions(*names)})"
        )
        probabilities = value_probabilities(reply.content, reply.token_logprobs)
        order = ground_order(answer, parsed, extractor, probabilities)
        return Outcome("ok", order=order)


def quote_errors(answer: LlmOrder, locator: Locator) -> list[str]:
    """Quotes that are not in the documents or do not show their value — for the re-ask."""
    errors: list[str] = []

    def check(path: str, field: QuotedText | QuotedNumber | QuotedDate | None) -> None:
        if field is None or not field.quote.strip():
            return
        if quote_hit(locator, field, None) is not None:
            return
        if locator.find_quote(field.quote) is None:
            problem = "does not occur in the documents"
        else:
            problem = f"does not show the value {_show(field.value)}"
        errors.append(
            f"{path}: the quote '{_clip(field.quote)}' {problem}; quote the exact text the value "
            "is printed in, or make the field null if the documents do not state it"
        )

    for name in HEADER_FIELDS:
        check(name, getattr(answer, name))
    for i, line in enumerate(answer.lines):
        for name in LINE_FIELDS:
            check(f"lines[{i}].{name}", getattr(line, name))
    return errors


def _show(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _hard_errors(content: str | None) -> bool:
    """True when the content is not even a valid answer (JSON or schema broken)."""
    try:
        answer: LlmOrder = parse_reply(content, LlmOrder)
    except ReplyError:
        return True
    return bool(contract_errors(answer))


def _schema_refusal(content: str | None) -> str | None:
    try:
        answer: LlmOrder = parse_reply(content, LlmOrder)
    except ReplyError:
        return None
    reason = (answer.cannot_extract or "").strip()
    return reason or None


def _clip(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
