"""An XML tree whose every element and attribute knows its character span in the source text.

Structured orders are read from XML, and every value must point at the exact characters it
came from (``Evidence.text == document.text[start:end]``). ElementTree drops positions, and
lxml's ``sourceline`` is a line number, not an offset. So the document text is parsed with
defusedxml's parser (entity declarations and external references are refused, which stops
billion-laughs and XXE attacks; a DTD reference alone, as in cXML, is allowed and never
fetched) and expat's byte index of every start and end tag is recorded. The text is fed as a
``str``, which expat receives as UTF-8 whatever the XML declaration says, so byte indexes
convert to character offsets through the positions of the non-ASCII characters.

From the start index, the start tag is scanned (quotes respected, as ``>`` may occur in an
attribute value) to find where the content begins; the end tag's index is where it ends.
A value's span is then the content between the tags with surrounding blanks trimmed, and an
attribute's span is its value inside the quotes. Values with entity references (``&amp;``)
point at the text as written, which shows the same value to a reader.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

MAX_ELEMENTS = 200_000
"""A document with more elements than this is not read as a structured order."""

_ATTRIBUTE = re.compile(r"""([^\s=<>/"']+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


class XmlTooLarge(ValueError):
    """The document has more than ``MAX_ELEMENTS`` elements."""


@dataclass
class Node:
    """One element: local name, namespace, attributes, children and character offsets.

    ``start`` is the offset of ``<``, ``content_start`` the offset just after the start
    tag's ``>``, ``content_end`` the offset of the end tag's ``<`` (equal to
    ``content_start`` for an empty element) and ``end`` the offset after the end tag.
    """

    tag: str
    namespace: str
    attrs: dict[str, str]
    start: int
    content_start: int = 0
    content_end: int = 0
    end: int = 0
    children: list[Node] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The element's own character data (not its children's), blanks folded."""
        return " ".join("".join(self.parts).split())

    def child(self, name: str) -> Node | None:
        """The first child with this local name."""
        return next((c for c in self.children if c.tag == name), None)

    def find(self, path: str) -> Node | None:
        """The first element at a ``/``-separated path of local names below this one."""
        found = self.findall(path)
        return found[0] if found else None

    def findall(self, path: str) -> list[Node]:
        """Every element at a ``/``-separated path of local names below this one."""
        level = [self]
        for name in path.split("/"):
            level = [c for node in level for c in node.children if c.tag == name]
        return level

    def iter(self, name: str | None = None) -> Iterator[Node]:
        """This element and every descendant (document order), optionally by local name."""
        stack = [self]
        while stack:
            node = stack.pop()
            if name is None or node.tag == name:
                yield node
            stack.extend(reversed(node.children))

    def value(self, path: str | None = None) -> str | None:
        """The folded text of the element at ``path`` (or of this one); None if blank."""
        node = self.find(path) if path else self
        if node is None:
            return None
        return node.text or None


@dataclass
class XmlDocument:
    """A parsed XML text with offsets: the root element and span helpers."""

    source: str
    root: Node

    def value_span(self, node: Node) -> tuple[int, int] | None:
        """The span of the element's own text in ``source``, trimmed of blanks."""
        segments: list[tuple[int, int]] = []
        cursor = node.content_start
        for child in node.children:
            segments.append((cursor, child.start))
            cursor = child.end
        segments.append((cursor, node.content_end))
        spans = [s for s in (self._trimmed(a, b) for a, b in segments) if s is not None]
        if not spans:
            return None
        return spans[0][0], spans[-1][1]

    def attr_span(self, node: Node, name: str) -> tuple[int, int] | None:
        """The span of an attribute's value (by local name) inside its quotes."""
        tag = self.source[node.start : node.content_start]
        for match in _ATTRIBUTE.finditer(tag):
            if match.group(1).rsplit(":", 1)[-1] == name:
                group = 2 if match.group(2) is not None else 3
                return node.start + match.start(group), node.start + match.end(group)
        return None

    def _trimmed(self, start: int, end: int) -> tuple[int, int] | None:
        raw = self.source[start:end]
        stripped = raw.strip()
        if not stripped:
            return None
        lead = len(raw) - len(raw.lstrip())
        return start + lead, start + lead + len(stripped)


class _Offsets:
    """Turns UTF-8 byte indexes of ``text`` into character offsets."""

    def __init__(self, text: str) -> None:
        self.bytes_at: list[int] = []  # byte index of each non-ASCII character
        self.extra: list[int] = []  # extra bytes of all non-ASCII characters up to it
        total = 0
        position = 0
        for index, ch in enumerate(text):
            code = ord(ch)
            if code < 0x80:
                continue
            size = 2 if code < 0x800 else 3 if code < 0x10000 else 4
            position = index + total
            total += size - 1
            self.bytes_at.append(position)
            self.extra.append(total)

    def char(self, byte_index: int) -> int:
        """The character offset of the character starting at ``byte_index``."""
        k = bisect.bisect_left(self.bytes_at, byte_index)
        return byte_index - (self.extra[k - 1] if k else 0)


class _Builder:
    """ElementTree parser target that builds ``Node`` values with byte positions."""

    def __init__(self) -> None:
        self.parser: Any = None
        self.stack: list[Node] = []
        self.root: Node | None = None
        self.count = 0
        self.ends: list[tuple[Node, int]] = []

    def _index(self) -> int:
        index: int = self.parser.parser.CurrentByteIndex
        return index

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        self.count += 1
        if self.count > MAX_ELEMENTS:
            raise XmlTooLarge(f"more than {MAX_ELEMENTS} elements")
        namespace, _, local = tag[1:].rpartition("}") if tag.startswith("{") else ("", "", tag)
        plain = {k.rsplit("}", 1)[-1]: v for k, v in attrs.items()}
        node = Node(tag=local, namespace=namespace, attrs=plain, start=self._index())
        if self.stack:
            self.stack[-1].children.append(node)
        else:
            self.root = node
        self.stack.append(node)

    def end(self, tag: str) -> None:
        node = self.stack.pop()
        self.ends.append((node, self._index()))

    def data(self, text: str) -> None:
        if self.stack:
            self.stack[-1].parts.append(text)

    def close(self) -> Node | None:
        return self.root


def parse_xml(text: str) -> XmlDocument:
    """Parse XML text into a tree with character offsets.

    Raises:
        xml.etree.ElementTree.ParseError: the text is not well-formed XML.
        defusedxml.DefusedXmlException: it declares entities or refers to external ones.
        XmlTooLarge: it has more than ``MAX_ELEMENTS`` elements.
    """
    builder = _Builder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=False)
    builder.parser = parser
    parser.feed(text)
    parser.close()
    if builder.root is None:
        raise ValueError("no root element")
    offsets = _Offsets(text)
    for node, end_index in builder.ends:
        node.start = offsets.char(node.start)
        node.content_start = _start_tag_end(text, node.start)
        if text[node.content_start - 2] == "/":  # <empty/>: no content, no end tag
            node.content_end = node.end = node.content_start
        else:
            node.content_end = offsets.char(end_index)
            close = text.find(">", node.content_end)
            node.end = close + 1 if close >= 0 else len(text)
    return XmlDocument(source=text, root=builder.root)


def _start_tag_end(text: str, start: int) -> int:
    """Offset just after the ``>`` closing the start tag at ``start`` (quotes respected)."""
    quote = ""
    for index in range(start + 1, len(text)):
        ch = text[index]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == ">":
            return index + 1
    return len(text)


__all__ = ["DefusedXmlException", "Node", "XmlDocument", "XmlTooLarge", "parse_xml"]
