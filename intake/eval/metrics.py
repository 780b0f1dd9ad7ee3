"""Scoring: one document's extraction against its label, and the sums over a corpus.

Per field, a labeled value and an extracted value are normalized (:mod:`intake.eval.normalize`)
and compared. The outcome is one of

- ``correct`` (true positive), ``wrong`` (a value, but another one: counts as a false positive
  *and* a false negative), ``missing`` (the label has a value, the extraction none: false
  negative), ``extra`` (a value the document does not state: false positive), ``absent``
  (neither has one: not counted).

Lines are paired first (:func:`pair_lines`, the Hungarian method on a similarity of their
fields), so a reordered or split table is scored line by line, not position by position. A
paired line whose every scored field is correct is a correct line item; the line-item F1 is
computed on those. A document is an exact match when no scored field is wrong, missing or
extra (for a document that is not an order: when it was classified as such).

The touchless curve asks, for each confidence threshold, how many documents would become draft
quotations without a person, and how many of those drafts would be wrong: a wrong draft is a
document that is not an order, or one where a value the draft quotation carries (customer,
PO number, delivery date, currency, line products, descriptions, quantities and unit prices)
is wrong, missing or extra. :func:`choose_threshold` then picks the default threshold by the
rule in ``docs/evaluation.md``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict
from rapidfuzz import fuzz

from intake.eval import normalize
from intake.eval.assign import max_weight_assignment
from intake.eval.labels import Label, LabelLine, LabelOrder
from intake.models import ExtractedLine, ExtractedOrder

Outcome = Literal["correct", "wrong", "missing", "extra", "absent"]
Kind = Literal["text", "email", "code", "number", "date", "address"]
Group = Literal["header", "line", "match"]

MAX_WRONG_SHARE = 0.005
"""Wrong auto-drafts the default threshold may allow: at most 0.5 % of the drafts."""

THRESHOLD_GRID = tuple(round(i / 100, 2) for i in range(101))
"""The confidence thresholds the touchless curve is computed at (0.00 … 1.00)."""

ROUND_TO = 0.05
"""The chosen threshold is a multiple of this, so it does not chase single documents."""

DESCRIPTION_PAIRING_MIN = 0.6
"""Description similarity below this does not help pair two lines."""


class Report(BaseModel):
    """Base of the report models: plain data, JSON as is."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldResult(Report):
    """One scored field of one document."""

    field: str
    path: str
    group: Group
    expected: str | None
    got: str | None
    outcome: Outcome
    in_draft: bool

    @property
    def is_error(self) -> bool:
        """True for wrong, missing and extra values."""
        return self.outcome in ("wrong", "missing", "extra")


class LineResult(Report):
    """How one labeled line and one extracted line were paired and whether they agree."""

    label_index: int | None
    extracted_index: int | None
    outcome: Literal["correct", "wrong", "missing", "extra", "unscored"]


class Counts(Report):
    """True positives, false positives and false negatives, with the scores they give."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float | None:
        """TP / (TP + FP); None when nothing was predicted."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        """TP / (TP + FN); None when the labels hold nothing."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        """2TP / (2TP + FP + FN), the harmonic mean of precision and recall; None if empty."""
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator else None

    def __add__(self, other: Counts) -> Counts:
        return Counts(tp=self.tp + other.tp, fp=self.fp + other.fp, fn=self.fn + other.fn)

    def as_dict(self) -> dict[str, int | float | None]:
        """The counts and the scores, for the JSON report."""
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": _round(self.precision),
            "recall": _round(self.recall),
            "f1": _round(self.f1),
        }


def counts_of(outcomes: Sequence[str]) -> Counts:
    """Count outcomes: correct → TP, extra → FP, missing → FN, wrong → FP and FN."""
    c = Counter(outcomes)
    return Counts(tp=c["correct"], fp=c["wrong"] + c["extra"], fn=c["wrong"] + c["missing"])


class DocScore(Report):
    """Every scored field and line of one document, and the verdicts drawn from them."""

    scored: bool
    expected_class: str
    predicted_class: str
    fields: tuple[FieldResult, ...] = ()
    lines: tuple[LineResult, ...] = ()
    exact: bool
    wrong_draft: bool

    def field_counts(self, groups: tuple[Group, ...] = ("header", "line")) -> Counts:
        """TP/FP/FN over this document's fields of the given groups."""
        return counts_of([f.outcome for f in self.fields if f.group in groups])

    def line_counts(self) -> Counts:
        """TP/FP/FN over this document's line items."""
        return counts_of([ln.outcome for ln in self.lines if ln.outcome != "unscored"])


