"""Sources: where messages come from (drop folders now, IMAP mailboxes with their own module).

A source only brings raw messages into the store; it never processes them. Storing comes first
so that nothing is lost whatever happens afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from intake.config import FolderSource, ImapSource
from intake.errors import InputError
from intake.sources.folder import list_files, message_from_file, scan
from intake.store import AddResult, Store


@dataclass
class PollResult:
    """What one poll of one source brought in."""

    source: str
    added: list[AddResult] = field(default_factory=list)
    known: list[AddResult] = field(default_factory=list)
    error: str | None = None


def poll(source: FolderSource | ImapSource, store: Store) -> PollResult:
    """Bring every new message of a source into the store and record the poll."""
    result = PollResult(source=source.name)
    try:
        if isinstance(source, ImapSource):
            raise InputError(
                f"source '{source.name}': IMAP polling is not available in this version; "
                "use a drop folder source for now"
            )
        if not source.path.is_dir():
            raise InputError(
                f"source '{source.name}': folder {source.path} does not exist: create it or fix "
                "sources.path in intake.toml"
            )
        for message in scan(source.path, f"folder:{source.name}", source.recursive):
            added = store.add_message(message)
            (result.added if added.created else result.known).append(added)
    except (OSError, InputError) as exc:
        result.error = str(exc)
    store.record_poll(source.name, ok=result.error is None, error=result.error)
    return result


def ingest_paths(paths: Iterable[Path], store: Store, source: str = "cli") -> list[AddResult]:
    """Store the files named on the command line (folders are expanded, in name order)."""
    results: list[AddResult] = []
    for path in paths:
        if path.is_dir():
            files = [(f, str(f.relative_to(path.parent))) for f in list_files(path)]
        elif path.is_file():
            files = [(path, path.name)]
        else:
            raise InputError(f"{path} does not exist: give an .eml, .pdf, image file or a folder")
        for file, ref in files:
            results.append(store.add_message(message_from_file(file, source, ref)))
    return results
