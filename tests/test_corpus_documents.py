"""The labeled corpus (fixtures/corpus) read by the real parser: do SKUs and quantities come out?

``fixtures/make_corpus.py`` renders purchase orders in ten customer layouts and then degrades
them (300- and 200-dpi scans, faxes, phone photos); the corpus also holds e-mail bodies,
spreadsheets and UBL orders. Every document has a label. These tests run
``intake.documents.parse_message`` with real tesseract on the committed files and check, for
every labeled line, that its SKU and its quantity appear in what the parser produced: on the
same text line as the SKU or the line next to it (a wrapped row, an SAP sub-line), or in the
same table row. Quantities are matched as printed in any of the corpus' number formats
(``1200``, ``1,200``, ``1.200``, ``1'200``, ``12,000`` with three decimals…).

The generator itself is checked too: it is reproducible, and the committed labels and
text-format documents are exactly what it writes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from intake.config import Limits, OcrConfig
from intake.documents import parse_message
from intake.models import ParsedMessage
from intake.sources.folder import message_from_file

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "fixtures" / "corpus"
SAMPLE_INBOX = ROOT / "fixtures" / "sample-inbox"
MANIFEST: list[dict[str, Any]] = json.loads((CORPUS / "manifest.json").read_text("utf-8"))[
    "documents"
]

ISSUE_TARGET = 0.95
"""Share of 300-dpi scans in which every labeled SKU and quantity must come out (issue 3)."""
SCAN_300_FLOOR = 0.90
"""Scans read completely today (19 of 20, see docs/documents.md) less one: a regression guard."""
SCAN_300_LINE_FLOOR = 0.96
"""Labeled lines read from the 300-dpi scans today (162 of 163) less a margin: a guard."""
OTHER_PAPER_LINE_FLOOR = 0.6
"""Labeled lines read from 200-dpi scans, faxes and photos today (68 of 99) less a margin."""


def names(kind: str, dpi: int | None = None) -> list[str]:
    """Corpus files of one kind (and resolution), in manifest order."""
    return [
        row["file"]
        for row in MANIFEST
        if row["kind"] == kind and (dpi is None or row["dpi"] == dpi)
    ]


def label_of(name: str) -> dict[str, Any]:
    return json.loads((CORPUS / f"{name}.label.json").read_text("utf-8"))


@cache
def read(name: str) -> ParsedMessage:
    """Parse one corpus file exactly as the folder source and the pipeline would."""
    message = message_from_file(CORPUS / name, "folder:corpus")
    return parse_message(message, Limits(), OcrConfig())


# --------------------------------------------------------------------------- matching


def quantity_pattern(quantity: float) -> re.Pattern[str]:
    """The quantity as printed in any corpus format: 12, 12.00, 12,000, 1.200, 1 200, 1'200."""
    whole = int(quantity)
    if quantity != whole:
        integer, fraction = f"{quantity:.3f}".rstrip("0").split(".")
        body = re.escape(integer) + r"[.,]" + fraction + "0*"
    else:
        digits, groups = str(whole), []
        while digits:
            groups.insert(0, digits[-3:])
            digits = digits[:-3]
        body = r"[ .,'\u202f]?".join(groups) + r"(?:[.,]0{1,3})?"
    return re.compile(r"(?<![\w.,'])" + body + r"(?![\w]|[.,']\d)")


def sku_pattern(sku: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])" + re.escape(sku) + r"(?![\w-])", re.IGNORECASE)


def text_lines(parsed: ParsedMessage) -> list[str]:
    """Every non-blank text line of every document, then every table row as one line."""
    lines: list[str] = []
    for document in parsed.documents:
        lines += [line for line in re.split(r"[\n\f]", document.text) if line.strip()]
        for table in document.tables:
            lines += [" | ".join(cell or "" for cell in row) for row in table.rows]
    return lines


def missing(parsed: ParsedMessage, label: dict[str, Any]) -> list[str]:
    """The labeled lines whose SKU or quantity did not come out, described for a reader."""
    lines = text_lines(parsed)
    out: list[str] = []
    for line in label["order"]["lines"]:
        sku, quantity = line["sku"], line["quantity"]
        hits = [i for i, text in enumerate(lines) if sku_pattern(sku).search(text)]
        if not hits:
            out.append(f"{sku} not found")
            continue
        near = {j for i in hits for j in (i - 1, i, i + 1) if 0 <= j < len(lines)}
        if not any(quantity_pattern(quantity).search(lines[j]) for j in near):
            out.append(f"{sku} found, quantity {quantity:g} not beside it: {lines[hits[0]]!r}")
    return out


