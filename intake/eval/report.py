"""The evaluation report: the numbers, as JSON for scripts and CI, text and HTML for people.

:func:`build_report` turns the per-document runs into one plain ``dict`` — that dict *is* the
JSON (``intake eval --json``) and the input of the text and HTML renderings, so all three
always agree. Its ``schema`` key versions the layout for tools that compare two reports.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from intake.config import Settings
from intake.eval import WORST_DEFAULT
from intake.eval.metrics import (
    MAX_WRONG_SHARE,
    THRESHOLD_GRID,
    DocScore,
    choose_threshold,
    field_table,
    line_item_counts,
    percentile,
    score_document,
    total_counts,
    touchless_curve,
)
from intake.eval.runner import STAGES, DocRun, Usage

REPORT_SCHEMA = "intake-eval/1"
TEMPLATES = Path(__file__).resolve().parent / "templates"


def score_run(run: DocRun) -> DocScore:
    """Score one run against its label."""
    predicted = run.classification.label if run.classification else "none"
    partner = run.matched.customer.name if run.matched and run.matched.customer else None
    return score_document(run.label, predicted, run.order, partner)


def build_report(
    runs: Sequence[DocRun],
    *,
    datasets: Sequence[str],
    extractor: str,
    settings: Settings,
    worst: int = WORST_DEFAULT,
) -> dict[str, Any]:
    """Everything the evaluation measured, as plain JSON-ready data.

    Args:
        runs: one run per labeled document, in a stable order.
        datasets: the folders evaluated, as given on the command line.
        extractor: the extractor that was run (``offline``, ``cascade``).
        settings: the configuration the pipeline ran with (thresholds, catalog).
        worst: how many of the worst documents to list with their findings.
    """
    scores = [score_run(run) for run in runs]
    documents = [_document(run, score) for run, score in zip(runs, scores, strict=True)]
    curve = touchless_curve(
        [run.drafted_at for run in runs],
        [score.wrong_draft for score in scores],
        [score.exact for score in scores],
    )
    choice = choose_threshold(curve)
    configured = settings.thresholds.draft_min_confidence
    at_configured = min(curve, key=lambda p: abs(p.threshold - configured))
    fields = total_counts(scores, ("header", "line"))
    header = total_counts(scores, ("header",))
    line_fields = total_counts(scores, ("line",))
    partner = total_counts(scores, ("match",))
    line_items = line_item_counts(scores)
    n = len(runs)
    exact = sum(1 for s in scores if s.exact)
    extractors = sorted({run.order.extractor for run in runs if run.order is not None})
    summary = {
        "documents": n,
        "scored_documents": sum(1 for s in scores if s.scored),
        "exact_match_rate": _share(exact, n),
        "field_precision": _r(fields.precision),
        "field_recall": _r(fields.recall),
        "field_f1": _r(fields.f1),
        "header_field_f1": _r(header.f1),
        "line_field_f1": _r(line_fields.f1),
        "line_item_precision": _r(line_items.precision),
        "line_item_recall": _r(line_items.recall),
        "line_item_f1": _r(line_items.f1),
        "customer_match_accuracy": _r(partner.recall),
        "classification_accuracy": _share(
            sum(1 for s in scores if s.predicted_class == s.expected_class), n
        ),
        "touchless_rate": choice.touchless_rate,
        "chosen_threshold": choice.threshold,
        "configured_threshold": configured,
        "touchless_rate_at_configured": at_configured.drafted_share,
        "wrong_share_at_configured": at_configured.wrong_share,
    }
    ranked = sorted(
        (d for d in documents if not d["exact"]),
        key=lambda d: (
            not d["wrong_draft"] or d["decision"] != "draft",
            d["fields"]["f1"] if d["fields"]["f1"] is not None else (0.0 if d["scored"] else 1.0),
            -len(d["errors"]),
            d["document"],
        ),
    )
    return {
        "schema": REPORT_SCHEMA,
        "datasets": list(datasets),
        "extractor": extractor,
        "extractor_versions": extractors,
        "catalog": str(settings.catalog.path),
        "summary": summary,
        "fields": {name: counts.as_dict() for name, counts in field_table(scores).items()},
        "groups": {
            "all": fields.as_dict(),
            "header": header.as_dict(),
            "line": line_fields.as_dict(),
            "match": partner.as_dict(),
            "line_items": line_items.as_dict(),
        },
        "classification": _classification(scores),
        "decisions": _decisions(runs),
        "touchless": {
            "max_wrong_share": MAX_WRONG_SHARE,
            "chosen": choice.model_dump(),
            "configured_threshold": configured,
            "at_configured": at_configured.model_dump(),
            "curve": [p.model_dump() for p in curve],
        },
        "latency": _latency(runs),
        "usage": _usage(runs),
        "worst": ranked[:worst],
        "documents": documents,
    }


def _document(run: DocRun, score: DocScore) -> dict[str, Any]:
    label = run.label
    classification = run.classification
    confidence = run.assessment.confidence if run.assessment else run.decision.confidence
    return {
        "document": run.name,
        "document_type": label.document_type,
        "expected_class": score.expected_class,
        "classification": None
        if classification is None
        else {
            "label": classification.label,
            "kind": classification.kind,
            "confidence": classification.confidence,
        },
        "extractor": run.order.extractor if run.order else None,
        "decision": run.decision.kind.value,
        "expected_decision": label.expected.decision if label.expected else None,
        "confidence": confidence,
        "scored": score.scored,
        "exact": score.exact,
        "wrong_draft": score.wrong_draft,
        "fields": score.field_counts().as_dict(),
        "lines": score.line_counts().as_dict(),
        "errors": [
            {"path": f.path, "expected": f.expected, "got": f.got, "outcome": f.outcome}
            for f in score.fields
            if f.is_error
        ],
        "findings": [
            {"severity": f.severity.value, "code": f.code, "message": f.message, "field": f.field}
            for f in (run.assessment.findings if run.assessment else ())
        ],
        "reasons": list(run.decision.reasons),
        "problems": [p.message for p in run.problems],
        "error": run.error,
        "timings": {k: round(v, 6) for k, v in run.timings.items()},
        "usage": run.usage.model_dump(),
    }


def _classification(scores: Sequence[DocScore]) -> dict[str, Any]:
    confusion: dict[str, Counter[str]] = {}
    for s in scores:
        confusion.setdefault(s.expected_class, Counter())[s.predicted_class] += 1
    return {
        "accuracy": _share(
            sum(1 for s in scores if s.predicted_class == s.expected_class), len(scores)
        ),
        "confusion": {k: dict(sorted(v.items())) for k, v in sorted(confusion.items())},
    }


def _decisions(runs: Sequence[DocRun]) -> dict[str, Any]:
    counts = Counter(run.decision.kind.value for run in runs)
    labeled = [r for r in runs if r.label.expected and r.label.expected.decision]
    agree = sum(
        1
        for r in labeled
        if r.label.expected and r.decision.kind.value == r.label.expected.decision
    )
    return {
        "counts": dict(sorted(counts.items())),
        "with_expected_decision": len(labeled),
        "agree_with_expected": agree,
    }


def _latency(runs: Sequence[DocRun]) -> dict[str, Any]:
    stages: dict[str, dict[str, float | int | None]] = {}
    for stage in STAGES:
        values = [run.timings[stage] for run in runs if stage in run.timings]
        stages[stage] = _stats(values)
    totals = [sum(run.timings.values()) for run in runs]
    return {"unit": "seconds", "stages": stages, "document": _stats(totals)}


def _stats(values: Sequence[float]) -> dict[str, float | int | None]:
    return {
        "count": len(values),
        "p50": _r(percentile(values, 50), 6),
        "p95": _r(percentile(values, 95), 6),
        "mean": _r(sum(values) / len(values), 6) if values else None,
        "total": round(sum(values), 6),
    }


def _usage(runs: Sequence[DocRun]) -> dict[str, Any]:
    total = Usage()
    for run in runs:
        total += run.usage
    n = len(runs) or 1
    return {
        **total.model_dump(),
        "per_document": {
            "calls": round(total.calls / n, 4),
            "tokens": round((total.prompt_tokens + total.completion_tokens) / n, 2),
            "cost": round(total.cost / n, 6),
        },
        "currency": "USD",
    }


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


# --------------------------------------------------------------------------- renderings


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render_text(report: dict[str, Any], max_errors: int = 8) -> str:
    """A plain-text summary for a terminal: headline numbers, fields, curve, worst documents."""
    s = report["summary"]
    chosen = report["touchless"]["chosen"]
    lines = [
        f"intake eval: {', '.join(report['datasets'])} — extractor {report['extractor']} "
        f"({', '.join(report['extractor_versions']) or '-'})",
        f"{s['documents']} document(s), {s['scored_documents']} scored as orders; catalog "
        f"{report['catalog']}",
        "",
        f"field F1 {_num(s['field_f1'])} (precision {_num(s['field_precision'])}, recall "
        f"{_num(s['field_recall'])}; header {_num(s['header_field_f1'])}, lines "
        f"{_num(s['line_field_f1'])})",
        f"line-item F1 {_num(s['line_item_f1'])}   document exact match "
        f"{_pct(s['exact_match_rate'])}   classification {_pct(s['classification_accuracy'])}"
        f"   customer match {_pct(s['customer_match_accuracy'])}",
        f"touchless rate {_pct(s['touchless_rate'])} at ≤ "
        f"{report['touchless']['max_wrong_share']:.1%} wrong auto-drafts; chosen threshold "
        f"{'-' if chosen['threshold'] is None else format(chosen['threshold'], '.2f')}"
        + (
            f" (95% upper bound on wrong drafts {_pct(chosen['wrong_share_upper_95'])})"
            if chosen["wrong_share_upper_95"] is not None
            else ""
        ),
        f"  {chosen['reason']}",
        f"at the configured threshold {s['configured_threshold']:.2f}: "
        f"{_pct(s['touchless_rate_at_configured'])} drafted, "
        f"{_pct(s['wrong_share_at_configured'])} of them wrong",
        "",
        f"{'field':28} {'tp':>5} {'fp':>5} {'fn':>5} {'prec':>6} {'recall':>6} {'f1':>6}",
    ]
    for name, c in report["fields"].items():
        lines.append(
            f"{name:28} {c['tp']:>5} {c['fp']:>5} {c['fn']:>5} {_num(c['precision']):>6} "
            f"{_num(c['recall']):>6} {_num(c['f1']):>6}"
        )
    lines += ["", f"{'stage':10} {'p50 s':>9} {'p95 s':>9} {'mean s':>9}"]
    latency = report["latency"]
    for stage, st in [*latency["stages"].items(), ("document", latency["document"])]:
        lines.append(
            f"{stage:10} {_num(st['p50'], 4):>9} {_num(st['p95'], 4):>9} {_num(st['mean'], 4):>9}"
        )
    usage = report["usage"]
    lines += [
        "",
        f"model usage: {usage['calls']} calls, {usage['prompt_tokens']} prompt + "
        f"{usage['completion_tokens']} completion tokens, cost {usage['cost']:.4f} "
        f"{usage['currency']} ({usage['per_document']['tokens']} tokens, "
        f"{usage['per_document']['cost']:.6f} per document)",
    ]
    if report["worst"]:
        lines += ["", "worst documents:"]
    for doc in report["worst"]:
        f1 = doc["fields"]["f1"]
        lines.append(
            f"- {doc['document']} [{doc['document_type']}; classified "
            f"{(doc['classification'] or {}).get('label', '-')}; {doc['decision']} at "
            f"{doc['confidence']:.2f}; field F1 {_num(f1)}]"
        )
        if doc["error"]:
            lines.append(f"    error: {doc['error']}")
        for err in doc["errors"][:max_errors]:
            lines.append(
                f"    {err['outcome']:7} {err['path']}: expected {err['expected']!r}, "
                f"got {err['got']!r}"
            )
        if len(doc["errors"]) > max_errors:
            lines.append(f"    … and {len(doc['errors']) - max_errors} more")
        for finding in doc["findings"][:3]:
            lines.append(f"    finding {finding['severity']}: {finding['message']}")
    return "\n".join(lines)


def curve_svg_points(
    curve: Sequence[dict[str, Any]], key: str, width: int, height: int, pad: int
) -> str:
    """The ``points`` attribute of an SVG polyline for one share of the curve."""
    inner_w, inner_h = width - 2 * pad, height - 2 * pad
    return " ".join(
        f"{pad + p['threshold'] * inner_w:.1f},{pad + (1 - p[key]) * inner_h:.1f}" for p in curve
    )


def render_html(report: dict[str, Any]) -> str:
    """A self-contained HTML page (no scripts) with the touchless curve drawn as inline SVG."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = _pct
    env.filters["num"] = _num
    width, height, pad = 640, 320, 40
    svg = {
        "width": width,
        "height": height,
        "pad": pad,
        "drafted": curve_svg_points(
            report["touchless"]["curve"], "drafted_share", width, height, pad
        ),
        "wrong": curve_svg_points(report["touchless"]["curve"], "wrong_share", width, height, pad),
        "x": lambda t: pad + t * (width - 2 * pad),
        "ticks": [round(i / 10, 1) for i in range(11)],
    }
    return env.get_template("report.html.j2").render(
        report=report, svg=svg, grid_size=len(THRESHOLD_GRID)
    )
