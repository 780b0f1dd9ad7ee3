"""Authentication-Results headers (RFC 8601): what the receiving server said about SPF, DKIM, DMARC.

A mail server that checks SPF, DKIM and DMARC writes its verdicts into an
``Authentication-Results`` header at the top of the message. Only that topmost header, or one
written by a server the admin names as trusted, can be believed: any header further down may
have been written by the sender. Parsing is pure (header text in, model out) so it is tested
from strings, and the mailbox code only hands in the headers of each fetched message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from email.parser import BytesHeaderParser
from email.policy import compat32

from intake.models import AuthenticationResults

_RESINFO = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*=\s*([A-Za-z0-9_.-]+)")
_METHODS = ("spf", "dkim", "dmarc")


def authentication_results_headers(raw: bytes) -> list[str]:
    """Every Authentication-Results header of a raw message, topmost first, unfolded."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    values = headers.get_all("Authentication-Results") or []
    return [" ".join(str(v).split()) for v in values]


def _strip_comments_and_split(value: str) -> list[str]:
    """Split on ';' outside quotes, dropping (nested) comments — RFC 8601's CFWS."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    for char in value:
        if escaped:
            escaped = False
            if depth == 0:
                current.append(char)
            continue
        if char == "\\":
            escaped = True
            if depth == 0:
                current.append(char)
            continue
        if quoted:
            current.append(char)
            if char == '"':
                quoted = False
            continue
        if char == "(":
            depth += 1
            continue
        if char == ")" and depth:
            depth -= 1
            continue
        if depth:
            continue
        if char == '"':
            quoted = True
            current.append(char)
        elif char == ";":
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return parts


def parse_header(value: str) -> tuple[str, dict[str, list[str]]] | None:
    """The authserv-id and the results per method (lower case) of one header, if it parses."""
    parts = _strip_comments_and_split(value)
    head = parts[0].split()
    if not head:
        return None
    authserv_id = head[0]
    if _RESINFO.match(parts[0]):  # Microsoft 365 leaves the authserv-id out
        authserv_id, parts = "", ["", *parts]
    results: dict[str, list[str]] = {}
    for part in parts[1:]:
        match = _RESINFO.match(part)
        if match:
            results.setdefault(match.group(1).lower(), []).append(match.group(2).lower())
    return authserv_id, results


def parse_authentication_results(
    headers: Sequence[str], trusted_authserv_ids: Sequence[str] = ()
) -> AuthenticationResults | None:
    """The verdicts to record for a message, or None when there is no header to believe.

    Args:
        headers: the message's Authentication-Results header values, topmost first.
        trusted_authserv_ids: servers whose headers are trusted. Empty: the topmost header is
            used (it was added last, by the server that delivered the message) and marked
            untrusted; otherwise the first header from one of these servers, or None.
    """
    trusted = {t.lower() for t in trusted_authserv_ids}
    for value in headers:
        parsed = parse_header(value)
        if parsed is None:
            continue
        authserv_id, results = parsed
        if trusted and authserv_id.lower() not in trusted:
            continue
        summary = {m: _summarise(m, results.get(m, [])) for m in _METHODS}
        return AuthenticationResults(
            authserv_id=authserv_id,
            trusted=bool(trusted),
            spf=summary["spf"],
            dkim=summary["dkim"],
            dmarc=summary["dmarc"],
            header=value[:2000],
        )
    return None


def _summarise(method: str, results: list[str]) -> str | None:
    """One verdict per method: for DKIM any passing signature counts, else the first result."""
    if not results:
        return None
    if method == "dkim" and "pass" in results:
        return "pass"
    return results[0]
