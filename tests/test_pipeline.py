"""End to end through the real CLI: the sample inbox, re-runs, bad input, and a killed worker."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from intake.store import Store
from tests.conftest import ROOT, SAMPLE_INBOX, run_intake

DECISION_STATE = {"draft": "drafted", "review": "in_review", "reject": "rejected"}


def labels() -> dict[str, dict[str, object]]:
    found = {}
    for path in sorted(SAMPLE_INBOX.glob("*.label.json")):
        label = json.loads(path.read_text(encoding="utf-8"))
        found[label["document"]] = label
    return found


def process_json(paths: list[Path], env: dict[str, str]) -> list[dict[str, object]]:
    result = run_intake(["process", *map(str, paths), "--json"], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def db_path(env: dict[str, str]) -> Path:
    return Path(env["INTAKE_STORE__URL"].removeprefix("sqlite:///"))


def test_sample_inbox_ends_as_labelled_with_matched_quotations(
    sample_inbox: Path, cli_env: dict[str, str]
) -> None:
    """One `intake process` run over the sample inbox: every message ends in its labelled state,
    and every draft carries the labelled PO, customer and products, with each stage timed."""
    rows = process_json([sample_inbox], cli_env)
    by_file = {Path(str(r["source_ref"])).name: r for r in rows}
    expected = labels()
    assert set(by_file) == set(expected)
    for name, label in expected.items():
        row = by_file[name]
        want = DECISION_STATE[label["expected"]["decision"]]  # type: ignore[index]
        assert row["state"] == want, f"{name}: {row['state']} ({row['reasons']})"
        order = label["order"]
        if isinstance(order, dict) and want == "drafted":
            assert row["po_number"] == order["po_number"], name
            assert row["lines"] == len(order["lines"]), name
            assert row["customer"] == label["expected"]["customer_partner"], name  # type: ignore[index]

    store = Store.open(cli_env["INTAKE_STORE__URL"])
    drafted = [s for s in store.summaries() if s.state.value == "drafted"]
    assert drafted, "the sample inbox must yield at least one draft"
    for summary in drafted:
        label = expected[Path(summary.source_ref).name]
        quotation = store.quotation(summary.id)
        assert quotation is not None, summary.source_ref
        order = label["order"]
        assert isinstance(order, dict)
        assert quotation.client_order_ref == order["po_number"]
        assert [(ln.default_code, float(ln.quantity or 0)) for ln in quotation.lines] == [
            (line["sku"], line["quantity"]) for line in order["lines"]
        ]
        timings = {t.stage for t in store.stage_timings(summary.id)}
        assert {"parse", "classify", "extract", "match", "assess", "decide", "act"} <= timings


def test_second_run_changes_nothing_and_says_so(
    sample_inbox: Path, cli_env: dict[str, str]
) -> None:
    first = process_json([sample_inbox], cli_env)
    with sqlite3.connect(db_path(cli_env)) as db:
        before = {
            t: db.execute(f"select count(*) from {t}").fetchone()[0]
            for t in (
                "messages",
                "decisions",
                "quotations",
                "review_items",
                "audit_log",
                "extractions",
            )
        }
    result = run_intake(["process", str(sample_inbox), "--json"], cli_env)
    assert result.returncode == 0, result.stderr
    second = json.loads(result.stdout)
    assert "all already processed" in result.stderr
    assert all(r["already_processed"] for r in second)
    assert [(r["id"], r["state"]) for r in second] == [(r["id"], r["state"]) for r in first]
    with sqlite3.connect(db_path(cli_env)) as db:
        after = {t: db.execute(f"select count(*) from {t}").fetchone()[0] for t in before}
    assert after == before


def test_corrupt_pdf_and_empty_email_go_to_review_others_complete(
    sample_inbox: Path, cli_env: dict[str, str]
) -> None:
    (sample_inbox / "90-corrupt.pdf").write_bytes(
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nthis is not a pdf"
    )
    empty = EmailMessage()
    empty["From"] = "Floyd Steward <floyd.steward34@example.com>"
    empty["To"] = "orders@yourcompany.example.com"
    empty["Subject"] = ""
    empty["Message-ID"] = "<empty-1@example.com>"
    (sample_inbox / "91-empty.eml").write_bytes(bytes(empty))
    rows = process_json([sample_inbox], cli_env)
    by_file = {Path(str(r["source_ref"])).name: r for r in rows}
    corrupt, blank = by_file["90-corrupt.pdf"], by_file["91-empty.eml"]
    assert corrupt["state"] == "in_review"
    assert (
        "90-corrupt.pdf" in " ".join(corrupt["reasons"])
        and "pdf" in " ".join(corrupt["reasons"]).lower()
    )  # type: ignore[arg-type]
    assert blank["state"] == "in_review"
    assert "no text" in " ".join(blank["reasons"]).lower()  # type: ignore[arg-type]
    for name, label in labels().items():
        assert by_file[name]["state"] == DECISION_STATE[label["expected"]["decision"]]  # type: ignore[index]
    listing = run_intake(["review", "list"], cli_env)
    assert listing.returncode == 0
    assert str(corrupt["id"]) in listing.stdout and str(blank["id"]) in listing.stdout


def test_a_stage_that_raises_sends_only_that_message_to_review(
    sample_inbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in one stage for one message must not stop the batch (fault injected in-process)."""
    from intake import pipeline
    from intake.config import load_settings
    from intake.sources import ingest_paths
    from intake.worker import open_context, process_pending

    monkeypatch.setenv("INTAKE_STORE__URL", f"sqlite:///{tmp_path / 'x.db'}")
    ctx = open_context(load_settings(None))
    real_match = pipeline.match_order

    def flaky_match(order, sender, catalog, learned=None):  # type: ignore[no-untyped-def]
        if sender and "brandon.freeman" in sender:
            raise RuntimeError("catalog index corrupted")
        return real_match(order, sender, catalog, learned)

    monkeypatch.setattr(pipeline, "match_order", flaky_match)
    ingest_paths([sample_inbox], ctx.store)
    done = dict(process_pending(ctx))
    assert len(done) == len(labels())
    by_ref = {s.source_ref: s for s in ctx.store.summaries()}
    broken = by_ref["sample-inbox/02-azure-interior-body-order.eml"]
    assert broken.state.value == "in_review"
    assert "stage 'match' failed with RuntimeError: catalog index corrupted" in broken.reasons[0]
    others = [s for ref, s in by_ref.items() if "02-azure" not in ref]
    assert all(s.state.is_final and "failed with" not in " ".join(s.reasons) for s in others)


