"""Helpers shared by the CLI commands: loading config, opening the store, printing."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from intake.config import Settings, find_config_file, load_settings


@dataclass
class CliState:
    """Global options given before the command."""

    config_path: str | None = None
    quiet: bool = False


state = CliState()


def settings() -> Settings:
    """The effective settings for this invocation (raises ConfigError listing problems)."""
    path = find_config_file(Path(state.config_path) if state.config_path else None)
    return load_settings(path)


def config_file() -> Path | None:
    """The config file in use, if any."""
    return find_config_file(Path(state.config_path) if state.config_path else None)


def emit_json(data: Any, one_line: bool = False) -> None:
    """Data for scripts on stdout; ``one_line`` for JSON Lines streams (``intake run``)."""
    json.dump(data, sys.stdout, indent=None if one_line else 2, default=str)
    sys.stdout.write("\n")
    sys.stdout.flush()


def progress(text: str) -> None:
    """A progress line for people: stderr, only when it is a terminal and not --quiet."""
    if not state.quiet and sys.stderr.isatty():
        sys.stderr.write(f"\r\033[K{text}")
        sys.stderr.flush()


def progress_done() -> None:
    """End the progress line."""
    if not state.quiet and sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain aligned text table (no colour, so it pipes and diffs cleanly)."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def short(value: str | None, width: int) -> str:
    """Cut a cell to ``width`` characters with an ellipsis."""
    if not value:
        return "-"
    return value if len(value) <= width else value[: width - 1] + "…"
