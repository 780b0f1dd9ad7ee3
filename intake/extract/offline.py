"""The offline extractor: a purchase order read by rules, with no network and no LLM.

It runs when no LLM endpoint is configured, and it is the baseline the LLM extractor is measured
against. It is deliberately conservative: a value is reported only when the text states it —
behind a label ("PO Number:", "needed by"), in a table column, or in an order line — and never
filled from a default (no default currency, no default date). Every value carries the exact
span of the document it was read from (``Evidence.text == doc.text[start:end]``), and its
confidence says how it was found: an explicit label and a clean parse score high, a heuristic
(letterhead, signature) lower, and text read by OCR is scaled by the OCR confidence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from email.utils import parseaddr
from typing import TypeVar

from intake.extract._lines import lines_of_document, quoted_lines_of_document, segments
from intake.extract._text import (
    DATE_TOKEN,
    NUMBER_TOKEN,
    TextLine,
    date_value,
    fold,
    number_value,
    numeric_date_order,
    parse_date,
    parse_number,
    split_lines,
    text_value,
    uses_decimal_comma,
)
from intake.models import (
    Document,
    ExtractedDate,
    ExtractedLine,
    ExtractedNumber,
    ExtractedOrder,
    ExtractedText,
    ParsedMessage,
)

EXTRACTOR = "offline/1"
"""Name and version recorded on every order this extractor produces."""

E = TypeVar("E", ExtractedText, ExtractedNumber, ExtractedDate)


def _labels(*pairs: tuple[str, float]) -> tuple[tuple[re.Pattern[str], float], ...]:
    return tuple(
        (re.compile(rf"(?<![\w]){rx}(?![A-Za-z])", re.IGNORECASE), conf) for rx, conf in pairs
    )


_SEP = re.compile(r"[ \t]*(?:[:#=]+|\.(?=\s)|-(?=\s)|–)?[ \t]*")

PO_LABELS = _labels(
    (r"purchase\s+order\s*(?:no\.?|number|num\.?|nr\.?|#|id)", 0.95),
    (r"(?:p\.\s?o\.|po)\s*(?:no\.?|number|num\.?|nr\.?|#)", 0.95),
    (r"(?:customer|client|buyer)'?s?\s+(?:po|order)\s*(?:no\.?|number|#|ref(?:erence)?)", 0.9),
    (r"bestell(?:nummer|-?\s*nr\.?|ung\s+nr\.?)", 0.9),
    (r"(?:n[°º]|num[ée]ro)\s+de\s+commande|bon\s+de\s+commande(?:\s+n[°º])?", 0.85),
    (r"purchase\s+order", 0.85),
    (r"p\.\s?o\.|po", 0.85),
    (r"order\s*(?:no\.?|number|nr\.?|#|id|n[°º])", 0.75),
    (r"auftrags?(?:nummer|-?\s*nr\.?)", 0.7),
    (r"(?:your|customer|client)\s+(?:order\s+)?ref(?:erence)?\.?(?:\s*(?:no\.?|number|#))?", 0.5),
    (r"document\s*(?:no\.?|number)", 0.45),
)
PO_VALUE = re.compile(r"(?=[A-Za-z0-9\-_/.]*\d)[A-Za-z0-9](?:[A-Za-z0-9\-_/.]{0,38}[A-Za-z0-9])?")
PO_TOKEN = re.compile(r"(?<![\w-])PO(?:[-_#]|(?=\d))(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9_-]*[A-Z0-9]")

ORDER_DATE_LABELS = _labels(
    (
        r"(?:purchase\s+)?order\s+(?:create\s+|creation\s+|placed\s+)?date|date\s+of\s+order|"
        r"(?:p\.\s?o\.|po)\s*-?\s*date|order\s+dated",
        0.92,
    ),
    (r"bestelldatum|auftragsdatum|date\s+de\s+(?:la\s+)?commande", 0.9),
    (r"dated(?:\s+as)?|date\s+ordered", 0.85),
    (r"issued?\s+date|date\s+issued|document\s+date", 0.75),
    (r"date", 0.65),
)
DELIVERY_DATE_LABELS = _labels(
    (
        r"(?:requested|required|desired|planned)\s+delivery(?:\s+date)?|"
        r"delivery\s+(?:date|dt\.?|by|required|requested|before)|"
        r"deliver(?:ed)?\s+(?:by|on|before)|date\s+required|required\s+(?:by|date|on)|"
        r"need(?:ed)?\s+(?:by|on|before)|ship(?:ment)?\s+(?:date|by)|"
        r"liefertermin|lieferdatum|wunschtermin|date\s+de\s+livraison",
        0.9,
    ),
    (r"expected\s+(?:delivery|arrival)(?:\s+date)?|earliest\s+handover\s+date", 0.7),
)
TOTAL_LABELS = _labels(
    (r"grand\s+total|order\s+total|total\s+amount|total\s+value|total\s+order\s+value", 0.9),
    (r"amount\s+due|gesamtbetrag|gesamtsumme|total\s+due", 0.85),
    (r"total(?!\s+(?:qty|quantity|tax|before|units|items|weight|pieces))", 0.8),
)
SUBTOTAL_LABELS = _labels(
    (
        r"sub-?\s*total|net\s+total|total\s+(?:net|before\s+tax|excl(?:\.|uding)?\s+"
        r"(?:tax|vat))|net\s+amount|zwischensumme|nettobetrag|summe\s+netto",
        0.85,
    ),
)
TAX_LABELS = _labels(
    (
        r"(?:sales\s+)?tax(?!\s*(?:id|no\b|nr|number|exempt|code|rate))|"
        r"vat(?!\s*(?:id|no\b|nr|number|reg))|mwst|ust\b|gst(?!in)",
        0.8,
    ),
)
_NOT_A_TAX_LINE = re.compile(
    r"\b(?:sub-?\s*total|grand\s+total|incl(?:\.|uding)?|excl(?:\.|uding)?|before\s+tax)\b|"
    r"\btotal\b(?!\s+(?:tax|vat))",
    re.IGNORECASE,
)
VAT_LABELS = _labels(
    (
        r"(?:vat|tva|iva|btw|mwst|ust|gst)(?:[\s.-]*(?:id|no|nr|number|reg(?:istration)?))*\.?|"
        r"tax\s*id|tax\s+(?:no|number)|ust-?id(?:nr)?\.?|gstin|ein",
        0.6,
    ),
)
_VAT_VALUE = re.compile(r"[A-Z]{2}[A-Z0-9]{2,13}\d|\d[\d-]{6,14}\d")
SHIP_TO_LABELS = _labels(
    (
        r"ship(?:ping)?[\s-]*to|deliver(?:y)?\s+to|delivery\s+address|shipping\s+address|"
        r"ship-to\s+address|consignee|lieferadresse|lieferanschrift|adresse\s+de\s+livraison|"
        r"delivery\s+addr\.?(?:/[\w. ]+)?",
        0.75,
    ),
)
BUYER_LABELS = _labels(
    (
        r"bill(?:ing)?[\s-]*to|invoice\s+to|sold[\s-]*to|buyer(?!\s*(?:id|no|req|#))|"
        r"customer(?:\s+name)?(?!\s*(?:no|nr|number|id|#|ref|code|group|po))|purchaser|"
        r"ordered\s+by|rechnungsadresse|auftraggeber|besteller",
        0.75,
    ),
)
_VENDOR_BLOCK = re.compile(
    r"\b(?:vendor|supplier|seller|sold\s+by|lieferant|fournisseur|messrs)\b", re.IGNORECASE
)

_CURRENCY_LABEL = re.compile(
    r"(?<![\w])(?:currency(?:\s+code)?|währung|devise|moneda)\s*[:=]?\s*", re.IGNORECASE
)
ISO_CURRENCIES = (
    # Codes that are not also common upper-case words (TRY, PHP, ALL, SAR are left out).
    *("USD", "EUR", "GBP", "CHF", "CAD", "AUD", "NZD", "JPY", "CNY", "INR", "SEK", "NOK"),
    *("DKK", "PLN", "CZK", "HUF", "RON", "BGN", "MXN", "BRL", "ZAR", "SGD", "HKD", "AED"),
)
_ISO_RE = re.compile(r"(?<![A-Za-z])(" + "|".join(ISO_CURRENCIES) + r")(?![A-Za-z])")
_SYMBOLS = {
    "US$": ("USD", 0.85),
    "CA$": ("CAD", 0.8),
    "C$": ("CAD", 0.75),
    "AU$": ("AUD", 0.8),
    "A$": ("AUD", 0.75),
    "NZ$": ("NZD", 0.8),
    "HK$": ("HKD", 0.8),
    "S$": ("SGD", 0.75),
    "R$": ("BRL", 0.8),
    "$": ("USD", 0.6),
    "€": ("EUR", 0.8),
    "£": ("GBP", 0.8),
    "₹": ("INR", 0.8),
    "¥": ("JPY", 0.5),
}
_SYMBOL_RE = re.compile(r"(?<![A-Za-z])(?:US\$|CA\$|AU\$|NZ\$|HK\$|C\$|A\$|S\$|R\$)|\$|€|£|₹|¥")
_CURRENCY_WORDS = {"rupees": "INR", "rupee": "INR", "euros": "EUR", "euro": "EUR"}
_CURRENCY_WORD_RE = re.compile(r"(?<![\w])(rupees?|euros?)(?![\w])", re.IGNORECASE)

_CLOSING = re.compile(
    r"^\s*(?:--|(?:best|kind|warm|many)?\s*regards|thanks?(?:\s+you)?(?:\s+\w+)?|cheers|"
    r"sincerely|yours(?:\s+\w+)?|best(?:\s+wishes)?|mit\s+freundlichen\s+grüßen|"
    r"viele\s+grüße|cordialement|br)\s*[,.!]?\s*$",
    re.IGNORECASE,
)
_JOB_TITLE = re.compile(
    r"\b(?:manager|director|consultant|analyst|clerk|owner|ceo|cfo|coo|cto|buyer|purchas\w*|"
    r"procurement|assistant|head|officer|engineer|representative|rep|executive|lead|supervisor|"
    r"specialist|coordinator|partner|president|founder|accountant|administrator|agent|chef|"
    r"associate|intern|team|department|dept)\b",
    re.IGNORECASE,
)
_NOT_A_NAME = re.compile(
    r"\b(?:purchase|orders?|invoices?|page|original|copy|date|quotation|delivery|po|p\.o\.|tel|"
    r"phone|fax|e-?mail|www|http|vat|tax|must|please|confidential|no\.|number|total|receipt|"
    r"ship(?:ping)?\s+to|bill(?:ing)?\s+to|sold\s+to|deliver\s+to|vendor|supplier)\b|[@:]",
    re.IGNORECASE,
)
_COMPANY_SUFFIX = re.compile(
    r"\b(?:inc|llc|ltd|limited|gmbh|corp|corporation|co|company|s\.?a|ag|bv|sarl|plc|group)\b\.?",
    re.IGNORECASE,
)
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass(frozen=True)
class _Found:
    """A candidate value with where it was found; the best one per field is kept."""

    value: object
    confidence: float
    doc: Document
    start: int
    end: int
    rank: float = 0.0

    @property
    def key(self) -> tuple[float, float, int]:
        return (self.confidence + self.rank, -self.doc_order, -self.start)

    @property
    def doc_order(self) -> int:
        return 0 if self.doc.origin.kind != "body" else 1


def _best(
    cands: list[_Found], build: Callable[[_Found], E], empty: E, *, agreement: float = 0.03
) -> E:
    """The strongest candidate; each other place stating the same value adds ``agreement``."""
    if not cands:
        return empty
    agree: dict[str, int] = {}
    for c in cands:
        agree[str(c.value)] = agree.get(str(c.value), 0) + 1
    top = max(cands, key=lambda c: (c.key[0] + agreement * (agree[str(c.value)] - 1), c.key[1:]))
    bonus = min(2 * agreement, agreement * (agree[str(top.value)] - 1))
    top = _Found(top.value, min(0.98, top.confidence + bonus), top.doc, top.start, top.end)
    return build(top)


def _as_text(found: _Found) -> ExtractedText:
    return text_value(str(found.value), found.doc, found.start, found.end, found.confidence)


# --------------------------------------------------------------------------- label finding


@dataclass(frozen=True)
class LabelHit:
    """A labelled value: the label's line and match, the value's line and match."""

    label_line: TextLine
    label: re.Match[str]
    line: TextLine
    value: re.Match[str]
    confidence: float

    @property
    def start(self) -> int:
        """Offset of the value in its document's text."""
        return self.line.start + self.value.start()

    @property
    def end(self) -> int:
        """Offset just after the value in its document's text."""
        return self.line.start + self.value.end()