# --------------------------------------------------------------------------- field specs


@dataclass(frozen=True)
class HeaderSpec:
    """How one header field of ExtractedOrder maps onto the label."""

    field: str
    label_field: str
    label_sub: str | None
    kind: Kind
    in_draft: bool


HEADER_FIELDS = (
    HeaderSpec("customer_name", "buyer", "name", "text", False),
    HeaderSpec("customer_email", "buyer", "email", "email", False),
    HeaderSpec("customer_vat", "buyer", "vat", "code", False),
    HeaderSpec("po_number", "po_number", None, "code", True),
    HeaderSpec("order_date", "order_date", None, "date", False),
    HeaderSpec("requested_delivery_date", "requested_delivery_date", None, "date", True),
    HeaderSpec("currency", "currency", None, "code", True),
    HeaderSpec("ship_to", "ship_to", None, "address", False),
    HeaderSpec("total_amount", "total", None, "number", False),
)
"""Header fields scored, with the label field they are compared with (buyer → customer_*)."""

LINE_FIELDS: tuple[tuple[str, str, Kind, bool], ...] = (
    ("product_code", "sku", "code", True),
    ("description", "description", "text", True),
    ("quantity", "quantity", "number", True),
    ("uom", "uom", "code", False),
    ("unit_price", "unit_price", "number", True),
    ("line_total", "amount", "number", False),
)
"""Line fields scored: (ExtractedLine field, label line field, kind, carried into the draft)."""

ADDRESS_PARTS = ("name", "street", "city", "postal_code")

_NORMALIZERS: dict[Kind, Callable[[object], object]] = {
    "text": normalize.fold_text,
    "email": normalize.email,
    "code": normalize.code,
    "number": normalize.number,
    "date": normalize.as_date,
}


