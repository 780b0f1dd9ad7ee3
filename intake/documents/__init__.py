"""The parse stage: one message in, readable documents and problems out.

``parse_message`` turns an e-mail or a dropped file into ``Document`` values with clean text
(PDF text layers, OCR of scans and photos, e-mail bodies, text and CSV files) and a
``Problem`` for every part that could not be read. It never raises for bad input, so one
hostile or broken attachment cannot stop the pipeline or hide the rest of the message.
"""

from __future__ import annotations

import logging
from pathlib import PurePath

from intake.config import Limits, OcrConfig
from intake.documents import mime, sniff
from intake.documents.dispatch import part_reader, read_part
from intake.documents.parts import Reading, build_document
from intake.documents.problems import MESSAGE_TOO_LARGE, PART_UNREADABLE, problem, size_text
from intake.models import Message, Origin, ParsedMessage

__all__ = ["parse_message"]

log = logging.getLogger(__name__)


def parse_message(message: Message, limits: Limits, ocr: OcrConfig) -> ParsedMessage:
    """Read every part of a message into documents, and every unreadable part into problems.

    Args:
        message: an e-mail (``kind='email'``, raw RFC 5322 bytes) or a file
            (``kind='file'``: PDF, image, .eml, text or CSV, typed by content).
        limits: size, page, pixel and OCR-time limits, checked before heavy work.
        ocr: tesseract languages and the resolution scans are rendered at.

    Returns:
        The message with its documents (ids ``d1``, ``d2``, … in order of appearance) and
        problems. A message over ``limits.max_message_bytes`` is not parsed at all.
    """
    if len(message.raw) > limits.max_message_bytes:
        origin = _file_origin(message) if message.kind == "file" else None
        too_large = problem(
            MESSAGE_TOO_LARGE,
            origin,
            f"the message is {size_text(len(message.raw))}, over limits.max_message_bytes "
            f"({size_text(limits.max_message_bytes)}); it was not read. Raise "
            "limits.max_message_bytes in intake.toml, or ask the sender for smaller files",
        )
        return ParsedMessage(message=message, documents=(), problems=(too_large,))
    try:
        reading = _read(message, limits, ocr)
    except Exception as exc:  # last line of defence: parsing must never raise
        log.exception("parsing message %s failed", message.id)
        reading = Reading(
            problems=[
                problem(
                    PART_UNREADABLE,
                    _file_origin(message) if message.kind == "file" else None,
                    f"reading it failed unexpectedly ({type(exc).__name__}: {exc}); this is "
                    "a bug in intake: please report it together with the message",
                )
            ]
        )
    documents = tuple(
        build_document(f"d{number}", draft)
        for number, draft in enumerate((d for d in reading.drafts if d.has_text), start=1)
    )
    return ParsedMessage(message=message, documents=documents, problems=tuple(reading.problems))


def _read(message: Message, limits: Limits, ocr: OcrConfig) -> Reading:
    reader = part_reader(limits, ocr)
    if message.kind == "email":
        return mime.read_email(message.raw, path=(), depth=0, read_part=reader)
    origin = _file_origin(message)
    if sniff.sniff(message.raw, origin.filename) == sniff.EMAIL:
        return mime.read_email(message.raw, path=(), depth=0, read_part=reader)
    return read_part(message.raw, origin, None, 0, limits=limits, ocr=ocr)


def _file_origin(message: Message) -> Origin:
    """Origin of a dropped file: its own name, never the folder it was found in."""
    name = message.filename or PurePath(message.source_ref.replace("\\", "/")).name or "file"
    name = PurePath(name.replace("\\", "/")).name or "file"
    return Origin(kind="file", filename=name, path=(name,))
