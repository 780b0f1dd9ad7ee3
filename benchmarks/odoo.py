"""Odoo: seconds per quotation created and catalog sync time, each as a ratio to a baseline.

Needs a live Odoo (the one the cassettes were recorded from will do) named by the same
variables as the live test lane:

    INTAKE_TEST_ODOO_URL=http://127.0.0.1:8069 INTAKE_TEST_ODOO_DB=intake_demo \\
    INTAKE_TEST_ODOO_USER=admin INTAKE_TEST_ODOO_KEY=... \\
    .venv/bin/python benchmarks/odoo.py [--rounds 10] [--products 10000]

1. Quotation (5 lines). intake: the outbox sending one stored draft — lookup by key, duplicate
   PO check, create, read back, price comparison, the .eml and its attachment, the chatter
   note, the activity. Baseline: a bare odoorpc ``sale.order.create`` of the same 5 lines.
2. Catalog sync. ``--products`` products (``BENCH-#####``) are made in Odoo if missing (and
   un-archived), then intake's full sync into a fresh SQLite store is timed against a bare
   ``search_read`` of every saleable product with the same fields; an incremental refresh
   with nothing changed is timed too. The products are archived again afterwards, so they do
   not weigh on later recordings.

Prints JSON and writes it to benchmarks/results/odoo.json; the numbers to watch are the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from intake.config import OdooConfig, Settings
from intake.ids import new_id
from intake.match import match_order
from intake.models import (
    Assessment,
    Decision,
    DecisionKind,
    ExtractedLine,
    ExtractedNumber,
    ExtractedOrder,
    ExtractedText,
    Message,
)
from intake.odoo import open_odoo
from intake.odoo.catalog import PAGE_SIZE, kinds_for, sync_catalog
from intake.odoo.client import OdooClient
from intake.odoo.outbox import send_pending
from intake.odoo.quotation import build_quotation
from intake.store import Store, content_hash

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "odoo.json"
CODES = ["FURN_7800", "FURN_8220", "E-COM07", "E-COM11", "FURN_8999"]
SENDER = "douglas.fletcher51@example.com"


def config() -> OdooConfig:
    env = os.environ
    return OdooConfig(
        url=env["INTAKE_TEST_ODOO_URL"],
        database=env["INTAKE_TEST_ODOO_DB"],
        username=env["INTAKE_TEST_ODOO_USER"],
        api_key=env["INTAKE_TEST_ODOO_KEY"],
    )


def raw_email(tag: str) -> bytes:
    return (
        f"From: Douglas Fletcher <{SENDER}>\r\nSubject: PO {tag}\r\nMessage-ID: <{tag}@bench>\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nOrder attached.\r\n--b\r\n"
        f'Content-Type: text/csv\r\nContent-Disposition: attachment; filename="{tag}.csv"\r\n\r\n'
        + "".join(f"{c};2\r\n" for c in CODES)
        + "--b--\r\n"
    ).encode()


def queue(store: Store, catalog: Any, tag: str) -> None:
    raw = raw_email(tag)
    message = Message(
        id=new_id(),
        source="bench",
        source_ref=f"{tag}.eml",
        kind="email",
        content_hash=content_hash(raw),
        sender=SENDER,
        received_at=datetime.now(UTC),
        raw=raw,
    )
    store.add_message(message)
    text = lambda v: ExtractedText(value=v, confidence=0.95)  # noqa: E731
    order = ExtractedOrder(
        customer_name=text("Deco Addict"),
        po_number=text(tag),
        lines=tuple(
            ExtractedLine(
                product_code=text(c), quantity=ExtractedNumber(value=Decimal(2), confidence=0.95)
            )
            for c in CODES
        ),
        extractor="bench",
    )
    assessment = Assessment(matched=match_order(order, SENDER, catalog), confidence=0.9)
    store.save_assessment(message.id, assessment)
    store.finish(
        message.id,
        Decision(kind=DecisionKind.DRAFT),
        build_quotation(message, assessment),
        target="odoo",
    )


def bench_quotations(rounds: int) -> dict[str, Any]:
    settings = Settings(odoo=config())
    created: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/bench.db")
        client, catalog = open_odoo(settings, store)
        products = {p.default_code: p.id for p in catalog.products if p.default_code in CODES}
        partner = next(p.id for p in catalog.partners if p.name == "Deco Addict")
        run = datetime.now(UTC).strftime("%H%M%S")
        intake_times, bare_times = [], []
        for i in range(rounds):
            queue(store, catalog, f"BENCH-{run}-{i}")
            started = time.perf_counter()
            report = send_pending(store, client, settings, catalog)
            intake_times.append(time.perf_counter() - started)
            assert len(report.created) == 1, report
            started = time.perf_counter()
            created.append(
                client.execute(
                    "sale.order",
                    "create",
                    {
                        "partner_id": partner,
                        "client_order_ref": f"BARE-{run}-{i}",
                        "order_line": [
                            (0, 0, {"product_id": products[c], "product_uom_qty": 2}) for c in CODES
                        ],
                    },
                )
            )
            bare_times.append(time.perf_counter() - started)
        created += [
            i
            for i in client.execute(
                "sale.order", "search", [("client_order_ref", "like", f"BENCH-{run}-")]
            )
        ]
        client.execute("sale.order", "action_cancel", created)
        client.execute("sale.order", "unlink", created)
        store.close()
    intake_s, bare_s = statistics.median(intake_times), statistics.median(bare_times)
    return {
        "rounds": rounds,
        "lines": len(CODES),
        "intake_seconds_per_quotation": round(intake_s, 4),
        "baseline_seconds_per_create": round(bare_s, 4),
        "ratio": round(intake_s / bare_s, 2),
    }


def ensure_products(client: OdooClient, count: int) -> list[int]:
    """BENCH-##### products, made if missing, active and saleable; their template ids."""
    existing = client.execute(
        "product.product",
        "search_read",
        [("default_code", "=like", "BENCH-%")],
        fields=["default_code"],
        context={"active_test": False},
    )
    have = {r["default_code"] for r in existing}
    ids = [r["id"] for r in existing]
    missing = [f"BENCH-{n:05d}" for n in range(count) if f"BENCH-{n:05d}" not in have]
    for start in range(0, len(missing), 500):
        batch = missing[start : start + 500]
        ids += client.execute(
            "product.product",
            "create",
            [
                {"name": f"Bench article {code[6:]}", "default_code": code, "list_price": 10.0}
                for code in batch
            ],
        )
    templates = sorted(
        {
            r["product_tmpl_id"][0]
            for r in client.execute(
                "product.product",
                "read",
                ids,
                fields=["product_tmpl_id"],
                context={"active_test": False},
            )
        }
    )
    client.execute("product.template", "write", templates, {"active": True, "sale_ok": True})
    return templates


