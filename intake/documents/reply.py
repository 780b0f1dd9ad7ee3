"""Keep the newest message of a reply chain: no quoted history, no signatures.

Replies carry the whole earlier conversation, often including an older order whose lines
would be extracted a second time. Quoted lines (``>``), their "On … wrote:" attribution, the
history below Outlook's "Original Message" marker and ``-- `` signatures are removed.
Forwarded messages are different: the forwarded text *is* the order, so in a forward nothing
quoted is dropped and a signature is cut only up to the next forwarded-message header.
"""

from __future__ import annotations

import re

_FORWARD_SUBJECT = re.compile(r"^\s*(?:\[[^\]]*\]\s*)?(fwd?|wg|tr|rv|fw)\s*:", re.I)
_FORWARD_MARKER = re.compile(
    r"^\s*(-{2,}\s*(forwarded message|weitergeleitete nachricht|message transféré)"
    r"|begin forwarded message:)",
    re.I,
)
_HISTORY_MARKER = re.compile(r"^\s*-{3,}\s*(original message|ursprüngliche nachricht)", re.I)
_OUTLOOK_RULE = re.compile(r"^\s*_{10,}\s*$")
_OUTLOOK_FROM = re.compile(r"^\s*\*?(from|von|de)\s*:\*?\s", re.I)
_OUTLOOK_SENT = re.compile(r"^\s*\*?(sent|date|gesendet|datum|envoyé)\s*:", re.I)
_ATTRIBUTION = re.compile(r"(wrote|schrieb|a écrit|escribió|ha scritto)\s*:\s*$", re.I)
_ATTRIBUTION_START = re.compile(r"^\s*(on|am|le|el|il)\s", re.I)
_SIGNATURE = re.compile(r"^--\s?$")


def is_forward(subject: str | None) -> bool:
    """True when the subject says the mail forwards another one (Fwd:, FW:, WG:, …)."""
    return bool(subject and _FORWARD_SUBJECT.match(subject))


def newest_message(text: str, *, forwarded: bool = False) -> str:
    """Return the text the sender wrote in this mail, without history and signatures.

    Args:
        text: the body text, already decoded.
        forwarded: the mail is a forward, so quoted text is the content and is kept.

    Returns:
        The trimmed text; the original text when trimming would leave nothing.
    """
    lines = text.split("\n")
    kept: list[str] = []
    in_signature = False
    for i, line in enumerate(lines):
        if _FORWARD_MARKER.match(line):
            in_signature = False
            forwarded = True
        elif in_signature:
            continue
        elif not forwarded and _starts_history(lines, i):
            break
        if _SIGNATURE.match(line):
            in_signature = True
            continue
        if not forwarded and line.lstrip().startswith(">"):
            continue
        if not forwarded and _is_attribution(lines, i):
            continue
        kept.append(line)
    result = "\n".join(kept).strip()
    return result if result else text.strip()


def _starts_history(lines: list[str], i: int) -> bool:
    """True at Outlook's reply history: 'Original Message', or a 'From:'/'Sent:' block."""
    line = lines[i]
    if _HISTORY_MARKER.match(line):
        return True
    if _OUTLOOK_FROM.match(line):
        return any(_OUTLOOK_SENT.match(x) for x in lines[i + 1 : i + 4])
    if _OUTLOOK_RULE.match(line):
        following = [x for x in lines[i + 1 : i + 3] if x.strip()]
        return bool(following) and bool(_OUTLOOK_FROM.match(following[0]))
    return False


def _is_attribution(lines: list[str], i: int) -> bool:
    """True for 'On <date>, <name> wrote:' lines (possibly wrapped) heading a quote."""
    line = lines[i]
    nxt = next((x for x in lines[i + 1 :] if x.strip()), "")
    if _ATTRIBUTION.search(line):
        return nxt.lstrip().startswith(">") or not nxt
    if _ATTRIBUTION_START.match(line) and i + 1 < len(lines):
        return bool(_ATTRIBUTION.search(lines[i + 1])) and _is_attribution(lines, i + 1)
    return False
