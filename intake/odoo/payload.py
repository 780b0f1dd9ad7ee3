"""What intake writes into Odoo for one quotation, built without any I/O.

Pure functions from intake's models to the values Odoo receives: the ``sale.order`` values with
its lines, the files to attach (the original message and every attachment in it), the price
comparison between the customer's prices and the ones Odoo computed, and the chatter note that
sums up what was checked. Keeping them pure makes the exact payload testable from bytes, and
keeps :mod:`intake.odoo.outbox` to the order of calls.
"""

from __future__ import annotations

import email
import email.policy
import html
from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from intake.catalog import Catalog
from intake.match.address import ShipToMatch
from intake.models import (
    Assessment,
    Finding,
    Message,
    QuotationDraft,
    QuotationLine,
    Severity,
)
from intake.odoo.versions import OdooVersion

KEY_LABEL = "intake key"
"""Printed with the key in the chatter note, which is how a retried note is recognised."""

ACTIVITY_SUMMARY = "intake: check this quotation"


def commitment_datetime(draft: QuotationDraft) -> str | None:
    """The requested delivery date as Odoo's datetime, at noon UTC so every zone shows the day."""
    if draft.commitment_date is None:
        return None
    return f"{draft.commitment_date.isoformat()} 12:00:00"


def uom_id_for(name: str | None, catalog: Catalog) -> int | None:
    """The Odoo id of a unit named ``name`` (case-insensitive), if the catalog has it."""
    if not name:
        return None
    wanted = name.strip().casefold()
    return next((u.id for u in catalog.uoms if u.name.casefold() == wanted), None)


def order_values(
    draft: QuotationDraft,
    catalog: Catalog,
    version: OdooVersion,
    ship_to: ShipToMatch | None = None,
) -> dict[str, Any]:
    """The values of ``sale.order.create`` for a draft quotation.

    Prices are left out on purpose: Odoo computes them from the customer's pricelist, and the
    outbox compares them with the customer's afterwards. A line without a product becomes a
    note line carrying the customer's text, so nothing asked for is dropped.
    """
    lines: list[Any] = []
    uom_field = version.line_uom_field
    for line in draft.lines:
        if line.product_id is None:
            lines.append((0, 0, {"display_type": "line_note", "name": line.name}))
            continue
        values: dict[str, Any] = {"product_id": line.product_id}
        if line.quantity is not None:
            values["product_uom_qty"] = float(line.quantity)
        uom = uom_id_for(line.uom, catalog)
        if uom is not None:
            values[uom_field] = uom
        if line.packaging_id is not None and version.packaging_model is not None:
            values["product_packaging_id"] = line.packaging_id
            if line.packages is not None:
                values["product_packaging_qty"] = float(line.packages)
        elif line.packaging_id is not None and version.packaging_uom_field is not None:
            # 19: the packaging is the line's unit and the quantity counts packages.
            values[uom_field] = line.packaging_id
            if line.packages is not None:
                values["product_uom_qty"] = float(line.packages)
        lines.append((0, 0, values))
    values = {
        "partner_id": draft.partner_id,
        "client_order_ref": draft.client_order_ref or False,
        "origin": draft.idempotency_key,
        "order_line": lines,
    }
    partner = catalog.partner(draft.partner_id)
    if partner is not None and partner.pricelist_id is not None:
        values["pricelist_id"] = partner.pricelist_id
    if ship_to is not None and ship_to.partner_id is not None:
        values["partner_shipping_id"] = ship_to.partner_id
    commitment = commitment_datetime(draft)
    if commitment is not None:
        values["commitment_date"] = commitment
    return values


def units_per_odoo_unit(line: QuotationLine, version: OdooVersion | None) -> Decimal:
    """How many of the draft line's units one unit of the Odoo line is (1 but for 19 boxes).

    A line ordered by packaging counts units in intake (36 chairs at 33.00); on Odoo 19 it
    goes over in packages (3 "Box of 12"), which Odoo prices per package (396.00).
    """
    if (
        version is None
        or version.packaging_uom_field is None
        or line.packaging_id is None
        or not line.packages
        or not line.quantity
    ):
        return Decimal(1)
    return line.quantity / line.packages


