"""``intake process`` (one-shot on files and folders) and ``intake run`` (continuous)."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from types import FrameType

import typer

from intake.cli.common import emit_json, progress, progress_done, settings, short, table
from intake.config import FolderSource
from intake.errors import MessagesNeedReview
from intake.models import MessageState
from intake.sources import ingest_paths
from intake.sources.watch import Watch
from intake.store import MessageSummary
from intake.worker import StopFlag, open_context, process_pending

log = logging.getLogger(__name__)

NEEDS_PERSON = {MessageState.IN_REVIEW, MessageState.REJECTED, MessageState.FAILED}


def next_step(summary: MessageSummary) -> str:
    """Where a person looks next for this message."""
    if summary.state is MessageState.IN_REVIEW or summary.state is MessageState.FAILED:
        return f"intake review show {summary.id}"
    if summary.state.is_final:
        return f"intake show {summary.id}"
    return "intake run (not finished)"


def summary_rows(summaries: list[MessageSummary], known: set[str]) -> list[list[str]]:
    """One table row per message: who sent it, what it is, and what happened."""
    rows = []
    for s in summaries:
        outcome = s.state.value + (" (already processed)" if s.id in known else "")
        rows.append(
            [
                short(Path(s.source_ref).name, 34),
                short(s.sender, 32),
                short(s.customer, 22),
                short(s.po_number, 16),
                "-" if s.lines is None else str(s.lines),
                "-" if s.confidence is None else f"{s.confidence:.2f}",
                outcome,
                next_step(s),
            ]
        )
    return rows


HEADERS = ["message", "sender", "customer", "po number", "lines", "conf", "decision", "next"]


def summary_json(s: MessageSummary, known: set[str]) -> dict[str, object]:
    """One message's outcome for --json."""
    return {
        "id": s.id,
        "source_ref": s.source_ref,
        "sender": s.sender,
        "subject": s.subject,
        "customer": s.customer,
        "po_number": s.po_number,
        "lines": s.lines,
        "confidence": s.confidence,
        "state": s.state.value,
        "already_processed": s.id in known,
        "attempts": s.attempts,
        "reasons": s.reasons,
        "next": next_step(s),
    }


def _print_outcome(summaries: list[MessageSummary], known: set[str], as_json: bool) -> None:
    if as_json:
        emit_json([summary_json(s, known) for s in summaries])
    elif summaries:
        print(table(HEADERS, summary_rows(summaries, known)))
    counts: dict[str, int] = {}
    for s in summaries:
        counts[s.state.value] = counts.get(s.state.value, 0) + 1
    parts = [f"{n} {state}" for state, n in sorted(counts.items())]
    if known and len(known) == len(summaries):
        print(
            f"{len(summaries)} message(s), all already processed: nothing was changed",
            file=sys.stderr,
        )
    elif summaries:
        print(f"{len(summaries)} message(s): " + ", ".join(parts), file=sys.stderr)


def register(app: typer.Typer) -> None:
    """Add the processing commands to the app."""

    @app.command("process")
    def process_cmd(
        paths: list[Path] = typer.Argument(..., help=".eml, .pdf, image files or folders"),
        as_json: bool = typer.Option(False, "--json", help="Print results as JSON on stdout."),
        strict: bool = typer.Option(
            False, "--strict", help="Exit 10 when any message needs a person."
        ),
    ) -> None:
        """Process files and folders once, then exit.

        Each file is one message; folders are read in name order. Input seen before (same
        content) is not processed again and is reported as already processed.

        Example: intake process fixtures/sample-inbox --json
        """
        ctx = open_context(settings())
        added = ingest_paths(paths, ctx.store)
        ids = list(dict.fromkeys(a.message_id for a in added))
        known = {a.message_id for a in added if not a.created and a.state.is_final}
        todo = [i for i in ids if i not in known]
        total = len(todo)

        def on_done(message_id: str, state: MessageState) -> None:
            on_done.count += 1  # type: ignore[attr-defined]
            progress(f"processed {on_done.count}/{total}: {state.value}")  # type: ignore[attr-defined]

        on_done.count = 0  # type: ignore[attr-defined]
        process_pending(ctx, only=todo, on_done=on_done)
        progress_done()
        if ctx.odoo is not None and (waiting := ctx.store.pending_quotations()):
            print(
                f"intake: {len(waiting)} quotation(s) wait for Odoo ({waiting[0].last_error}); "
                "they are sent on the next intake run or intake process",
                file=sys.stderr,
            )
        summaries = ctx.store.summaries(ids)
        _print_outcome(summaries, known, as_json)
        if strict and any(s.state in NEEDS_PERSON for s in summaries if s.id not in known):
            raise MessagesNeedReview("some messages need a person: intake review list")

    @app.command("run")
    def run_cmd(
        once: bool = typer.Option(False, "--once", help="Poll every source once, then exit."),
        as_json: bool = typer.Option(False, "--json", help="Print results as JSON lines."),
    ) -> None:
        """Poll every source, process what arrived, wait, repeat — until SIGINT or SIGTERM.

        A stop signal lets the current message finish; then intake exits with 0. Without
        configured sources the drop folder ./inbox is watched (created if missing). Mailboxes
        whose server supports IDLE wake the loop as soon as mail arrives; every source is also
        polled every run.poll_seconds.

        Example: intake --config intake.toml run
        """
        cfg = settings()
        ctx = open_context(cfg)
        sources = list(cfg.sources)
        if not sources:
            default = FolderSource(name="inbox", path=Path("inbox"))
            default.path.mkdir(exist_ok=True)
            sources = [default]
        stop = StopFlag()
        watch = Watch(sources, ctx.store)

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            stop.set(signal.Signals(signum).name)
            watch.wake()
            print(
                f"intake: {signal.Signals(signum).name} received: finishing the current message",
                file=sys.stderr,
            )

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        names = ", ".join(s.name for s in sources)
        print(f"intake: watching {names} (store {ctx.store.display_url})", file=sys.stderr)
        if not once:
            watch.start_idle()  # IDLE threads only ring; polling and storing stay here
        try:
            while not stop.is_set():
                for result in watch.poll(should_stop=stop.is_set):
                    if result.error:
                        log.error("source %s: %s", result.source, result.error)
                done = process_pending(ctx, stop=stop)
                if done:
                    summaries = ctx.store.summaries([d[0] for d in done])
                    if as_json:
                        for s in summaries:
                            emit_json(summary_json(s, set()), one_line=True)
                    else:
                        print(table(HEADERS, summary_rows(summaries, set())), flush=True)
                if once:
                    break
                watch.wait(cfg.run.poll_seconds)  # returns early on new mail or a signal
        finally:
            watch.close()
        if stop.is_set():
            print(f"intake: stopped on {stop.reason}", file=sys.stderr)
