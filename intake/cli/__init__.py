"""The ``intake`` command line: one Typer app, commands split by group into modules.

This is the only place where exceptions become messages on stderr and exit codes (see
docs/exit-codes.md); stages and library code raise, they never print or exit.
"""

from __future__ import annotations

import logging
import sys

import typer

from intake.cli import config_cmd, doctor, eval_cmd, llm_cmd, processing, review_cmd, status
from intake.cli.common import state
from intake.errors import IntakeError

app = typer.Typer(
    name="intake",
    help=(
        "AI-assisted purchase-order intake for Odoo.\n\n"
        "Examples:\n\n"
        "  intake process fixtures/sample-inbox      # one-shot on files or folders\n\n"
        "  intake run                                # poll every source until stopped\n\n"
        "  intake status --json                      # counts per state, for scripts"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _global_options(
    config: str = typer.Option(
        None,
        "--config",
        "-c",
        help="intake.toml to use (default: $INTAKE_CONFIG, else ./intake.toml, else built-in)",
    ),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More log output."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors on stderr."),
) -> None:
    """Options shared by every command."""
    state.config_path = config
    level = (
        logging.ERROR
        if quiet
        else (logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    )
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    state.quiet = quiet


processing.register(app)
status.register(app)
review_cmd.register(status.review_app)
app.add_typer(status.review_app, name="review")
app.add_typer(config_cmd.config_app, name="config")
doctor.register(app)
llm_cmd.register(app)
eval_cmd.register(app)


def main() -> None:
    """Entry point: run the app and translate intake's errors into exit codes."""
    try:
        app()
    except IntakeError as exc:
        print(f"intake: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("intake: interrupted", file=sys.stderr)
        sys.exit(130)