@dataclass(frozen=True)
class PriceCheck:
    """One product line's prices: the customer's, Odoo's, and the one the draft keeps.

    All three per unit of the draft line; Odoo's line holds ``per`` of those units, so its
    ``price_unit`` is ``odoo * per`` and a kept price is written as ``kept * per``.
    """

    index: int
    customer: Decimal | None
    odoo: Decimal
    kept: Decimal
    per: Decimal = Decimal(1)

    @property
    def odoo_line_price(self) -> Decimal:
        """The kept price as the Odoo line's ``price_unit`` (per package on a 19 box line)."""
        if self.per == 1:
            return self.kept
        return (self.kept * self.per).quantize(Decimal("0.0001"))

    @property
    def deviation(self) -> Decimal | None:
        """Relative difference of the customer's price from Odoo's (None without one)."""
        if self.customer is None:
            return None
        if self.odoo == 0:
            return Decimal(0) if self.customer == 0 else Decimal(1)
        return abs(self.customer - self.odoo) / self.odoo


def price_checks(
    draft: QuotationDraft,
    odoo_prices: list[Decimal | None],
    price_source: str,
    version: OdooVersion | None = None,
) -> list[PriceCheck]:
    """Compare each product line's customer price with the price Odoo computed for it.

    ``odoo_prices`` has one entry per draft line, in order (None for note lines), each the
    Odoo line's ``price_unit``; both sides are compared per unit of the draft line.
    """
    checks = []
    for index, (line, odoo_price) in enumerate(zip(draft.lines, odoo_prices, strict=True)):
        if line.product_id is None or odoo_price is None:
            continue
        per = units_per_odoo_unit(line, version)
        odoo = odoo_price if per == 1 else (odoo_price / per).quantize(Decimal("0.0001"))
        customer = line.price_unit
        kept = customer if price_source == "customer" and customer is not None else odoo
        checks.append(PriceCheck(index, customer, odoo, kept, per))
    return checks


def price_findings(
    draft: QuotationDraft, checks: list[PriceCheck], tolerance: Decimal
) -> list[Finding]:
    """A warning for each line whose customer price differs from Odoo's by more than tolerance."""
    findings = []
    for check in checks:
        deviation = check.deviation
        if deviation is None or deviation <= tolerance:
            continue
        line = draft.lines[check.index]
        findings.append(
            Finding(
                code="price_deviation_odoo",
                severity=Severity.WARN,
                field=f"lines[{check.index}].unit_price",
                message=(
                    f"{line.default_code or line.name}: the customer's price {check.customer} "
                    f"differs from Odoo's {check.odoo} by {deviation:.1%}; the draft keeps "
                    f"{check.kept}"
                ),
            )
        )
    return findings


def ship_to_findings(ship_to: ShipToMatch | None) -> list[Finding]:
    """A warning when the order ships to an address the customer has no delivery contact for."""
    if ship_to is None or ship_to.partner_id is not None:
        return []
    text = " ".join(ship_to.text.split())
    return [
        Finding(
            code="ship_to_new_address",
            severity=Severity.WARN,
            field="ship_to",
            message=(
                f"ship-to address matches no delivery address of the customer: {text!r}; the "
                "draft uses the customer's default address — add a delivery contact if needed"
            ),
        )
    ]


