"""The Odoo outbox: send stored draft quotations to Odoo exactly once, whenever Odoo is there.

With Odoo configured, deciding a message stores its quotation as *pending* (one transaction
with the decision, see :meth:`intake.store.Store.finish`); this module sends pending
quotations afterwards — after each message and on every loop of ``intake run`` — so Odoo being
down never loses or blocks anything: the quotation stays pending and goes out on a later loop.

Exactly once: before creating, the order is looked up by intake's idempotency key, which is
written to ``sale.order.origin`` ("Source Document": searchable, shown to people, and where
Odoo's own imports put the source). A create whose answer was lost (timeout) is therefore
found on the retry instead of being made twice. Every later step — attachments, the chatter
note, the activity, the customer's prices — first checks whether it is already done, so a retry
after any partial failure completes the quotation without doubling anything.

Duplicate PO: when the same commercial partner already has an order with this
``client_order_ref`` in any state but cancelled, no second draft is made; the quotation is
recorded as ``duplicate`` with the finding and the message goes to the review queue.
"""

from __future__ import annotations

import base64
import html
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from intake.catalog import Catalog
from intake.config import Settings
from intake.match.address import match_ship_to
from intake.models import Finding, Message, Severity
from intake.odoo.client import OdooClient
from intake.odoo.errors import (
    OdooAccessError,
    OdooAuthError,
    OdooError,
    OdooRequestError,
    OdooUnavailable,
)
from intake.odoo.payload import (
    ACTIVITY_SUMMARY,
    KEY_LABEL,
    attachment_files,
    chatter_html,
    order_values,
    price_checks,
    price_findings,
    ship_to_findings,
    warnings_in,
)
from intake.store import OutboxItem, Store

log = logging.getLogger(__name__)

MAX_REQUEST_ATTEMPTS = 3
"""A quotation Odoo refuses this many times (bad data, not downtime) goes to review."""

NO_ARCHIVED = {"active_test": False}


@dataclass
class OutboxReport:
    """What one pass of the outbox did, by quotation status."""

    created: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    pending: int = 0
    error: str | None = None


def send_pending(
    store: Store, client: OdooClient, settings: Settings, catalog: Catalog
) -> OutboxReport:
    """Send every pending quotation; stop early (keeping the rest pending) if Odoo is down.

    Never raises for Odoo's sake: the report's ``error`` says why sending stopped.
    """
    report = OutboxReport()
    items = store.pending_quotations()
    for position, item in enumerate(items):
        try:
            status, name = send_one(store, client, settings, catalog, item)
        except (OdooUnavailable, OdooAuthError, OdooAccessError) as exc:
            # Not this quotation's fault: keep it (and the rest) pending, try again later.
            store.quotation_attempt_failed(item.id, str(exc), give_up=False)
            log.error("Odoo outbox stopped, %d quotation(s) stay pending: %s", len(items), exc)
            report.error = str(exc)
            report.pending = len(items) - position
            return report
        except OdooRequestError as exc:
            give_up = item.attempts + 1 >= MAX_REQUEST_ATTEMPTS
            store.quotation_attempt_failed(item.id, str(exc), give_up=give_up)
            log.error("quotation %s for message %s: %s", item.idempotency_key, item.message_id, exc)
            if give_up:
                report.failed.append(item.message_id)
            else:
                report.pending += 1
            continue
        {"created": report.created, "found": report.found, "duplicate": report.duplicates}[
            status
        ].append(name)
    return report


