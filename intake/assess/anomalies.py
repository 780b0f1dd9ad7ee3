"""Checks against what intake knows besides the order: the sender, the catalog, the history.

An order can be read perfectly and still be wrong to quote: sent from a stranger's address or
with a failed DMARC check, in a currency the customer is not priced in, for a date the
warehouse cannot make, to an address never used, with a PO number already quoted, or for ten
times the usual quantity. Each check here needs the :class:`~intake.assess.history.AssessContext`
(catalog, the customer's earlier orders) and is skipped when the part it needs is missing.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from intake.assess.grounding import show
from intake.assess.history import AssessContext, CustomerHistory, robust_outlier
from intake.catalog import Catalog, CatalogPartner
from intake.config import Thresholds
from intake.match.address import match_ship_to
from intake.match.learned import LearnedMappings
from intake.match.text import email_domain, normalize_text, parse_email
from intake.models import Finding, MatchedOrder, Message, ParsedMessage, Severity


def check_anomalies(
    matched: MatchedOrder, parsed: ParsedMessage, context: AssessContext, thresholds: Thresholds
) -> list[Finding]:
    """Every context check that applies to ``matched``; see the module docstring."""
    findings = check_authentication(parsed.message)
    catalog, history = context.catalog, context.history
    if catalog is not None:
        findings += check_sender(matched, parsed.message, catalog)
        findings += check_currency(matched, catalog)
        findings += check_lead_time(matched, parsed, catalog, thresholds)
        findings += check_ship_to(matched, catalog, history, context.learned)
    if history is not None and matched.customer is not None:
        findings += check_duplicate_po(matched, history)
        findings += check_history(matched, history, thresholds)
    return findings


# --------------------------------------------------------------------------- sender


def check_authentication(message: Message) -> list[Finding]:
    """A DMARC failure recorded by the receiving mail server blocks the draft.

    A failed DMARC check means the From address was not authorised by its domain: the most
    common sign of a spoofed order. Nobody forges a *failure*, so the verdict counts even from
    the topmost header when no trusted server is configured.
    """
    auth = message.authentication
    if auth is None or (auth.dmarc or "").lower() != "fail":
        return []
    server = auth.authserv_id or "the receiving server"
    return [
        Finding(
            code="sender_dmarc_fail",
            severity=Severity.BLOCK,
            message=f"DMARC failed for the sender {message.sender or '(unknown)'} according to "
            f"{server} (SPF {auth.spf or 'none'}, DKIM {auth.dkim or 'none'}): the From address "
            "may be forged; confirm the order with the customer by phone or a known address "
            "before quoting it.",
            field="customer_email",
        )
    ]


def check_sender(matched: MatchedOrder, message: Message, catalog: Catalog) -> list[Finding]:
    """The sender's domain must be one of the customer's known e-mail domains.

    Skipped for files without a sender, an unmatched customer, or a customer with no e-mail
    address in the catalog (nothing to compare with).
    """
    customer = matched.customer
    sender = parse_email(message.sender)
    if customer is None or sender is None:
        return []
    domains = customer_domains(catalog, customer.partner_id)
    if not domains or email_domain(sender) in domains:
        return []
    known = ", ".join(sorted(domains))
    return [
        Finding(
            code="sender_not_customer",
            severity=Severity.WARN,
            message=f"The sender {sender} does not belong to {customer.name}, whose known "
            f"e-mail domains are {known}; check that the order really comes from the customer "
            "(a forward or a new address: add the contact to the customer in Odoo).",
            field="customer_email",
        )
    ]


def customer_domains(catalog: Catalog, partner_id: int) -> set[str]:
    """The e-mail domains of a customer: its own address and those of all its contacts."""
    partner = catalog.partner(partner_id)
    if partner is None:
        return set()
    company = catalog.commercial_partner(partner).id
    domains: set[str] = set()
    for p in catalog.partners:
        if p.id == company or _commercial_id(catalog, p) == company:
            address = parse_email(p.email)
            if address is not None:
                domains.add(email_domain(address))
    return domains


def _commercial_id(catalog: Catalog, partner: CatalogPartner) -> int:
    return catalog.commercial_partner(partner).id


# --------------------------------------------------------------------------- currency


def check_currency(matched: MatchedOrder, catalog: Catalog) -> list[Finding]:
    """The order's currency must be the customer's pricelist currency (else the company's)."""
    customer = matched.customer
    written = (matched.order.currency.value or "").strip().upper()
    if customer is None or len(written) != 3 or not written.isalpha():
        return []
    expected, source = pricelist_currency(catalog, customer.partner_id)
    if written == expected:
        return []
    return [
        Finding(
            code="currency_mismatch",
            severity=Severity.WARN,
            message=f"The order is in {written}, but {customer.name} is priced in {expected} "
            f"({source}); confirm the currency with the customer, or give the quotation a "
            f"pricelist in {written}.",
            field="currency",
        )
    ]


def pricelist_currency(catalog: Catalog, partner_id: int) -> tuple[str, str]:
    """The currency the customer is priced in, and where that comes from (for the message)."""
    partner = catalog.partner(partner_id)
    candidates = [] if partner is None else [partner, catalog.commercial_partner(partner)]
    for p in candidates:
        if p.pricelist_id is None:
            continue
        pricelist = next((pl for pl in catalog.pricelists if pl.id == p.pricelist_id), None)
        if pricelist is not None and pricelist.currency:
            return pricelist.currency.upper(), f"pricelist '{pricelist.name}'"
    return catalog.currency.upper(), "the company currency; the customer has no pricelist"


# --------------------------------------------------------------------------- delivery date


def check_lead_time(
    matched: MatchedOrder, parsed: ParsedMessage, catalog: Catalog, thresholds: Thresholds
) -> list[Finding]:
    """The requested date must leave the lead time of the slowest product on the order.

    The lead time is the product's ``sale_delay`` in the catalog (Odoo's customer lead
    time), else ``thresholds.default_lead_time_days``; it counts from the order date, or from
    the day the message was sent. A date before that day is ``delivery_date_past`` instead.
    """
    order = matched.order
    delivery = order.requested_delivery_date.value
    if delivery is None:
        return []
    reference, what = reference_date(matched, parsed)
    days = (delivery - reference).days
    if days < 0:
        return []
    lead, product = Decimal(thresholds.default_lead_time_days), None
    for ml in matched.lines:
        if ml.product is None:
            continue
        item = next((p for p in catalog.products if p.id == ml.product.product_id), None)
        if item is not None and item.sale_delay is not None and item.sale_delay > lead:
            lead, product = Decimal(str(item.sale_delay)), item
    if days >= lead:
        return []
    if product is not None:
        code = f"[{product.default_code}] " if product.default_code else ""
        source = f"the lead time of {code}{product.name} ({_days(lead)})"
    else:
        source = f"the default lead time of {_days(lead)} (thresholds.default_lead_time_days)"
    return [
        Finding(
            code="delivery_inside_lead_time",
            severity=Severity.WARN,
            message=f"The requested delivery date {delivery.isoformat()} is {_days(days)} after "
            f"the {what} {reference.isoformat()}, inside {source}; confirm with the customer "
            "that a later date is acceptable, or that the goods are in stock.",
            field="requested_delivery_date",
        )
    ]


def reference_date(matched: MatchedOrder, parsed: ParsedMessage) -> tuple[date, str]:
    """The day a delivery date is judged from: the order date, else the day it was sent."""
    order_date = matched.order.order_date.value
    if order_date is not None:
        return order_date, "order date"
    return parsed.message.received_at.date(), "date the message was received"


def _days(n: Decimal | int) -> str:
    value = f"{Decimal(n).normalize():f}"
    return f"{value} day" if value == "1" else f"{value} days"


# --------------------------------------------------------------------------- ship-to


def check_ship_to(
    matched: MatchedOrder,
    catalog: Catalog,
    history: CustomerHistory | None,
    learned: LearnedMappings | None = None,
) -> list[Finding]:
    """A ship-to address the customer never used is a warning before goods go astray.

    Known addresses are the customer's delivery contacts and its own address in the catalog,
    ship-to texts a reviewer mapped to one of them, and the ship-to texts of its earlier
    orders. A ship-to that names no address at all (only a name such as "Warehouse", no
    number) cannot be judged and is left alone.
    """
    customer = matched.customer
    text = matched.order.ship_to.value
    if customer is None or not text or not any(c.isdigit() for c in text):
        return []
    found = match_ship_to(text, customer.partner_id, catalog, learned)
    if found is None or found.partner_id is not None:
        return []
    key = normalize_text(text)
    if history is not None and any(
        o.ship_to and normalize_text(o.ship_to) == key for o in history.orders
    ):
        return []
    return [
        Finding(
            code="ship_to_new_address",
            severity=Severity.WARN,
            message=f"The ship-to address '{show(' '.join(text.split()))}' is none of "
            f"{customer.name}'s known addresses; check it with the customer, and add it as a "
            "delivery address in Odoo if it is right.",
            field="ship_to",
        )
    ]


# --------------------------------------------------------------------------- history


def check_duplicate_po(matched: MatchedOrder, history: CustomerHistory) -> list[Finding]:
    """A PO number the customer already sent, and that was quoted, blocks a second draft."""
    po = (matched.order.po_number.value or "").strip()
    customer = matched.customer
    if not po or customer is None:
        return []
    earlier = history.with_po_number(po)
    if earlier is None:
        return []
    when = f" on {earlier.ordered_on.isoformat()}" if earlier.ordered_on else ""
    return [
        Finding(
            code="duplicate_po",
            severity=Severity.BLOCK,
            message=f"PO {po} of {customer.name} was already quoted{when} "
            f"({earlier.source}); check whether this is a resend, which needs no second "
            "quotation, or a changed order, which should update the first one.",
            field="po_number",
        )
    ]


def check_history(
    matched: MatchedOrder, history: CustomerHistory, thresholds: Thresholds
) -> list[Finding]:
    """Per line: a product this customer never ordered (info), or a far unusual quantity."""
    findings: list[Finding] = []
    customer = matched.customer
    name = customer.name if customer is not None else "the customer"
    for i, ml in enumerate(matched.lines):
        product, quantity = ml.product, ml.line.quantity.value
        if product is None:
            continue
        label = f"[{product.default_code}] {product.name}" if product.default_code else product.name
        ordered = history.orders_with(product.product_id)
        if ordered == 0:
            where = " and ".join(history.consulted)
            seen = (
                f"none of its {len(history.orders)} earlier order(s) in {where} holds it"
                if history.orders
                else f"{where} {'has' if len(history.consulted) == 1 else 'have'} no earlier "
                "order of this customer"
            )
            findings.append(
                Finding(
                    code="product_first_order",
                    severity=Severity.INFO,
                    message=f"Line {i + 1}: the first order of {label} by {name} ({seen}); "
                    "check that the product is the one the customer means.",
                    field=f"lines[{i}].product_code"
                    if ml.line.product_code.value
                    else f"lines[{i}].description",
                )
            )
            continue
        if quantity is None or ordered < thresholds.quantity_history_min:
            continue
        past = history.quantities(product.product_id, product.uom)
        outlier = robust_outlier(
            quantity, past, thresholds.quantity_outlier_z, thresholds.quantity_outlier_ratio
        )
        if outlier is None:
            continue
        times = (
            f"{outlier.ratio:.1f}× the usual"
            if outlier.ratio >= 1
            else f"1/{1 / outlier.ratio:.1f} of the usual"
        )
        z = f", robust z-score {outlier.z:.1f}" if outlier.z is not None else ""
        findings.append(
            Finding(
                code="quantity_unusual",
                severity=Severity.WARN,
                message=f"Line {i + 1} quantity {quantity} {product.uom} of {label} is {times} "
                f"for {name} (median {outlier.median.normalize():f} over {len(past)} earlier "
                f"line(s){z}); check the quantity with the customer — a misread or an extra "
                "zero is likely.",
                field=f"lines[{i}].quantity",
            )
        )
    return findings