@pytest.mark.slow
def test_sigkill_mid_message_then_restart_finishes_it_exactly_once(
    sample_inbox: Path, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for path in sorted(sample_inbox.glob("*.eml")):
        shutil.copy(path, inbox / path.name)
    config = tmp_path / "intake.toml"
    config.write_text(f'[[sources]]\ntype = "folder"\nname = "orders"\npath = "{inbox}"\n')
    args = [sys.executable, "-m", "intake", "--config", str(config), "run", "--once"]
    db = db_path(cli_env)
    proc = subprocess.Popen(
        args, env=cli_env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    killed_during: str | None = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(db, timeout=1) as conn:
                    row = conn.execute(
                        "select id, state from messages where lease_owner is not null "
                        "and state not in ('drafted','in_review','rejected','failed')"
                    ).fetchone()
            except sqlite3.OperationalError:
                row = None
            if row is not None:
                os.kill(proc.pid, signal.SIGKILL)
                killed_during = row[0]
                break
        time.sleep(0.005)
    proc.wait(timeout=30)
    assert killed_during is not None, "the worker finished before it could be killed"
    with sqlite3.connect(db) as conn:
        assert conn.execute("select state from messages where id=?", (killed_during,)).fetchone()[
            0
        ] not in ("drafted", "in_review", "rejected", "failed")

    again = subprocess.run(args, env=cli_env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    with sqlite3.connect(db) as conn:
        states = dict(conn.execute("select source_ref, state from messages").fetchall())
        decisions = conn.execute(
            "select message_id, count(*) from decisions group by message_id"
        ).fetchall()
        quotes = conn.execute(
            "select message_id, count(*) from quotations group by message_id"
        ).fetchall()
        decided = conn.execute(
            "select count(*) from audit_log where action='decided' and message_id=?",
            (killed_during,),
        ).fetchone()[0]
        attempts = conn.execute(
            "select attempts from messages where id=?", (killed_during,)
        ).fetchone()[0]
    expected = {
        name: DECISION_STATE[label["expected"]["decision"]] for name, label in labels().items()
    }  # type: ignore[index]
    assert states == expected
    assert all(n == 1 for _, n in decisions) and len(decisions) == len(expected)
    assert all(n == 1 for _, n in quotes)
    assert decided == 1
    assert attempts == 2


@pytest.mark.slow
def test_run_picks_up_new_files_and_stops_cleanly_on_sigterm(
    sample_inbox: Path, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    inbox = tmp_path / "watched"
    inbox.mkdir()
    config = tmp_path / "intake.toml"
    config.write_text(
        f'[run]\npoll_seconds = 0.2\n[[sources]]\ntype = "folder"\nname = "orders"\npath = "{inbox}"\n'
    )
    args = [sys.executable, "-m", "intake", "--config", str(config), "run", "--json"]
    proc = subprocess.Popen(
        args, env=cli_env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    db = db_path(cli_env)

    def first_poll_done() -> bool:
        if not db.exists():
            return False
        try:
            with sqlite3.connect(db, timeout=5) as conn:
                return conn.execute("select count(*) from source_polls").fetchone()[0] > 0
        except sqlite3.OperationalError:
            return False

    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not first_poll_done() and proc.poll() is None:
            time.sleep(0.1)
        assert first_poll_done(), "intake run never polled its source"
        shutil.copy(sample_inbox / "02-azure-interior-body-order.eml", inbox / "new.eml")
        deadline = time.monotonic() + 120
        state = None
        while time.monotonic() < deadline and state != "drafted":
            time.sleep(0.2)
            with sqlite3.connect(db, timeout=5) as conn:
                row = conn.execute(
                    "select state from messages where source_ref='new.eml'"
                ).fetchone()
            state = row[0] if row else None
        assert state == "drafted"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped on SIGTERM" in err
    events = [json.loads(line) for line in out.splitlines()]
    assert [(e["source_ref"], e["state"]) for e in events] == [("new.eml", "drafted")]
    status = run_intake(["--config", str(config), "status", "--json"], cli_env)
    polls = json.loads(status.stdout)["sources"]
    assert polls[0]["source"] == "orders" and polls[0]["last_success_at"] is not None