def send_one(
    store: Store, client: OdooClient, settings: Settings, catalog: Catalog, item: OutboxItem
) -> tuple[str, str]:
    """Create (or find) the draft of one quotation and complete it; returns (status, name)."""
    draft = item.draft
    message = store.load_message(item.message_id)
    assessment = store.load_assessment(item.message_id)
    ship_to = match_ship_to(
        assessment.matched.order.ship_to.value if assessment else None,
        _commercial(catalog, draft.partner_id),
        catalog,
        store.learned_mappings(),
    )
    existing = client.execute(
        "sale.order",
        "search_read",
        [("origin", "=", draft.idempotency_key)],
        fields=["name", "state"],
        order="id",
        limit=1,
        context=NO_ARCHIVED,
    )
    status = "found"
    if existing:
        order_id, name = int(existing[0]["id"]), str(existing[0]["name"])
    else:
        duplicate = _duplicate_po(client, catalog, draft.partner_id, draft.client_order_ref)
        if duplicate is not None:
            finding = Finding(
                code="duplicate_po",
                severity=Severity.BLOCK,
                field="po_number",
                message=(
                    f"PO {draft.client_order_ref} of {draft.partner_name} is already in Odoo "
                    f"as {duplicate['name']} ({duplicate['state']}): no second draft was made; "
                    "check whether this is a resend or a changed order"
                ),
            )
            store.quotation_duplicate(
                item.id, int(duplicate["id"]), str(duplicate["name"]), finding.model_dump()
            )
            log.warning("message %s: %s", item.message_id, finding.message)
            return "duplicate", str(duplicate["name"])
        values = order_values(draft, catalog, client.version, ship_to)
        order_id = int(client.execute("sale.order", "create", values))
        status = "created"
    order = client.execute(
        "sale.order", "read", [order_id], fields=["name", "user_id", "create_date"]
    )[0]
    name = str(order["name"])
    findings = _prices(client, settings, item, order_id)
    raised = {f.code for f in assessment.findings} if assessment is not None else set()
    findings += [f for f in ship_to_findings(ship_to) if f.code not in raised]  # said once
    if assessment is not None:
        findings = [f for f in assessment.findings if f.severity is not Severity.INFO] + findings
    attachment_ids = _attach(client, order_id, message)
    _note(client, order_id, message, item, assessment, findings, attachment_ids)
    if warnings_in(findings):
        _activity(client, order_id, order, findings)
    store.quotation_sent(item.id, order_id, name, status, [f.model_dump() for f in findings])
    log.info("message %s: quotation %s %s in Odoo (id %d)", item.message_id, name, status, order_id)
    return status, name


def _commercial(catalog: Catalog, partner_id: int) -> int:
    partner = catalog.partner(partner_id)
    return catalog.commercial_partner(partner).id if partner is not None else partner_id


def _duplicate_po(
    client: OdooClient, catalog: Catalog, partner_id: int, client_order_ref: str | None
) -> dict[str, Any] | None:
    """An order of the same commercial partner with the same PO number, not cancelled."""
    if not client_order_ref:
        return None
    rows = client.execute(
        "sale.order",
        "search_read",
        [
            ("partner_id", "child_of", _commercial(catalog, partner_id)),
            ("client_order_ref", "=", client_order_ref),
            ("state", "!=", "cancel"),
        ],
        fields=["name", "state"],
        order="id",
        limit=1,
    )
    return dict(rows[0]) if rows else None


def _prices(
    client: OdooClient, settings: Settings, item: OutboxItem, order_id: int
) -> list[Finding]:
    """Compare the customer's prices with Odoo's; keep the one ``odoo.price_source`` names."""
    draft = item.draft
    lines = client.execute(
        "sale.order.line",
        "search_read",
        [("order_id", "=", order_id)],
        fields=["price_unit", "display_type", "product_id"],
        order="sequence, id",
    )
    if len(lines) != len(draft.lines):
        return [
            Finding(
                code="odoo_lines_changed",
                severity=Severity.WARN,
                message=(
                    f"the draft in Odoo has {len(lines)} lines, intake made {len(draft.lines)}: "
                    "prices were not compared"
                ),
            )
        ]
    odoo_prices: list[Decimal | None] = [
        None if line["display_type"] else Decimal(str(line["price_unit"])) for line in lines
    ]
    checks = price_checks(draft, odoo_prices, settings.odoo.price_source, client.version)
    for check in checks:
        if check.kept != check.odoo:
            client.execute(
                "sale.order.line",
                "write",
                [lines[check.index]["id"]],
                {"price_unit": float(check.odoo_line_price)},
            )
    return price_findings(draft, checks, settings.thresholds.price_deviation_warn)


