"""HTML mail bodies and HTML attachments turned into readable text.

Order e-mails written in Outlook or a web shop are often HTML only, with the order lines in a
table. A plain ``get_text()`` would put every cell on its own line; here each table row stays
one line with cells separated by `` | ``, block elements end lines, and quoted reply history
(``blockquote type=cite``, Gmail's quote blocks) is dropped before rendering.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bs4 import BeautifulSoup
from bs4.element import (
    Comment,
    Declaration,
    Doctype,
    NavigableString,
    ProcessingInstruction,
    Tag,
)

from intake.documents.parts import Rows, clean_text

_SKIP = frozenset({"script", "style", "head", "title", "meta", "link", "noscript", "template"})
_BLOCK = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "header",
        "footer",
        "aside",
        "nav",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "pre",
        "address",
        "blockquote",
        "center",
        "form",
        "fieldset",
        "hr",
        "caption",
        "thead",
        "tbody",
        "tfoot",
    }
)
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0]+")
CELL_SEPARATOR = " | "


@dataclass
class HtmlText:
    """The text of an HTML part and the data tables found in it."""

    text: str
    tables: list[Rows] = field(default_factory=list)


def html_to_text(html: str, *, drop_quotes: bool = False) -> HtmlText:
    """Render HTML as plain text, keeping table rows as lines.

    Args:
        html: the markup.
        drop_quotes: remove quoted reply history (for mail bodies, not attachments).
    """
    soup = BeautifulSoup(html, "html.parser")
    if drop_quotes:
        _drop_history(soup)
    out = HtmlText(text="")
    chunks: list[str] = []
    _render(soup, chunks, out.tables)
    out.text = clean_text("\n".join(line.strip() for line in "".join(chunks).split("\n")))
    return out


def _drop_history(soup: BeautifulSoup) -> None:
    """Remove quoted replies: cited blockquotes, and everything from Outlook's reply header on.

    Outlook does not quote the earlier mail; it puts a header block (``divRplyFwdMsg``) and
    then the old text as siblings, so the marker and all that follows it go.
    """
    for quote in soup.find_all(_is_quote):
        quote.decompose()
    marker = soup.find(id=["appendonsend", "divRplyFwdMsg"])
    if isinstance(marker, Tag):
        for sibling in list(marker.find_next_siblings()):
            sibling.decompose()
        marker.decompose()


def _is_quote(tag: Tag) -> bool:
    if tag.name != "blockquote":
        return False
    return tag.get("type") == "cite" or "gmail_quote" in tag.get_attribute_list("class")


def _render(node: Tag, chunks: list[str], tables: list[Rows]) -> None:
    for child in node.children:
        if isinstance(child, Comment | Doctype | Declaration | ProcessingInstruction):
            continue
        if isinstance(child, NavigableString):
            chunks.append(_SPACES.sub(" ", str(child)))
            continue
        if not isinstance(child, Tag) or child.name in _SKIP:
            continue
        if child.name == "br":
            chunks.append("\n")
        elif child.name == "table":
            chunks.append("\n" + _table(child, tables) + "\n")
        elif child.name == "li":
            chunks.append("\n- ")
            _render(child, chunks, tables)
            chunks.append("\n")
        elif child.name in _BLOCK:
            chunks.append("\n")
            _render(child, chunks, tables)
            chunks.append("\n")
        else:
            _render(child, chunks, tables)


def _cell_text(cell: Tag, tables: list[Rows]) -> str:
    chunks: list[str] = []
    _render(cell, chunks, tables)
    return clean_text("".join(chunks))


def _table(table: Tag, tables: list[Rows]) -> str:
    """Render one table: a row per line; a data table is also recorded in ``tables``."""
    lines: list[str] = []
    rows: list[tuple[str | None, ...]] = []
    nested = table.find("table") is not None
    for tr in _rows(table):
        cells = [_cell_text(c, tables) for c in tr.find_all(["td", "th"], recursive=False)]
        if not any(cells):
            continue
        if len(cells) == 1:
            lines.append(cells[0])
            continue
        lines.append(CELL_SEPARATOR.join(" ".join(c.split()) for c in cells))
        rows.append(tuple((" ".join(c.split()) or None) for c in cells))
    if rows and not nested and any(sum(1 for c in r if c) >= 2 for r in rows):
        tables.append(tuple(rows))
    return "\n".join(lines)


def _rows(table: Tag) -> list[Tag]:
    """The table's own rows, including those in thead/tbody/tfoot, not nested tables' rows."""
    found: list[Tag] = []
    for child in table.children:
        if not isinstance(child, Tag):
            continue
        if child.name == "tr":
            found.append(child)
        elif child.name in ("thead", "tbody", "tfoot"):
            found.extend(t for t in child.children if isinstance(t, Tag) and t.name == "tr")
    return found
