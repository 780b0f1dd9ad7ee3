"""The worker: builds the job context and drives messages through the pipeline.

``intake process`` and ``intake run`` both come here. The worker claims one message at a time
from the store (with a lease, so several workers on PostgreSQL never take the same message),
processes it, and goes on with the next; a stop request is honoured between messages, never in
the middle of one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from intake.catalog import load_catalog
from intake.config import Settings
from intake.models import MessageState
from intake.odoo import OdooClient, open_odoo, outbox, refresh_catalog
from intake.pipeline import JobContext, process
from intake.store import Store, worker_name

log = logging.getLogger(__name__)


def open_context(settings: Settings, store: Store | None = None) -> JobContext:
    """Open the store and load the catalog, or raise an error that names the fix.

    With ``[odoo]`` configured the catalog comes from Odoo (through the store's cache) and the
    context carries the Odoo client, whose outbox sends the drafts.
    """
    store = store or Store.open(settings.store.url)
    odoo: OdooClient | None = None
    if settings.odoo.enabled:
        odoo, catalog = open_odoo(settings, store)
    else:
        catalog = load_catalog(settings.catalog.path)
    workdir = _workdir(settings)
    return JobContext(
        settings=settings,
        store=store,
        catalog=catalog,
        workdir=workdir,
        owner=worker_name(),
        odoo=odoo,
    )


def flush_outbox(ctx: JobContext) -> None:
    """Send the drafts waiting for Odoo (after each message and on every loop)."""
    if ctx.odoo is None:
        return
    refreshed = refresh_catalog(ctx.odoo, ctx.store, ctx.settings)
    if refreshed is not None:
        ctx.catalog = refreshed
    outbox.flush(ctx.store, ctx.odoo, ctx.settings, ctx.catalog)


def _workdir(settings: Settings) -> Path:
    url = settings.store.url
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        return Path(url.removeprefix("sqlite:///")).parent / "work"
    return Path("intake-data") / "work"


class StopFlag:
    """Set by SIGINT/SIGTERM; checked between messages and while waiting."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def set(self, reason: str) -> None:
        """Ask the worker to stop after the current message."""
        self.reason = reason
        self._event.set()

    def is_set(self) -> bool:
        """True once a stop was requested."""
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, waking at once on a stop request."""
        return self._event.wait(seconds)


def process_pending(
    ctx: JobContext,
    only: Sequence[str] | None = None,
    stop: StopFlag | None = None,
    on_done: Callable[[str, MessageState], None] | None = None,
) -> list[tuple[str, MessageState]]:
    """Process every unfinished message (or only the given ids) until none is left."""
    done: list[tuple[str, MessageState]] = []
    while stop is None or not stop.is_set():
        message_id = ctx.store.claim_next(ctx.owner, only)
        if message_id is None:
            break
        message = ctx.store.load_message(message_id)
        state = process(message, ctx)
        ctx.store.release(message_id)
        flush_outbox(ctx)
        done.append((message_id, state))
        if on_done is not None:
            on_done(message_id, state)
    flush_outbox(ctx)  # what an earlier loop left pending (Odoo was down)
    return done
