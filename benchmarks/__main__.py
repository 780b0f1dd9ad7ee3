"""Run every benchmark and write one JSON file; compare two such files.

    .venv/bin/python -m benchmarks [--quick] [--only NAME …] [--out FILE]
    .venv/bin/python -m benchmarks compare OLD.json NEW.json
    .venv/bin/python -m benchmarks eval-baseline [--update]

Results go to ``benchmarks/results/all.json`` (and ``--out``), with the commit they were
measured on, so results of two commits can be compared with ``compare``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import eval_baseline, llm_replay, throughput
from benchmarks.common import RESULTS, ROOT, SAMPLE_INBOX, metadata, write_json


def _script(name: str, *args: str, needs_env: str | None = None) -> Callable[[bool], Any]:
    """A benchmark script that prints JSON, run in its own process."""

    def run(quick: bool) -> Any:
        if needs_env and not os.environ.get(needs_env):
            return {"status": "skipped", "reason": f"needs {needs_env} (see benchmarks/{name}.py)"}
        done = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / f"{name}.py"), *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            return {"status": "failed", "exit_code": done.returncode, "stderr": done.stderr[-2000:]}
        try:
            return json.loads(done.stdout)
        except json.JSONDecodeError:
            return {
                "status": "failed",
                "reason": "no JSON on stdout",
                "stdout": done.stdout[-2000:],
            }

    return run


def _eval_fixtures(quick: bool) -> Any:
    from intake.catalog import load_catalog
    from intake.config import Settings
    from intake.eval import evaluate

    settings = Settings()
    report = evaluate([SAMPLE_INBOX], settings, load_catalog(settings.catalog.path))
    return {"summary": report["summary"], "latency": report["latency"], "usage": report["usage"]}


def _full_only(name: str, run: Callable[[bool], Any]) -> Callable[[bool], Any]:
    """Scripts that write their own result file run only in full (a quick run must not
    overwrite a checked-in result with a smaller measurement)."""

    def guarded(quick: bool) -> Any:
        if quick:
            return {"status": "skipped", "reason": f"--quick: run benchmarks/{name}.py in full"}
        return run(quick)

    return guarded


BENCHMARKS: dict[str, Callable[[bool], Any]] = {
    "throughput_offline": lambda quick: throughput.run(2 if quick else 5, [1, 2], 2, None),
    "llm_replay": lambda quick: llm_replay.run(
        copies=1 if quick else 3, latency_scale=0.1 if quick else 1.0
    ),
    "eval_fixtures": _eval_fixtures,
    "pipeline_throughput": _full_only("pipeline_throughput", _script("pipeline_throughput")),
    "imap_ingest": _full_only("imap_ingest", _script("imap_ingest")),
    "odoo": _full_only("odoo", _script("odoo", needs_env="INTAKE_TEST_ODOO_URL")),
}


def run_all(names: list[str], quick: bool) -> dict[str, Any]:
    results: dict[str, Any] = {"meta": metadata(), "quick": quick, "benchmarks": {}}
    for name in names:
        print(f"benchmarks: {name} …", file=sys.stderr, flush=True)
        results["benchmarks"][name] = BENCHMARKS[name](quick)
    return results


def flatten(data: Any, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a result as dotted paths (lists by index), for comparing two runs."""
    out: dict[str, float] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}{key}."))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out.update(flatten(value, f"{prefix}{i}."))
    elif isinstance(data, int | float) and not isinstance(data, bool):
        out[prefix.rstrip(".")] = float(data)
    return out


def compare(
    old: dict[str, Any], new: dict[str, Any]
) -> list[tuple[str, float, float, float | None]]:
    """Every number present in both results: (path, old, new, new / old)."""
    a, b = flatten(old.get("benchmarks", old)), flatten(new.get("benchmarks", new))
    return [
        (path, a[path], b[path], b[path] / a[path] if a[path] else None)
        for path in sorted(a.keys() & b.keys())
    ]


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "eval-baseline":
        return eval_baseline.main(sys.argv[2:])
    if len(sys.argv) > 1 and sys.argv[1] == "compare":
        parser = argparse.ArgumentParser(prog="python -m benchmarks compare")
        parser.add_argument("old", type=Path)
        parser.add_argument("new", type=Path)
        args = parser.parse_args(sys.argv[2:])
        old = json.loads(args.old.read_text(encoding="utf-8"))
        new = json.loads(args.new.read_text(encoding="utf-8"))
        print(f"old: {old.get('meta', {}).get('commit')}  new: {new.get('meta', {}).get('commit')}")
        for path, a, b, ratio in compare(old, new):
            print(f"{path:70} {a:>12.4g} {b:>12.4g} {'-' if ratio is None else f'{ratio:.2f}x':>8}")
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer documents and rounds")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), default=list(BENCHMARKS))
    parser.add_argument("--out", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    results = run_all(args.only, args.quick)
    write_json(RESULTS / "all.json", results)
    if args.out:
        write_json(args.out, results)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
