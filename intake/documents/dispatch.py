"""Route one part (attachment or dropped file) to the reader for what it really is.

The type is sniffed from the bytes, so a PNG named ``order.pdf`` is OCR'd as an image and a
PDF sent as ``application/octet-stream`` is read as a PDF. Size limits are enforced here,
before any reader touches the bytes, and a reader that fails unexpectedly turns into a
``part_unreadable`` problem rather than losing the rest of the message.
"""

from __future__ import annotations

import logging

from intake.config import Limits, OcrConfig
from intake.documents import mime, sniff
from intake.documents.htmltext import html_to_text
from intake.documents.images import read_image
from intake.documents.parts import Draft, PageText, Reading
from intake.documents.pdf import read_pdf
from intake.documents.problems import (
    ATTACHMENT_TOO_LARGE,
    NESTING_TOO_DEEP,
    NO_TEXT,
    PART_UNREADABLE,
    UNSUPPORTED_ATTACHMENT,
    problem,
    size_text,
)
from intake.documents.text import decode, read_text
from intake.models import Origin

log = logging.getLogger(__name__)

SILENT_TYPES = frozenset(
    {
        "application/pkcs7-signature",
        "application/x-pkcs7-signature",
        "application/pgp-signature",
        "application/pgp-keys",
        "application/pgp-encrypted",
    }
)
"""Declared types that never hold an order (mail signatures): skipped without a problem."""


def read_part(
    data: bytes,
    origin: Origin,
    declared: str | None,
    depth: int,
    *,
    limits: Limits,
    ocr: OcrConfig,
) -> Reading:
    """Read one attachment or file by its sniffed type; never raises.

    Args:
        data: the part's decoded bytes.
        origin: where the part sits in its message (names it in problems).
        declared: the Content-Type it was sent with, if any; only a hint.
        depth: nesting depth of the message holding the part.
        limits: size, page, pixel and time limits.
        ocr: tesseract settings.
    """
    if declared in SILENT_TYPES:
        return Reading()
    if not data:
        return Reading(problems=[problem(NO_TEXT, origin, "the file is empty (0 bytes)")])
    if len(data) > limits.max_attachment_bytes:
        return Reading(
            problems=[
                problem(
                    ATTACHMENT_TOO_LARGE,
                    origin,
                    f"the file is {size_text(len(data))}, over limits.max_attachment_bytes "
                    f"({size_text(limits.max_attachment_bytes)}); it was not read. Raise "
                    "limits.max_attachment_bytes in intake.toml, or ask the customer for a "
                    "smaller file",
                )
            ]
        )
    media_type = sniff.sniff(data, origin.filename, declared)
    try:
        return _read(data, origin, media_type, depth, limits, ocr)
    except Exception as exc:  # a bug in a reader must not lose the rest of the message
        log.exception("reading %s failed", origin.describe())
        return Reading(
            problems=[
                problem(
                    PART_UNREADABLE,
                    origin,
                    f"reading it failed unexpectedly ({type(exc).__name__}: {exc}); this is "
                    "a bug in intake: please report it together with the file",
                )
            ]
        )


def _read(
    data: bytes, origin: Origin, media_type: str, depth: int, limits: Limits, ocr: OcrConfig
) -> Reading:
    if media_type == sniff.PDF:
        return read_pdf(data, origin, limits, ocr)
    if media_type in sniff.IMAGE_TYPES:
        return read_image(data, origin, media_type, limits, ocr)
    if media_type in sniff.TEXT_TYPES:
        return read_text(data, origin, media_type)
    if media_type == sniff.HTML:
        return _read_html(data, origin)
    if media_type == sniff.EMAIL:
        if depth + 1 > mime.MAX_DEPTH:
            return Reading(
                problems=[
                    problem(
                        NESTING_TOO_DEEP,
                        origin,
                        f"e-mails are attached inside each other more than {mime.MAX_DEPTH} "
                        "levels deep; the inner ones were not read",
                    )
                ]
            )
        return mime.read_email(
            data, path=origin.path, depth=depth + 1, read_part=part_reader(limits, ocr)
        )
    return Reading(
        problems=[
            problem(
                UNSUPPORTED_ATTACHMENT,
                origin,
                f"the file is a {sniff.type_description(media_type, origin.filename)}, which "
                "intake cannot read yet; ask the customer for a PDF, or enter the order by hand",
            )
        ]
    )


def _read_html(data: bytes, origin: Origin) -> Reading:
    rendered = html_to_text(decode(data))
    if not rendered.text.strip():
        return Reading(problems=[problem(NO_TEXT, origin, "the HTML file has no text")])
    page = PageText(text=rendered.text, method="plain", tables=tuple(rendered.tables))
    return Reading(drafts=[Draft(origin=origin, media_type=sniff.HTML, pages=(page,))])


def part_reader(limits: Limits, ocr: OcrConfig) -> mime.PartReader:
    """A ``read_part`` bound to the settings, as the e-mail reader expects it."""

    def reader(data: bytes, origin: Origin, declared: str | None, depth: int) -> Reading:
        return read_part(data, origin, declared, depth, limits=limits, ocr=ocr)

    return reader