def _attach(client: OdooClient, order_id: int, message: Message) -> list[int]:
    """Attach the original message and its attachments, skipping names already attached."""
    existing = {
        str(row["name"]): int(row["id"])
        for row in client.execute(
            "ir.attachment",
            "search_read",
            [("res_model", "=", "sale.order"), ("res_id", "=", order_id)],
            fields=["name"],
            order="id",
        )
    }
    ids = []
    for name, data, mimetype in attachment_files(message):
        if name in existing:
            ids.append(existing[name])
            continue
        ids.append(
            int(
                client.execute(
                    "ir.attachment",
                    "create",
                    {
                        "name": name,
                        "datas": base64.b64encode(data).decode("ascii"),
                        "mimetype": mimetype,
                        "res_model": "sale.order",
                        "res_id": order_id,
                    },
                )
            )
        )
    return ids


def _note(
    client: OdooClient,
    order_id: int,
    message: Message,
    item: OutboxItem,
    assessment: Any,
    findings: list[Finding],
    attachment_ids: list[int],
) -> None:
    """Post the summary note once (a retry recognises it by the key it carries)."""
    key = item.draft.idempotency_key
    posted = client.execute(
        "mail.message",
        "search_count",
        [
            ("model", "=", "sale.order"),
            ("res_id", "=", order_id),
            ("body", "ilike", f"{KEY_LABEL}: {key}"),
        ],
    )
    if posted:
        return
    client.execute(
        "sale.order",
        "message_post",
        [order_id],
        body=chatter_html(message, item.draft, assessment, findings),
        message_type="comment",
        subtype_xmlid="mail.mt_note",
        attachment_ids=attachment_ids,
        **client.version.message_post_kwargs(),
    )


def _activity(
    client: OdooClient, order_id: int, order: dict[str, Any], findings: list[Finding]
) -> None:
    """Schedule one to-do for the salesperson when something needs a look."""
    exists = client.execute(
        "mail.activity",
        "search_count",
        [
            ("res_model", "=", "sale.order"),
            ("res_id", "=", order_id),
            ("summary", "=", ACTIVITY_SUMMARY),
        ],
    )
    if exists:
        return
    todo = client.execute(
        "ir.model.data",
        "search_read",
        [("module", "=", "mail"), ("name", "=", "mail_activity_data_todo")],
        fields=["res_id"],
        limit=1,
    )
    model = client.execute("ir.model", "search", [("model", "=", "sale.order")], limit=1)
    user = order.get("user_id")
    values: dict[str, Any] = {
        "res_model_id": model[0],
        "res_id": order_id,
        "summary": ACTIVITY_SUMMARY,
        "note": "<ul>"
        + "".join(f"<li>{html.escape(f.message)}</li>" for f in warnings_in(findings))
        + "</ul>",
        "date_deadline": str(order["create_date"])[:10],
        "user_id": user[0] if isinstance(user, list) and user else client.uid,
    }
    if todo:
        values["activity_type_id"] = todo[0]["res_id"]
    client.execute("mail.activity", "create", values)


def flush(store: Store, client: OdooClient | None, settings: Settings, catalog: Catalog) -> None:
    """Send what is pending, logging (never raising) when Odoo is not there."""
    if client is None:
        return
    try:
        report = send_pending(store, client, settings, catalog)
    except OdooError as exc:  # pragma: no cover - send_pending keeps Odoo errors inside
        log.error("Odoo outbox: %s", exc)
        return
    if report.created or report.duplicates or report.failed:
        log.info(
            "Odoo outbox: %d created, %d found, %d duplicate PO, %d failed, %d pending",
            len(report.created),
            len(report.found),
            len(report.duplicates),
            len(report.failed),
            report.pending,
        )