def labelled(
    lines: list[TextLine],
    labels: tuple[tuple[re.Pattern[str], float], ...],
    value_re: re.Pattern[str],
    *,
    below: bool = True,
) -> list[LabelHit]:
    """Values following a label on its line, or standing under it on the next line.

    A value is looked for under the label when nothing follows the label on its line, or when
    the label is one of several column headings ("Document Number Document Date Page").
    """
    out = []
    for i, line in enumerate(lines):
        if line.quoted:
            continue
        text = line.text
        taken: list[tuple[int, int]] = []
        for pattern, conf in labels:
            for lm in pattern.finditer(text):
                if any(s <= lm.start() < e for s, e in taken):
                    continue
                taken.append((lm.start(), lm.end()))
                sep = _SEP.match(text, lm.end())
                pos = sep.end() if sep else lm.end()
                vm = value_re.match(text, pos)
                if vm:
                    out.append(LabelHit(line, lm, line, vm, conf))
                    continue
                sep_text = text[lm.end() : pos]
                column_gap = bool(re.search(r"\s{2,}$", sep_text))
                heading_row = ":" not in sep_text and sep_text[:1].isspace()
                if not below or (text[pos:].strip() and not (column_gap or heading_row)):
                    continue
                seen = 0
                for nxt in lines[i + 1 : i + 6]:
                    if nxt.quoted or seen >= 2:
                        break
                    if nxt.blank:
                        continue
                    seen += 1
                    below_hit = next(
                        (
                            vm2
                            for vm2 in value_re.finditer(nxt.text)
                            if lm.start() - 4 <= vm2.start() <= lm.end() + 4
                        ),
                        None,
                    )
                    if below_hit is not None:
                        out.append(LabelHit(line, lm, nxt, below_hit, conf * 0.95))
                        break
    return out


