"""Find the customer (Odoo commercial partner) an order comes from.

Signals, strongest first, each giving a company and a score:

========================  =====  ==========================================================
method                    score  when
========================  =====  ==========================================================
``sender_email``          0.98   the sender address is a contact's email
``customer_email``        0.95   an email written in the order is a contact's email
``email_domain``          0.90   the sender's (or written) domain is one company's only
``vat``                   0.88   the order's VAT equals a partner's (0.80 when one side
                                 lacks the country prefix)
``name_exact``            0.85   the order's customer name equals a partner name, legal
                                 suffixes (Inc, GmbH, …) and punctuation ignored
``name_fuzzy``            0.85×s similar name, ``s`` the similarity (at least 0.6)
========================  =====  ==========================================================

Emails, VATs and names of contacts count for their company (``commercial_partner``). A domain
shared by several companies (Odoo's demo puts many on example.com) or a free-mail domain is
no signal at all. Signals that agree on one company reinforce each other (noisy-or: two 0.85
signals give 0.98). The company with the strongest single signal wins; every company's score,
the winner's and the alternatives', is then multiplied by (1 − r/2), r the strongest signal
(≥ 0.80 only) for any *other* company, so when two strong signals disagree the stronger wins,
the other is kept as an alternative, and the lowered score sends the choice to a person.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from intake.catalog import Catalog, CatalogPartner
from intake.match.text import (
    FREE_MAIL_DOMAINS,
    best_matches,
    email_domain,
    normalize_company,
    normalize_vat,
    parse_email,
    vat_without_country,
)
from intake.models import Candidate, ExtractedOrder, PartnerMatch

SCORE_SENDER_EMAIL = 0.98
SCORE_CUSTOMER_EMAIL = 0.95
SCORE_EMAIL_DOMAIN = 0.90
SCORE_VAT = 0.88
SCORE_VAT_NO_COUNTRY = 0.80
SCORE_NAME = 0.85
NAME_CUTOFF = 0.6
STRONG = 0.80
MAX_ALTERNATIVES = 3


@dataclass(frozen=True)
class Signal:
    """One piece of evidence that the order comes from company ``partner_id``."""

    partner_id: int
    score: float
    method: str


@dataclass
class PartnerIndex:
    """Lookup tables over the catalog's partners, built once per order.

    Contacts are resolved to their company here, through a dict, rather than with
    ``Catalog.commercial_partner`` (a linear search per step), so building stays linear.
    """

    by_id: dict[int, CatalogPartner] = field(default_factory=dict)
    company_of: dict[int, int] = field(default_factory=dict)
    by_email: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    by_domain: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    by_vat: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    by_vat_local: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    names: list[str] = field(default_factory=list)
    name_owner: list[int] = field(default_factory=list)

    @classmethod
    def build(cls, catalog: Catalog) -> PartnerIndex:
        """Index every partner by email, domain, VAT and normalised name (→ its company)."""
        index = cls()
        index.by_id = {p.id: p for p in catalog.partners}
        for partner in catalog.partners:
            company = index._commercial(partner)
            index.company_of[partner.id] = company
            address = parse_email(partner.email)
            if address:
                index.by_email[address].add(company)
                index.by_domain[email_domain(address)].add(company)
            if partner.vat:
                vat = normalize_vat(partner.vat)
                if vat:
                    index.by_vat[vat].add(company)
                    index.by_vat_local[vat_without_country(vat)].add(company)
            name = normalize_company(partner.name)
            if name:
                index.names.append(name)
                index.name_owner.append(company)
        return index

    def _commercial(self, partner: CatalogPartner) -> int:
        seen = {partner.id}
        while partner.parent_id is not None:
            parent = self.by_id.get(partner.parent_id)
            if parent is None or parent.id in seen:
                break
            seen.add(parent.id)
            partner = parent
        return partner.id

    def name_of(self, partner_id: int) -> str:
        """Display name of a partner id."""
        partner = self.by_id.get(partner_id)
        return partner.name if partner else str(partner_id)


def match_customer(
    order: ExtractedOrder, sender: str | None, index: PartnerIndex
) -> PartnerMatch | None:
    """Return the best customer for ``order`` with its method and alternatives, or None.

    Args:
        order: the extracted order; its customer email, VAT and name are used.
        sender: the message's From header (a bare address or ``Name <address>``).
        index: the partner index of the catalog.
    """
    signals = _signals(order, sender, index)
    if not signals:
        return None
    per_partner: dict[int, list[Signal]] = defaultdict(list)
    for signal in signals:
        per_partner[signal.partner_id].append(signal)
    combined = {pid: _noisy_or([s.score for s in sigs]) for pid, sigs in per_partner.items()}
    strongest = {pid: max(s.score for s in sigs) for pid, sigs in per_partner.items()}
    adjusted = {pid: _against_rivals(pid, combined, strongest) for pid in per_partner}
    ranking = sorted(per_partner, key=lambda pid: (-strongest[pid], -combined[pid], pid))
    best = ranking[0]
    method = max(per_partner[best], key=lambda s: s.score).method
    others = sorted(ranking[1:], key=lambda pid: (-adjusted[pid], pid))
    alternatives = tuple(
        Candidate(id=pid, name=index.name_of(pid), score=round(adjusted[pid], 4))
        for pid in others[:MAX_ALTERNATIVES]
    )
    return PartnerMatch(
        partner_id=best,
        name=index.name_of(best),
        score=round(adjusted[best], 4),
        method=method,
        alternatives=alternatives,
    )


def _against_rivals(pid: int, combined: dict[int, float], strongest: dict[int, float]) -> float:
    """A company's score lowered by the strongest signal for any other company (if strong)."""
    rivals = [score for other, score in strongest.items() if other != pid and score >= STRONG]
    return min(1.0, combined[pid] * (1 - max(rivals, default=0.0) / 2))


