"""What one poll of one source brought in: the shared result type of every kind of source."""

from __future__ import annotations

from dataclasses import dataclass, field

from intake.store import AddResult


@dataclass
class PollResult:
    """What one poll of one source brought in.

    ``added`` are new messages, ``known`` ones the store already had (a re-sync, or a restart
    between storing and marking), ``skipped`` the references of messages a sender policy left
    in the mailbox, and ``error`` why the poll stopped early, if it did.
    """

    source: str
    added: list[AddResult] = field(default_factory=list)
    known: list[AddResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    error: str | None = None