def test_matching_rules_accept_printed_formats_and_reject_neighbours() -> None:
    assert quantity_pattern(1200).search("FURN_7777  Chair  1.200 Stk")
    assert quantity_pattern(1200).search("1 200 pce")
    assert quantity_pattern(1200).search("1'200.000 ST")
    assert quantity_pattern(12).search("12,000 ST")
    assert quantity_pattern(12).search("12 x FURN_7777")
    assert not quantity_pattern(12).search("120 EA")
    assert not quantity_pattern(12).search("4.212,00")
    assert not quantity_pattern(2).search("2.350,00")
    assert sku_pattern("E-COM09").search("24 x E-COM09 Large Desk")
    assert not sku_pattern("E-COM09").search("E-COMO09 Large Desk")
    assert not sku_pattern("FURN_0001").search("FURN_00012")


# --------------------------------------------------------------------------- the corpus


def test_corpus_holds_what_the_issue_asks_for() -> None:
    files = {row["file"] for row in MANIFEST}
    on_disk = {p.name for p in CORPUS.iterdir()} - {"manifest.json"}
    assert on_disk == files | {f"{f}.label.json" for f in files}, "files and labels differ"
    assert len(files) >= 60
    text_pdfs = [row for row in MANIFEST if row["kind"] == "text-pdf"]
    assert len({row["layout"] for row in text_pdfs}) >= 8
    assert {row["language"] for row in text_pdfs} >= {"en", "de", "fr", "es", "nl"}
    assert {row["kind"] for row in MANIFEST} >= {
        "text-pdf",
        "scan",
        "fax",
        "photo",
        "xlsx",
        "csv",
        "email",
        "ubl",
    }
    assert {row["dpi"] for row in MANIFEST if row["kind"] == "scan"} >= {200, 300}
    currencies = {label_of(f)["order"]["currency"] for f in files} - {None}
    assert currencies >= {"USD", "EUR", "GBP", "CHF", "CAD"}
    known = sum(1 for row in MANIFEST if row["customer_known"])
    assert known > len(MANIFEST) / 2, "most documents should come from catalog customers"
    size = sum(p.stat().st_size for p in CORPUS.iterdir())
    assert size < 25 * 1024 * 1024, f"the corpus is {size / 2**20:.1f} MiB"


def test_labels_have_the_sample_inbox_keys() -> None:
    reference = json.loads(
        next(SAMPLE_INBOX.glob("01-*.label.json")).read_text("utf-8")
    )  # an order label with every key filled
    order_keys = set(reference["order"])
    line_keys = set(reference["order"]["lines"][0])
    for row in MANIFEST:
        label = label_of(row["file"])
        assert set(label) == set(reference), row["file"]
        assert label["schema"] == "intake-label/1" and label["document"] == row["file"]
        assert set(label["order"]) == order_keys, row["file"]
        assert label["order"]["lines"], row["file"]
        for line in label["order"]["lines"]:
            assert set(line) == line_keys, row["file"]
            assert line["sku"] and line["quantity"] > 0, row["file"]


