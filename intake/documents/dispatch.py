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
from intake.documents.archives import read_zip
from intake.documents.htmltext import html_to_text
from intake.documents.images import read_image
from intake.documents.parts import Draft, PageText, Reading
from intake.documents.pdf import read_pdf
from intake.documents.problems import (
    ATTACHMENT_TOO_LARGE,
    NESTING_TOO_DEEP,
    NO_TEXT,
    PART_UNREADABLE,
    SPREADSHEET_ENCRYPTED,
    UNSUPPORTED_ATTACHMENT,
    problem,
    size_text,
)
from intake.documents.spreadsheets import read_csv, read_xls, read_xlsx
from intake.documents.text import decode, read_text
from intake.documents.tnef import read_tnef
from intake.documents.xmltext import read_xml
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
    container_depth: int = 0,
) -> Reading:
    """Read one attachment or file by its sniffed type; never raises.

    Args:
        data: the part's decoded bytes.
        origin: where the part sits in its message (names it in problems).
        declared: the Content-Type it was sent with, if any; only a hint.
        depth: nesting depth of the message holding the part.
        limits: size, page, pixel, archive and time limits.
        ocr: tesseract settings.
        container_depth: how many containers (zip archives, winmail.dat, files embedded in
            a PDF) the part already sits in; ``limits.max_zip_depth`` bounds it.
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
        return _read(data, origin, media_type, depth, limits, ocr, container_depth)
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
    data: bytes,
    origin: Origin,
    media_type: str,
    depth: int,
    limits: Limits,
    ocr: OcrConfig,
    container_depth: int,
) -> Reading:
    def member(inner: bytes, inner_origin: Origin) -> Reading:
        return read_part(
            inner,
            inner_origin,
            None,
            depth,
            limits=limits,
            ocr=ocr,
            container_depth=container_depth + 1,
        )

    opens_containers = container_depth < limits.max_zip_depth
    if media_type == sniff.PDF:
        return read_pdf(
            data, origin, limits, ocr, read_embedded=member if opens_containers else None
        )
    if media_type in (sniff.ZIP, sniff.TNEF) and not opens_containers:
        return _container_too_deep(origin, media_type, container_depth, limits)
    if media_type in sniff.IMAGE_TYPES:
        return read_image(data, origin, media_type, limits, ocr)
    if media_type == sniff.CSV:
        return read_csv(data, origin, limits)
    if media_type in (sniff.XLSX, sniff.XLSM):
        return read_xlsx(data, origin, limits)
    if media_type == sniff.XLS:
        return read_xls(data, origin, limits)
    if media_type in sniff.TEXT_TYPES:
        return read_text(data, origin, media_type)
    if media_type == sniff.XML:
        return read_xml(data, origin)
    if media_type == sniff.ZIP:
        return read_zip(data, origin, limits, read_member=member)
    if media_type == sniff.TNEF:
        return read_tnef(data, origin, read_member=member)
    if media_type == sniff.ENCRYPTED_OFFICE:
        return Reading(
            problems=[
                problem(
                    SPREADSHEET_ENCRYPTED,
                    origin,
                    "the file is a password-protected Office document and cannot be read; "
                    "ask the customer to send it without a password (or as a PDF)",
                )
            ]
        )
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
            data,
            path=origin.path,
            depth=depth + 1,
            read_part=part_reader(limits, ocr, container_depth),
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


def _container_too_deep(
    origin: Origin, media_type: str, container_depth: int, limits: Limits
) -> Reading:
    """The problem for a container that opening would take past ``limits.max_zip_depth``.

    Archives inside archives are how recursive zip bombs work. A PDF that deep is still read,
    only the files embedded in it are not (``read_pdf`` gets no reader for them).
    """
    return Reading(
        problems=[
            problem(
                NESTING_TOO_DEEP,
                origin,
                f"the {sniff.type_description(media_type, origin.filename)} sits inside "
                f"{container_depth} other archive(s); only {limits.max_zip_depth} level(s) are "
                "opened (limits.max_zip_depth), so it was not read. Ask the customer to send "
                "the files directly",
            )
        ]
    )


def part_reader(limits: Limits, ocr: OcrConfig, container_depth: int = 0) -> mime.PartReader:
    """A ``read_part`` bound to the settings, as the e-mail reader expects it."""

    def reader(data: bytes, origin: Origin, declared: str | None, depth: int) -> Reading:
        return read_part(
            data, origin, declared, depth, limits=limits, ocr=ocr, container_depth=container_depth
        )

    return reader
