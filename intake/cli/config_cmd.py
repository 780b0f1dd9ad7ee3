"""``intake config show`` and ``intake config check``."""

from __future__ import annotations

import sys

import typer

from intake.cli.common import config_file, emit_json
from intake.config import config_problems, masked_dump
from intake.errors import ConfigError

config_app = typer.Typer(help="Show and check the effective configuration.", no_args_is_help=True)


@config_app.command("show")
def show() -> None:
    """Print the effective configuration (file + environment), secrets masked, as JSON.

    Example: INTAKE_LLM__MODEL=qwen2.5 intake config show
    """
    path = config_file()
    settings, problems = config_problems(path)
    if settings is None or problems:
        raise ConfigError("configuration is invalid:\n  " + "\n  ".join(problems))
    print(f"# config file: {path or '(none: built-in defaults)'}", file=sys.stderr)
    emit_json(masked_dump(settings))


@config_app.command("check")
def check() -> None:
    """Report every configuration problem at once, each with its key and the fix.

    Example: intake --config intake.toml config check
    """
    path = config_file()
    settings, problems = config_problems(path)
    if settings is not None:
        problems += semantic_problems(settings)
    if problems:
        for problem in problems:
            print(problem)
        raise ConfigError(f"{len(problems)} problem(s) in {path or 'the built-in defaults'}")
    print(f"config ok: {path or 'built-in defaults'}")


def semantic_problems(settings: object) -> list[str]:
    """Checks that need more than the schema: files that must exist, features not yet there."""
    from intake.config import ImapSource, Settings

    assert isinstance(settings, Settings)
    problems = []
    if not settings.catalog.path.is_file() and not settings.odoo.enabled:
        problems.append(
            f"catalog.path: {settings.catalog.path} does not exist: point it at a catalog JSON file"
        )
    if not settings.prompt_dir.is_dir():
        problems.append(
            f"prompt_dir: {settings.prompt_dir} is not a folder: point it at the prompts/ folder"
        )
    if settings.llm.enabled and settings.prompt_dir.is_dir():
        from intake.extract.llm.prompts import PromptSet

        problems += PromptSet(settings.prompt_dir).problems()
    for i, source in enumerate(settings.sources):
        if isinstance(source, ImapSource):
            from intake.sources.imap import config_problems

            problems += config_problems(i, source)
        elif not source.path.is_dir():
            problems.append(
                f"sources[{i}] ({source.name}): folder {source.path} does not exist: "
                "create it or fix its path"
            )
    return problems
