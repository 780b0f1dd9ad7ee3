"""Turn positioned words into lines of text that keep the page's column layout.

Both the PDF text layer and OCR give words with boxes rather than reading-order lines.
Rebuilding lines from geometry keeps a table row on one line. Words of one phrase are joined
by one space; a wider gap starts a new column, which is put at the character position
matching its place on the page (at least two spaces after the previous text), so columns
line up from one line to the next and blocks printed side by side can be told apart. A blank
line marks a paragraph-sized vertical gap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

COLUMN_GAP = 1.25
"""A gap wider than this many character widths separates columns, not words."""


@dataclass(frozen=True)
class Box:
    """A word and its box, in any unit as long as all boxes of a page share it."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float

    @property
    def middle(self) -> float:
        """Vertical centre, used to put words on the same visual line."""
        return (self.top + self.bottom) / 2


def arrange(boxes: Sequence[Box]) -> tuple[str, list[tuple[int, int]]]:
    """Lay words out as lines of text.

    Args:
        boxes: the page's words; empty texts are ignored.

    Returns:
        The text, and for each input box its ``(start, end)`` span in the text (``(0, 0)``
        for ignored boxes), in input order.
    """
    spans = [(0, 0)] * len(boxes)
    items = [(i, b) for i, b in enumerate(boxes) if b.text]
    if not items:
        return "", spans
    height = median(max(b.bottom - b.top, 1e-6) for _, b in items)
    page_char = max(median(_char_width(b) for _, b in items), 1e-6)
    rows = _rows(items, height)
    tops = [min(b.top for _, b in row) for row in rows]
    bottoms = [max(b.bottom for _, b in row) for row in rows]
    gaps = [tops[k] - bottoms[k - 1] for k in range(1, len(rows))]
    paragraph_gap = max(height, 2 * median(gaps)) if gaps else height
    left = min(b.x0 for _, b in items)
    parts: list[str] = []
    pos = 0
    for k, row in enumerate(rows):
        if k:
            sep = "\n\n" if gaps[k - 1] > paragraph_gap else "\n"
            parts.append(sep)
            pos += len(sep)
        line_start = pos
        previous: Box | None = None
        for i, box in sorted(row, key=lambda item: item[1].x0):
            column = round((box.x0 - left) / page_char)
            if previous is None:
                pad = column
            elif box.x0 - previous.x1 <= COLUMN_GAP * _local_char(previous, box, page_char):
                pad = 1
            else:
                pad = max(2, column - (pos - line_start))
            parts.append(" " * pad)
            pos += pad
            spans[i] = (pos, pos + len(box.text))
            parts.append(box.text)
            pos += len(box.text)
            previous = box
    return "".join(parts), spans


def _char_width(box: Box) -> float:
    return (box.x1 - box.x0) / len(box.text)


def _local_char(left: Box, right: Box, page_char: float) -> float:
    """Average character width of two neighbours, so big headings are not spread apart.

    Very short words say little about their font (``1`` vs ``W``): the page's typical width
    stands in for them.
    """
    widths = [_char_width(b) if len(b.text) >= 3 else page_char for b in (left, right)]
    return max((widths[0] + widths[1]) / 2, 1e-6)


def _rows(items: list[tuple[int, Box]], height: float) -> list[list[tuple[int, Box]]]:
    """Group words whose vertical centres lie within half a line height of the row's."""
    rows: list[list[tuple[int, Box]]] = []
    centre = 0.0
    for item in sorted(items, key=lambda it: (it[1].middle, it[1].x0)):
        if rows and abs(item[1].middle - centre) <= height / 2:
            rows[-1].append(item)
            centre += (item[1].middle - centre) / len(rows[-1])
        else:
            rows.append([item])
            centre = item[1].middle
    return rows
