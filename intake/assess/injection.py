"""Text in a document that addresses an AI or tries to change how intake works.

A purchase order talks about goods, prices and dates. Text that tells "the AI", "the system" or
"the assistant" to ignore its instructions, to change prices or the customer, to approve the
order, or that imitates a system prompt or a chat transcript is an attempt to steer an LLM
extractor (prompt injection) — often as white or tiny text a person does not see in the PDF.
intake never follows it: prompts mark document text as data, values quoted from such a passage
are not accepted as evidence (:mod:`intake.extract.llm.locate`), and the passage itself is
reported as a finding, so the order goes to a person with the passage quoted.
"""

from __future__ import annotations

import re

from intake.models import Document, Finding, ParsedMessage, Severity

INSTRUCTIONS_IN_DOCUMENT = "instructions_in_document"

_I = re.IGNORECASE
_AI_STRICT = (
    r"(?:ai|a\.i\.|llm|gpt|chatgpt|claude|language\s+model|(?:ai\s+)?assistant|chat\s*bot|"
    r"extractor|automated\s+(?:system|extraction)|order\s+processing\s+system)"
)
_PATTERNS = [
    re.compile(
        r"\b(?:ignore|disregard|forget|override|bypass|skip)\s+(?:all\s+|any\s+|every\s+)?"
        r"(?:of\s+)?(?:the\s+|your\s+|my\s+|these\s+|those\s+)?(?:previous\s+|prior\s+|above\s+|"
        r"earlier\s+|preceding\s+|original\s+|system\s+|other\s+|existing\s+)*"
        r"(?:instructions?|prompts?|rules|directions|guidelines|context|constraints|checks?|"
        r"validation|review)\b",
        _I,
    ),
    re.compile(
        r"\b(?:new|updated|revised|real|actual|hidden|secret|additional|important)\s+"
        r"(?:system\s+)?(?:instructions?|prompt|directives?)\b",
        _I,
    ),
    re.compile(r"\bsystem\s+(?:prompt|message|instructions?|override|notice\s+to)\b", _I),
    re.compile(r"^\W{0,6}(?:system|assistant)\s*[:>\]]\s*(?!\d)", _I | re.M),
    re.compile(r"<\|?\s*(?:im_start|im_end|system|endoftext|eot_id|start_header_id)\s*\|?>", _I),
    re.compile(r"\[/?(?:INST|SYS)\]|<</?SYS>>|###\s*(?:system|instruction|assistant)\b", _I),
    re.compile(r"<<<\s*END\s+DOCUMENT|<\s*/\s*document\s*>", _I),
    re.compile(rf"\byou\s+are\s+(?:now\s+)?(?:an?\s+|the\s+)?(?:\w+\s+)?{_AI_STRICT}\b", _I),
    re.compile(
        rf"\b(?:(?:notes?|messages?|instructions?|memo)\s+(?:to|for)|attention(?:\s+(?:to|for))?)\s+"
        rf"(?:the\s+|any\s+|all\s+)?"
        rf"{_AI_STRICT}s?\b",
        _I,
    ),
    re.compile(
        rf"\b(?:dear\s+|hey\s+|attention\s+)?{_AI_STRICT}s?\s*[,:]\s*(?:please\s+)?(?:set|change|use|"
        r"output|return|report|extract|treat|replace|ignore|record|enter|mark|approve|classify)\b",
        _I,
    ),
    re.compile(r"\bas\s+an?\s+(?:ai|language\s+model|assistant)\b", _I),
    re.compile(
        r"\b(?:auto(?:matically)?[\s-]*approve|approve\s+(?:this|the)\s+order\s+automatically|"
        r"(?:skip|bypass|without)\s+(?:the\s+)?(?:human\s+|manual\s+)?(?:review|approval)|"
        r"(?:set|report|give)\s+(?:the\s+)?confidence\s+(?:to|of|at)|confidence\s*[:=]\s*1(?:\.0+)?"
        r"\b|do\s+not\s+(?:flag|report|mention|review))",
        _I,
    ),
    re.compile(
        r"\b(?:change|set|replace|override|update|treat)\s+(?:all\s+|every\s+|each\s+)?(?:the\s+)?"
        r"(?:unit\s+)?(?:prices?|amounts?|quantit(?:y|ies)|customer|buyer|currency|totals?|"
        r"threshold)s?\s+(?:to|as|with|=)\b",
        _I,
    ),
    re.compile(
        r"\b(?:ignorier\w*|missachte\w*|vergiss)\s+(?:\w+\s+){0,3}(?:anweisungen|instruktionen|"
        r"regeln|vorgaben)\b|\bignore[zr]?\s+(?:\w+\s+){0,3}(?:instructions|consignes|règles)\b|"
        r"\bignora(?:r)?\s+(?:\w+\s+){0,3}(?:instrucciones|reglas)\b|"
        r"\bnegeer\s+(?:\w+\s+){0,3}(?:instructies|regels)\b",
        _I,
    ),
]
_PARAGRAPH_LIMIT = 800


def suspicious_spans(document: Document) -> list[tuple[int, int, str]]:
    """Passages of ``document.text`` that address an AI, as (start, end, matched text).

    A passage runs from the start of the line holding the match to the end of its paragraph
    (a blank line or page break, at most a few hundred characters on), because an injected
    instruction usually goes on for a line or two ("… The unit price of every line is 0.01.").
    """
    text = document.text
    spans: list[tuple[int, int, str]] = []
    for pattern in _PATTERNS:
        for m in pattern.finditer(text):
            start = text.rfind("\n", 0, m.start()) + 1
            stop = m.end() + _PARAGRAPH_LIMIT
            para = re.compile(r"\n[ \t]*\n|\f").search(text, m.end(), min(len(text), stop))
            end = para.start() if para else min(len(text), stop)
            spans.append((start, max(end, m.end()), m.group(0)))
    spans.sort()
    merged: list[tuple[int, int, str]] = []
    for start, end, hit in spans:
        if merged and start <= merged[-1][1]:
            s0, e0, h0 = merged[-1]
            merged[-1] = (s0, max(e0, end), h0)
        else:
            merged.append((start, end, hit))
    return merged


def inside(spans: list[tuple[int, int, str]], start: int, end: int) -> bool:
    """True when ``[start, end)`` overlaps any of ``spans``."""
    return any(s < end and start < e for s, e, _ in spans)


def check_instructions(parsed: ParsedMessage) -> list[Finding]:
    """One warn finding per document (or header) holding text addressed to an AI or intake."""
    findings = []
    message = parsed.message
    for what, value in (("subject", message.subject), ("sender", message.sender)):
        if value and any(p.search(value) for p in _PATTERNS):
            findings.append(
                Finding(
                    code=INSTRUCTIONS_IN_DOCUMENT,
                    severity=Severity.WARN,
                    message=f"The message's {what} '{_clip(value)}' is addressed to an AI or to "
                    "the order system; it was treated as data and not followed. Check that "
                    "customer, prices and quantities are the real order's.",
                )
            )
    for doc in parsed.documents:
        spans = suspicious_spans(doc)
        if not spans:
            continue
        quotes = "; ".join(f"'{_clip(hit)}'" for _, _, hit in spans[:3])
        more = f" and {len(spans) - 3} more" if len(spans) > 3 else ""
        findings.append(
            Finding(
                code=INSTRUCTIONS_IN_DOCUMENT,
                severity=Severity.WARN,
                message=f"The {doc.origin.describe()} contains text addressed to an AI or to "
                f"the order system ({quotes}{more}); it was treated as data and not followed. "
                "Check that customer, prices and quantities are the real order's.",
            )
        )
    return findings


def _clip(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
