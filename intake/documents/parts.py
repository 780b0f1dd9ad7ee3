"""Intermediate results of the readers and their assembly into ``Document`` models.

Format readers know nothing about document ids or offsets into the joined text: they return
``Draft`` values (one per readable part, page by page) and problems. ``build_document`` then
joins the pages with form feeds and turns page-relative word offsets into document offsets,
so that arithmetic lives in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from intake.models import Document, Origin, Page, Problem, Table, Word

Rows = tuple[tuple[str | None, ...], ...]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")
_BLANK_RUN = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class PageWord:
    """An OCR word with offsets into its page's text and a box as fractions of the page."""

    text: str
    start: int
    end: int
    confidence: float
    bbox: tuple[float, float, float, float]


@dataclass(frozen=True)
class PageText:
    """The text of one page and how it was obtained."""

    text: str
    method: Literal["text", "ocr", "plain"]
    confidence: float | None = None
    words: tuple[PageWord, ...] = ()
    tables: tuple[Rows, ...] = ()


@dataclass(frozen=True)
class Draft:
    """A readable part of a message before it gets its document id."""

    origin: Origin
    media_type: str
    pages: tuple[PageText, ...]

    @property
    def has_text(self) -> bool:
        """True when any page holds non-blank text; blank drafts are not worth a document."""
        return any(p.text.strip() for p in self.pages)


@dataclass
class Reading:
    """What reading one part (or a whole message) gave: drafts and problems, in order."""

    drafts: list[Draft] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def extend(self, other: Reading) -> None:
        """Append another reading's results after this one's, keeping order of appearance."""
        self.drafts.extend(other.drafts)
        self.problems.extend(other.problems)

    @property
    def empty(self) -> bool:
        """True when nothing at all came out: no text and no problem."""
        return not self.drafts and not self.problems


def clean_text(text: str) -> str:
    """Normalise line ends, drop control characters and trim blank lines.

    Form feeds are removed too: they separate pages in ``Document.text`` and must not appear
    inside a page.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    text = _CONTROL.sub("", text).replace("\u00a0", " ")
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip("\n")


def clean_word(text: str) -> str:
    """Strip control characters and surrounding blanks from a single positioned word."""
    return _CONTROL.sub("", text.replace("\f", "")).strip()


def build_document(document_id: str, draft: Draft) -> Document:
    """Join a draft's pages into one ``Document`` with page and word offsets into its text."""
    pieces: list[str] = []
    pages: list[Page] = []
    tables: list[Table] = []
    words: list[Word] = []
    offset = 0
    for number, page in enumerate(draft.pages, start=1):
        if number > 1:
            pieces.append("\f")
            offset += 1
        pieces.append(page.text)
        pages.append(
            Page(
                number=number,
                start=offset,
                end=offset + len(page.text),
                method=page.method,
                ocr_confidence=page.confidence,
            )
        )
        tables.extend(Table(page=number, rows=rows) for rows in page.tables)
        words.extend(
            Word(
                text=w.text,
                page=number,
                start=offset + w.start,
                end=offset + w.end,
                confidence=w.confidence,
                bbox=w.bbox,
            )
            for w in page.words
        )
        offset += len(page.text)
    return Document(
        id=document_id,
        origin=draft.origin,
        media_type=draft.media_type,
        text="".join(pieces),
        pages=tuple(pages),
        tables=tuple(tables),
        words=tuple(words),
    )
