"""End-to-end throughput of the real worker: documents per minute, peak memory, stage shares.

Messages are ingested into a fresh SQLite store in a temporary folder, then ``workers``
separate processes run the same loop as ``intake run`` (``process_pending``: claim with a lease,
process, release) until the store is empty. Timing starts when every worker has imported intake
and opened the store, and stops when the last one finishes, so start-up is not counted. The
benchmark process and its workers are pinned to the first ``cores`` CPUs, so "on 2 cores"
means the same on a bigger machine. Peak memory is each worker's peak resident set
(``ru_maxrss``); the sum over workers bounds what they used together. (tesseract runs as a
child process; Linux counts a forked child's copy of its parent in the child's peak, so the
OCR engine's own peak cannot be read that way and is not reported.) The per-stage breakdown
comes from the stage timings the pipeline records in the store.

Documents: the sample inbox, copied ``copies`` times (each copy gets its own Message-ID and an
``X-Intake-Benchmark-Copy`` header, so the store does not recognise it as a duplicate), or any
folder of ``.eml`` files given with ``--docs``.

    .venv/bin/python -m benchmarks.throughput --workers 2 --copies 5
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import resource
import tempfile
import time
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from benchmarks.common import SAMPLE_INBOX, pin_cores, stats

STAGES = ("parse", "classify", "extract", "match", "assess", "decide", "act")


def make_messages(target: Path, copies: int, source: Path = SAMPLE_INBOX) -> list[Path]:
    """Write ``copies`` distinct copies of every .eml in ``source`` into ``target``."""
    emails = sorted(source.glob("*.eml"))
    if not emails:
        raise SystemExit(f"no .eml files in {source}")
    written = []
    for k in range(copies):
        for path in emails:
            raw = path.read_bytes()
            raw = re.sub(rb"(?im)^(Message-ID:[ \t]*<)", rb"\g<1>bench%d." % k, raw, count=1)
            raw = b"X-Intake-Benchmark-Copy: %d\r\n" % k + raw
            out = target / f"{k:03d}-{path.name}"
            out.write_bytes(raw)
            written.append(out)
    return written


def _worker(ready: Any, go: Event, out: Any) -> None:
    from intake.config import load_settings
    from intake.worker import open_context, process_pending

    ctx = open_context(load_settings(None))
    ready.put(os.getpid())
    go.wait()
    started = time.perf_counter()
    done = process_pending(ctx)
    seconds = time.perf_counter() - started
    ctx.store.close()
    out.put(
        {
            "processed": len(done),
            "seconds": seconds,
            "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        }
    )


def measure(
    messages: list[Path], workers: int, cores: int | None = 2, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Process ``messages`` with ``workers`` processes; return throughput, memory and stages.

    ``env`` adds ``INTAKE_…`` settings for the workers (the LLM replay sets its endpoint);
    any ``INTAKE_…`` variables of the caller are set aside, so the embedded defaults apply.
    """
    from intake.sources import ingest_paths
    from intake.store import Store

    pinned = pin_cores(cores)
    with tempfile.TemporaryDirectory(prefix="intake-bench-") as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("INTAKE_")}
        os.environ.update({**(env or {}), "INTAKE_STORE__URL": url})
        try:
            store = Store.open(url)
            added = ingest_paths(messages, store)
            store.close()
            spawn = mp.get_context("spawn")
            ready, results = spawn.Queue(), spawn.Queue()
            go = spawn.Event()
            procs = [
                spawn.Process(target=_worker, args=(ready, go, results)) for _ in range(workers)
            ]
            for proc in procs:
                proc.start()
            for _ in procs:
                ready.get(timeout=300)
            started = time.perf_counter()
            go.set()
            per_worker = [results.get(timeout=3600) for _ in procs]
            wall = time.perf_counter() - started
            for proc in procs:
                proc.join()
            breakdown, states = _stages(url)
        finally:
            for key in [k for k in os.environ if k.startswith("INTAKE_")]:
                del os.environ[key]
            os.environ.update(saved)
    processed = sum(w["processed"] for w in per_worker)
    return {
        "documents": len(added),
        "processed": processed,
        "workers": workers,
        "cores": pinned,
        "wall_seconds": round(wall, 3),
        "documents_per_minute": round(processed / wall * 60, 2) if wall else None,
        "seconds_per_document": round(wall / processed, 4) if processed else None,
        "peak_rss_mib": round(max(w["maxrss_kib"] for w in per_worker) / 1024, 1),
        "peak_rss_mib_all_workers": round(sum(w["maxrss_kib"] for w in per_worker) / 1024, 1),
        "per_worker": per_worker,
        "states": states,
        "stages": breakdown,
    }


def _stages(url: str) -> tuple[dict[str, Any], dict[str, int]]:
    from intake.store import Store

    store = Store.open(url)
    try:
        summaries = store.summaries()
        seconds: dict[str, list[float]] = {}
        for summary in summaries:
            for row in store.stage_timings(summary.id):
                seconds.setdefault(row.stage, []).append(row.seconds)
        states: dict[str, int] = {}
        for summary in summaries:
            states[summary.state.value] = states.get(summary.state.value, 0) + 1
    finally:
        store.close()
    total = sum(sum(v) for v in seconds.values()) or 1.0
    order = [s for s in STAGES if s in seconds] + sorted(set(seconds) - set(STAGES))
    breakdown = {
        stage: {**stats(seconds[stage]), "share": round(sum(seconds[stage]) / total, 4)}
        for stage in order
    }
    return breakdown, dict(sorted(states.items()))


def run(copies: int, workers: list[int], cores: int | None, docs: Path | None) -> dict[str, Any]:
    """Measure each worker count on the same documents."""
    with tempfile.TemporaryDirectory(prefix="intake-bench-docs-") as tmp:
        messages = make_messages(Path(tmp), copies, docs or SAMPLE_INBOX)
        runs = [measure(messages, w, cores) for w in workers]
    result: dict[str, Any] = {
        "source": str(docs or SAMPLE_INBOX),
        "copies": copies,
        "extractor": "offline",
        "runs": runs,
    }
    if len(runs) > 1 and runs[0]["documents_per_minute"]:
        result["scaling"] = round(
            runs[-1]["documents_per_minute"] / runs[0]["documents_per_minute"], 2
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=5, help="copies of each sample message")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--cores", type=int, default=2, help="pin to this many CPUs (0: all)")
    parser.add_argument("--docs", type=Path, help="folder of .eml files instead of the samples")
    args = parser.parse_args()
    print(json.dumps(run(args.copies, args.workers, args.cores or None, args.docs), indent=2))


if __name__ == "__main__":
    main()
