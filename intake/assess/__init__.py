"""Assessment: check a matched order, score how far to trust it, and decide what happens.

:func:`assess` runs every check and returns the findings with one overall confidence;
:func:`decide` turns that into DRAFT, REVIEW or REJECT. Both are pure functions (no I/O), so a
stored order can be re-assessed with other thresholds and the outcome explained.

Finding codes (severity):

- ``not_an_order`` (block), ``classification_unsure`` (warn): the classifier's verdict.
- ``source_problem`` (warn): part of the message could not be read.
- ``value_not_in_source`` (block for customer fields, product codes and quantities, warn
  otherwise): the value's evidence is missing or not in the source document.
- ``no_lines`` (block), ``customer_unknown`` (block), ``customer_uncertain`` (warn).
- ``product_unmatched``, ``product_uncertain``, ``uom_unknown`` (warn).
- ``quantity_missing``, ``quantity_not_positive`` (block); ``quantity_fractional``,
  ``quantity_implausible`` (warn).
- ``price_deviation``, ``line_total_mismatch``, ``subtotal_mismatch``, ``tax_total_mismatch``,
  ``order_total_mismatch`` (warn; tolerance ``amount_tolerance`` / ``amount_relative_tolerance``).
- ``po_number_missing``, ``low_confidence``, ``delivery_date_past``,
  ``delivery_inside_lead_time`` (warn).
- ``duplicate_product``, ``product_first_order`` (info).
- Against the context (:mod:`intake.assess.anomalies`): ``sender_dmarc_fail`` (block),
  ``sender_not_customer``, ``currency_mismatch``, ``ship_to_new_address``, ``quantity_unusual``
  (warn), ``duplicate_po`` (block).
- ``instructions_in_document`` (warn): text addressed to an AI or to the order system (prompt
  injection, :mod:`intake.assess.injection`); it is never followed.
- ``llm_invalid``, ``llm_refused``, ``llm_truncated``, ``llm_budget``, ``llm_rejected`` (warn),
  ``llm_unavailable`` (info): the LLM path gave no order and the offline extractor read it
  (raised by the extraction, carried in ``ExtractedOrder.notes``).

The overall confidence is ``sqrt(E × sqrt(C × P)) × 0.85^warns``, capped at 0.25 when anything
blocks: E the mean extraction confidence of the key fields, C the customer match score, P the
mean product match score; :mod:`intake.assess.confidence` spells it out. docs/findings.md
lists every code with what triggers it, its config knob and its test.
"""

from __future__ import annotations

from intake.assess.checks import assess
from intake.assess.decide import decide

__all__ = ["assess", "decide"]
