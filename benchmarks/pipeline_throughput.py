"""Pipeline throughput on the sample inbox, as a ratio against a text-only baseline.

Baseline (measured in the same run, on the same messages): the least work any order reader
must do — stdlib email parsing, pdfplumber's plain text for PDFs and tesseract's plain text
for images. intake: the whole pipeline (parse with layout, tables and OCR confidence,
classify, extract, match, assess, decide, store every step in SQLite).

    .venv/bin/python benchmarks/pipeline_throughput.py [--rounds 3]

Prints JSON and writes it to benchmarks/results/pipeline_throughput.json. The number to watch
is ``ratio``: intake's seconds per message divided by the baseline's.
"""

from __future__ import annotations

import argparse
import email
import io
import json
import statistics
import tempfile
import time
import tracemalloc
from email.policy import default as default_policy
from pathlib import Path

import pdfplumber
import pytesseract
from PIL import Image

from intake.config import load_settings
from intake.sources import ingest_paths
from intake.worker import open_context, process_pending

ROOT = Path(__file__).resolve().parents[1]
INBOX = ROOT / "fixtures" / "sample-inbox"


def baseline(files: list[Path]) -> None:
    """Plain text of every part, nothing more."""
    for path in files:
        msg = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        for part in msg.walk():
            ctype = part.get_content_type()
            if part.is_multipart():
                continue
            data = part.get_payload(decode=True) or b""
            if ctype == "application/pdf":
                with pdfplumber.open(io.BytesIO(data)) as pdf:
                    for page in pdf.pages:
                        page.extract_text()
            elif ctype.startswith("image/"):
                pytesseract.image_to_string(Image.open(io.BytesIO(data)))
            elif ctype.startswith("text/"):
                part.get_content()


def intake_once(files: list[Path]) -> None:
    """The whole pipeline into a fresh store."""
    with tempfile.TemporaryDirectory() as tmp:
        import os

        os.environ["INTAKE_STORE__URL"] = f"sqlite:///{tmp}/bench.db"
        ctx = open_context(load_settings(None))
        ingest_paths(files, ctx.store)
        process_pending(ctx)
        ctx.store.close()


def measure(work, files: list[Path], rounds: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Median seconds per round and peak traced memory in MiB."""
    times = []
    peak = 0
    for _ in range(rounds):
        tracemalloc.start()
        started = time.perf_counter()
        work(files)
        times.append(time.perf_counter() - started)
        peak = max(peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    return statistics.median(times), peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    files = sorted(INBOX.glob("*.eml"))
    base_s, base_mem = measure(baseline, files, args.rounds)
    intake_s, intake_mem = measure(intake_once, files, args.rounds)
    result = {
        "messages": len(files),
        "rounds": args.rounds,
        "baseline_seconds_per_message": round(base_s / len(files), 4),
        "intake_seconds_per_message": round(intake_s / len(files), 4),
        "ratio": round(intake_s / base_s, 2),
        "baseline_peak_mib": round(base_mem, 1),
        "intake_peak_mib": round(intake_mem, 1),
        "memory_ratio": round(intake_mem / base_mem, 2) if base_mem else None,
    }
    out = ROOT / "benchmarks" / "results" / "pipeline_throughput.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
