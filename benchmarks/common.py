"""Helpers shared by the benchmarks: run metadata, statistics, result files."""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SAMPLE_INBOX = ROOT / "fixtures" / "sample-inbox"


def git_commit(root: Path = ROOT) -> str | None:
    """The checked-out commit, read from .git (no git binary needed); None outside a clone."""
    git = root / ".git"
    try:
        head = (git / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref: "):
            return head
        ref = head.removeprefix("ref: ")
        loose = git / ref
        if loose.is_file():
            return loose.read_text(encoding="utf-8").strip()
        packed = git / "packed-refs"
        for line in packed.read_text(encoding="utf-8").splitlines():
            if line.endswith(" " + ref):
                return line.split(" ", 1)[0]
    except OSError:
        return None
    return None


def metadata() -> dict[str, Any]:
    """Where and when a result was measured, so two result files can be put side by side."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return {
        "commit": git_commit(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus_available": cpus,
    }


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile with linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def stats(values: list[float]) -> dict[str, Any]:
    """Count, p50, p95, mean and total of a list of seconds."""
    return {
        "count": len(values),
        "p50": _r(percentile(values, 50)),
        "p95": _r(percentile(values, 95)),
        "mean": _r(sum(values) / len(values)) if values else None,
        "total": _r(sum(values)),
    }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def write_json(path: Path, data: Any) -> None:
    """Write a result file (pretty, stable key order)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def pin_cores(cores: int | None) -> list[int] | None:
    """Restrict this process (and its children) to the first ``cores`` CPUs; Linux only."""
    if not cores:
        return None
    try:
        available = sorted(os.sched_getaffinity(0))
    except AttributeError:
        return None
    chosen = available[:cores]
    os.sched_setaffinity(0, chosen)
    return chosen
