"""``intake status``, ``intake show`` and ``intake review list|show``: what happened, and why."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from intake.cli.common import emit_json, settings, short, table
from intake.errors import InputError
from intake.store import Store

review_app = typer.Typer(
    help="The review queue: messages waiting for a person.", no_args_is_help=True
)


def _store() -> Store:
    return Store.open(settings().store.url)


def _age(value: datetime | None) -> str:
    if value is None:
        return "-"
    seconds = int((datetime.now(UTC) - value).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _resolve(store: Store, ident: str) -> str:
    message_id = store.find_message(ident)
    if message_id is None:
        raise InputError(
            f"no message with id {ident!r}: intake status and intake review list show ids"
        )
    return message_id


def show_message(store: Store, message_id: str, as_json: bool) -> None:
    """Everything about one message: outcome, reasons, documents, extraction, draft, timings."""
    summary = store.summary(message_id)
    parsed_docs = store.load_parsed(store.load_message(message_id))
    extraction = store.load_extraction(message_id)
    assessment = store.load_assessment(message_id)
    quotation = store.quotation(message_id)
    timings = store.stage_timings(message_id)
    if as_json:
        emit_json(
            {
                "id": summary.id,
                "state": summary.state.value,
                "source_ref": summary.source_ref,
                "sender": summary.sender,
                "subject": summary.subject,
                "attempts": summary.attempts,
                "reasons": summary.reasons,
                "documents": [
                    {"id": d.id, "origin": d.origin.describe(), "media_type": d.media_type}
                    for d in parsed_docs.documents
                ],
                "problems": [p.model_dump(mode="json") for p in parsed_docs.problems],
                "classification": extraction[0].model_dump(mode="json") if extraction else None,
                "extraction": extraction[1].model_dump(mode="json") if extraction else None,
                "assessment": assessment.model_dump(mode="json") if assessment else None,
                "quotation": quotation.model_dump(mode="json") if quotation else None,
                "timings": [
                    {
                        "stage": t.stage,
                        "attempt": t.attempt,
                        "seconds": t.seconds,
                        "outcome": t.outcome,
                    }
                    for t in timings
                ],
            }
        )
        return
    print(f"message   {summary.id}")
    print(f"from      {summary.sender or '-'}   ({summary.source_ref})")
    print(f"subject   {summary.subject or '-'}")
    print(f"state     {summary.state.value}   attempts {summary.attempts}")
    for reason in summary.reasons:
        print(f"reason    {reason}")
    for doc in parsed_docs.documents:
        size = f"{doc.media_type}, {len(doc.text)} chars"
        print(f"document  {doc.id}: {doc.origin.describe()} ({size})")
    for problem in parsed_docs.problems:
        print(f"problem   {problem.code}: {problem.message}")
    if extraction:
        classification, order = extraction
        reasons = "; ".join(classification.reasons)
        print(f"class     {classification.label} ({classification.confidence:.2f}): {reasons}")
        print(f"extractor {order.extractor}")
        for name in (
            "customer_name",
            "po_number",
            "order_date",
            "requested_delivery_date",
            "currency",
            "total_amount",
        ):
            value = getattr(order, name)
            if value.value is not None:
                ev = value.evidence
                where = f"  [{ev.document_id} p{ev.page}: {ev.text!r}]" if ev else "  [no evidence]"
                print(f"  {name:24} {value.value}  ({value.confidence:.2f}){where}")
    if assessment:
        matched = assessment.matched
        if matched.customer:
            c = matched.customer
            print(f"customer  {c.name} (#{c.partner_id}, {c.method}, {c.score:.2f})")
        for i, line in enumerate(matched.lines):
            p = line.product
            product = (
                f"{p.default_code or ''} {p.name} ({p.method} {p.score:.2f})" if p else "NO MATCH"
            )
            asked = line.line.product_code.value or line.line.description.value
            print(f"  line {i + 1}: {line.line.quantity.value} x {asked} -> {product}")
        print(f"confidence {assessment.confidence:.2f}")
        for finding in assessment.findings:
            print(f"  {finding.severity.value:5} {finding.code}: {finding.message}")
    if quotation:
        q = quotation
        print(
            f"draft     quotation for {q.partner_name}, ref {q.client_order_ref}, "
            f"{len(q.lines)} line(s), key {q.idempotency_key}"
        )
        for ql in q.lines:
            qty, code, price = ql.quantity or "", ql.default_code or "", ql.price_unit or ""
            print(f"  {qty:>6} {code:10} {ql.name}  {price}")
    if timings:
        print("timings   " + ", ".join(f"{t.stage} {t.seconds * 1000:.0f} ms" for t in timings))


def register(app: typer.Typer) -> None:
    """Add status and show to the app."""

    @app.command("status")
    def status_cmd(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
        """Counts per state, the oldest waiting item, and the last successful poll per source.

        Example: intake status --json
        """
        store = _store()
        counts = store.state_counts()
        oldest = store.oldest_waiting()
        polls = store.source_polls()
        if as_json:
            emit_json(
                {
                    "states": {c.state.value: c.count for c in counts},
                    "oldest_waiting": None
                    if oldest is None
                    else {
                        "id": oldest.id,
                        "state": oldest.state.value,
                        "source_ref": oldest.source_ref,
                    },
                    "sources": [
                        {
                            "source": p.source,
                            "last_poll_at": p.last_poll_at,
                            "last_success_at": p.last_success_at,
                            "last_error": p.last_error,
                        }
                        for p in polls
                    ],
                }
            )
            return
        print(
            table(
                ["state", "messages", "oldest"],
                [[c.state.value, str(c.count), _age(c.oldest_received_at)] for c in counts],
            )
        )
        if oldest is not None:
            print(f"\noldest waiting: {oldest.id} ({oldest.state.value}, {oldest.source_ref})")
        if polls:
            print()
            print(
                table(
                    ["source", "last poll", "last success", "error"],
                    [
                        [
                            p.source,
                            _age(p.last_poll_at),
                            _age(p.last_success_at),
                            short(p.last_error, 60),
                        ]
                        for p in polls
                    ],
                )
            )

    @app.command("show")
    def show_cmd(
        message_id: str = typer.Argument(..., help="message id (or a unique prefix)"),
        as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
    ) -> None:
        """Everything intake knows about one message.

        Example: intake show 01kx3v2c8m9q
        """
        store = _store()
        show_message(store, _resolve(store, message_id), as_json)


@review_app.command("list")
def review_list(
    all_items: bool = typer.Option(False, "--all", help="Include resolved items."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Messages waiting for a person, oldest first, with the first reason.

    Example: intake review list --json
    """
    items = _store().review_items(status=None if all_items else "open")
    if as_json:
        emit_json(
            [
                {
                    "message_id": i.message_id,
                    "status": i.status,
                    "sender": i.sender,
                    "subject": i.subject,
                    "source_ref": i.source_ref,
                    "reasons": i.reasons,
                    "created_at": i.created_at,
                }
                for i in items
            ]
        )
        return
    if not items:
        print("the review queue is empty")
        return
    print(
        table(
            ["message", "age", "source", "sender", "reason"],
            [
                [
                    i.message_id,
                    _age(i.created_at),
                    short(i.source_ref, 32),
                    short(i.sender, 30),
                    short(i.reasons[0] if i.reasons else "", 90),
                ]
                for i in items
            ],
        )
    )


@review_app.command("show")
def review_show(
    message_id: str = typer.Argument(..., help="message id (or a unique prefix)"),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """One review item with everything needed to decide on it.

    Example: intake review show 01kx3v2c8m9q
    """
    store = _store()
    show_message(store, _resolve(store, message_id), as_json)
