"""Order lines without an LLM: tables, column layouts, arithmetic rows and written lines.

Four readers, from the most to the least structured, because order lines come in every shape:

1. ``Document.tables`` (ruled PDF tables, HTML ``<table>``): a header row names the columns.
2. A header line in the text ("Item code  Description  Qty  Unit price  Amount") followed by
   rows aligned under it (PDF layout text, fixed-width email tables, tab/pipe separated rows).
3. Rows whose numbers multiply out (``qty × price = amount``), which finds the lines of printed
   POs whose header could not be read (OCR, decorated fonts).
4. Lines as people type them: "4 x E-COM11 Cabinet with Doors", "10 pcs FURN_7777 @ 12.50",
   "E-COM11 Cabinet - 4 pcs", "6 bunches of coriander".

Every value keeps the exact span it was read from; a cell that cannot be found in the text is
left out rather than reported without evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from intake.extract._text import (
    NUMBER_TOKEN,
    TextLine,
    Token,
    fold,
    number_value,
    parse_number,
    split_lines,
    text_value,
    tokens,
    uses_decimal_comma,
)
from intake.models import Document, ExtractedLine, ExtractedNumber, ExtractedText, Table

# --------------------------------------------------------------------------- header words

_HEADER_WORDS: tuple[tuple[str, str], ...] = (
    # Longer phrases first: the alternation takes the first alternative that matches.
    ("amount", r"extended\s+(?:cost|price|amount)|ext\.?\s*(?:price|cost|amount)"),
    ("amount", r"line\s+total|total\s+price|net\s+amount|total\s+amount|amount\s+\w{3}"),
    ("price", r"unit\s*(?:price|cost|rate)|price\s*/\s*unit|price\s+each|price\s+per\s+unit"),
    ("price", r"prix\s+unitaire|einzelpreis|b\.price"),
    ("qty", r"order(?:ed)?\s+qty|order\s+quantity|quantity|qty|menge|anzahl|qté|quantité"),
    ("qty", r"cantidad"),
    ("desc", r"part\s*/\s*description|(?:item|product|article)\s+(?:description|details)"),
    ("code", r"item\s*(?:code|no\.?|number|#)|product\s+(?:code|no\.?)|part\s*(?:no\.?|number|#)"),
    ("code", r"article\s*(?:no\.?|number|code)|art\.?\s*-?\s*nr\.?|art\.?\s*no\.?"),
    ("code", r"artikel(?:nummer|-?nr\.?)|material\s*(?:no\.?|number)|ean\s+no\.?|sku|barcode"),
    ("code", r"ean|upc|code|ref(?:erence)?\.?|item|artikel"),
    ("desc", r"description|desc\.?|designation|bezeichnung|beschreibung|product\s+name"),
    ("desc", r"product|article|details"),
    ("uom", r"uom|u/m|unit|einheit"),
    ("price", r"price|rate|cost|preis|prix"),
    ("amount", r"amount|total|betrag|gesamtpreis|gesamt|montant|value"),
)


def _one_space(rx: str) -> str:
    return rx.replace(r"\s+", "[ ]").replace(r"\s*", "[ ]?")


_HEADER_RE = re.compile(
    # Words of one heading are one space apart; two or more spaces separate columns.
    "|".join(
        f"(?P<{name}{i}>(?<![\\w]){_one_space(rx)}(?![\\w]))"
        for i, (name, rx) in enumerate(_HEADER_WORDS)
    ),
    re.IGNORECASE,
)
_PROSE = re.compile(
    r"\b(?:the|and|please|of|to|for|our|your|we|is|are|must|will|this|that|with|you)\b", re.I
)
_TOTAL_ROW = re.compile(
    r"^\s*(?:sub-?\s*total|totals?|grand\s+total|summe|gesamt\w*|tax|vat|sales\s+tax|shipping|"
    r"freight|carry\s+over|amount\s+in\s+words)\b",
    re.IGNORECASE,
)

UNIT_WORDS = (
    "pcs|pc|pce|pieces?|units?|ea|each|nos?|stk|stück|st|sets?|pairs?|boxes|box|bx|cartons?|ctns?|"
    "cases?|packs?|pkts?|packets?|pallets?|rolls?|bags?|sacks?|trays?|crates?|bunch(?:es)?|"
    "bottles?|cans?|jars?|tins?|dozens?|doz|sheets?|reams?|kg|kgs|g|lbs?|tons?|m|meters?|metres?|"
    "yds|yards?|ft|feet|l|liters?|litres?|ml|hours?|hrs?|days?"
)
_UNIT_RE = re.compile(rf"(?:{UNIT_WORDS})\.?", re.IGNORECASE)
_CODE_RE = re.compile(
    r"(?=[A-Za-z0-9_./-]*\d)(?=[A-Za-z0-9_./-]*[A-Za-z_-])[A-Za-z0-9][A-Za-z0-9_./-]{2,30}"
)
"""A product code as people write it: has a digit and a letter, '-' or '_' (E-COM11, FURN_7777)."""


def _code_like(text: str, *, numeric_ok: bool = False) -> bool:
    t = text.strip(",;:()[]|")
    if _CODE_RE.fullmatch(t) and not t.endswith((".", "-", "/")):
        return not re.fullmatch(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}", t)  # not a date
    return numeric_ok and bool(re.fullmatch(r"\d{5,14}", t))


def _is_line_number(text: str) -> bool:
    return bool(re.fullmatch(r"\d{1,4}[.)]?", text))


# --------------------------------------------------------------------------- columns


@dataclass(frozen=True)
class Column:
    """A column named in a header line: its field (None if unknown) and its columns."""

    field: str | None
    col: int
    col_end: int


@dataclass(frozen=True)
class Header:
    """A header line's columns.

    Rows are matched to it in the first way that applies: split by the header's delimiter
    ('|' or tab); cell by cell when the row has as many 2+-space separated cells as the
    header (``cells``); else by character position (``columns``), which suits layout text.
    """

    columns: tuple[Column, ...]
    cells: tuple[str | None, ...] | None = None
    delimiter: str | None = None

    def fields(self) -> set[str]:
        """Names of the fields this header has columns for."""
        return {c.field for c in self.columns if c.field}


def segments(text: str) -> list[tuple[int, int]]:
    """Spans of the cells of a line: runs of text separated by two or more spaces or a tab."""
    return [(m.start(), m.end()) for m in re.finditer(r"\S+(?:[ ](?! )\S+)*", text)]


def _field_of(m: re.Match[str]) -> str:
    name = next(k for k, v in m.groupdict().items() if v is not None)
    return name.rstrip("0123456789")


def _header_fields_ok(fields: set[str]) -> bool:
    if "qty" in fields:
        return len(fields & {"code", "desc", "price", "amount"}) >= 1 and len(fields) >= 3
    return {"price", "amount"} <= fields and bool(fields & {"code", "desc"})


def detect_header(text: str) -> Header | None:
    """Read ``text`` as a table header line, or return None when it is not one."""
    stripped = text.strip()
    if not stripped or len(_PROSE.findall(stripped)) > 1:
        return None
    delimiter = "|" if stripped.count("|") >= 2 else ("\t" if "\t" in stripped else None)
    if delimiter:
        columns = []
        pos = 0
        for cell in text.split(delimiter):
            m = _HEADER_RE.search(cell)
            named = m is not None and len(m.group(0)) >= 0.5 * len(cell.strip())
            columns.append(Column(_field_of(m) if m and named else None, pos, pos + len(cell)))
            pos += len(cell) + 1
        header = Header(tuple(columns), delimiter=delimiter)
        return header if _header_fields_ok(header.fields()) else None
    matches = list(_HEADER_RE.finditer(text))
    if not matches:
        return None
    covered = sum(len(m.group(0)) for m in matches)
    if covered < 0.3 * len(re.sub(r"\s", "", text)):
        return None
    cols: list[Column] = []
    spans = [(m.start(), m.end()) for m in matches]
    for m in re.finditer(r"\S+", text):
        if any(s <= m.start() < e for s, e in spans):
            continue
        cols.append(Column(None, m.start(), m.end()))
    cols += [Column(_field_of(m), m.start(), m.end()) for m in matches]
    cols.sort(key=lambda c: c.col)
    merged: list[Column] = []
    for c in cols:
        # "Price USD", "Cost (USD)": an unknown word one space after a column belongs to it.
        if c.field is None and merged and c.col - merged[-1].col_end <= 1:
            prev = merged.pop()
            merged.append(Column(prev.field, prev.col, c.col_end))
        else:
            merged.append(c)
    cells: list[str | None] = []
    for s0, e0 in segments(text):
        inside = [_field_of(m) for m in matches if s0 <= m.start() < e0]
        if len(inside) > 1:
            cells = []
            break
        cells.append(inside[0] if inside else None)
    header = Header(tuple(merged), tuple(cells) if cells else None)
    return header if _header_fields_ok(header.fields()) else None


def _plausible(cells: dict[str, list[Token]]) -> bool:
    """Whether cells matched one by one hold the kind of text their columns promise."""

    def numeric(name: str) -> bool | None:
        toks = cells.get(name)
        if not toks:
            return None
        return parse_number(" ".join(t.text for t in toks).replace(" ", "")) is not None

    return (
        numeric("qty") is not False
        and numeric("price") is not False
        and numeric("amount") is not False
        and numeric("uom") is not True
        and numeric("desc") is not True
    )


def _assign(header: Header, line: TextLine) -> tuple[dict[str, list[Token]], bool]:
    """Put each token of a row under its header column; say whether the mapping is sure.

    Delimited and cell-by-cell mappings are sure; the positional one is a guess.
    """
    cells: dict[str, list[Token]] = {}
    if header.delimiter:
        pos = 0
        for i, part in enumerate(line.text.split(header.delimiter)):
            name = header.columns[i].field if i < len(header.columns) else None
            if name:
                for m in re.finditer(r"\S+", part):
                    start = line.start + pos + m.start()
                    cells.setdefault(name, []).append(
                        Token(m.group(0), start, start + len(m.group(0)), pos + m.start())
                    )
            pos += len(part) + 1
        return cells, True
    toks = tokens(line)
    segs = segments(line.text)
    if header.cells is not None and len(segs) == len(header.cells):
        for (s0, e0), name in zip(segs, header.cells, strict=True):
            if name:
                cells[name] = [t for t in toks if s0 <= t.col < e0]
        if _plausible(cells):
            return cells, True
        cells = {}
    for tok in toks:
        best: Column | None = None
        best_key: tuple[int, float] | None = None
        for c in header.columns:
            gap = max(c.col - tok.col_end, tok.col - c.col_end, 0)
            overlap = min(c.col_end, tok.col_end) - max(c.col, tok.col)
            centre = abs((c.col + c.col_end) / 2 - (tok.col + tok.col_end) / 2)
            key = (gap, -overlap + centre / 100)
            if best_key is None or key < best_key:
                best, best_key = c, key
        if best is not None and best.field and best_key is not None and best_key[0] <= 6:
            cells.setdefault(best.field, []).append(tok)
    return cells, False


# --------------------------------------------------------------------------- line assembly


@dataclass
class _Row:
    """An order line being assembled, before it becomes an ExtractedLine."""

    doc: Document
    code: ExtractedText = field(default_factory=ExtractedText)
    description: ExtractedText = field(default_factory=ExtractedText)
    quantity: ExtractedNumber = field(default_factory=ExtractedNumber)
    uom: ExtractedText = field(default_factory=ExtractedText)
    unit_price: ExtractedNumber = field(default_factory=ExtractedNumber)
    line_total: ExtractedNumber = field(default_factory=ExtractedNumber)

    def counted(self) -> bool:
        """A plausible quantity was read (the item may still be missing)."""
        q = self.quantity.value
        return q is not None and Decimal(0) < q < Decimal(10_000_000)

    def ok(self) -> bool:
        """A quantity and something that names the item: a complete order line."""
        has_item = self.code.value is not None or self.description.value is not None
        return self.counted() and has_item

    def done(self) -> ExtractedLine:
        return ExtractedLine(
            product_code=self.code,
            description=self.description,
            quantity=self.quantity,
            uom=self.uom,
            unit_price=self.unit_price,
            line_total=self.line_total,
        )


def _text_of(doc: Document, toks: list[Token], conf: float) -> ExtractedText:
    toks = [t for t in toks if t.text.strip("|[]")]
    if len(toks) > 1 and _is_line_number(toks[0].text):
        toks = toks[1:]  # "001  BLOCK, FILL PORT": the position number is not the description
    if not toks or (len(toks) == 1 and _is_line_number(toks[0].text)):
        return ExtractedText()
    start, end = toks[0].start, toks[-1].end
    return text_value(fold(doc.text[start:end]), doc, start, end, conf)


def _num_of(doc: Document, tok: Token, conf: float, comma: bool) -> ExtractedNumber:
    m = NUMBER_TOKEN.search(tok.text)
    value = parse_number(tok.text, decimal_comma=comma)
    if value is None or m is None:
        return ExtractedNumber()
    return number_value(value, doc, tok.start + m.start(), tok.start + m.end(), conf)


def _numbers(toks: list[Token], comma: bool) -> list[tuple[int, Token, Decimal]]:
    out = []
    for i, t in enumerate(toks):
        if re.search(r"\d[/:]\d", t.text) or "%" in t.text:
            continue  # dates, times and percentages are not quantities or prices
        value = parse_number(t.text, decimal_comma=comma)
        if value is not None:
            out.append((i, t, value))
    return out


def _close(q: Decimal, p: Decimal, a: Decimal) -> bool:
    """Whether q × p = a, allowing for a price rounded to the cent and 0.2% at most."""
    slack = min(Decimal("0.011") + abs(q) * Decimal("0.005"), Decimal("0.011") + abs(a) / 500)
    return abs(q * p - a) <= slack


def _arithmetic(
    nums: list[tuple[int, Token, Decimal]],
) -> tuple[tuple[int, Token, Decimal], ...] | None:
    """Find quantity, unit price and amount among a row's numbers: qty × price = amount.

    The amount is looked for from the right (it is the last column in nearly every layout),
    the quantity from the left.
    """
    for k in range(len(nums) - 1, 1, -1):
        for i in range(k - 1):
            q, a = nums[i][2], nums[k][2]
            if q <= 0 or a <= 0 or (q != q.to_integral_value() and q > 1000):
                continue
            for j in range(i + 1, k):
                p = nums[j][2]
                # qty 1 makes price = amount; skip it when other numbers stand in between.
                if _close(q, p, a) and not (q == 1 and p == a and j + 1 < k):
                    return (nums[i], nums[j], nums[k])
    return None


def _fill_item(row: _Row, before: list[Token], conf: float, *, numeric_code: bool) -> None:
    """Read code and description from the tokens left of the quantity."""
    toks = [t for t in before if re.search(r"[A-Za-z0-9]", t.text)]
    if toks and _is_line_number(toks[0].text) and len(toks) > 1:
        toks = toks[1:]
    if toks and row.code.value is None and _code_like(toks[0].text, numeric_ok=numeric_code):
        tok = toks[0]
        value = tok.text.strip(",;:()[]|")
        offset = tok.text.find(value)
        row.code = text_value(
            value, row.doc, tok.start + offset, tok.start + offset + len(value), conf
        )
        toks = toks[1:]
    if toks and row.description.value is None:
        row.description = _text_of(row.doc, toks, conf - 0.1)


def _code_token(row: _Row, tok: Token, conf: float) -> None:
    value = tok.text.strip(",;:()[]|")
    if value:
        offset = tok.text.find(value)
        row.code = text_value(
            value, row.doc, tok.start + offset, tok.start + offset + len(value), conf
        )


def _row_from_header(
    header: Header, line: TextLine, extra: list[Token], comma: bool
) -> _Row | None:
    """Read a row under a header; ``extra`` are the tokens of a numbers-only next line."""
    cells, sure = _assign(header, line)
    row = _Row(line.doc)
    all_toks = tokens(line)
    triple = _arithmetic(_numbers(all_toks + extra, comma))
    qty_cell = next(
        (t for t in cells.get("qty", []) if parse_number(t.text, decimal_comma=comma) is not None),
        None,
    )
    if (
        triple is not None
        and sure
        and qty_cell is not None
        and qty_cell.start != triple[0][1].start
    ):
        triple = None  # the Qty column holds another number than the arithmetic suggests
    if triple is not None:
        (_, qt, _), (_, pt, _), (_, at, _) = triple
        row.quantity = _num_of(line.doc, qt, 0.92, comma)
        row.unit_price = _num_of(line.doc, pt, 0.9, comma)
        row.line_total = _num_of(line.doc, at, 0.9, comma)
    elif qty_cell is not None:
        row.quantity = _num_of(line.doc, qty_cell, 0.85 if sure else 0.75, comma)
        for name, attr in (("price", "unit_price"), ("amount", "line_total")):
            cell = next(
                (
                    t
                    for t in cells.get(name, [])
                    if parse_number(t.text, decimal_comma=comma) is not None
                    and not re.search(r"\d[/:]\d", t.text)
                ),
                None,
            )
            if cell is not None:
                setattr(row, attr, _num_of(line.doc, cell, 0.8 if sure else 0.7, comma))
    else:
        return None
    qty_ev = row.quantity.evidence
    if qty_ev is None:
        return None
    used = {
        e.evidence.start
        for e in (row.quantity, row.unit_price, row.line_total)
        if e.evidence is not None
    }
    code_toks = [t for t in cells.get("code", []) if t.start not in used]
    desc_toks = [t for t in cells.get("desc", []) if t.start not in used]
    if not sure:
        # A guessed mapping must not put text right of the quantity into code or description.
        code_toks = [t for t in code_toks if t.end <= qty_ev.start]
        desc_toks = [t for t in desc_toks if t.end <= qty_ev.start]
    if code_toks and not (len(code_toks) == 1 and _is_line_number(code_toks[0].text)):
        _code_token(row, code_toks[0], 0.85 if sure else 0.7)
    if row.code.value is None and desc_toks and _code_like(desc_toks[0].text):
        _fill_item(row, desc_toks, 0.75, numeric_code=False)
    elif desc_toks:
        row.description = _text_of(line.doc, desc_toks, 0.8 if sure else 0.65)
    if row.code.value is None and row.description.value is None:
        _fill_item(row, [t for t in all_toks if t.end <= qty_ev.start], 0.6, numeric_code=True)
    uom_tok = next(
        (t for t in cells.get("uom", []) if _UNIT_RE.fullmatch(t.text) or t.text.isupper()),
        None,
    )
    if uom_tok is not None and re.fullmatch(r"[A-Za-z][A-Za-z.]{0,11}", uom_tok.text):
        row.uom = text_value(uom_tok.text, line.doc, uom_tok.start, uom_tok.end, 0.75)
    else:
        after = _uom_after(all_toks, qty_ev.end)
        if after is not None:
            row.uom = text_value(after.text, line.doc, after.start, after.end, 0.7)
    return row if row.counted() else None


def _uom_after(toks: list[Token], qty_end: int) -> Token | None:
    after = [t for t in toks if t.start >= qty_end]
    if after and _UNIT_RE.fullmatch(after[0].text.strip("|")):
        tok = after[0]
        clean = tok.text.strip("|")
        off = tok.text.find(clean)
        return Token(clean, tok.start + off, tok.start + off + len(clean), tok.col + off)
    return None


def _row_from_arithmetic(line: TextLine, extra: list[Token], comma: bool) -> _Row | None:
    """A row whose numbers multiply out (qty × price = amount), with no header to go by."""
    if _TOTAL_ROW.match(line.text):
        return None
    all_toks = tokens(line)
    triple = _arithmetic(_numbers(all_toks + extra, comma))
    if triple is None or triple[0][1].start >= line.end:
        return None
    (_, qt, _), (_, pt, _), (_, at, _) = triple
    row = _Row(line.doc)
    row.quantity = _num_of(line.doc, qt, 0.8, comma)
    row.unit_price = _num_of(line.doc, pt, 0.8, comma)
    row.line_total = _num_of(line.doc, at, 0.8, comma)
    _fill_item(row, [t for t in all_toks if t.end <= qt.start], 0.6, numeric_code=True)
    uom_tok = _uom_after(all_toks, qt.end)
    if uom_tok is not None:
        row.uom = text_value(uom_tok.text, line.doc, uom_tok.start, uom_tok.end, 0.6)
    return row if row.ok() else None


# --------------------------------------------------------------------------- written lines

_NUM = r"\d{1,6}(?:[.,]\d{1,3})?"
_PRICE_TAIL = (
    r"(?:\s*(?:@|at|à|je|a)\s*(?:[A-Z]{3}\s*|[$€£]\s*)?(?P<price>\d[\d,.']*\d|\d)"
    r"\s*(?:[A-Z]{3}|[$€£])?\s*(?:each|ea\.?|/\s*\w+|per\s+\w+)?)?\s*[.,;]?\s*$"
)
_WRITTEN_QTY_FIRST = re.compile(
    rf"^\s*(?:[-*•·]\s*)?(?P<qty>{_NUM})\s*(?:(?P<uom>{UNIT_WORDS})\.?(?![A-Za-z])\s*)?"
    rf"(?P<x>[x×*](?![A-Za-z])\s*)?"
    rf"(?:of\s+)?(?P<rest>[^\s@].*?){_PRICE_TAIL}",
    re.IGNORECASE,
)
_WRITTEN_CODE_FIRST = re.compile(
    rf"^\s*(?:[-*•·]\s*)?(?P<code>\S+)\s+(?P<desc>.*?)\s*(?:[-–:,]\s*|\s)(?:x\s*|qty:?\s*)?"
    rf"(?P<qty>{_NUM})\s*(?P<uom>{UNIT_WORDS})?\.?\s*$",
    re.IGNORECASE,
)
_WRITTEN_OF = re.compile(
    rf"(?<![\w.,])(?P<qty>{_NUM})\s+(?P<uom>{UNIT_WORDS})\s+of\s+(?:the\s+)?"
    r"(?P<desc>[A-Za-z][\w'&/-]*(?:[ \t]+(?!(?:and|please|for|with|from|to|by|on)\b)"
    r"[A-Za-z][\w'&/-]*){0,5})",
    re.IGNORECASE,
)


def _span_text(line: TextLine, m: re.Match[str], group: str, conf: float) -> ExtractedText:
    if m.group(group) is None:
        return ExtractedText()
    raw = m.group(group)
    stripped = raw.strip(" \t,;:-–")
    if not stripped:
        return ExtractedText()
    start = line.start + m.start(group) + raw.find(stripped)
    return text_value(fold(stripped), line.doc, start, start + len(stripped), conf)


def _span_num(
    line: TextLine, m: re.Match[str], group: str, conf: float, comma: bool
) -> ExtractedNumber:
    raw = m.group(group)
    if raw is None:
        return ExtractedNumber()
    value = parse_number(raw, decimal_comma=comma)
    if value is None:
        return ExtractedNumber()
    start = line.start + m.start(group)
    return number_value(value, line.doc, start, start + len(raw), conf)


def _rows_written(line: TextLine, comma: bool) -> list[_Row]:
    """Order lines as people type them in a mail; a line may hold several ("6 x and 3 y")."""
    text = line.text
    if not text.strip() or _TOTAL_ROW.match(text) or text.rstrip().endswith(":"):
        return []
    of_rows = []
    for mo in _WRITTEN_OF.finditer(text):
        row = _Row(line.doc)
        row.quantity = _span_num(line, mo, "qty", 0.65, comma)
        row.uom = _span_text(line, mo, "uom", 0.65)
        row.description = _span_text(line, mo, "desc", 0.55)
        if row.ok():
            of_rows.append(row)
    m = _WRITTEN_QTY_FIRST.match(text)
    if m and (m.group("x") or m.group("uom")) and not (of_rows and not m.group("x")):
        row = _Row(line.doc)
        row.quantity = _span_num(line, m, "qty", 0.75, comma)
        row.uom = _span_text(line, m, "uom", 0.7)
        row.unit_price = _span_num(line, m, "price", 0.7, comma)
        rest_start = line.start + m.start("rest")
        rest = m.group("rest").rstrip(" ,;.")
        item = TextLine(line.doc, line.index, rest_start, rest_start + len(rest))
        _fill_item(row, tokens(item), 0.75, numeric_code=False)
        if row.ok():
            return [row]
    if of_rows:
        return of_rows
    m3 = _WRITTEN_CODE_FIRST.match(text)
    if m3 and _code_like(m3.group("code")):
        row = _Row(line.doc)
        row.code = _span_text(line, m3, "code", 0.75)
        row.description = _span_text(line, m3, "desc", 0.6)
        row.quantity = _span_num(line, m3, "qty", 0.7, comma)
        row.uom = _span_text(line, m3, "uom", 0.65)
        if row.ok():
            return [row]
    return []


# --------------------------------------------------------------------------- tables


def _locate(doc: Document, cell: str, lo: int, hi: int) -> tuple[int, int] | None:
    """Find a table cell's text in the document between ``lo`` and ``hi``."""
    first = cell.strip().splitlines()[0].strip() if cell.strip() else ""
    if not first:
        return None
    pattern = r"\s+".join(re.escape(w) for w in first.split())
    m = re.compile(pattern).search(doc.text, lo, hi)
    return (m.start(), m.end()) if m else None


