"""The structured path: orders that are data already, read exactly and without an LLM.

Larger customers and their EDI providers send orders as UBL 2.x (Peppol BIS 3), Order-X
(CII, also embedded in a PDF), openTRANS, cXML, EDIFACT ORDERS or Voxel XML; others send a
spreadsheet whose columns say what they hold. Guessing is not needed for these: each field
is where the standard puts it, so :func:`extract_structured` reads it there with confidence
1.0 and evidence at the exact characters of the document text (``Evidence.text ==
document.text[start:end]``, as the grounding check requires). It is the first path of the
extraction cascade; when no document of the message is structured it returns None and the
next path runs.

For a spreadsheet only the lines are structured: the header fields (PO number, customer,
dates) come from the offline rules, which read the e-mail body and the rows above the table.
A structured document that cannot be parsed (malformed XML, an entity bomb, a truncated
interchange) is logged and skipped; nothing here raises for bad input.
"""

from __future__ import annotations

import logging
from xml.etree.ElementTree import ParseError

from intake.documents import sniff
from intake.extract._edifact import looks_like_edifact, read_edifact_order, tokenize
from intake.extract._table_orders import table_lines
from intake.extract._xml_orders import (
    CII_ORDER_ROOTS,
    UBL_NAMESPACE,
    read_xml_order,
)
from intake.extract._xmlspans import DefusedXmlException, Node, XmlTooLarge, parse_xml
from intake.extract.offline import extract_offline
from intake.models import Document, ExtractedOrder, ParsedMessage

log = logging.getLogger(__name__)

SPREADSHEET = "structured/spreadsheet"
"""Extractor name of orders whose lines come from recognised spreadsheet columns."""


def extract_structured(parsed: ParsedMessage) -> ExtractedOrder | None:
    """Read the order from the first structured document of the message, if there is one.

    Args:
        parsed: the parsed message; XML and text documents are tried as structured orders
            (in document order), then spreadsheets with recognised columns.

    Returns:
        The order, its ``extractor`` naming the format (``structured/ubl-2.1``,
        ``structured/order-x (urn:order-x.eu:1p0:comfort)``, ``structured/edifact-orders-d96a``,
        ``structured/spreadsheet+offline/1``, …), or None when no document is structured.
    """
    for doc in parsed.documents:
        order = _document_order(doc)
        if order is not None:
            log.info(
                "%s: structured order (%s) in %s",
                parsed.message.id,
                order.extractor,
                doc.origin.describe(),
            )
            return order
    for doc in parsed.documents:
        lines = table_lines(doc)
        if lines:
            header = extract_offline(parsed)
            log.info(
                "%s: %d lines from the columns of %s",
                parsed.message.id,
                len(lines),
                doc.origin.describe(),
            )
            return header.model_copy(
                update={"lines": lines, "extractor": f"{SPREADSHEET}+{header.extractor}"}
            )
    return None


def _document_order(doc: Document) -> ExtractedOrder | None:
    """The order in one XML or EDIFACT document; None when it holds none or is unreadable."""
    try:
        if doc.media_type == sniff.XML:
            return read_xml_order(doc, parse_xml(doc.text))
        if doc.media_type in sniff.TEXT_TYPES and looks_like_edifact(doc.text):
            return read_edifact_order(doc)
    except (ParseError, DefusedXmlException, XmlTooLarge, ValueError) as exc:
        log.warning(
            "%s looks structured but cannot be read (%s: %s); the other extractors read it",
            doc.origin.describe(),
            type(exc).__name__,
            exc,
        )
    return None


# --------------------------------------------------------------------------- classification