def _segment_start(text: str, pos: int) -> bool:
    """True when ``pos`` starts a line or a column (after two or more spaces)."""
    before = text[:pos]
    return not before.strip() or before.endswith(("  ", "\t", "|"))


# --------------------------------------------------------------------------- fields


def _po_number(docs: list[tuple[Document, list[TextLine]]]) -> ExtractedText:
    cands: list[_Found] = []
    for doc, lines in docs:
        for hit in labelled(lines, PO_LABELS, PO_VALUE):
            value = hit.value.group(0)
            if DATE_TOKEN.fullmatch(value) or re.fullmatch(r"\d{1,2}", value):
                continue
            after = hit.label_line.text[hit.label.end() : hit.label.end() + 1]
            if hit.label.group(0).lower().rstrip(".") in ("po", "p.o") and not re.match(
                r"[\s:#]", after
            ):
                continue  # "PO-DA-20433" is a number, not the label "PO" and "DA-20433"
            cands.append(_Found(value, hit.confidence, doc, hit.start, hit.end))
        for line in lines:
            if line.quoted:
                continue
            for m in PO_TOKEN.finditer(line.text):
                start = line.start + m.start()
                cands.append(_Found(m.group(0), 0.8, doc, start, start + len(m.group(0))))
    return _best(cands, _as_text, ExtractedText())


