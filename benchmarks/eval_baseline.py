"""The accuracy baseline that CI's regression gate compares with (tests/test_eval.py).

The gate runs ``intake eval fixtures/sample-inbox`` (offline extractor) and fails when a gated
score falls below the checked-in baseline by more than the tolerance. The baseline changes only
on purpose — after an improvement, or a change whose cost in accuracy was accepted:

    .venv/bin/python -m benchmarks eval-baseline            # compare, change nothing
    .venv/bin/python -m benchmarks eval-baseline --update   # write the new baseline

and the changed ``benchmarks/eval-baseline.json`` is committed with the change that moved it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, SAMPLE_INBOX

BASELINE = ROOT / "benchmarks" / "eval-baseline.json"
GATED = ("field_f1", "line_item_f1")
INFORMATIONAL = ("header_field_f1", "line_field_f1", "exact_match_rate", "touchless_rate")
TOLERANCE = 0.02


def current(dataset: Path = SAMPLE_INBOX) -> dict[str, Any]:
    """The evaluation summary of the fixtures with the embedded default settings."""
    from intake.catalog import load_catalog
    from intake.config import Settings
    from intake.eval import evaluate

    settings = Settings()
    report = evaluate([dataset], settings, load_catalog(settings.catalog.path))
    summary: dict[str, Any] = report["summary"]
    return summary


def load() -> dict[str, Any]:
    """The checked-in baseline."""
    data: dict[str, Any] = json.loads(BASELINE.read_text(encoding="utf-8"))
    return data


def regressions(summary: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """One sentence per gated score that fell below the baseline by more than the tolerance."""
    tolerance = float(baseline["tolerance"])
    found = []
    for name, floor in baseline["metrics"].items():
        value = summary.get(name)
        if value is None or value < floor - tolerance:
            found.append(
                f"{name} is {value} on {baseline['dataset']}, below the baseline {floor} by more "
                f"than {tolerance}: find what lowered it (intake eval {baseline['dataset']} lists "
                "the worst documents), or, if the loss is accepted, update the baseline on "
                "purpose: python -m benchmarks eval-baseline --update"
            )
    return found


def baseline_data(summary: dict[str, Any]) -> dict[str, Any]:
    """What the baseline file holds for a given evaluation summary."""
    return {
        "about": (
            "Regression gate of tests/test_eval.py: intake eval fixtures/sample-inbox "
            "(offline extractor, embedded defaults) must reach every metric minus the "
            "tolerance. Change only on purpose: python -m benchmarks eval-baseline --update"
        ),
        "dataset": "fixtures/sample-inbox",
        "extractor": "offline",
        "tolerance": TOLERANCE,
        "metrics": {name: summary[name] for name in GATED},
        "informational": {name: summary[name] for name in INFORMATIONAL},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks eval-baseline", description=__doc__)
    parser.add_argument("--update", action="store_true", help="write the baseline file")
    args = parser.parse_args(argv)
    summary = current()
    if args.update:
        BASELINE.write_text(json.dumps(baseline_data(summary), indent=2) + "\n", encoding="utf-8")
        print(f"wrote {BASELINE}")
        return 0
    baseline = load()
    for name, floor in baseline["metrics"].items():
        print(f"{name}: baseline {floor}, now {summary.get(name)}")
    problems = regressions(summary, baseline)
    for problem in problems:
        print(problem)
    return 1 if problems else 0
