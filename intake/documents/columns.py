"""Order-table column names in English, German, French, Spanish and Dutch.

Customers' spreadsheets and tables name their columns in their own words: "Art.-Nr.",
"Désignation", "Cantidad", "Aantal". This module maps such a header cell to one of the order
line fields, and finds the header row of a table (orders often start with a title, the
customer's address and a date before the column headers). It is shared by the spreadsheet
reader (which starts each table at its header row) and the structured extractor (which reads
the lines of a table whose columns it recognises).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

CODE = "product_code"
DESCRIPTION = "description"
QUANTITY = "quantity"
UOM = "uom"
UNIT_PRICE = "unit_price"
LINE_TOTAL = "line_total"

HEADER_SCAN_ROWS = 50
"""Only this many rows from the top of a table are looked at for its header row."""

# Normalised spellings (lower case, no accents, punctuation as spaces), per field. A header
# cell that equals one of them is that field; failing that, one that contains one as whole
# words is, tried in the order of _CONTAINS (so "Total qty" is a quantity, "Unit price" a
# price and "Unit" a unit of measure).
_WORDS: dict[str, tuple[str, ...]] = {
    UNIT_PRICE: (
        # en
        "price", "unit price", "price each", "each price", "unit cost", "cost", "rate",
        "net price", "price per unit", "list price",
        # de
        "preis", "einzelpreis", "e preis", "ep", "stuckpreis", "nettopreis", "preis je einheit",
        # fr
        "prix", "prix unitaire", "pu", "p u", "prix unit", "prix net",
        # es
        "precio", "precio unitario", "precio unidad", "precio neto",
        # nl
        "prijs", "stukprijs", "eenheidsprijs", "prijs per stuk", "netto prijs",
    ),
    LINE_TOTAL: (
        "total", "amount", "line total", "total price", "extended", "ext price",
        "extended price", "net amount", "line amount", "value", "total amount",
        "gesamt", "gesamtpreis", "betrag", "summe", "gesamtbetrag", "positionswert",
        "montant", "total ht", "prix total", "montant ht",
        "importe", "total linea", "importe total",
        "totaal", "bedrag", "totaalprijs", "regeltotaal",
    ),
    QUANTITY: (
        "qty", "quantity", "qty ordered", "order qty", "ordered", "quantity ordered",
        "order quantity", "qty order",
        "menge", "anzahl", "bestellmenge", "stuckzahl",
        "quantite", "qte", "qt", "quantite commandee",
        "cantidad", "cant", "uds", "unidades",
        "aantal", "hoeveelheid", "besteld",
    ),
    UOM: (
        "unit", "uom", "u m", "unit of measure", "units of measure", "um", "measure",
        "einheit", "me", "mengeneinheit", "masseinheit",
        "unite", "unite de mesure",
        "unidad", "ud", "unidad de medida",
        "eenheid", "verpakkingseenheid",
    ),
    CODE: (
        "code", "sku", "item", "item code", "item no", "item number", "item nr", "part",
        "part no", "part number", "part nr", "article", "article no", "article number",
        "art no", "product code", "product no", "product id", "ref", "reference", "material",
        "catalog no", "cat no", "catalogue no", "model", "model no", "ean", "gtin", "barcode",
        "artikelnummer", "artikel nr", "art nr", "artikel", "materialnummer", "sachnummer",
        "artikel no",
        "ref article", "code article", "code produit", "reference article", "n article",
        "codigo", "referencia", "articulo", "cod", "codigo articulo", "ref articulo",
        "artikelcode", "productcode", "artikelnr",
    ),
    DESCRIPTION: (
        "description", "item description", "product", "product name", "name", "designation",
        "details", "product description", "article description", "goods",
        "bezeichnung", "beschreibung", "artikelbezeichnung", "produkt", "artikelbeschreibung",
        "libelle", "produit", "description article",
        "descripcion", "producto", "nombre", "concepto",
        "omschrijving", "beschrijving", "naam", "artikelomschrijving", "productnaam",
    ),
}  # fmt: skip
_CONTAINS = (QUANTITY, LINE_TOTAL, UNIT_PRICE, UOM, CODE, DESCRIPTION)
_TOTAL_WORDS = ("total", "totaal", "gesamt", "summe", "montant", "importe", "amount", "betrag")
_EXACT = {word: field for field, words in _WORDS.items() for word in words}
_NON_WORD = re.compile(r"[^a-z0-9]+")


def normalize(text: str) -> str:
    """Lower case without accents, punctuation and runs of blanks: ``Qté.`` → ``qte``."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("ß", "ss"))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = plain.replace("#", " no ").replace("°", " no ").replace("º", " no ")
    return " ".join(_NON_WORD.sub(" ", plain).split())


def column_field(header: str | None) -> str | None:
    """The order line field a header cell names, or None.

    Args:
        header: the cell text, e.g. ``"Art.-Nr."``, ``"Prix unitaire (EUR)"``, ``"Qty"``.
    """
    if not header:
        return None
    name = normalize(header)
    if not name or len(name) > 40:
        return None
    if name in _EXACT:
        return _EXACT[name]
    padded = f" {name} "
    for field in _CONTAINS:
        for word in sorted(_WORDS[field], key=len, reverse=True):
            if len(word) > 2 and f" {word} " in padded:
                if field == UNIT_PRICE and any(f" {t} " in padded for t in _TOTAL_WORDS):
                    return LINE_TOTAL
                return field
    return None


def header_fields(row: Sequence[str | None]) -> dict[int, str]:
    """Column index → field for the cells of ``row`` that name a field (first one wins)."""
    found: dict[int, str] = {}
    for index, cell in enumerate(row):
        field = column_field(cell)
        if field is not None and field not in found.values():
            found[index] = field
    return found


def is_header(row: Sequence[str | None]) -> bool:
    """True when a row names a quantity column and a code or description column."""
    fields = set(header_fields(row).values())
    return QUANTITY in fields and bool(fields & {CODE, DESCRIPTION})


def detect_header(rows: Sequence[Sequence[str | None]]) -> int | None:
    """Index of the first row (among the first ``HEADER_SCAN_ROWS``) that is a header row."""
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        if is_header(row):
            return index
    return None
