"""What people taught the matcher in review: per-customer product codes and ship-to texts.

When a reviewer corrects the product of a line, the customer's own product code on that line
is remembered for that customer (``product_code``); when they pick the delivery address for a
ship-to block, that text is remembered too (``ship_to``). The next order from the same
customer is matched with these first: a person's word beats any rule. Keys are normalised the
same way the matchers normalise (``FURN-7800`` = ``furn_7800``), so spelling never hides a hit.
Pure: the mappings are read from the store by the caller and handed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from intake.match.text import normalize_code, normalize_text

PRODUCT_CODE = "product_code"
SHIP_TO = "ship_to"
SCORE_LEARNED = 0.99
"""Score of a learned match: a person confirmed it, yet it is the customer's text, not Odoo's."""


def mapping_key(kind: str, text: str) -> str:
    """The normalised key a customer's text is remembered under."""
    return normalize_code(text) if kind == PRODUCT_CODE else normalize_text(text)


@dataclass(frozen=True)
class LearnedMappings:
    """Learned mappings by (kind, customer partner id, normalised key) → target id."""

    targets: dict[tuple[str, int, str], int] = field(default_factory=dict)

    def product_for(self, partner_id: int, code: str | None) -> int | None:
        """The product a person chose for this customer's code, if any."""
        if not code or not code.strip():
            return None
        return self.targets.get((PRODUCT_CODE, partner_id, mapping_key(PRODUCT_CODE, code)))

    def delivery_for(self, partner_id: int, ship_to: str | None) -> int | None:
        """The delivery address a person chose for this customer's ship-to text, if any."""
        if not ship_to or not ship_to.strip():
            return None
        return self.targets.get((SHIP_TO, partner_id, mapping_key(SHIP_TO, ship_to)))

    def __len__(self) -> int:
        return len(self.targets)