def attachment_files(message: Message) -> list[tuple[str, bytes, str]]:
    """The files to attach: the original message, then every attachment inside an email.

    Names are made unique, so a retry can tell by name which files are already attached.
    """
    if message.kind == "file":
        name = message.filename or PurePath(message.source_ref).name or "original"
        return [(name, message.raw, "application/octet-stream")]
    original = PurePath(message.source_ref).name
    if not original.lower().endswith(".eml"):
        original = f"{message.id}.eml"
    files = [(original, message.raw, "message/rfc822")]
    parsed = email.message_from_bytes(message.raw, policy=email.policy.default)
    seen = {original}
    for part in parsed.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        if not filename:
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        name = filename
        counter = 2
        while name in seen:
            stem, dot, ext = filename.rpartition(".")
            name = f"{stem} ({counter}).{ext}" if dot else f"{filename} ({counter})"
            counter += 1
        seen.add(name)
        files.append((name, payload, part.get_content_type()))
    return files


def _esc(value: object) -> str:
    return html.escape(str(value), quote=False)


def chatter_html(
    message: Message,
    draft: QuotationDraft,
    assessment: Assessment | None,
    findings: list[Finding],
) -> str:
    """The chatter note: source, confidence, findings and, per line, what was read and matched."""
    ref = PurePath(message.source_ref).name or message.source_ref
    parts = [f"<p><b>Created by intake</b> from {_esc(message.source)}: {_esc(ref)}"]
    if message.sender:
        parts.append(f" sent by {_esc(message.sender)}")
    if message.subject:
        parts.append(f", subject “{_esc(message.subject)}”")
    if message.message_id:
        parts.append(f" (Message-ID {_esc(message.message_id)})")
    parts.append("</p>")
    if assessment is not None:
        matched = assessment.matched
        parts.append(
            f"<p>Extractor: {_esc(matched.order.extractor)}; overall confidence "
            f"{assessment.confidence:.2f}"
        )
        if matched.customer is not None:
            parts.append(
                f"; customer {_esc(matched.customer.name)} by {_esc(matched.customer.method)} "
                f"({matched.customer.score:.2f})"
            )
        parts.append("</p>")
    if findings:
        parts.append("<p>Findings:</p><ul>")
        parts += [
            f"<li>{_esc(f.severity.value)}: {_esc(f.message)} [{_esc(f.code)}]</li>"
            for f in findings
        ]
        parts.append("</ul>")
    else:
        parts.append("<p>No findings: every check passed.</p>")
    parts.append("<p>Lines:</p><ol>")
    matched_lines = assessment.matched.lines if assessment is not None else ()
    for index, line in enumerate(draft.lines):
        source = matched_lines[index] if index < len(matched_lines) else None
        evidence = []
        if source is not None:
            for label, value in (
                ("code", source.line.product_code),
                ("description", source.line.description),
                ("quantity", source.line.quantity),
                ("unit", source.line.uom),
                ("price", source.line.unit_price),
            ):
                if value.value is None:
                    continue
                where = ""
                if value.evidence is not None:
                    found = value.evidence
                    page = f" p.{found.page}" if found.page else ""
                    where = f" from {_esc(found.document_id)}{page} “{_esc(found.text)}”"
                evidence.append(f"{label} {_esc(value.value)} ({value.confidence:.2f}){where}")
        if line.product_id is None:
            head = f"<b>not matched</b>, kept as a note: {_esc(line.name)}"
        else:
            product = source.product if source is not None else None
            how = f" by {_esc(product.method)} ({product.score:.2f})" if product else ""
            head = f"{_esc(line.default_code or '')} {_esc(line.name)}{how}".strip()
            if product is not None and product.alternatives:
                alts = ", ".join(f"{_esc(a.name)} ({a.score:.2f})" for a in product.alternatives)
                head += f"; alternatives: {alts}"
        parts.append(f"<li>{head}" + ("<br/>" + "; ".join(evidence) if evidence else "") + "</li>")
    parts.append("</ol>")
    parts.append(f"<p>{KEY_LABEL}: {_esc(draft.idempotency_key)}</p>")
    return "".join(parts)


def warnings_in(findings: list[Finding]) -> list[Finding]:
    """The findings a salesperson must look at (warn and block)."""
    return [f for f in findings if f.severity is not Severity.INFO]