def _dates(
    docs: list[tuple[Document, list[TextLine]]],
    labels: tuple[tuple[re.Pattern[str], float], ...],
    currency: str | None,
) -> ExtractedDate:
    cands: list[_Found] = []
    for doc, lines in docs:
        order = numeric_date_order(doc.text, default_day_first=currency not in (None, "USD"))
        for hit in labelled(lines, labels, DATE_TOKEN):
            if hit.confidence < 0.7 and not _segment_start(hit.label_line.text, hit.label.start()):
                continue  # a bare "Date" must start a line or a column
            parsed = parse_date(hit.value, order)
            if parsed is None:
                continue
            value, sure = parsed
            conf = hit.confidence if sure else hit.confidence * 0.75
            cands.append(_Found(value, conf, doc, hit.start, hit.end))

    def build(found: _Found) -> ExtractedDate:
        assert isinstance(found.value, date)
        return date_value(found.value, found.doc, found.start, found.end, found.confidence)

    return _best(cands, build, ExtractedDate())


def _currency(docs: list[tuple[Document, list[TextLine]]]) -> ExtractedText:
    cands: list[_Found] = []
    iso_counts: dict[str, int] = {}
    for doc, lines in docs:
        for line in lines:
            if line.quoted:
                continue
            for lm in _CURRENCY_LABEL.finditer(line.text):
                rest = line.text[lm.end() :]
                iso = _ISO_RE.match(rest)
                sym = _SYMBOL_RE.match(rest)
                if iso:
                    start = line.start + lm.end()
                    cands.append(_Found(iso.group(1), 0.95, doc, start, start + 3))
                elif sym and sym.group(0) in _SYMBOLS:
                    code, conf = _SYMBOLS[sym.group(0)]
                    start = line.start + lm.end()
                    cands.append(
                        _Found(code, min(0.9, conf + 0.2), doc, start, start + len(sym.group(0)))
                    )
            for m in _ISO_RE.finditer(line.text):
                iso_counts[m.group(1)] = iso_counts.get(m.group(1), 0) + 1
                start = line.start + m.start()
                cands.append(_Found(m.group(1), 0.7, doc, start, start + 3))
            for m in _SYMBOL_RE.finditer(line.text):
                code, conf = _SYMBOLS[m.group(0)]
                start = line.start + m.start()
                cands.append(_Found(code, conf, doc, start, start + len(m.group(0))))
            for m in _CURRENCY_WORD_RE.finditer(line.text):
                code = _CURRENCY_WORDS[m.group(1).lower()]
                start = line.start + m.start()
                cands.append(_Found(code, 0.6, doc, start, start + len(m.group(0))))
    if iso_counts:
        # The most used ISO code wins among the unlabelled mentions.
        top = max(iso_counts, key=lambda k: iso_counts[k])
        cands = [
            _Found(
                c.value,
                c.confidence + (0.1 if c.value == top and c.confidence < 0.9 else 0),
                c.doc,
                c.start,
                c.end,
            )
            for c in cands
        ]
    # Several mentions of one code make it surer; _best adds the agreement bonus.
    return _best(cands, _as_text, ExtractedText())


