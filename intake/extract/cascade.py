"""The extraction cascade: one order schema and one confidence scale, whatever path read it.

Paths are tried in order of trust — structured data (UBL, Order-X, spreadsheets with
recognised columns) read exactly, then an LLM when an endpoint is configured, then the offline
rule-based extractor, which always works. Each path fills ``ExtractedOrder.extractor`` so every
value says which path produced it. New paths are added here and nowhere else, so the pipeline
keeps calling one function.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from intake.extract.classify import classify
from intake.extract.offline import extract_offline
from intake.extract.structured import extract_structured
from intake.models import Classification, ExtractedOrder, ParsedMessage

if TYPE_CHECKING:
    from intake.extract.llm import LlmExtractor


def extract_order(
    parsed: ParsedMessage, classification: Classification, llm: LlmExtractor | None = None
) -> ExtractedOrder:
    """Extract the order by the most trustworthy path available for this message.

    ``llm`` is the LLM path for this message when an endpoint is configured (see
    :func:`intake.extract.llm.llm_for_message`). When it fails — unreachable, refused, cut
    off, invalid after its re-ask, over the token budget — the offline extractor reads the
    order and the order carries a finding that says why.
    """
    del classification  # a not_order message never reaches extraction (pipeline)
    structured = extract_structured(parsed)
    if structured is not None:
        return structured
    if llm is not None:
        outcome = llm.extract(parsed)
        if outcome.order is not None:
            return outcome.order
        offline = extract_offline(parsed)
        return offline.model_copy(update={"notes": (*offline.notes, outcome.finding())})
    return extract_offline(parsed)


def classify_message(parsed: ParsedMessage, llm: LlmExtractor | None = None) -> Classification:
    """Classify by rules; ask the LLM only when the rules are unsure (and it is configured)."""
    rules = classify(parsed)
    if rules.label != "unsure" or llm is None or not llm.config.classify_unsure:
        return rules
    return llm.classify(parsed, rules)