_KINDS: dict[tuple[str, str], tuple[str, str]] = {
    ("ubl", "Order"): ("order", "a UBL purchase order"),
    ("ubl", "RequestForQuotation"): ("inquiry", "a UBL request for quotation"),
    ("ubl", "Invoice"): ("invoice", "a UBL invoice"),
    ("ubl", "CreditNote"): ("invoice", "a UBL credit note"),
    ("ubl", "OrderResponse"): ("order_confirmation", "a UBL order response"),
    ("ubl", "OrderResponseSimple"): ("order_confirmation", "a UBL order response"),
    ("ubl", "DespatchAdvice"): ("delivery_notice", "a UBL despatch advice"),
    ("cii", "220"): ("order", "an Order-X purchase order"),
    ("cii", "105"): ("order", "an Order-X purchase order"),
    ("cii", "231"): ("order_confirmation", "an Order-X order response"),
    ("cii", "CrossIndustryInvoice"): ("invoice", "a Factur-X/ZUGFeRD invoice"),
    ("opentrans", "ORDER"): ("order", "an openTRANS order"),
    ("opentrans", "INVOICE"): ("invoice", "an openTRANS invoice"),
    ("opentrans", "ORDERRESPONSE"): ("order_confirmation", "an openTRANS order response"),
    ("opentrans", "DISPATCHNOTIFICATION"): ("delivery_notice", "an openTRANS dispatch note"),
    ("cxml", "OrderRequest"): ("order", "a cXML order request"),
    ("cxml", "InvoiceDetailRequest"): ("invoice", "a cXML invoice"),
    ("cxml", "ConfirmationRequest"): ("order_confirmation", "a cXML order confirmation"),
    ("cxml", "ShipNoticeRequest"): ("delivery_notice", "a cXML ship notice"),
    ("voxel", "pedido"): ("order", "a Voxel order (pedido)"),
    ("voxel", "factura"): ("invoice", "a Voxel invoice (factura)"),
    ("voxel", "albaran"): ("delivery_notice", "a Voxel delivery note (albarán)"),
    ("edifact", "ORDERS"): ("order", "an EDIFACT ORDERS message"),
    ("edifact", "INVOIC"): ("invoice", "an EDIFACT INVOIC message"),
    ("edifact", "ORDRSP"): ("order_confirmation", "an EDIFACT order response (ORDRSP)"),
    ("edifact", "DESADV"): ("delivery_notice", "an EDIFACT despatch advice (DESADV)"),
    ("edifact", "REQOTE"): ("inquiry", "an EDIFACT request for quote (REQOTE)"),
}
"""(format, document type) → (what the message is, as classify names it; words for people).

Quotations, order changes and punch-out carts are left out: what they mean for the order
inbox depends on who sent them, so the text rules and a person decide.
"""


def structured_kind(doc: Document) -> tuple[str, str] | None:
    """What a structured document is, e.g. ``("order", "a UBL purchase order")``.

    Used by the classifier: a UBL Order or an EDIFACT ORDERS message is a purchase order,
    whatever its text looks like; a Factur-X invoice is an invoice. None for documents that
    are not in a known structured format (or cannot be parsed).
    """
    try:
        if doc.media_type == sniff.XML:
            return _KINDS.get(_xml_type(parse_xml(doc.text).root))
        if doc.media_type in sniff.TEXT_TYPES and looks_like_edifact(doc.text):
            return _KINDS.get(("edifact", _edifact_type(doc.text)))
    except (ParseError, DefusedXmlException, XmlTooLarge, ValueError) as exc:
        log.info("%s: structured type unknown (%s)", doc.origin.describe(), exc)
    return None


def _xml_type(root: Node) -> tuple[str, str]:
    if root.namespace.startswith(UBL_NAMESPACE):
        return "ubl", root.tag
    if root.tag == "CrossIndustryInvoice":
        return "cii", root.tag
    if root.tag in CII_ORDER_ROOTS:
        return "cii", root.value("ExchangedDocument/TypeCode") or "220"
    if "opentrans" in root.namespace.lower():
        return "opentrans", root.tag
    if root.tag == "cXML":
        request = root.child("Request")
        inner = request.children[0].tag if request is not None and request.children else ""
        return "cxml", inner
    if root.tag == "Transaction" and root.child("GeneralData") is not None:
        general = root.child("GeneralData")
        kind = general.attrs.get("Type", "") if general is not None else ""
        return "voxel", kind.strip().lower().replace("á", "a")
    return "", root.tag


def _edifact_type(text: str) -> str:
    segments, _ = tokenize(text)
    header = next((s for s in segments if s.tag == "UNH"), None)
    return header.value(1, 0).upper() if header is not None else ""