def _money_like(text: str, m: re.Match[str]) -> bool:
    """A total is money: two decimals, or a currency next to it; not a count or a percent."""
    after = text[m.end() : m.end() + 2]
    if after.startswith(("%", " %")):
        return False
    before = text[max(0, m.start() - 5) : m.start()]
    return bool(
        re.search(r"[.,]\d{2}$", m.group(0))
        or _SYMBOL_RE.search(before)
        or _ISO_RE.search(before + " " + text[m.end() : m.end() + 4])
    )


_SUBTOTAL_LINE = re.compile(r"sub-?\s*total", re.IGNORECASE)


def _total(docs: list[tuple[Document, list[TextLine]]]) -> ExtractedNumber:
    # Later totals (the grand total at the foot) beat earlier ones.
    return _labelled_amount(docs, TOTAL_LABELS, skip=_SUBTOTAL_LINE)


def _labelled_amount(
    docs: list[tuple[Document, list[TextLine]]],
    labels: tuple[tuple[re.Pattern[str], float], ...],
    skip: re.Pattern[str] | None = None,
) -> ExtractedNumber:
    """An amount printed after one of ``labels`` (subtotal, tax): the last on its line."""
    cands: list[_Found] = []
    for doc, lines in docs:
        comma = uses_decimal_comma(doc.text)
        for line in lines:
            if line.quoted or (skip is not None and skip.search(line.text)):
                continue
            for pattern, conf in labels:
                lm = pattern.search(line.text)
                if lm is None:
                    continue
                nums = [
                    (m, parse_number(m.group(0), decimal_comma=comma))
                    for m in NUMBER_TOKEN.finditer(line.text, lm.end())
                    if _money_like(line.text, m)
                ]
                nums = [(m, v) for m, v in nums if v is not None]
                if not nums:
                    continue
                m, value = nums[-1]
                assert value is not None
                start = line.start + m.start()
                rank = 0.001 * (line.start / max(1, len(doc.text)))
                cands.append(_Found(value, conf, doc, start, start + len(m.group(0)), rank))
                break

    def build(found: _Found) -> ExtractedNumber:
        assert isinstance(found.value, Decimal)
        return number_value(found.value, found.doc, found.start, found.end, found.confidence)

    return _best(cands, build, ExtractedNumber())


def _in_vendor_block(lines: list[TextLine], index: int, col: int) -> bool:
    for back in range(index, max(-1, index - 7), -1):
        text = lines[back].text
        for m in _VENDOR_BLOCK.finditer(text):
            if abs(m.start() - col) <= 12 or back == index:
                return True
    return False


