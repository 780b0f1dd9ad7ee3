"""Zip attachments, opened within limits so that a zip bomb cannot exhaust the machine.

Customers zip their orders (or their mail client does). Each file in the archive is read as an
attachment of its own, named ``archive.zip/member``. Before anything is decompressed the
archive's directory is checked: how many files (``limits.max_zip_members``), how much they
expand to in total (``limits.max_message_bytes``) and by what ratio
(``limits.max_zip_ratio``, for members of at least ``RATIO_FLOOR`` bytes: a small file cannot
hurt, however well it compresses). Reading is capped as well, since the sizes in a zip
directory are the sender's word. Archives inside archives are bounded by
``limits.max_zip_depth`` in the dispatcher, which is how recursive bombs (42.zip) are stopped.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import PurePosixPath

from intake.config import Limits
from intake.documents.parts import Reading
from intake.documents.problems import (
    ARCHIVE_CORRUPT,
    ARCHIVE_ENCRYPTED,
    ARCHIVE_RATIO_TOO_HIGH,
    ARCHIVE_TOO_LARGE,
    ARCHIVE_TOO_MANY_FILES,
    NO_TEXT,
    problem,
    size_text,
)
from intake.models import Origin, Problem

log = logging.getLogger(__name__)

MemberReader = Callable[[bytes, Origin], Reading]
"""Reads one file taken from an archive: ``(data, origin) -> Reading``."""

RATIO_FLOOR = 1024 * 1024
"""Members that expand to less than this are not judged by their compression ratio."""
CHUNK = 1024 * 1024

_JUNK = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|Thumbs\.db$|desktop\.ini$)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError)


def member_name(raw: str) -> str:
    """A member's path as a safe, readable name: no drive, no leading ``/``, no ``..``."""
    parts = [p for p in _CONTROL.sub(" ", raw.replace("\\", "/")).split("/") if p.strip()]
    kept = [p.strip() for p in parts if p.strip() not in (".", "..")]
    name = "/".join(kept)
    if re.match(r"^[A-Za-z]:", name):
        name = name[2:].lstrip("/")
    return name[:300] or "unnamed"


def zip_limit_problem(
    infos: Sequence[zipfile.ZipInfo],
    origin: Origin,
    limits: Limits,
    *,
    count_members: bool = True,
) -> Problem | None:
    """The problem with an archive as its directory describes it, or None when it is fine.

    Args:
        infos: the archive's directory entries.
        origin: the archive, named in the problem.
        limits: member count, total size and ratio limits.
        count_members: False for containers such as XLSX whose parts are not attachments.
    """
    files = [info for info in infos if not info.is_dir()]
    if count_members and len(files) > limits.max_zip_members:
        return problem(
            ARCHIVE_TOO_MANY_FILES,
            origin,
            f"the archive holds {len(files)} files, more than limits.max_zip_members "
            f"({limits.max_zip_members}); it was not opened. Ask the customer to send the "
            "order files alone",
        )
    for info in files:
        if info.file_size < RATIO_FLOOR:
            continue
        ratio = info.file_size / max(1, info.compress_size)
        if ratio > limits.max_zip_ratio:
            return problem(
                ARCHIVE_RATIO_TOO_HIGH,
                origin,
                f"'{member_name(info.filename)}' would expand {ratio:,.0f} times "
                f"({size_text(info.compress_size)} to {size_text(info.file_size)}), more than "
                f"limits.max_zip_ratio ({limits.max_zip_ratio:g}): this looks like a zip bomb, "
                "so the archive was not opened",
            )
    total = sum(info.file_size for info in files)
    if total > limits.max_message_bytes:
        return problem(
            ARCHIVE_TOO_LARGE,
            origin,
            f"the archive expands to {size_text(total)}, over limits.max_message_bytes "
            f"({size_text(limits.max_message_bytes)}); it was not opened. Ask the customer "
            "to send the order files alone",
        )
    return None


def read_zip(data: bytes, origin: Origin, limits: Limits, *, read_member: MemberReader) -> Reading:
    """Read every file in a zip archive as an attachment of its own.

    Args:
        data: the archive bytes.
        origin: the archive; members are named ``(*origin.path, member path)``.
        limits: archive and size limits.
        read_member: reads one member (the dispatcher, one container level deeper).
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS as exc:
        return Reading(problems=[_corrupt(origin, str(exc))])
    reading = Reading()
    with archive:
        infos = [
            info
            for info in archive.infolist()
            if not info.is_dir() and not _JUNK.search(info.filename.replace("\\", "/"))
        ]
        refused = zip_limit_problem(infos, origin, limits)
        if refused is not None:
            return Reading(problems=[refused])
        if not infos:
            return Reading(problems=[problem(NO_TEXT, origin, "the archive holds no files")])
        budget = limits.max_message_bytes
        for info in infos:
            name = member_name(info.filename)
            inner = Origin(
                kind="attachment",
                filename=PurePosixPath(name).name or name,
                path=(*origin.path, name),
            )
            if info.flag_bits & 0x1:
                reading.problems.append(
                    problem(
                        ARCHIVE_ENCRYPTED,
                        inner,
                        "the file is password-protected inside the archive and cannot be "
                        "read; ask the customer to send it without a password",
                    )
                )
                continue
            member = _extract(archive, info, inner, min(limits.max_attachment_bytes, budget))
            if isinstance(member, Problem):
                reading.problems.append(member)
                continue
            budget -= len(member)
            reading.extend(read_member(member, inner))
    return reading


def _extract(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, origin: Origin, cap: int
) -> bytes | Problem:
    """A member's bytes, read in chunks and never more than ``cap``; a problem otherwise."""
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as stream:
            while True:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > cap:
                    return problem(
                        ARCHIVE_TOO_LARGE,
                        origin,
                        f"the file expands to more than {size_text(cap)} (the size limits "
                        "limits.max_attachment_bytes and limits.max_message_bytes); it was not "
                        "read",
                    )
                chunks.append(chunk)
    except (*_ZIP_ERRORS, zlib.error, NotImplementedError, RuntimeError) as exc:
        return _corrupt(origin, str(exc))
    return b"".join(chunks)


def _corrupt(origin: Origin, detail: str) -> Problem:
    log.info("%s: unreadable zip: %s", origin.describe(), detail)
    return problem(
        ARCHIVE_CORRUPT,
        origin,
        f"the zip archive is damaged or uses a method intake cannot unpack ({detail}); ask "
        "the customer to send the files again",
    )