def _table_header(row: tuple[str | None, ...]) -> list[str | None] | None:
    fields: list[str | None] = []
    for cell in row:
        text = fold(cell or "")
        m = _HEADER_RE.search(text)
        ok = m is not None and len(m.group(0)) >= 0.5 * len(text)
        fields.append(_field_of(m) if m and ok else None)
    return fields if _header_fields_ok({f for f in fields if f}) else None


def _rows_from_table(
    doc: Document, table: Table, cursor: int, comma: bool
) -> tuple[list[_Row], int]:
    page = next((p for p in doc.pages if p.number == table.page), None)
    lo = max(cursor, page.start if page else 0)
    hi = page.end if page and page.end > lo else len(doc.text)
    header_at = None
    fields: list[str | None] = []
    for i, r in enumerate(table.rows[:4]):
        found = _table_header(r)
        if found:
            header_at, fields = i, found
            break
    if header_at is None:
        return [], cursor
    rows: list[_Row] = []
    for raw in table.rows[header_at + 1 :]:
        cells = {f: (c or "") for f, c in zip(fields, raw, strict=False) if f and c}
        first_cell = fold(next((c for c in raw if c), "") or "")
        if not cells or _TOTAL_ROW.match(first_cell):
            continue
        if parse_number(cells.get("qty", ""), decimal_comma=comma) is None:
            continue
        row = _Row(doc)
        pos = lo
        for name in ("code", "desc", "qty", "uom", "price", "amount"):
            if name not in cells:
                continue
            span = _locate(doc, cells[name], pos, hi)
            if span is None:
                continue
            start, end = span
            if name == "code" and not _is_line_number(doc.text[start:end]):
                row.code = text_value(fold(doc.text[start:end]), doc, start, end, 0.9)
            elif name == "desc":
                row.description = text_value(fold(doc.text[start:end]), doc, start, end, 0.85)
            elif name == "uom":
                row.uom = text_value(fold(doc.text[start:end]), doc, start, end, 0.8)
            elif name in ("qty", "price", "amount"):
                value = parse_number(doc.text[start:end], decimal_comma=comma)
                if value is None:
                    continue
                conf = {"qty": 0.9, "price": 0.85, "amount": 0.85}[name]
                num = number_value(value, doc, start, end, conf)
                if name == "qty":
                    row.quantity = num
                elif name == "price":
                    row.unit_price = num
                else:
                    row.line_total = num
            pos = end
        if row.ok():
            rows.append(row)
            lo = max(lo, min(e.evidence.start for e in _evidences(row) if e.evidence))
    return rows, lo


