"""Run the pipeline up to the decision on labeled documents, in memory, with no side effects.

The evaluation must measure what ``intake process`` would do, without doing any of it: no
store, no Odoo, no mailbox. So each document is read into a ``Message`` exactly as a drop
folder reads it (:func:`intake.sources.folder.message_from_file`), and the stage functions the
pipeline sequences (parse, classify, extract, match, assess, decide) are called directly, each
timed. A failing stage sends the document to review with the reason, as in the pipeline, and
the evaluation goes on. The decision is also recomputed at every threshold of the touchless
grid, which is cheap because :func:`intake.assess.decide` is a pure function.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from intake.assess import assess, decide
from intake.assess.history import AssessContext
from intake.catalog import Catalog
from intake.config import Settings
from intake.documents import parse_message
from intake.errors import InputError, IntakeError, StageError
from intake.eval.labels import Label, find_labeled, load_label
from intake.eval.metrics import THRESHOLD_GRID, Report
from intake.extract import classify, extract_offline
from intake.match import match_order
from intake.models import (
    Assessment,
    Classification,
    Decision,
    DecisionKind,
    ExtractedOrder,
    MatchedOrder,
    ParsedMessage,
    Problem,
)
from intake.pipeline import require_documents
from intake.sources.folder import message_from_file
from intake.store import LlmCall

if TYPE_CHECKING:
    from intake.extract.llm import LlmExtractor

log = logging.getLogger(__name__)

STAGES = ("parse", "classify", "extract", "match", "assess", "decide")
"""The pipeline stages the evaluation runs and times, in order."""

EVAL_SOURCE = "eval"
"""Source name of the messages the evaluation builds (nothing is stored under it)."""

T = TypeVar("T")


class Usage(Report):
    """What a document cost in model calls: calls, tokens and money (0 for offline)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    calls_without_cost: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            calls=self.calls + other.calls,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cost=self.cost + other.cost,
            calls_without_cost=self.calls_without_cost + other.calls_without_cost,
        )


class Extractor:
    """How one document is classified and read: the rules only, or the pipeline's cascade.

    One instance per document, so model calls (tokens, cost) are counted per document.
    """

    name = "offline"

    def __init__(self, settings: Settings, message_id: str) -> None:
        self.settings = settings
        self.message_id = message_id
        self.calls: list[LlmCall] = []

    def classify(self, parsed: ParsedMessage) -> Classification:
        """Is it an order (the rule-based classifier)."""
        return classify(parsed)

    def extract(self, parsed: ParsedMessage, classification: Classification) -> ExtractedOrder:
        """Read the order (the offline extractor)."""
        return extract_offline(parsed)

    def usage(self) -> Usage:
        """Model calls made for this document, with their tokens and cost."""
        return Usage(
            calls=len(self.calls),
            prompt_tokens=sum(c.prompt_tokens or 0 for c in self.calls),
            completion_tokens=sum(c.completion_tokens or 0 for c in self.calls),
            cost=sum(c.cost or 0.0 for c in self.calls),
            calls_without_cost=sum(1 for c in self.calls if c.cost is None),
        )


class CascadeExtractor(Extractor):
    """What ``intake process`` runs: structured readers, the LLM when configured, offline.

    Model calls are collected in memory instead of the store's call log, so the evaluation
    writes nothing and still reports tokens and cost per document.
    """

    name = "cascade"

    def __init__(self, settings: Settings, message_id: str) -> None:
        super().__init__(settings, message_id)
        self.llm = self._llm() if settings.llm.enabled else None

    def _llm(self) -> LlmExtractor:
        from intake.extract.llm import LlmClient, LlmExtractor, PromptSet

        client = LlmClient(self.settings.llm, call_log=self.calls.append)
        return LlmExtractor(
            client, PromptSet(self.settings.prompt_dir), self.settings.llm, self.message_id
        )

    def classify(self, parsed: ParsedMessage) -> Classification:
        """Rules first; the LLM only when the rules are unsure and it is configured."""
        from intake.extract.cascade import classify_message

        return classify_message(parsed, self.llm)

    def extract(self, parsed: ParsedMessage, classification: Classification) -> ExtractedOrder:
        """The most trustworthy path available, as in the pipeline."""
        from intake.extract.cascade import extract_order

        return extract_order(parsed, classification, self.llm)


