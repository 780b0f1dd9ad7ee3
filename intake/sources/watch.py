"""Watching every source for ``intake run``: poll when due, wake early when a mailbox rings.

The worker loop stays single-threaded for everything that writes: polling, storing, marking and
processing. The only other threads are IMAP IDLE watchers, one per folder of a mailbox with
``idle = true``, and all they can do is ring the ``Doorbell``. The loop waits on the doorbell
instead of sleeping, so new mail is fetched seconds after it arrives; without IDLE (or if a
watcher is down) the loop's own timer, ``run.poll_seconds``, still polls every source, so a
mailbox is never left unread because a notification was missed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from intake.config import FolderSource, ImapSource
from intake.sources import poll_folder
from intake.sources.imap import IdleWatcher, Mailbox
from intake.sources.result import PollResult
from intake.store import Store

log = logging.getLogger(__name__)


class Doorbell:
    """Wakes the worker loop: rung by IDLE watchers (with the mailbox's name) or by a signal."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._rung: set[str] = set()

    def ring(self, name: str) -> None:
        """New mail (or a reconnect) on mailbox ``name``: wake the loop and poll it now."""
        with self._lock:
            self._rung.add(name)
        self._event.set()

    def wake(self) -> None:
        """Wake the loop without naming a mailbox; safe to call from a signal handler."""
        self._event.set()

    def wait(self, seconds: float) -> set[str]:
        """Wait up to ``seconds`` for a ring; return the names rung since the last wait."""
        self._event.wait(max(0.0, seconds))
        with self._lock:
            self._event.clear()
            rung, self._rung = self._rung, set()
        return rung


class Watch:
    """Every configured source of one worker, with its mailbox connections and IDLE threads."""

    def __init__(
        self,
        sources: Sequence[FolderSource | ImapSource],
        store: Store,
        doorbell: Doorbell | None = None,
        mailbox_factory: Callable[[ImapSource], Mailbox] = Mailbox,
        watcher_factory: Callable[[ImapSource, str, Callable[[str], None]], IdleWatcher] = (
            IdleWatcher
        ),
    ) -> None:
        self.sources = list(sources)
        self.store = store
        self.doorbell = doorbell or Doorbell()
        self.mailboxes = {
            s.name: mailbox_factory(s) for s in self.sources if isinstance(s, ImapSource)
        }
        self.watchers: list[IdleWatcher] = []
        self._watcher_factory = watcher_factory
        self._rung: set[str] = set()

    def start_idle(self) -> None:
        """Start one IDLE watcher per folder of every mailbox with ``idle = true``."""
        for source in self.sources:
            if isinstance(source, ImapSource) and source.idle:
                for folder in source.folders:
                    watcher = self._watcher_factory(source, folder, self.doorbell.ring)
                    watcher.start()
                    self.watchers.append(watcher)

    def poll(self, should_stop: Callable[[], bool] | None = None) -> list[PollResult]:
        """Poll every source that is due (a mailbox backing off after a failure is not).

        A mailbox whose IDLE watcher rang since the last poll is polled even while backing
        off: the watcher has just reached its server, so the server is back.
        """
        results = []
        rung, self._rung = self._rung, set()
        for source in self.sources:
            if should_stop is not None and should_stop():
                break
            if isinstance(source, ImapSource):
                mailbox = self.mailboxes[source.name]
                if source.name in rung:
                    mailbox.retry_now()
                if not mailbox.due():
                    continue
                result = mailbox.poll(self.store, should_stop)
            else:
                result = poll_folder(source, self.store)
            self.store.record_poll(source.name, ok=result.error is None, error=result.error)
            results.append(result)
        return results

    def wait(self, seconds: float) -> None:
        """Sleep until a mailbox rings, a backoff ends, ``wake`` is called, or ``seconds`` pass."""
        backing_off = [m.seconds_until_due() for m in self.mailboxes.values() if m.failures]
        timeout = min([seconds, *backing_off])
        self._rung |= self.doorbell.wait(timeout)

    def wake(self) -> None:
        """End a ``wait`` now (from a signal handler: SIGINT/SIGTERM)."""
        self.doorbell.wake()

    def close(self) -> None:
        """Stop the IDLE watchers and log out of every mailbox."""
        for watcher in self.watchers:
            watcher.stop()
        for watcher in self.watchers:
            watcher.join(timeout=10)
            if watcher.is_alive():
                log.warning("IDLE watcher %s did not stop in time", watcher.name)
        for mailbox in self.mailboxes.values():
            mailbox.close()