def _evidences(row: _Row) -> list[ExtractedText | ExtractedNumber]:
    items: list[ExtractedText | ExtractedNumber] = [
        row.code,
        row.description,
        row.quantity,
        row.uom,
        row.unit_price,
        row.line_total,
    ]
    return [e for e in items if e.evidence is not None]


# --------------------------------------------------------------------------- per document


def _numbers_only(line: TextLine, comma: bool) -> list[Token]:
    """Tokens of a line holding nothing but one or two numbers (a row's wrapped amount)."""
    toks = tokens(line)
    if 1 <= len(toks) <= 2 and all(parse_number(t.text, decimal_comma=comma) for t in toks):
        return toks
    return []


_ITEM_CODE_LINE = re.compile(
    r"^\s*(?:item\s*(?:code|no\.?|number|#)|part\s*(?:no\.?|number|#)|article\s*(?:no\.?|number)|"
    r"sku|art\.?\s*-?\s*nr\.?|material\s*(?:no\.?|number))\s*[:#]\s*(?P<code>\S+)\s*$",
    re.IGNORECASE,
)


def _follow_up(row: _Row, line: TextLine) -> bool:
    """Let a line under a row complete it; True when the line was used.

    Printed POs often put the item code under the description ("Item Code: 102246") or the
    part number on the line below the quantities.
    """
    m = _ITEM_CODE_LINE.match(line.text)
    if m and (row.code.value is None or row.code.confidence < 0.8):
        start = line.start + m.start("code")
        row.code = text_value(m.group("code"), line.doc, start, start + len(m.group("code")), 0.8)
        return True
    if row.code.value is None and row.description.value is None:
        toks = [t for t in tokens(line) if re.search(r"[A-Za-z0-9]", t.text)]
        if toks:
            _fill_item(row, toks, 0.6, numeric_code=True)
            return True
    return False


