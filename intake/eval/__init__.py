"""Evaluation: how accurate, how touchless and how fast intake is on labeled documents.

``intake eval DIR`` runs the pipeline up to the decision on every document that has a label
beside it (:mod:`intake.eval.labels`, format in ``docs/labels.md``), with no side effects
(:mod:`intake.eval.runner`), scores the result per field, per line and per document
(:mod:`intake.eval.metrics`), draws the touchless curve, chooses the draft threshold, and
reports latency, tokens and cost (:mod:`intake.eval.report`). Every change to a prompt, a
model, a rule or a threshold can be measured this way before it ships; ``docs/evaluation.md``
says how to read the numbers and how to re-choose the threshold on one's own documents.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from intake.catalog import Catalog
    from intake.config import Settings
    from intake.eval.runner import DocRun

__all__ = ["EXTRACTOR_NAMES", "WORST_DEFAULT", "evaluate"]

WORST_DEFAULT = 10
"""How many of the worst documents a report lists with their findings, unless told."""
EXTRACTOR_NAMES = ("cascade", "offline")
"""The extractors ``intake eval --extractor`` runs (:data:`intake.eval.runner.EXTRACTORS`).

Kept here, apart from the runner, so the command line can offer them without importing the
whole pipeline (and the LLM client) just to print its help.
"""


def evaluate(
    paths: Sequence[Path],
    settings: Settings,
    catalog: Catalog,
    *,
    extractor: str = "offline",
    workers: int = 1,
    worst: int = WORST_DEFAULT,
    kinds: Sequence[str] = (),
    on_done: Callable[[int, int, DocRun], None] | None = None,
) -> dict[str, Any]:
    """Evaluate every labeled document under ``paths`` and return the report (JSON data).

    Args:
        paths: folders (searched recursively) or single documents with labels beside them.
        settings: the configuration to run the pipeline with (thresholds, limits, OCR).
        catalog: customers and products to match against.
        extractor: ``offline`` or ``cascade`` (see :data:`intake.eval.runner.EXTRACTORS`).
        workers: documents evaluated in parallel processes.
        worst: how many of the worst documents the report lists with their findings.
        kinds: only documents of these kinds in the folder's corpus manifest (text-pdf, email…).
        on_done: called after each document with (done, total, run), for progress.
    """
    from intake.eval.report import build_report
    from intake.eval.runner import collect, only_kinds, run_all

    jobs = collect(paths)
    if kinds:
        jobs = only_kinds(jobs, kinds)
    runs: list[DocRun] = []
    for run in run_all(jobs, settings, catalog, extractor, workers):
        runs.append(run)
        if on_done is not None:
            on_done(len(runs), len(jobs), run)
    return build_report(
        runs,
        datasets=[f"{p} (kind: {', '.join(kinds)})" if kinds else str(p) for p in paths],
        extractor=extractor,
        settings=settings,
        worst=worst,
    )
