"""``intake doctor``: one line per dependency — ok, or what to do about it."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

import typer

from intake.catalog import load_catalog
from intake.cli.common import emit_json, settings
from intake.config import FolderSource, ImapSource, Settings
from intake.errors import DependencyError, IntakeError
from intake.store import Store


@dataclass
class Check:
    """The outcome of one dependency check."""

    name: str
    ok: bool
    detail: str


def check_tesseract(cfg: Settings) -> Check:
    """Tesseract must be installed, with every configured language."""
    binary = shutil.which("tesseract")
    if binary is None:
        return Check(
            "tesseract",
            False,
            "not found: apt-get install tesseract-ocr (needed for scans and photos)",
        )
    try:
        version = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=20
        ).stdout.splitlines()[0]
        langs = subprocess.run(
            [binary, "--list-langs"], capture_output=True, text=True, timeout=20
        ).stdout.split()
    except (OSError, subprocess.SubprocessError, IndexError) as exc:
        return Check("tesseract", False, f"{binary} does not run ({exc}): reinstall tesseract-ocr")
    missing = [lang for lang in cfg.ocr.languages.split("+") if lang not in langs]
    if missing:
        packages = " ".join(f"tesseract-ocr-{m.replace('_', '-')}" for m in missing)
        return Check(
            "tesseract",
            False,
            f"{version}; languages missing: {', '.join(missing)}: apt-get install {packages}",
        )
    return Check("tesseract", True, f"{version}, languages {cfg.ocr.languages}")


def check_store(cfg: Settings) -> Check:
    """The store must open and migrate."""
    try:
        store = Store.open(cfg.store.url)
        store.close()
    except IntakeError as exc:
        return Check("store", False, str(exc))
    return Check("store", True, store.display_url)


def check_catalog(cfg: Settings) -> Check:
    """Without Odoo, the catalog file must load."""
    if cfg.odoo.enabled:
        return Check("catalog", True, "from Odoo")
    try:
        catalog = load_catalog(cfg.catalog.path)
    except IntakeError as exc:
        return Check("catalog", False, str(exc))
    return Check(
        "catalog",
        True,
        f"{cfg.catalog.path}: {len(catalog.partners)} partners, {len(catalog.products)} products",
    )


def check_llm(cfg: Settings) -> Check:
    """The LLM endpoint, when one is configured, must answer."""
    if not cfg.llm.enabled:
        return Check("llm", True, "not configured: the offline extractor is used")
    import openai

    client = openai.OpenAI(
        base_url=cfg.llm.base_url,
        api_key=cfg.llm.api_key.get_secret_value() if cfg.llm.api_key else "none",
        timeout=min(cfg.llm.timeout_seconds, 15),
        max_retries=0,
    )
    try:
        models = [m.id for m in client.models.list()]
    except openai.OpenAIError as exc:
        return Check(
            "llm",
            False,
            f"{cfg.llm.base_url}: {type(exc).__name__}: check llm.base_url and INTAKE_LLM__API_KEY",
        )
    if models and cfg.llm.model not in models:
        return Check(
            "llm",
            False,
            f"{cfg.llm.base_url}: model {cfg.llm.model!r} not offered "
            f"(has: {', '.join(models[:5])}): fix llm.model",
        )
    return Check("llm", True, f"{cfg.llm.base_url}: model {cfg.llm.model}")


def check_odoo(cfg: Settings) -> Check:
    """Odoo, when configured, must be reachable."""
    if not cfg.odoo.enabled:
        return Check("odoo", True, "not configured: drafts are kept in intake's store")
    return Check(
        "odoo",
        False,
        "creating quotations in Odoo is not available in this version: remove [odoo] url",
    )


def check_source(source: FolderSource | ImapSource) -> Check:
    """A folder must exist and be readable; a mailbox must accept a login."""
    name = f"source {source.name}"
    if isinstance(source, FolderSource):
        if not source.path.is_dir():
            return Check(
                name,
                False,
                f"folder {source.path} does not exist: create it or fix its path in intake.toml",
            )
        return Check(name, True, f"folder {source.path}")
    return Check(name, False, f"IMAP {source.host}: IMAP polling is not available in this version")


def register(app: typer.Typer) -> None:
    """Add doctor to the app."""

    @app.command("doctor")
    def doctor_cmd(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
        """Check every dependency: tesseract, store, catalog, LLM endpoint, Odoo, each source.

        Exits 5 when any check fails.

        Example: intake doctor --json
        """
        cfg = settings()
        checks = [
            check_tesseract(cfg),
            check_store(cfg),
            check_catalog(cfg),
            check_llm(cfg),
            check_odoo(cfg),
        ]
        checks += [check_source(s) for s in cfg.sources]
        if as_json:
            emit_json([c.__dict__ for c in checks])
        else:
            for c in checks:
                print(f"{'ok  ' if c.ok else 'FAIL'}  {c.name:14} {c.detail}")
        failed = [c.name for c in checks if not c.ok]
        if failed:
            raise DependencyError(f"{len(failed)} check(s) failed: {', '.join(failed)}")