def _generator() -> ModuleType:
    path = ROOT / "fixtures" / "make_corpus.py"
    spec = importlib.util.spec_from_file_location("make_corpus", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_corpus"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generator() -> Iterator[ModuleType]:
    yield _generator()
    sys.modules.pop("make_corpus", None)


def test_committed_labels_and_text_documents_are_what_the_generator_writes(
    generator: ModuleType, tmp_path: Path
) -> None:
    generator.write(tmp_path, labels_only=True, quiet=True)
    for row in MANIFEST:
        label = f"{row['file']}.label.json"
        assert (tmp_path / label).read_bytes() == (CORPUS / label).read_bytes(), label
    assert (tmp_path / "manifest.json").read_bytes() == (CORPUS / "manifest.json").read_bytes()
    # Formats whose bytes do not depend on library versions must match exactly.
    text_formats = [r["file"] for r in MANIFEST if r["kind"] in {"csv", "ubl", "email"}]
    written = generator.write(tmp_path / "text", only=text_formats, quiet=True)
    for name in text_formats:
        assert written[name] == hashlib.sha256((CORPUS / name).read_bytes()).hexdigest(), name


@pytest.mark.slow
def test_generator_output_is_byte_for_byte_reproducible(
    generator: ModuleType, tmp_path: Path
) -> None:
    one_of_each = [
        "09-multipage-gb-harbourside.pdf",
        "05-unruled-de-krause.scan300.jpg",
        "06-unruled-de-hofmann.scan300.pdf",
        "11-banded-es-ortega.scan200.jpg",
        "04-rulesonly-jackson-group.fax.tif",
        "16-sap-us-lumber-inc.photo.jpg",
        "x03-de-krause.xlsx",
        "c02-semicolon-fr-openwood.csv",
        "e05-reply-outlook-lumber-inc.eml",
        "u02-ubl-openwood.xml",
    ]
    first = generator.write(tmp_path / "a", only=one_of_each, quiet=True)
    generator.order_pdf.cache_clear()
    second = generator.write(tmp_path / "b", only=one_of_each, quiet=True)
    assert first == second
    assert len(first) == 2 * len(one_of_each)


# --------------------------------------------------------------------------- reading


@pytest.mark.parametrize("name", names("text-pdf"))
def test_text_pdf_gives_every_sku_and_quantity(name: str) -> None:
    parsed = read(name)
    assert parsed.problems == ()
    (document,) = parsed.documents
    assert {page.method for page in document.pages} == {"text"}
    assert missing(parsed, label_of(name)) == []


@pytest.mark.parametrize("name", names("email"))
def test_email_body_gives_every_sku_and_quantity_and_no_quoted_code(name: str) -> None:
    parsed = read(name)
    assert parsed.problems == ()
    assert [d.origin.kind for d in parsed.documents] == ["body"]
    label = label_of(name)
    assert missing(parsed, label) == []
    # Quoted history and earlier orders below a reply are not part of the body document.
    catalog = json.loads((ROOT / "fixtures" / "sample-catalog.json").read_text("utf-8"))
    ordered = {line["sku"] for line in label["order"]["lines"]}
    text = parsed.documents[0].text
    others = [
        p["default_code"]
        for p in catalog["products"]
        if p["default_code"]
        and p["default_code"] not in ordered
        and sku_pattern(p["default_code"]).search(text)
    ]
    assert others == [], f"codes from quoted history in the body: {others}"


def _rate(files: list[str]) -> tuple[float, list[str], int, int]:
    """Share of files with every line read; the failures; lines read and lines labeled."""
    failures, lines_read, lines_total = [], 0, 0
    for name in files:
        label = label_of(name)
        parsed = read(name)
        gaps = missing(parsed, label)
        lines_total += len(label["order"]["lines"])
        lines_read += len(label["order"]["lines"]) - len(gaps)
        if gaps or not parsed.documents:
            failures.append(f"{name}: {'; '.join(gaps) or [p.code for p in parsed.problems]}")
    return (len(files) - len(failures)) / len(files), failures, lines_read, lines_total


@pytest.mark.slow
def test_300_dpi_scans_give_every_sku_and_quantity() -> None:
    files = names("scan", dpi=300)
    assert len(files) >= 20
    rate, failures, read_lines, all_lines = _rate(files)
    report = (
        f"{rate:.0%} of {len(files)} 300-dpi scans read completely ({read_lines}/{all_lines} "
        f"lines); issue target {ISSUE_TARGET:.0%}. Failures:\n" + "\n".join(failures)
    )
    print(report)
    assert rate >= SCAN_300_FLOOR, report
    assert read_lines / all_lines >= SCAN_300_LINE_FLOOR, report


@pytest.mark.slow
def test_300_dpi_scans_meet_the_issue_target() -> None:
    rate, failures, _, _ = _rate(names("scan", dpi=300))
    assert rate >= ISSUE_TARGET, "\n".join(failures)


@pytest.mark.slow
def test_200_dpi_scans_faxes_and_photos_are_read() -> None:
    files = names("scan", dpi=200) + names("fax") + names("photo")
    rate, failures, read_lines, all_lines = _rate(files)
    report = (
        f"{rate:.0%} of {len(files)} low-resolution scans, faxes and photos read completely, "
        f"{read_lines}/{all_lines} labeled lines. Failures:\n" + "\n".join(failures)
    )
    print(report)
    assert all(read(name).documents for name in files), report
    assert read_lines / all_lines >= OTHER_PAPER_LINE_FLOOR, report
