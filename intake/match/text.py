"""Normalisation of codes, names, emails and tax ids, so that index keys compare reliably.

Customers write ``furn-7800`` for ``FURN_7800``, ``Deco Addict Inc.`` for ``Deco Addict`` and
``be 0477.472.701`` for ``BE0477472701``. Every matcher compares the normalised forms built
here, on both sides, so a spelling difference never hides an exact hit.
"""

from __future__ import annotations

import re
import unicodedata
from email.utils import parseaddr

from rapidfuzz import fuzz, process

LEGAL_SUFFIXES = frozenset(
    {
        "inc",
        "incorporated",
        "ltd",
        "limited",
        "llc",
        "llp",
        "lp",
        "gmbh",
        "mbh",
        "ag",
        "kg",
        "ug",
        "sa",
        "sas",
        "sarl",
        "sl",
        "srl",
        "spa",
        "bv",
        "nv",
        "bvba",
        "oy",
        "ab",
        "as",
        "aps",
        "plc",
        "co",
        "corp",
        "corporation",
        "company",
        "pty",
        "pvt",
    }
)
"""Words that name a legal form rather than the company; dropped before names are compared."""

FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "hotmail.co.uk",
        "live.com",
        "msn.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "yahoo.de",
        "ymail.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "t-online.de",
        "mail.com",
        "proton.me",
        "protonmail.com",
        "zoho.com",
        "yandex.com",
        "yandex.ru",
        "mail.ru",
        "qq.com",
        "163.com",
        "126.com",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "wanadoo.fr",
        "libero.it",
        "btinternet.com",
        "comcast.net",
        "fastmail.com",
        "hey.com",
    }
)
"""Mail providers shared by unrelated people: their domain says nothing about the company."""

# fmt: off
NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
}
# fmt: on
"""Number words read as digits when names are compared."""

_FILLER = frozenset({"a", "an", "and", "the", "of", "for", "with", "w", "x", "de", "en"})
_NON_ALNUM = re.compile(r"[^0-9A-Z]")
_WORDS = re.compile(r"[^\w]+")
_TOKEN_SPLIT = re.compile(r"[\s,;:()\[\]{}<>|/\\\"'#*]+")


def fold(text: str) -> str:
    """Return ``text`` without accents, case-folded, so 'Müller' and 'MULLER' compare equal."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def normalize_code(code: str) -> str:
    """Key for a product code: upper case, letters and digits only (``furn-7800`` → FURN7800)."""
    return _NON_ALNUM.sub("", fold(code).upper())


def normalize_barcode(code: str) -> str:
    """Key for a barcode: digits only, as scanners and people add spaces and dashes."""
    return "".join(c for c in code if c.isdigit())


def normalize_vat(vat: str) -> str:
    """Key for a tax id: spaces, dots and dashes removed, upper case (``be 0477.472.701``)."""
    return _NON_ALNUM.sub("", vat.upper())


def vat_without_country(vat: str) -> str:
    """A normalised VAT without its two-letter country prefix, for documents that omit it."""
    return vat[2:] if len(vat) > 2 and vat[:2].isalpha() else vat


def normalize_text(text: str) -> str:
    """Key for a product name: folded words separated by single spaces, punctuation dropped.

    Number words become digits ("Four Person Desk" → "4 person desk"), as customers write
    either.
    """
    words = (w for w in _WORDS.split(fold(text).replace("_", " ")) if w)
    return " ".join(NUMBER_WORDS.get(w, w) for w in words)


def normalize_company(name: str) -> str:
    """Key for a company name: like :func:`normalize_text`, without legal suffixes (Inc, GmbH).

    A name made only of suffix words (``AB``) is kept as it is rather than becoming empty.
    """
    words = normalize_text(name).split()
    kept = [w for w in words if w not in LEGAL_SUFFIXES]
    return " ".join(kept or words)


def parse_email(value: str | None) -> str | None:
    """Return the bare, lower-case address of ``value`` ("Name <a@b.c>" → ``a@b.c``), or None."""
    if not value:
        return None
    value = value.strip()
    # parseaddr is slow; catalog emails are almost always bare addresses already.
    plain = not any(c in value for c in '<>,;" ()')
    address = (value if plain else parseaddr(value)[1]).strip().lower()
    return address if "@" in address else None


def email_domain(address: str) -> str:
    """Return the domain part of a bare address."""
    return address.rsplit("@", 1)[1]


def similarity(query: str, name: str) -> float:
    """How well a normalised ``query`` describes the normalised catalog ``name``, in [0, 1].

    The mean of token-set and token-sort ratios — token-set forgives words the customer added
    ("large cabinet white"), token-sort keeps "cabinet" from being a perfect match for every
    cabinet — times ``0.6 + 0.4 × coverage``, where coverage is the share of the name's words
    (short filler words aside) that the query contains, abbreviated ("combo" for
    "combination") or slightly misspelt. Coverage keeps "desk leg" from looking like
    "large desk" merely because the letters of "leg" occur in "large".
    """
    characters = (fuzz.token_set_ratio(query, name) + fuzz.token_sort_ratio(query, name)) / 200
    return characters * (0.6 + 0.4 * _coverage(query.split(), name.split()))


def _coverage(query_words: list[str], name_words: list[str]) -> float:
    wanted = [w for w in name_words if w not in _FILLER] or name_words
    if not wanted:
        return 0.0
    found = sum(1 for w in wanted if any(_same_word(q, w) for q in query_words))
    return found / len(wanted)


def _same_word(a: str, b: str) -> bool:
    if a == b:
        return True
    if min(len(a), len(b)) >= 3 and (a.startswith(b) or b.startswith(a)):
        return True
    return min(len(a), len(b)) >= 4 and fuzz.ratio(a, b) >= 80


def best_matches(
    query: str, choices: list[str], limit: int, cutoff: float
) -> list[tuple[int, float]]:
    """Positions of the ``choices`` most similar to ``query``, best first, with :func:`similarity`.

    rapidfuzz's C scorers pick a shortlist (the best ``5 × limit``, at least 20, by each of
    token-set and token-sort ratio); only the shortlist is scored with the mean in Python, so a
    catalog of tens of thousands of names costs milliseconds per query. Results under
    ``cutoff`` (0-1) are dropped.
    """
    if not query or not choices:
        return []
    shortlist_size = max(20, 5 * limit)
    shortlist: set[int] = set()
    for scorer in (fuzz.token_set_ratio, fuzz.token_sort_ratio):
        hits = process.extract(
            query, choices, scorer=scorer, limit=shortlist_size, score_cutoff=cutoff * 100
        )
        shortlist.update(position for _, _, position in hits)
    scored = [(position, similarity(query, choices[position])) for position in shortlist]
    scored = [(position, sim) for position, sim in scored if sim >= cutoff]
    scored.sort(key=lambda item: (-item[1], item[0]))
    return scored[:limit]


def tokens(text: str) -> list[str]:
    """Split free text into candidate code tokens (keeps ``_``, ``-`` and ``.`` inside codes)."""
    return [t.strip(".-_") for t in _TOKEN_SPLIT.split(text) if t.strip(".-_")]
