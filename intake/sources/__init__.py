"""Sources: where messages come from: drop folders (``folder.py``), mailboxes (``imap.py``).

A source only brings raw messages into the store; it never processes them. Storing comes first
so that nothing is lost whatever happens afterwards. ``poll`` is the one-shot entry point;
``intake run`` keeps mailbox connections and IDLE watchers open through ``watch.Watch``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from intake.config import FolderSource, ImapSource
from intake.errors import InputError
from intake.sources.folder import list_files, message_from_file, scan
from intake.sources.imap import Mailbox
from intake.sources.result import PollResult
from intake.store import AddResult, Store

__all__ = ["PollResult", "ingest_paths", "poll", "poll_folder"]


def poll(
    source: FolderSource | ImapSource,
    store: Store,
    should_stop: Callable[[], bool] | None = None,
) -> PollResult:
    """Bring every new message of a source into the store and record the poll."""
    if isinstance(source, ImapSource):
        mailbox = Mailbox(source)
        try:
            result = mailbox.poll(store, should_stop)
        finally:
            mailbox.close()
    else:
        result = poll_folder(source, store)
    store.record_poll(source.name, ok=result.error is None, error=result.error)
    return result


def poll_folder(source: FolderSource, store: Store) -> PollResult:
    """Store every file of a drop folder that the store does not know yet."""
    result = PollResult(source=source.name)
    try:
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