def _noisy_or(scores: list[float]) -> float:
    """Combine agreeing signals: the chance that all of them are wrong shrinks with each."""
    miss = 1.0
    for score in scores:
        miss *= 1 - score
    return 1 - miss


def _signals(order: ExtractedOrder, sender: str | None, index: PartnerIndex) -> list[Signal]:
    signals: list[Signal] = []
    sender_address = parse_email(sender)
    written_address = parse_email(order.customer_email.value)
    for address, method, score in (
        (sender_address, "sender_email", SCORE_SENDER_EMAIL),
        (written_address, "customer_email", SCORE_CUSTOMER_EMAIL),
    ):
        if address is None:
            continue
        companies = index.by_email.get(address, set())
        # An address shared by contacts of several companies identifies none of them.
        if len(companies) == 1:
            signals.append(Signal(next(iter(companies)), score, method))
    domains = {email_domain(a) for a in (sender_address, written_address) if a}
    for domain in sorted(domains - FREE_MAIL_DOMAINS):
        companies = index.by_domain.get(domain, set())
        if len(companies) == 1:
            signals.append(Signal(next(iter(companies)), SCORE_EMAIL_DOMAIN, "email_domain"))
    if order.customer_vat.value:
        signals += _vat_signals(order.customer_vat.value, index)
    if order.customer_name.value:
        signals += _name_signals(order.customer_name.value, index)
    return signals


def _vat_signals(raw: str, index: PartnerIndex) -> list[Signal]:
    vat = normalize_vat(raw)
    if not vat:
        return []
    companies = index.by_vat.get(vat)
    score = SCORE_VAT
    if not companies:
        companies = index.by_vat_local.get(vat_without_country(vat))
        score = SCORE_VAT_NO_COUNTRY
    if not companies:
        return []
    # Several companies with one VAT (branches): each gets a share so none is "strong".
    return [Signal(pid, score / len(companies), "vat") for pid in sorted(companies)]


def _name_signals(raw: str, index: PartnerIndex) -> list[Signal]:
    query = normalize_company(raw)
    hits = best_matches(query, index.names, 10, NAME_CUTOFF)
    best: dict[int, Signal] = {}
    for position, sim in hits:
        company = index.name_owner[position]
        exact = index.names[position] == query
        signal = Signal(
            company,
            SCORE_NAME if exact else SCORE_NAME * sim,
            "name_exact" if exact else "name_fuzzy",
        )
        if company not in best or signal.score > best[company].score:
            best[company] = signal
    return list(best.values())