def _rows_from_text(lines: list[TextLine], comma: bool) -> list[_Row]:
    """Order lines from a document's text: under headers, by arithmetic, or as typed."""
    rows: list[_Row] = []
    header: Header | None = None
    misses = 0
    skip_to = -1
    last: _Row | None = None
    for k, line in enumerate(lines):
        if k <= skip_to:
            continue
        if line.quoted:
            header = None
            continue
        found = detect_header(line.text)
        if found is not None:
            header, misses, last = found, 0, None
            continue
        if line.blank:
            continue
        nxt = lines[k + 1] if k + 1 < len(lines) and not lines[k + 1].quoted else None
        extra = _numbers_only(nxt, comma) if nxt is not None else []
        row: _Row | None = None
        if header is not None:
            if _TOTAL_ROW.match(line.text):
                header, last = None, None
            else:
                row = _row_from_header(header, line, extra, comma)
                misses = 0 if row else misses + 1
                if misses >= 6:
                    header = None
        if row is None and header is None:
            row = _row_from_arithmetic(line, extra, comma)
        if row is not None:
            rows.append(row)
            last = row
            if extra and any(
                e.evidence is not None and e.evidence.start >= line.end for e in _evidences(row)
            ):
                skip_to = k + 1
        elif last is not None and _follow_up(last, line):
            continue
        elif header is None:
            rows.extend(_rows_written(line, comma))
    return [r for r in rows if r.ok()]


