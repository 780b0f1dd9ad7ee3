"""``intake eval``: measure accuracy, touchless rate and speed on labeled documents."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from intake.cli.common import emit_json, progress, progress_done, settings
from intake.errors import InputError
from intake.eval import EXTRACTOR_NAMES, WORST_DEFAULT

if TYPE_CHECKING:
    from intake.eval.runner import DocRun


def register(app: typer.Typer) -> None:
    """Add the eval command to the app."""

    @app.command("eval")
    def eval_cmd(
        paths: list[Path] = typer.Argument(
            ..., help="folders of documents with <file>.label.json beside them (recursive)"
        ),
        extractor: str = typer.Option(
            "offline",
            "--extractor",
            help=f"which extractor to run: {', '.join(EXTRACTOR_NAMES)}",
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the whole report as JSON."),
        html: Path = typer.Option(None, "--html", help="Also write an HTML report to this file."),
        catalog_path: Path = typer.Option(
            None, "--catalog", help="catalog JSON to match against (default: [catalog] path)"
        ),
        worst: int = typer.Option(
            WORST_DEFAULT, "--worst", min=0, help="How many worst documents to list."
        ),
        jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Documents in parallel."),
        kinds: list[str] = typer.Option(
            [],
            "--kind",
            help="only documents of this kind in the folder's corpus manifest (text-pdf, email, "
            "scan, fax, photo, xlsx, csv, ubl); repeat for several",
        ),
    ) -> None:
        """Run the pipeline up to the decision on labeled documents and score it.

        Nothing is stored, sent or moved: no store writes, no Odoo, no mailbox. Reports field
        precision/recall/F1, line-item F1, document exact match, the touchless curve with the
        threshold that keeps wrong auto-drafts at most 0.5 %, stage latency, tokens and cost,
        and the worst documents with their findings. Label format: docs/labels.md.

        Examples: intake eval fixtures/sample-inbox --html eval.html;
        intake eval fixtures/corpus --kind text-pdf --kind email
        """
        from intake.catalog import load_catalog
        from intake.eval import evaluate
        from intake.eval.report import render_html, render_text

        cfg = settings()
        if extractor not in EXTRACTOR_NAMES:
            raise InputError(
                f"unknown extractor '{extractor}': choose one of {', '.join(EXTRACTOR_NAMES)}"
            )
        catalog = load_catalog(catalog_path or cfg.catalog.path)
        if catalog_path is not None:
            cfg.catalog.path = catalog_path

        def on_done(done: int, total: int, run: DocRun) -> None:
            progress(f"evaluated {done}/{total}: {run.name}")

        report = evaluate(
            paths,
            cfg,
            catalog,
            extractor=extractor,
            workers=jobs,
            worst=worst,
            kinds=kinds,
            on_done=on_done,
        )
        progress_done()
        if html is not None:
            try:
                html.write_text(render_html(report), encoding="utf-8")
            except OSError as exc:
                raise InputError(f"cannot write the HTML report to {html}: {exc.strerror}") from exc
            print(f"intake: HTML report written to {html}", file=sys.stderr)
        if as_json:
            emit_json(report)
        else:
            print(render_text(report))