def bench_catalog(count: int) -> dict[str, Any]:
    client = OdooClient(config()).connect()
    started = time.perf_counter()
    ids = ensure_products(client, count)
    prepare = time.perf_counter() - started
    try:
        product_kind = next(k for k in kinds_for(client) if k.name == "product")
        started = time.perf_counter()
        rows = client.execute(
            "product.product",
            "search_read",
            product_kind.domain,
            fields=[*product_kind.fields, "write_date"],
        )
        bare = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as tmp:
            store = Store.open(f"sqlite:///{tmp}/bench.db")
            started = time.perf_counter()
            full = sync_catalog(client, store)
            full_s = time.perf_counter() - started
            started = time.perf_counter()
            again = sync_catalog(client, store)
            incremental_s = time.perf_counter() - started
            store.close()
    finally:
        client.execute("product.template", "write", ids, {"active": False})
    return {
        "bench_products": len(ids),
        "products_read": len(rows),
        "products_cached": full.cached["product"],
        "page_size": PAGE_SIZE,
        "prepare_seconds": round(prepare, 2),
        "baseline_search_read_seconds": round(bare, 3),
        "intake_full_sync_seconds": round(full_s, 3),
        "intake_incremental_sync_seconds": round(incremental_s, 3),
        "incremental_products_read": again.fetched["product"],
        "ratio_full": round(full_s / bare, 2),
        "ratio_incremental": round(incremental_s / bare, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--products", type=int, default=10000)
    args = parser.parse_args()
    client = OdooClient(config()).connect()
    result = {
        "benchmark": "odoo",
        "odoo": client.version.text,
        "url": client.url,
        "machine": f"{platform.machine()}, {os.cpu_count()} cpu, "
        f"Python {platform.python_version()}",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quotation": bench_quotations(args.rounds),
        "catalog_sync": bench_catalog(args.products),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