def _vat(docs: list[tuple[Document, list[TextLine]]]) -> ExtractedText:
    cands: list[_Found] = []
    for doc, lines in docs:
        for hit in labelled(lines, VAT_LABELS, _VAT_VALUE, below=False):
            if _in_vendor_block(lines, hit.line.index, hit.label.start()):
                continue
            early = hit.line.index < 10 and doc.origin.kind != "body"
            conf = hit.confidence + (0.1 if early else 0.0)
            cands.append(_Found(hit.value.group(0), conf, doc, hit.start, hit.end))
    return _best(cands, _as_text, ExtractedText())


def _stacked_labels_above(lines: list[TextLine], i: int) -> int:
    """How many lone labels ("Vendor:") stand directly above line ``i``'s lone label.

    OCR often stacks the headings of side-by-side blocks ("Vendor:" then "Ship To:") while
    the blocks' lines stay side by side; the count says which cell of those lines is ours.
    """
    if len(segments(lines[i].text)) != 1:
        return 0
    count = 0
    for line in reversed(lines[:i]):
        segs = segments(line.text)
        if len(segs) != 1 or not line.text.rstrip().endswith(":"):
            break
        count += 1
    return count


def _block_below(
    lines: list[TextLine], i: int, col: int, max_lines: int = 5
) -> list[tuple[int, int]]:
    """The text block under a label at column ``col``: spans of its lines, in order.

    The label's cell (text separated by two or more spaces) is found in each following line:
    the same cell number when the line has as many cells as the label's line, else the cell
    nearest the label's column. The block ends at a blank line, the next label or
    ``max_lines``; one blank line straight under the label is skipped (OCR puts one there).
    """
    label_segs = segments(lines[i].text)
    index = next((k for k, (s, e) in enumerate(label_segs) if s <= col < e), 0)
    stacked = _stacked_labels_above(lines, i)
    spans: list[tuple[int, int]] = []
    skipped_blank = False
    for line in lines[i + 1 : i + 2 + max_lines]:
        if line.quoted:
            break
        segs = segments(line.text)
        if not segs:
            if not spans and not skipped_blank:
                skipped_blank = True
                continue
            break
        if stacked:
            if len(segs) <= stacked:
                break
            seg = segs[stacked]
        elif len(label_segs) > 1 and len(segs) == len(label_segs):
            seg = segs[index]
        else:
            seg = min(segs, key=lambda se: abs(se[0] - col))
            if abs(seg[0] - col) > 12 and len(label_segs) > 1:
                break
        chunk = line.text[seg[0] : seg[1]]
        if chunk.endswith(":") or _VENDOR_BLOCK.match(chunk):
            break
        spans.append((line.start + seg[0], line.start + seg[1]))
        if len(spans) >= max_lines:
            break
    return spans


def _ship_to(docs: list[tuple[Document, list[TextLine]]]) -> ExtractedText:
    cands: list[_Found] = []
    any_text = re.compile(r"\S(?:.*\S)?")
    for doc, lines in docs:
        for i, line in enumerate(lines):
            if line.quoted:
                continue
            found = False
            for pattern, conf in SHIP_TO_LABELS:
                for lm in pattern.finditer(line.text):
                    sep = _SEP.match(line.text, lm.end())
                    pos = sep.end() if sep else lm.end()
                    same = any_text.match(line.text[pos:].split("   ")[0])
                    spans = []
                    if same and len(same.group(0)) > 2:
                        s = line.start + pos + same.start()
                        spans.append((s, s + len(same.group(0))))
                    spans += _block_below(lines, i, lm.start())
                    if spans:
                        cands.append(_ship_found(doc, spans, conf))
                        found = True
            if not found and re.search(r"\b(?:deliver|ship)\w*\b.*:\s*$", line.text, re.IGNORECASE):
                spans = _block_below(lines, i, len(line.text) - len(line.text.lstrip()))
                if len(spans) >= 2:
                    cands.append(_ship_found(doc, spans, 0.6))
    return _best(cands, _as_text, ExtractedText())