EXTRACTORS: dict[str, type[Extractor]] = {"offline": Extractor, "cascade": CascadeExtractor}
"""Extractors the evaluation can run: ``offline`` (rules only) and ``cascade`` (what
``intake process`` runs: structured readers, then the LLM when ``[llm]`` is configured, then
offline)."""


@dataclass
class DocRun:
    """Everything the pipeline produced for one labeled document, up to the decision."""

    document: Path
    name: str
    label: Label
    decision: Decision
    classification: Classification | None = None
    order: ExtractedOrder | None = None
    matched: MatchedOrder | None = None
    assessment: Assessment | None = None
    problems: tuple[Problem, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    error: str | None = None
    drafted_at: tuple[bool, ...] = ()


@dataclass
class _Timer:
    timings: dict[str, float] = field(default_factory=dict)
    current: str = ""

    def timed(self, name: str, work: Callable[[], T]) -> T:
        self.current = name
        started = time.perf_counter()
        try:
            return work()
        finally:
            self.timings[name] = time.perf_counter() - started


def run_document(
    document: Path,
    label: Label,
    settings: Settings,
    catalog: Catalog,
    extractor: str = "offline",
    name: str | None = None,
) -> DocRun:
    """Take one document through parse … decide, as the pipeline would, and keep every output."""
    name = name or document.name
    message = message_from_file(document, EVAL_SOURCE, name)
    reader = _extractor(extractor)(settings, message.id)
    timer = _Timer()
    run = DocRun(
        document=document,
        name=name,
        label=label,
        decision=Decision(kind=DecisionKind.REVIEW),
        timings=timer.timings,
    )
    thresholds = settings.thresholds
    try:
        parsed = timer.timed("parse", lambda: parse_message(message, settings.limits, settings.ocr))
        run.problems = parsed.problems
        require_documents(parsed)
        classification = timer.timed("classify", lambda: reader.classify(parsed))
        run.classification = classification
        if classification.label == "not_order":
            order = ExtractedOrder(extractor="none (not an order)")
        else:
            order = timer.timed("extract", lambda: reader.extract(parsed, classification))
        run.order = order
        matched = timer.timed("match", lambda: match_order(order, message.sender, catalog))
        run.matched = matched
        assessment = timer.timed(
            "assess",
            lambda: assess(
                matched, parsed, classification, thresholds, AssessContext(catalog=catalog)
            ),
        )
        run.assessment = assessment
        run.decision = timer.timed("decide", lambda: decide(assessment, classification, thresholds))
        run.drafted_at = tuple(
            decide(
                assessment,
                classification,
                thresholds.model_copy(update={"draft_min_confidence": t}),
            ).kind
            is DecisionKind.DRAFT
            for t in THRESHOLD_GRID
        )
    except StageError as exc:
        reason = f"{exc} [{exc.code}]"
        run.decision = Decision(kind=DecisionKind.REVIEW, reasons=(reason,))
        run.error = reason
    except Exception as exc:  # as in the pipeline: one bad document never stops the run
        log.exception("%s: stage %s failed", document, timer.current)
        reason = f"stage '{timer.current}' failed with {type(exc).__name__}: {exc}"
        run.decision = Decision(kind=DecisionKind.REVIEW, reasons=(reason,))
        run.error = reason
    run.usage = reader.usage()
    if not run.drafted_at:
        run.drafted_at = tuple(False for _ in THRESHOLD_GRID)
    return run


def _extractor(name: str) -> type[Extractor]:
    try:
        return EXTRACTORS[name]
    except KeyError:
        raise InputError(
            f"unknown extractor '{name}': choose one of {', '.join(sorted(EXTRACTORS))}"
        ) from None


@dataclass(frozen=True)
class Job:
    """One labeled document to evaluate, named relative to the folder it was found in."""

    document: Path
    label_path: Path
    name: str


def collect(roots: Sequence[Path]) -> list[Job]:
    """Every labeled document under the given folders (or files), checked before any work."""
    jobs: list[Job] = []
    for root in roots:
        base = root if root.is_dir() else root.parent
        prefix = root.name if len(roots) > 1 and root.is_dir() else ""
        for document, label in find_labeled(root):
            relative = str(document.relative_to(base))
            jobs.append(Job(document, label, f"{prefix}/{relative}" if prefix else relative))
    if not jobs:
        where = ", ".join(str(r) for r in roots)
        raise InputError(
            f"no labeled documents in {where}: a document needs a <file>.label.json beside it "
            "(see docs/labels.md)"
        )
    return jobs


MANIFEST_NAME = "manifest.json"
"""A corpus folder's list of documents with their kind (``intake-corpus-manifest/1``, written
by fixtures/make_corpus.py): text-pdf, scan, fax, photo, email, xlsx, csv, ubl."""


def only_kinds(jobs: Sequence[Job], kinds: Sequence[str]) -> list[Job]:
    """The jobs whose document the folder's manifest lists under one of ``kinds``.

    Accuracy differs by how a document arrived (a text PDF against a fax of it), so a target
    such as "field F1 on text PDFs and email bodies" needs the set cut by kind. The kind comes
    from the corpus manifest rather than the file name, since a scan can also be a ``.pdf``.
    """
    wanted = set(kinds)
    manifests: dict[Path, dict[str, str]] = {}
    chosen: list[Job] = []
    for job in jobs:
        folder = job.document.parent
        if folder not in manifests:
            manifests[folder] = _manifest_kinds(folder)
        kind = manifests[folder].get(job.document.name)
        if kind is None:
            raise InputError(
                f"{job.document} is not listed in {folder / MANIFEST_NAME}: --kind needs every "
                "document in the corpus manifest (regenerate it with fixtures/make_corpus.py)"
            )
        if kind in wanted:
            chosen.append(job)
    known = {kind for table in manifests.values() for kind in table.values()}
    unknown = wanted - known
    if unknown:
        raise InputError(
            f"no document of kind {', '.join(sorted(unknown))} in the manifest; "
            f"kinds there: {', '.join(sorted(known))}"
        )
    return chosen


def _manifest_kinds(folder: Path) -> dict[str, str]:
    path = folder / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(d["file"]): str(d["kind"]) for d in data["documents"]}
    except FileNotFoundError as exc:
        raise InputError(
            f"--kind needs a corpus manifest, and {path} does not exist: evaluate a folder made "
            "by fixtures/make_corpus.py, or leave out --kind"
        ) from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"cannot read the corpus manifest {path}: {exc}") from exc


def _run_job(job: Job, settings: Settings, catalog: Catalog, extractor: str) -> DocRun:
    return run_document(
        job.document, load_label(job.label_path), settings, catalog, extractor, job.name
    )


def run_all(
    jobs: Sequence[Job],
    settings: Settings,
    catalog: Catalog,
    extractor: str = "offline",
    workers: int = 1,
) -> Iterator[DocRun]:
    """Evaluate every job, in order; ``workers`` > 1 runs documents in parallel processes.

    Labels are read up front so a broken label stops the run before any slow work.
    """
    _extractor(extractor)
    for job in jobs:
        load_label(job.label_path)
    if workers <= 1:
        for job in jobs:
            yield _run_job(job, settings, catalog, extractor)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_run_job, job, settings, catalog, extractor) for job in jobs]
        for job, future in zip(jobs, futures, strict=True):
            try:
                yield future.result()
            except BrokenProcessPool as exc:
                raise IntakeError(
                    f"a worker process died while evaluating {job.document} or a document next "
                    "to it (out of memory?): run again with --jobs 1 to find the document"
                ) from exc
