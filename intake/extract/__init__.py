"""The classify and extract stages: is it an order, and what does the order say.

``classify`` runs first and keeps invoices, auto-replies and newsletters out of extraction.
``extract_offline`` reads the order by rules, with evidence for every value; it needs no
network, so intake works on a fresh machine without an LLM endpoint.
"""

from __future__ import annotations

from intake.extract.classify import classify
from intake.extract.offline import EXTRACTOR, extract_offline

__all__ = ["EXTRACTOR", "classify", "extract_offline"]
