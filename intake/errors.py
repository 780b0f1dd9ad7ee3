"""Exceptions that the CLI turns into exit codes — one class per code.

Library code raises these; only ``intake.cli`` translates them into a message on stderr and an
exit code, so stages never print or exit. The table is public interface and is documented in
docs/exit-codes.md; a test keeps the two in step.
"""

from __future__ import annotations


class IntakeError(Exception):
    """Base of every error intake reports to a person; the message names input and remedy."""

    exit_code = 1
    """Exit code of the CLI when this error ends a command."""


class ConfigError(IntakeError):
    """The configuration is invalid or incomplete; the message names the key and the fix."""

    exit_code = 2


class InputError(IntakeError):
    """A path or id given on the command line does not exist or cannot be read."""

    exit_code = 3


class StoreError(IntakeError):
    """The store cannot be opened or migrated; the message names the URL (masked)."""

    exit_code = 4


class DependencyError(IntakeError):
    """A required external program or service is missing or unreachable."""

    exit_code = 5


class MessagesNeedReview(IntakeError):
    """Processing finished, but some messages went to review, were rejected or failed.

    Not an error of intake itself: scripts use the exit code to notice that a person is needed.
    """

    exit_code = 10


class StageError(Exception):
    """A stage could not finish for one message; the message goes to review with ``reason``.

    ``code`` is a short stable identifier (``pdf_encrypted``, ``no_documents``, …) that the
    review queue and tests use; the text says what happened and what to do.
    """

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


EXIT_CODES: dict[int, str] = {
    0: "success: every message was drafted, or already processed",
    1: "unexpected internal error (a bug: please report it with the log)",
    2: "configuration invalid (intake config check lists every problem)",
    3: "input path or id not found or unreadable",
    4: "store cannot be opened or migrated",
    5: "a required dependency (tesseract, LLM endpoint, Odoo, mailbox) is missing or unreachable",
    10: "done, but at least one message needs a person (review, rejected or failed)",
    130: "interrupted by Ctrl-C outside the run loop (intake run itself exits 0 on SIGINT/SIGTERM)",
}
"""The documented exit codes; docs/exit-codes.md is checked against this table in tests."""