def _display(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def compare(kind: Kind, expected: object, got: object, also: Sequence[object] = ()) -> Outcome:
    """Compare one labeled value with one extracted value after normalizing both.

    ``also`` lists further labeled values that count as correct (a line's buyer code when
    the seller's code is the one expected).
    """
    norm = _NORMALIZERS[kind]
    want, have = norm(expected), norm(got)
    if want is None:
        return "absent" if have is None else "extra"
    if have is None:
        return "missing"
    accepted = [want, *(v for v in (norm(a) for a in also) if v is not None)]
    return "correct" if have in accepted else "wrong"


# --------------------------------------------------------------------------- header


def _label_value(order: LabelOrder, spec: HeaderSpec) -> object:
    value = getattr(order, spec.label_field)
    if spec.label_sub is not None:
        return None if value is None else getattr(value, spec.label_sub)
    return value


def score_header(label: Label, order: LabelOrder, extracted: ExtractedOrder) -> list[FieldResult]:
    """Score the header fields that the label gives (``unlabeled`` ones are left out)."""
    results: list[FieldResult] = []
    for spec in HEADER_FIELDS:
        if label.is_unlabeled(spec.label_field, spec.label_sub):
            continue
        got = getattr(extracted, spec.field).value
        if spec.kind == "address":
            result = _score_address(label, order, got)
            if result is None:
                continue
            expected_text, outcome = result
        else:
            expected = _label_value(order, spec)
            expected_text = _display(expected)
            outcome = compare(spec.kind, expected, got)
        results.append(
            FieldResult(
                field=spec.field,
                path=spec.field,
                group="header",
                expected=expected_text,
                got=_display(got),
                outcome=outcome,
                in_draft=spec.in_draft,
            )
        )
    return results


def _score_address(
    label: Label, order: LabelOrder, got: object
) -> tuple[str | None, Outcome] | None:
    address = order.ship_to
    parts: dict[str, str | None] = {}
    if address is not None:
        parts = {
            p: getattr(address, p) for p in ADDRESS_PARTS if not label.is_unlabeled("ship_to", p)
        }
        if not parts:
            return None  # every part is unlabeled
    wanted = normalize.address_parts(parts)
    has_value = normalize.fold_text(got) is not None
    if not wanted:
        return None, "extra" if has_value else "absent"
    expected_text = ", ".join(v for v in parts.values() if v)
    if not has_value:
        return expected_text, "missing"
    return expected_text, "correct" if normalize.address_contains(got, wanted) else "wrong"


def score_partner(expected: str | None, matched_name: str | None) -> FieldResult:
    """Score the customer the order was matched to against the catalog partner expected."""
    return FieldResult(
        field="customer_partner",
        path="customer_partner",
        group="match",
        expected=expected,
        got=matched_name,
        outcome=compare("text", expected, matched_name),
        in_draft=True,
    )


# --------------------------------------------------------------------------- lines


def _line_specs(label: Label, index: int) -> list[tuple[str, str, Kind, bool]]:
    """The line fields scored on labeled line ``index`` (-1: an extracted line left unpaired)."""
    specs = []
    for field, label_field, kind, in_draft in LINE_FIELDS:
        if field == "product_code":
            # the seller's code is expected; the buyer's own code is accepted too, and when
            # only one code is printed the label gives it as sku
            if label.is_unlabeled("lines", "sku", index):
                continue
        elif label.is_unlabeled("lines", label_field, index):
            continue
        specs.append((field, label_field, kind, in_draft))
    return specs


def _expected_code(label: Label, line: LabelLine, index: int) -> tuple[object, list[object]]:
    buyer_known = not label.is_unlabeled("lines", "buyer_sku", index)
    buyer = line.buyer_sku if buyer_known else None
    if line.sku is not None:
        return line.sku, [buyer] if buyer else []
    return buyer, []


def _line_field(
    label: Label,
    line: LabelLine | None,
    index: int,
    got: ExtractedLine | None,
    spec: tuple[str, str, Kind, bool],
) -> tuple[object, object, list[object]]:
    field, label_field, _kind, _ = spec
    have = getattr(got, field).value if got is not None else None
    if line is None:
        return None, have, []
    if field == "product_code":
        want, also = _expected_code(label, line, index)
        return want, have, also
    return getattr(line, label_field), have, []


def line_similarity(label: Label, line: LabelLine, index: int, got: ExtractedLine) -> float:
    """How alike a labeled and an extracted line are: agreeing fields, description by fuzz."""
    total = 0.0
    for spec in _line_specs(label, index):
        field, _, kind, _ = spec
        want, have, also = _line_field(label, line, index, got, spec)
        if compare(kind, want, have, also) == "correct":
            total += 1.0
        elif field == "description" and want is not None and have is not None:
            ratio = fuzz.token_set_ratio(str(want).casefold(), str(have).casefold()) / 100
            total += ratio if ratio >= DESCRIPTION_PAIRING_MIN else 0.0
    return total


def pair_lines(
    label: Label, expected: Sequence[LabelLine], extracted: Sequence[ExtractedLine]
) -> list[tuple[int | None, int | None]]:
    """Pair labeled lines with extracted lines by the largest total similarity.

    Returns ``(label_index, extracted_index)`` pairs; ``None`` on one side marks a labeled
    line nothing was paired with (missing) or an extracted line with no label (extra). Two
    lines that agree on nothing are not paired.
    """
    weights = [
        [line_similarity(label, line, i, got) for got in extracted]
        for i, line in enumerate(expected)
    ]
    pairs = [(i, j) for i, j in max_weight_assignment(weights) if weights[i][j] > 0]
    paired_labels = {i for i, _ in pairs}
    paired_extracted = {j for _, j in pairs}
    result: list[tuple[int | None, int | None]] = list(pairs)
    result += [(i, None) for i in range(len(expected)) if i not in paired_labels]
    result += [(None, j) for j in range(len(extracted)) if j not in paired_extracted]
    return result


def score_lines(
    label: Label, order: LabelOrder, extracted: ExtractedOrder
) -> tuple[list[FieldResult], list[LineResult]]:
    """Pair the lines, then score every scored field of every pair (and of unpaired lines)."""
    if label.is_unlabeled("lines"):
        return [], []
    fields: list[FieldResult] = []
    lines: list[LineResult] = []
    for i, j in pair_lines(label, order.lines, extracted.lines):
        line = order.lines[i] if i is not None else None
        got = extracted.lines[j] if j is not None else None
        index = i if i is not None else -1
        outcomes = []
        for spec in _line_specs(label, index):
            field, _, kind, in_draft = spec
            want, have, also = _line_field(label, line, index, got, spec)
            outcome = compare(kind, want, have, also)
            outcomes.append(outcome)
            path = f"lines[{i}].{field}" if i is not None else f"extra line {j}: {field}"
            fields.append(
                FieldResult(
                    field=f"lines.{field}",
                    path=path,
                    group="line",
                    expected=_display(want),
                    got=_display(have),
                    outcome=outcome,
                    in_draft=in_draft,
                )
            )
        if line is None:
            verdict: Literal["correct", "wrong", "missing", "extra", "unscored"] = "extra"
        elif got is None:
            verdict = "missing" if outcomes else "unscored"
        elif not outcomes:
            verdict = "unscored"
        else:
            bad = any(o in ("wrong", "missing", "extra") for o in outcomes)
            verdict = "wrong" if bad else "correct"
        lines.append(LineResult(label_index=i, extracted_index=j, outcome=verdict))
    return fields, lines


# --------------------------------------------------------------------------- document


def score_document(
    label: Label,
    predicted_class: str,
    extracted: ExtractedOrder | None,
    matched_partner: str | None,
) -> DocScore:
    """Score one document: its fields and lines when it is an order, its class otherwise.

    Args:
        label: the document's label.
        predicted_class: the classifier's answer (order, not_order, unsure).
        extracted: what the pipeline extracted (None when the pipeline stopped before).
        matched_partner: the catalog customer the order was matched to, if any.
    """
    expected_class = label.expected_class
    if expected_class != "order" or label.order is None:
        exact = predicted_class == expected_class
        return DocScore(
            scored=False,
            expected_class=expected_class,
            predicted_class=predicted_class,
            exact=exact,
            wrong_draft=expected_class != "order",
        )
    extracted = extracted or ExtractedOrder(extractor="none")
    fields = score_header(label, label.order, extracted)
    line_fields, lines = score_lines(label, label.order, extracted)
    fields += line_fields
    if label.expected is not None and label.expected.customer_partner is not None:
        fields.append(score_partner(label.expected.customer_partner, matched_partner))
    errors = [f for f in fields if f.is_error]
    return DocScore(
        scored=True,
        expected_class=expected_class,
        predicted_class=predicted_class,
        fields=tuple(fields),
        lines=tuple(lines),
        exact=not errors,
        wrong_draft=any(f.in_draft for f in errors),
    )


# --------------------------------------------------------------------------- corpus sums


def field_table(scores: Sequence[DocScore]) -> dict[str, Counts]:
    """TP/FP/FN per field name over all documents, in the order fields are defined."""
    table: dict[str, Counts] = {}
    for spec in HEADER_FIELDS:
        table[spec.field] = Counts()
    for field, *_ in LINE_FIELDS:
        table[f"lines.{field}"] = Counts()
    table["customer_partner"] = Counts()
    for score in scores:
        for result in score.fields:
            table[result.field] = table.get(result.field, Counts()) + counts_of([result.outcome])
    return table


def total_counts(scores: Sequence[DocScore], groups: tuple[Group, ...]) -> Counts:
    """TP/FP/FN of the given field groups summed over documents (micro-average)."""
    total = Counts()
    for score in scores:
        total += score.field_counts(groups)
    return total


def line_item_counts(scores: Sequence[DocScore]) -> Counts:
    """Correct line items (TP), extra or wrong ones (FP), missing or wrong ones (FN)."""
    total = Counts()
    for score in scores:
        total += score.line_counts()
    return total


class CurvePoint(Report):
    """The touchless curve at one threshold."""

    threshold: float
    drafted: int
    drafted_share: float
    wrong: int
    wrong_share: float
    inexact: int
    inexact_share: float


def touchless_curve(
    drafted_at: Sequence[Sequence[bool]],
    wrong: Sequence[bool],
    exact: Sequence[bool],
    grid: Sequence[float] = THRESHOLD_GRID,
) -> list[CurvePoint]:
    """Share of documents drafted, and share of drafts that are wrong, at each threshold.

    Args:
        drafted_at: per document, whether it is drafted at each threshold of ``grid``.
        wrong: per document, whether a draft of it would be wrong.
        exact: per document, whether every scored field is right.
        grid: the thresholds.
    """
    n = len(wrong)
    curve = []
    for k, threshold in enumerate(grid):
        drafted = [d for d in range(n) if drafted_at[d][k]]
        bad = sum(1 for d in drafted if wrong[d])
        inexact = sum(1 for d in drafted if not exact[d])
        curve.append(
            CurvePoint(
                threshold=threshold,
                drafted=len(drafted),
                drafted_share=_share(len(drafted), n),
                wrong=bad,
                wrong_share=_share(bad, len(drafted)),
                inexact=inexact,
                inexact_share=_share(inexact, len(drafted)),
            )
        )
    return curve


class ThresholdChoice(Report):
    """The threshold the evaluation chose, what it gives, and how sure one can be of it."""

    threshold: float | None
    touchless_rate: float
    drafted: int
    wrong: int
    wrong_share: float
    wrong_share_upper_95: float | None
    reason: str


def choose_threshold(
    curve: Sequence[CurvePoint], max_wrong_share: float = MAX_WRONG_SHARE
) -> ThresholdChoice:
    """Choose the draft threshold by the rule in docs/evaluation.md.

    1. Admissible thresholds: those where the wrong share of drafts is at most
       ``max_wrong_share`` there *and at every higher threshold* (so a lucky dip in the curve
       is never chosen). The lowest admissible threshold gives the highest touchless rate.
    2. Of the thresholds that draft exactly as many documents as that lowest one, take the
       highest, rounded down to a multiple of 0.05 (but not below the lowest): the most
       cautious setting that loses no draft on the evaluation set, and a round number that
       does not chase single documents.
    """
    admissible: list[CurvePoint] = []
    for point in reversed(curve):
        if point.wrong_share > max_wrong_share:
            break
        admissible.append(point)
    if not admissible:
        top = curve[-1]
        return ThresholdChoice(
            threshold=None,
            touchless_rate=0.0,
            drafted=0,
            wrong=top.wrong,
            wrong_share=top.wrong_share,
            wrong_share_upper_95=None,
            reason=(
                f"even at threshold {top.threshold:.2f} {top.wrong} of {top.drafted} drafts are "
                f"wrong (over {max_wrong_share:.1%}): no threshold is safe; the confidence does "
                "not separate right from wrong orders on this set"
            ),
        )
    lowest = admissible[-1]
    if lowest.drafted == 0:
        return ThresholdChoice(
            threshold=None,
            touchless_rate=0.0,
            drafted=0,
            wrong=0,
            wrong_share=0.0,
            wrong_share_upper_95=None,
            reason="no document is drafted at any threshold: this set cannot choose one",
        )
    same = [p for p in admissible if p.drafted == lowest.drafted]
    highest = max(p.threshold for p in same)
    rounded = math.floor(round(highest / ROUND_TO, 6)) * ROUND_TO
    threshold = round(max(lowest.threshold, rounded), 2)
    return ThresholdChoice(
        threshold=threshold,
        touchless_rate=lowest.drafted_share,
        drafted=lowest.drafted,
        wrong=lowest.wrong,
        wrong_share=lowest.wrong_share,
        wrong_share_upper_95=_round(wrong_share_upper_bound(lowest.wrong, lowest.drafted)),
        reason=(
            f"drafts at thresholds {lowest.threshold:.2f}–{highest:.2f} are the same "
            f"{lowest.drafted} document(s) with {lowest.wrong} wrong "
            f"({lowest.wrong_share:.1%} ≤ {max_wrong_share:.1%}); {threshold:.2f} is the most "
            "cautious round threshold that keeps them all"
        ),
    )


def wrong_share_upper_bound(wrong: int, drafted: int, confidence: float = 0.95) -> float | None:
    """One-sided upper confidence bound on the true wrong-draft share (Clopper–Pearson).

    With few drafts a measured 0 % says little: 0 wrong of 4 drafts still allows up to 53 %
    at 95 % confidence. The report prints this bound beside the chosen threshold.
    """
    if drafted == 0:
        return None
    if wrong >= drafted:
        return 1.0
    alpha = 1 - confidence
    low, high = wrong / drafted, 1.0
    for _ in range(100):  # bisection on the binomial tail
        mid = (low + high) / 2
        if _binomial_cdf(wrong, drafted, mid) > alpha:
            low = mid
        else:
            high = mid
    return high


def _binomial_cdf(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0–100) with linear interpolation between ranks; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)
