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
    """The LLM endpoint, when one is configured, must answer a strict-schema request."""
    if not cfg.llm.enabled:
        return Check("llm", True, "not configured: the offline extractor is used")
    from intake.extract.llm.probe import probe_endpoint

    ok, detail = probe_endpoint(cfg.llm)
    return Check("llm", ok, detail)


def check_odoo(cfg: Settings) -> Check:
    """Odoo, when configured, must accept the login and grant every right intake uses."""
    if not cfg.odoo.enabled:
        return Check("odoo", True, "not configured: drafts are kept in intake's store")
    from intake.odoo.client import OdooClient
    from intake.odoo.errors import OdooError
    from intake.odoo.rights import missing_rights

    client = OdooClient(cfg.odoo)
    try:
        client.connect()
        user = client.user()
        missing = missing_rights(client)
    except OdooError as exc:
        return Check("odoo", False, str(exc))
    where = f"{client.url} db {client.database}: Odoo {client.version.text}, user {user.login}"
    if missing:
        return Check(
            "odoo",
            False,
            f"{where} lacks {', '.join(missing)}: give the user these rights in Odoo "
            "(Sales / User: Own Documents Only covers them) or use another odoo.username",
        )
    return Check("odoo", True, f"{where} ({user.name}), all rights present")


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
    from intake.sources.imap import check_mailbox

    ok, detail = check_mailbox(source)
    return Check(name, ok, detail)


def check_quiet_mailboxes(cfg: Settings) -> list[Check]:
    """A mailbox with no successful poll for longer than quiet_warning_minutes: a stopped poller."""
    from datetime import UTC, datetime

    from intake.sources.imap import quiet_problem

    mailboxes = [s for s in cfg.sources if isinstance(s, ImapSource)]
    if not mailboxes:
        return []
    try:
        store = Store.open(cfg.store.url)
        polls = {p.source: p for p in store.source_polls()}
        store.close()
    except IntakeError:
        return []  # check_store already reports why the store cannot be opened
    checks = []
    now = datetime.now(UTC)
    for source in mailboxes:
        last = polls.get(source.name)
        problem = quiet_problem(source, last.last_success_at if last else None, now)
        if problem is not None:
            checks.append(Check(f"polling {source.name}", False, problem))
    return checks


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
        checks += check_quiet_mailboxes(cfg)
        if as_json:
            emit_json([c.__dict__ for c in checks])
        else:
            for c in checks:
                print(f"{'ok  ' if c.ok else 'FAIL'}  {c.name:14} {c.detail}")
        failed = [c.name for c in checks if not c.ok]
        if failed:
            raise DependencyError(f"{len(failed)} check(s) failed: {', '.join(failed)}")