def _score(rows: list[_Row]) -> tuple[int, int]:
    with_price = sum(1 for r in rows if r.unit_price.value is not None)
    return len(rows), with_price


def lines_of_document(doc: Document, *, cut_history: bool = True) -> list[ExtractedLine]:
    """All order lines of one document, read by the best-suited of the four readers."""
    comma = uses_decimal_comma(doc.text)
    from_tables: list[_Row] = []
    cursor = 0
    for table in doc.tables:
        found, cursor = _rows_from_table(doc, table, cursor, comma)
        from_tables.extend(found)
    lines = split_lines(doc, cut_history=cut_history)
    from_text = _rows_from_text(lines, comma)
    best = from_tables if _score(from_tables) >= _score(from_text) and from_tables else from_text
    return [r.done() for r in best]


def quoted_lines_of_document(doc: Document) -> list[ExtractedLine]:
    """Order lines found only in quoted reply history, with their confidence lowered.

    Used when nothing was found in the new part of a reply ("yes, please ship the below").
    """
    lines = [
        TextLine(ln.doc, ln.index, ln.start, ln.end, False) for ln in split_lines(doc) if ln.quoted
    ]
    rows = _rows_from_text(lines, uses_decimal_comma(doc.text))
    out = []
    for r in rows:
        for name in ("code", "description", "quantity", "uom", "unit_price", "line_total"):
            value = getattr(r, name)
            if value.evidence is not None:
                setattr(r, name, value.model_copy(update={"confidence": value.confidence * 0.6}))
        out.append(r.done())
    return out