def _ship_found(doc: Document, spans: list[tuple[int, int]], conf: float) -> _Found:
    """The address block as one value, one line per address line.

    Evidence is one span, so the block is cut where another column's text runs between its
    lines (side-by-side Vendor / Ship To blocks): the value must be what the span shows.
    """
    kept = spans[:1]
    for start, end in spans[1:]:
        if doc.text[kept[-1][1] : start].strip():
            conf *= 0.85  # the rest of the address is interleaved with another block
            break
        kept.append((start, end))
    value = "\n".join(fold(doc.text[s:e]) for s, e in kept)
    return _Found(value, conf, doc, kept[0][0], kept[-1][1])


def _letters(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _name_like(text: str) -> bool:
    t = fold(text)
    if not 2 <= len(t) <= 60 or len(t.split()) > 6:
        return False
    letters = sum(ch.isalpha() for ch in t)
    digits = sum(ch.isdigit() for ch in t)
    return letters >= 2 and digits <= 0.2 * len(t) and not _NOT_A_NAME.search(t)


def _customer(
    docs: list[tuple[Document, list[TextLine]]], sender_name: str, sender_addr: str
) -> ExtractedText:
    cands: list[_Found] = []
    person = _letters(sender_name)

    # E-mail addresses that belong to the customer: the sender's, and those printed at the
    # head of a document (a letterhead's "info@company.example").
    mailboxes = [sender_addr] if sender_addr else []
    for _doc, lines in docs:
        head = "\n".join(ln.text for ln in lines[:8] if not ln.quoted)
        mailboxes += [m.group(0) for m in _EMAIL_RE.finditer(head)]
    hay = [
        _letters(part)
        for addr in mailboxes
        for part in (addr.partition("@")[0], addr.rpartition("@")[2].split(".")[-2:][0])
    ]

    def domain_bonus(name: str) -> float:
        key = _letters(name)
        if len(key) < 3:
            return 0.0
        return 0.15 if any(key in h or (len(h) >= 4 and h in key) for h in hay) else 0.0

    def add(doc: Document, start: int, end: int, conf: float) -> None:
        raw = doc.text[start:end]
        value = fold(raw)
        if not _name_like(value) or (person and _letters(value) == person):
            return
        cands.append(_Found(value, min(0.95, conf + domain_bonus(value)), doc, start, end))

    for doc, lines in docs:
        # 1. A labelled buyer block ("Bill To", "Buyer", "Customer").
        for i, line in enumerate(lines):
            if line.quoted:
                continue
            for pattern, conf in BUYER_LABELS:
                for lm in pattern.finditer(line.text):
                    sep = _SEP.match(line.text, lm.end())
                    pos = sep.end() if sep else lm.end()
                    same = re.match(r"\S(?:.*?\S)?(?=\s{3,}|\s*$)", line.text[pos:])
                    if same and (sep and ":" in sep.group(0)):
                        s = line.start + pos
                        add(doc, s, s + len(same.group(0)), conf)
                        continue
                    block = _block_below(lines, i, lm.start(), max_lines=1)
                    if block:
                        add(doc, block[0][0], block[0][1], conf)
        # 2. The letterhead: the first lines of a printed document.
        if doc.origin.kind != "body":
            seen = 0
            for line in lines:
                if line.blank:
                    continue
                seen += 1
                if seen > 3:
                    break
                whole = re.match(r"\s*(\S(?:.*\S)?)", line.text)
                chunk = re.match(r"\s*(\S(?:.*?\S)?)(?=\s{3,}|\s*$)", line.text)
                m = whole if whole and _name_like(whole.group(1)) else chunk
                if m and _name_like(m.group(1)):
                    s = line.start + m.start(1)
                    add(doc, s, s + len(m.group(1)), 0.55)
                    break
        # 3. The signature of an email body.
        else:
            _signature_company(lines, sender_name, add)
    # A letterhead and a signature that name the same company are independent sources.
    return _best(cands, _as_text, ExtractedText(), agreement=0.1)


def _signature_company(
    lines: list[TextLine], sender_name: str, add: Callable[[Document, int, int, float], None]
) -> None:
    active = [ln for ln in lines if not ln.quoted]
    first_name = sender_name.split()[0].lower() if sender_name.split() else ""
    start_at = None
    for k, line in enumerate(active):
        if _CLOSING.match(line.text):
            start_at = k + 1
    if start_at is None:
        # No closing phrase: a last block that starts with the sender's name is a signature.
        for k in range(len(active) - 1, -1, -1):
            if active[k].blank:
                continue
            first = active[k].text.strip().lower()
            if first_name and (first == first_name or first == sender_name.lower()):
                start_at = k
        if start_at is None:
            return
    sig: list[TextLine] = []
    for line in active[start_at : start_at + 7]:
        if line.blank:
            if sig:
                break
            continue
        sig.append(line)
    if sig and not _COMPANY_SUFFIX.search(sig[0].text):
        sig = sig[1:]  # the first line under the closing is the writer's name
    for line in sig:
        text = line.text
        if _EMAIL_RE.search(text) or re.search(r"\d{3}", text) or "www" in text.lower():
            continue
        if fold(text).lower() in (sender_name.lower(), first_name):
            continue
        parts = [p for p in re.split(r"\s*[,|–]\s+|\s+[|–-]\s+", text) if p.strip()]
        for part in reversed(parts):
            if _JOB_TITLE.search(part) or part.strip().lower() in (sender_name.lower(), first_name):
                continue
            at = text.find(part)
            add(line.doc, line.start + at, line.start + at + len(part), 0.6)
            return


def _email(docs: list[tuple[Document, list[TextLine]]], sender_addr: str) -> ExtractedText:
    if not sender_addr:
        return ExtractedText()
    cands: list[_Found] = []
    domain = sender_addr.rpartition("@")[2].lower()
    for doc, lines in docs:
        for line in lines:
            if line.quoted:
                continue
            for m in _EMAIL_RE.finditer(line.text):
                addr = m.group(0).rstrip(".")
                start = line.start + m.start()
                if addr.lower() == sender_addr.lower():
                    cands.append(_Found(addr, 0.9, doc, start, start + len(addr)))
                elif addr.rpartition("@")[2].lower() == domain:
                    cands.append(_Found(addr, 0.6, doc, start, start + len(addr)))
    return _best(cands, _as_text, ExtractedText())


# --------------------------------------------------------------------------- lines


def _order_lines(parsed: ParsedMessage, cut_history: bool) -> tuple[ExtractedLine, ...]:
    """Lines from the one document that holds the order (the one with most lines).

    A cover email and its PDF often both mention the items; adding them up would double the
    order, so the document with the most lines wins (an attachment on a tie).
    """
    best: list[ExtractedLine] = []
    best_key: tuple[int, int] = (0, 0)
    for doc in parsed.documents:
        found = lines_of_document(doc, cut_history=cut_history)
        key = (len(found), 1 if doc.origin.kind != "body" else 0)
        if found and key > best_key:
            best, best_key = found, key
    if not best:
        for doc in parsed.documents:
            if doc.origin.kind == "body":
                best = quoted_lines_of_document(doc)
                if best:
                    break
    return tuple(best)


# --------------------------------------------------------------------------- entry point


def _is_forward(subject: str | None) -> bool:
    return bool(subject and re.match(r"^\s*(?:fwd?|wg|tr|enc)\s*:", subject, re.IGNORECASE))


def extract_offline(parsed: ParsedMessage) -> ExtractedOrder:
    """Read a purchase order from a parsed message by rules alone (no network, no LLM).

    Args:
        parsed: the message and the text of every readable part of it.

    Returns:
        The order as the documents state it. Fields the text does not state are left empty
        (value None, confidence 0); every filled field carries evidence whose ``text`` is
        exactly ``document.text[start:end]``.
    """
    cut_history = not _is_forward(parsed.message.subject)
    docs = [(doc, split_lines(doc, cut_history=cut_history)) for doc in parsed.documents]
    sender_name, sender_addr = parseaddr(parsed.message.sender or "")
    currency = _currency(docs)
    return ExtractedOrder(
        customer_name=_customer(docs, sender_name, sender_addr),
        customer_email=_email(docs, sender_addr),
        customer_vat=_vat(docs),
        po_number=_po_number(docs),
        order_date=_dates(docs, ORDER_DATE_LABELS, currency.value),
        requested_delivery_date=_dates(docs, DELIVERY_DATE_LABELS, currency.value),
        currency=currency,
        ship_to=_ship_to(docs),
        subtotal=_labelled_amount(docs, SUBTOTAL_LABELS),
        tax_amount=_labelled_amount(docs, TAX_LABELS, skip=_NOT_A_TAX_LINE),
        total_amount=_total(docs),
        lines=_order_lines(parsed, cut_history),
        extractor=EXTRACTOR,
    )
