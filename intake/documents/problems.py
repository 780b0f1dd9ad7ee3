"""Problem codes of the parse stage and the helper that builds problems.

Every part of a message that cannot be read becomes a ``Problem`` instead of an exception, so
one bad attachment never hides the rest of the message. The codes are stable identifiers that
the review queue and tests rely on; the text names the input and says what to do.
"""

from __future__ import annotations

from intake.models import Origin, Problem

MESSAGE_TOO_LARGE = "message_too_large"
ATTACHMENT_TOO_LARGE = "attachment_too_large"
EMPTY_MESSAGE = "empty_message"
NO_TEXT = "no_text"
UNSUPPORTED_ATTACHMENT = "unsupported_attachment"
NESTING_TOO_DEEP = "nesting_too_deep"
PDF_ENCRYPTED = "pdf_encrypted"
PDF_CORRUPT = "pdf_corrupt"
TOO_MANY_PAGES = "too_many_pages"
IMAGE_TOO_LARGE = "image_too_large"
IMAGE_CORRUPT = "image_corrupt"
OCR_TIMEOUT = "ocr_timeout"
OCR_UNAVAILABLE = "ocr_unavailable"
OCR_FAILED = "ocr_failed"
PART_UNREADABLE = "part_unreadable"
SPREADSHEET_CORRUPT = "spreadsheet_corrupt"
SPREADSHEET_ENCRYPTED = "spreadsheet_encrypted"
SPREADSHEET_TOO_LARGE = "spreadsheet_too_large"
ARCHIVE_CORRUPT = "archive_corrupt"
ARCHIVE_ENCRYPTED = "archive_encrypted"
ARCHIVE_TOO_LARGE = "archive_too_large"
ARCHIVE_TOO_MANY_FILES = "archive_too_many_files"
ARCHIVE_RATIO_TOO_HIGH = "archive_ratio_too_high"
TNEF_CORRUPT = "tnef_corrupt"
XML_UNSAFE = "xml_unsafe"
XML_MALFORMED = "xml_malformed"

ALL_CODES = frozenset(
    {
        MESSAGE_TOO_LARGE,
        ATTACHMENT_TOO_LARGE,
        EMPTY_MESSAGE,
        NO_TEXT,
        UNSUPPORTED_ATTACHMENT,
        NESTING_TOO_DEEP,
        PDF_ENCRYPTED,
        PDF_CORRUPT,
        TOO_MANY_PAGES,
        IMAGE_TOO_LARGE,
        IMAGE_CORRUPT,
        OCR_TIMEOUT,
        OCR_UNAVAILABLE,
        OCR_FAILED,
        PART_UNREADABLE,
        SPREADSHEET_CORRUPT,
        SPREADSHEET_ENCRYPTED,
        SPREADSHEET_TOO_LARGE,
        ARCHIVE_CORRUPT,
        ARCHIVE_ENCRYPTED,
        ARCHIVE_TOO_LARGE,
        ARCHIVE_TOO_MANY_FILES,
        ARCHIVE_RATIO_TOO_HIGH,
        TNEF_CORRUPT,
        XML_UNSAFE,
        XML_MALFORMED,
    }
)
"""Every code this stage emits; tests check that nothing else leaks out."""


def problem(code: str, origin: Origin | None, text: str) -> Problem:
    """Build a problem whose message starts with the part it concerns.

    Args:
        code: one of the codes above.
        origin: the part; None for the message as a whole.
        text: what happened and what to do, as a sentence fragment after the part name.
    """
    where = origin.describe() if origin is not None else "message"
    return Problem(code=code, message=f"{where}: {text}", origin=origin)


def size_text(n: int) -> str:
    """Human-readable byte count, so limits in messages read like the config values."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MiB"
    if n >= 1024:
        return f"{n / 1024:.0f} KiB"
    return f"{n} bytes"
