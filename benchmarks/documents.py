"""Reading speed of the parse stage, as ratios against bare pdfplumber and the bare tesseract CLI.

    .venv/bin/python benchmarks/documents.py [--rounds 3] [--quick] [--cores 2]
                                             [--omp-thread-limit N] [--profile]

Two measurements on the labeled corpus (``fixtures/corpus``, see ``fixtures/README.md``), each
against a baseline run on the same pages in the same process and the same rounds:

- **Text PDFs** (every ``*.pdf`` of kind ``text-pdf``): ``intake.documents.parse_message`` on
  each file — sniffing, pdfium page count and embedded files, the text layer laid out in
  lines, the usability check, tables — against a bare script that opens the PDF with
  pdfplumber and calls ``extract_words`` and ``find_tables`` on every page. Target: at most
  1.2 times the baseline's seconds per page.
- **OCR** (every 300-dpi scan): ``parse_message`` on each scan — decoding, EXIF orientation,
  greyscale, tesseract with word boxes and confidences, layout — against the tesseract CLI
  run by hand at the same resolution (``tesseract FILE stdout --dpi 300``); for scanned PDFs
  the baseline renders each page with pypdfium2 at 300 dpi and writes it as a PGM file for
  the CLI, and that work is timed too. Target: at most 1.15 times the baseline per page.

Each round times the baseline and intake back to back (alternating which goes first); the
result is the median of the rounds, in wall-clock time (judged against the target) and in CPU
time of the process and its tesseract children (steadier on a machine shared with others).
Both sides run with the same environment, so tesseract's threading (``OMP_THREAD_LIMIT``) is
the same for both; ``--omp-thread-limit`` sets it for both.
Prints JSON and writes it to ``benchmarks/results/documents.json``. ``--profile`` adds the
functions where intake spends its time (cProfile, cumulative) to stderr.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pdfplumber  # noqa: E402
import pypdfium2 as pdfium  # noqa: E402

from benchmarks.common import metadata, pin_cores, write_json  # noqa: E402
from intake.config import Limits, OcrConfig  # noqa: E402
from intake.documents import parse_message  # noqa: E402
from intake.models import Message  # noqa: E402
from intake.sources.folder import message_from_file  # noqa: E402

CORPUS = ROOT / "fixtures" / "corpus"
RESULT = ROOT / "benchmarks" / "results" / "documents.json"
TEXT_TARGET = 1.2
OCR_TARGET = 1.15


def corpus_files(kind: str, dpi: int | None = None) -> list[Path]:
    """Corpus documents of one kind (and resolution), in manifest order."""
    manifest = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
    return [
        CORPUS / row["file"]
        for row in manifest["documents"]
        if row["kind"] == kind and (dpi is None or row["dpi"] == dpi)
    ]


def page_count(path: Path) -> int:
    """Pages of a PDF, or frames of an image (1 for JPEG and PNG)."""
    if path.suffix == ".pdf":
        document = pdfium.PdfDocument(path.read_bytes())
        try:
            return len(document)
        finally:
            document.close()
    from PIL import Image

    with Image.open(path) as image:
        return int(getattr(image, "n_frames", 1))


# --------------------------------------------------------------------------- baselines


def bare_pdfplumber(files: dict[Path, bytes]) -> None:
    """The least a PDF reader does: words with positions and the table finder, per page."""
    for data in files.values():
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for page in pdf.pages:
                page.extract_words()
                page.find_tables()


def bare_tesseract(files: dict[Path, bytes], dpi: int, work: Path) -> None:
    """The tesseract CLI on every page at the same resolution, as someone would run it."""
    for path, data in files.items():
        if path.suffix == ".pdf":
            document = pdfium.PdfDocument(data)
            try:
                for index in range(len(document)):
                    page = document[index]
                    image = page.render(scale=dpi / 72, grayscale=True).to_pil()
                    page.close()
                    target = work / f"{path.stem}-{index}.pgm"
                    image.save(target, format="PPM")
                    _tesseract(target, dpi)
            finally:
                document.close()
        else:
            _tesseract(path, dpi)


def _tesseract(path: Path, dpi: int) -> None:
    subprocess.run(
        ["tesseract", str(path), "stdout", "--dpi", str(dpi)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def intake_parse(messages: list[Message]) -> None:
    """The parse stage exactly as the pipeline runs it, default limits and OCR settings."""
    limits, ocr = Limits(), OcrConfig()
    for message in messages:
        parsed = parse_message(message, limits, ocr)
        if not parsed.documents:
            raise SystemExit(f"intake read nothing from {message.filename}: {parsed.problems}")


# --------------------------------------------------------------------------- measuring


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished children (tesseract)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def compare(
    name: str,
    baseline: Callable[[], None],
    candidate: Callable[[], None],
    *,
    pages: int,
    rounds: int,
    target: float,
) -> dict[str, Any]:
    """Time both sides ``rounds`` times, alternating which goes first; medians and ratios.

    Wall-clock time is what a user waits; CPU time (this process plus tesseract) is what the
    work costs and is far less disturbed by other programs on a shared machine, so both are
    reported. The target is judged on the median wall-clock ratio.
    """
    walls: dict[str, list[float]] = {"baseline": [], "intake": []}
    cpus: dict[str, list[float]] = {"baseline": [], "intake": []}
    sides = [("baseline", baseline), ("intake", candidate)]
    for number in range(rounds):
        for side, work in reversed(sides) if number % 2 else sides:
            cpu, started = _cpu(), time.perf_counter()
            work()
            walls[side].append(time.perf_counter() - started)
            cpus[side].append(_cpu() - cpu)
        print(
            f"{name} round {number + 1}: baseline {walls['baseline'][-1]:.2f} s "
            f"({cpus['baseline'][-1]:.2f} s CPU), intake {walls['intake'][-1]:.2f} s "
            f"({cpus['intake'][-1]:.2f} s CPU)",
            file=sys.stderr,
        )
    base, mine = statistics.median(walls["baseline"]), statistics.median(walls["intake"])
    ratio = mine / base
    return {
        "pages": pages,
        "rounds": rounds,
        "baseline_seconds": [round(t, 3) for t in walls["baseline"]],
        "intake_seconds": [round(t, 3) for t in walls["intake"]],
        "baseline_cpu_seconds": [round(t, 3) for t in cpus["baseline"]],
        "intake_cpu_seconds": [round(t, 3) for t in cpus["intake"]],
        "baseline_pages_per_second": round(pages / base, 3),
        "intake_pages_per_second": round(pages / mine, 3),
        "baseline_seconds_per_page": round(base / pages, 4),
        "intake_seconds_per_page": round(mine / pages, 4),
        "ratio": round(ratio, 3),
        "ratio_best_round": round(min(walls["intake"]) / min(walls["baseline"]), 3),
        "ratio_cpu": round(
            statistics.median(cpus["intake"]) / statistics.median(cpus["baseline"]), 3
        ),
        "round_ratios": [
            round(i / b, 3) for b, i in zip(walls["baseline"], walls["intake"], strict=True)
        ],
        "target": target,
        "within_target": ratio <= target,
    }


def profile(work: Callable[[], None]) -> None:
    """Where intake spends its time, for when a ratio is over its target."""
    profiler = cProfile.Profile()
    profiler.runcall(work)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    print(out.getvalue(), file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run both comparisons, print the JSON and write it to benchmarks/results/."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="5 files of each kind, 1 round")
    parser.add_argument("--cores", type=int, default=2, help="pin to the first N CPUs (0: no)")
    parser.add_argument("--omp-thread-limit", type=int, default=None)
    parser.add_argument("--profile", action="store_true", help="cProfile intake, to stderr")
    parser.add_argument("--only", choices=["text", "ocr"], help="run one of the two comparisons")
    parser.add_argument(
        "--out",
        type=Path,
        help="result file (default benchmarks/results/documents.json, none with --only)",
    )
    args = parser.parse_args(argv)
    if args.omp_thread_limit:
        os.environ["OMP_THREAD_LIMIT"] = str(args.omp_thread_limit)
    cores = pin_cores(args.cores)
    rounds = 1 if args.quick else args.rounds
    text_files = corpus_files("text-pdf")
    scans = corpus_files("scan", dpi=300)
    if args.quick:
        text_files, scans = text_files[:5], scans[:5]
    result: dict[str, Any] = {
        "benchmark": "documents",
        **metadata(),
        "cores": cores,
        "omp_thread_limit": os.environ.get("OMP_THREAD_LIMIT"),
        "tesseract": subprocess.run(
            ["tesseract", "--version"], capture_output=True, text=True, check=False
        ).stdout.split("\n")[0],
        "pdfplumber": pdfplumber.__version__,
    }

    if args.only != "ocr":
        _text_pdfs(result, text_files, rounds, args.profile)
    if args.only != "text":
        _ocr(result, scans, rounds, args.profile)
    out = args.out or (None if args.only else RESULT)
    if out is not None:
        write_json(out, result)
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0


def _text_pdfs(result: dict[str, Any], text_files: list[Path], rounds: int, prof: bool) -> None:
    text_bytes = {p: p.read_bytes() for p in text_files}
    text_messages = [message_from_file(p, "folder:bench") for p in text_files]
    bare_pdfplumber(text_bytes)  # warm imports and caches on both sides before timing
    intake_parse(text_messages[:1])
    result["text_pdf"] = compare(
        "text PDFs",
        lambda: bare_pdfplumber(text_bytes),
        lambda: intake_parse(text_messages),
        pages=sum(page_count(p) for p in text_files),
        rounds=rounds,
        target=TEXT_TARGET,
    )
    result["text_pdf"]["files"] = len(text_files)
    if prof:
        profile(lambda: intake_parse(text_messages))


def _ocr(result: dict[str, Any], scans: list[Path], rounds: int, prof: bool) -> None:
    ocr_dpi = OcrConfig().dpi
    scan_bytes = {p: p.read_bytes() for p in scans}
    scan_messages = [message_from_file(p, "folder:bench") for p in scans]
    with tempfile.TemporaryDirectory(prefix="intake-bench-") as work:
        result["ocr"] = compare(
            "OCR",
            lambda: bare_tesseract(scan_bytes, ocr_dpi, Path(work)),
            lambda: intake_parse(scan_messages),
            pages=sum(page_count(p) for p in scans),
            rounds=rounds,
            target=OCR_TARGET,
        )
    result["ocr"]["files"] = len(scans)
    result["ocr"]["dpi"] = ocr_dpi
    if prof:
        profile(lambda: intake_parse(scan_messages[:3]))


if __name__ == "__main__":
    sys.exit(main())
