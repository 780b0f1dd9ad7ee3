"""XML parts (UBL, Order-X, openTRANS, cXML, …) kept as their own text, unchanged in meaning.

Structured orders are read field by field from the XML by ``intake.extract.structured``, and
every value it reports points at the exact characters of this document's text. So the parse
stage only decodes the bytes (by BOM, then the encoding the XML declaration names, then the
usual fallbacks) and normalises line ends; it does not pretty-print, re-serialise or strip
tags, which would move every offset.

The text is checked once with defusedxml's parser, streaming and without building a tree: XML
that declares entities or refers to external ones (the way billion-laughs bombs and XXE
attacks work) is not kept at all, and malformed XML is kept as text (a person can read it)
with a problem that says where it breaks.
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from intake.documents import sniff
from intake.documents.parts import Draft, PageText, Reading, clean_text
from intake.documents.problems import NO_TEXT, XML_MALFORMED, XML_UNSAFE, problem
from intake.documents.text import decode
from intake.models import Origin

_DECLARED = re.compile(rb"^<\?xml[^>]*?\bencoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})[\"']")


def declared_encoding(data: bytes) -> str | None:
    """The encoding named in the XML declaration (``<?xml … encoding="…"?>``), if any."""
    match = _DECLARED.match(data.lstrip(b"\xef\xbb\xbf \t\r\n")[:200])
    return match.group(1).decode("ascii") if match else None


class _Discard:
    """A parser target that keeps nothing: the check needs the events, not a tree."""

    def start(self, tag: str, attrs: Any) -> None:
        """Ignore a start tag."""

    def end(self, tag: str) -> None:
        """Ignore an end tag."""

    def data(self, text: str) -> None:
        """Ignore character data."""

    def close(self) -> None:
        """Nothing to return."""


def read_xml(data: bytes, origin: Origin) -> Reading:
    """Read an XML part into a one-page document holding its text.

    Args:
        data: the XML bytes.
        origin: where the part came from, for the document and problems.
    """
    text = clean_text(decode(data, declared_encoding(data)))
    if not text.strip():
        return Reading(problems=[problem(NO_TEXT, origin, "the XML file is empty")])
    parser = DefusedXMLParser(target=_Discard(), forbid_dtd=False)
    reading = Reading()
    try:
        parser.feed(text)
        parser.close()
    except DefusedXmlException as exc:
        return Reading(
            problems=[
                problem(
                    XML_UNSAFE,
                    origin,
                    f"the XML declares or refers to entities ({type(exc).__name__}), which is "
                    "how XML bombs and file-stealing (XXE) attacks work, so it was not read; "
                    "ask the sender for the file without a DOCTYPE",
                )
            ]
        )
    except ParseError as exc:
        reading.problems.append(
            problem(
                XML_MALFORMED,
                origin,
                f"the XML is not well-formed ({exc}), so it cannot be read as a structured "
                "order; its text was kept. Ask the sender to export it again",
            )
        )
    page = PageText(text=text, method="plain")
    reading.drafts.append(Draft(origin=origin, media_type=sniff.XML, pages=(page,)))
    return reading
