"""Structured XML orders: UBL 2.x (and Peppol BIS 3), Order-X (CII), openTRANS, cXML, Voxel.

Each reader takes a parsed XML document with offsets (``_xmlspans``) and fills the order model
field by field from the elements the standard defines, with every value grounded at the
characters it was read from. The mapping follows the standards' meaning:

- the customer is the buyer party (UBL ``BuyerCustomerParty``, else the originator of an RFQ;
  CII ``BuyerTradeParty``; openTRANS the ``PARTY`` whose role is ``buyer``; cXML the bill-to
  name; Voxel ``Client``);
- a line's product code is the seller's item id, else the standard id (GTIN), else the
  buyer's own id; its description is the item name, else its description;
- the unit price is the net price per one unit: a price stated per 2 or per 100 units
  (UBL ``BaseQuantity``, CII ``BasisQuantity``, openTRANS ``PRICE_QUANTITY``) is divided;
- the requested delivery date is the start of the requested delivery period (the header's,
  not a line's), else its end, else the latest delivery date;
- the order total is the sum of the lines as the document states it (UBL
  ``LineExtensionAmount``, CII ``LineTotalAmount``, openTRANS ``TOTAL_AMOUNT``, cXML
  ``Total``): before tax, so it can be checked against the lines.

Documents that are not orders (invoices, order responses and changes) give None.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from intake.extract._values import (
    date_at,
    number_at,
    per_unit,
    scaled_number,
    text_at,
    to_decimal,
)
from intake.extract._xmlspans import Node, XmlDocument
from intake.models import (
    Document,
    ExtractedDate,
    ExtractedLine,
    ExtractedNumber,
    ExtractedOrder,
    ExtractedText,
)

UBL_NAMESPACE = "urn:oasis:names:specification:ubl:schema:xsd:"
CII_ORDER_ROOTS = frozenset({"SCRDMCCBDACIOMessageStructure", "CrossIndustryOrder"})
CII_ORDER_TYPES = frozenset({"220", "105"})
"""UN/CEFACT 1001 document types read as orders: 220 order, 105 purchase order."""


@dataclass
class _Values:
    """Turns elements and attributes of one XML document into grounded values."""

    doc: Document
    xml: XmlDocument

    def text(self, node: Node | None) -> ExtractedText:
        if node is None:
            return ExtractedText()
        return text_at(self.doc, self.xml.value_span(node), node.text)

    def text_attr(self, node: Node | None, name: str) -> ExtractedText:
        if node is None or name not in node.attrs:
            return ExtractedText()
        return text_at(self.doc, self.xml.attr_span(node, name), node.attrs[name])

    def number(self, node: Node | None) -> ExtractedNumber:
        if node is None:
            return ExtractedNumber()
        return number_at(self.doc, self.xml.value_span(node), node.text)

    def number_attr(self, node: Node | None, name: str) -> ExtractedNumber:
        if node is None or name not in node.attrs:
            return ExtractedNumber()
        return number_at(self.doc, self.xml.attr_span(node, name), node.attrs[name])

    def date(self, node: Node | None) -> ExtractedDate:
        if node is None:
            return ExtractedDate()
        return date_at(self.doc, self.xml.value_span(node), node.text)

    def date_attr(self, node: Node | None, name: str) -> ExtractedDate:
        if node is None or name not in node.attrs:
            return ExtractedDate()
        return date_at(self.doc, self.xml.attr_span(node, name), node.attrs[name])

    def price(self, amount: Node | None, basis: Node | None) -> ExtractedNumber:
        """A unit price from a price element and the quantity it is stated for."""
        if amount is None:
            return ExtractedNumber()
        stated = to_decimal(amount.text)
        base = to_decimal(basis.text) if basis is not None else None
        value = per_unit(stated, base)
        if value == stated:
            return self.number(amount)
        spans = [s for s in (self.xml.value_span(n) for n in (amount, basis) if n) if s]
        span = (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else None
        return scaled_number(self.doc, span, value)

    def joined(self, parts: Sequence[tuple[Node | None, str | None]]) -> ExtractedText:
        """Several elements (or attributes) read as one comma-separated text, e.g. an address.

        Each part is ``(node, attribute)``; ``attribute`` None means the element's text.
        Repeated parts are given once. The evidence spans from the first to the last part.
        """
        values: list[str] = []
        spans: list[tuple[int, int]] = []
        for node, attr in parts:
            if node is None:
                continue
            raw = node.attrs.get(attr) if attr else node.text
            span = self.xml.attr_span(node, attr) if attr else self.xml.value_span(node)
            value = " ".join(raw.split()) if raw else ""
            if not value or span is None or value.casefold() in (v.casefold() for v in values):
                continue
            values.append(value)
            spans.append(span)
        if not values:
            return ExtractedText()
        return text_at(
            self.doc, (min(s[0] for s in spans), max(s[1] for s in spans)), ", ".join(values)
        )


def _first(*nodes: Node | None) -> Node | None:
    return next((n for n in nodes if n is not None and n.text), None)


# --------------------------------------------------------------------------- UBL

_UBL_KINDS = {
    "Order": ("OrderLine", "AnticipatedMonetaryTotal", "order"),
    "RequestForQuotation": ("RequestForQuotationLine", None, "rfq"),
    "Quotation": ("QuotationLine", "QuotedMonetaryTotal", "quotation"),
}


def read_ubl(v: _Values) -> ExtractedOrder | None:
    """A UBL Order, RequestForQuotation or Quotation (Peppol BIS 3 orders are UBL Orders)."""
    root = v.xml.root
    if not root.namespace.startswith(UBL_NAMESPACE) or root.tag not in _UBL_KINDS:
        return None
    line_tag, total_tag, kind = _UBL_KINDS[root.tag]
    version = root.value("UBLVersionID") or "2"
    extractor = f"structured/ubl-{version}" + ("" if kind == "order" else f"-{kind}")
    party = root.find("BuyerCustomerParty/Party") or root.find("OriginatorCustomerParty/Party")
    delivery = root.child("Delivery")
    total = root.find(f"{total_tag}/LineExtensionAmount") if total_tag else None
    return ExtractedOrder(
        extractor=extractor,
        po_number=v.text(root.child("ID")),
        order_date=v.date(root.child("IssueDate")),
        currency=_ubl_currency(v, root),
        customer_name=v.text(_ubl_party_name(party)),
        customer_vat=v.text(_ubl_vat(party)),
        customer_email=v.text(party.find("Contact/ElectronicMail") if party else None),
        requested_delivery_date=_ubl_delivery_date(v, delivery),
        ship_to=_ubl_ship_to(v, delivery),
        total_amount=v.number(total),
        lines=tuple(_ubl_line(v, item) for item in root.findall(f"{line_tag}/LineItem")),
    )


def _ubl_currency(v: _Values, root: Node) -> ExtractedText:
    stated = _first(root.child("DocumentCurrencyCode"), root.child("PricingCurrencyCode"))
    if stated is not None:
        return v.text(stated)
    for node in root.iter():  # no currency code: the amounts say it (currencyID)
        if node.attrs.get("currencyID"):
            return v.text_attr(node, "currencyID")
    return ExtractedText()


def _ubl_party_name(party: Node | None) -> Node | None:
    if party is None:
        return None
    return _first(
        party.find("PartyName/Name"),
        party.find("PartyLegalEntity/RegistrationName"),
        party.find("PartyTaxScheme/RegistrationName"),
    )


def _ubl_vat(party: Node | None) -> Node | None:
    if party is None:
        return None
    schemes = party.findall("PartyTaxScheme")
    vat = [s for s in schemes if (s.value("TaxScheme/ID") or "").upper() == "VAT"]
    return _first(*(s.child("CompanyID") for s in vat + schemes))


def _ubl_delivery_date(v: _Values, delivery: Node | None) -> ExtractedDate:
    if delivery is None:
        return ExtractedDate()
    return v.date(
        _first(
            delivery.find("RequestedDeliveryPeriod/StartDate"),
            delivery.find("RequestedDeliveryPeriod/EndDate"),
            delivery.child("LatestDeliveryDate"),
        )
    )


def _address_parts(address: Node | None, names: Sequence[str]) -> list[tuple[Node | None, None]]:
    if address is None:
        return []
    parts: list[tuple[Node | None, None]] = []
    for name in names:
        parts.extend((node, None) for node in address.findall(name))
    return parts


_UBL_ADDRESS = (
    "StreetName",
    "BuildingNumber",
    "AdditionalStreetName",
    "AddressLine/Line",
    "PostalZone",
    "CityName",
    "Country/IdentificationCode",
)


def _ubl_ship_to(v: _Values, delivery: Node | None) -> ExtractedText:
    if delivery is None:
        return ExtractedText()
    address = delivery.find("DeliveryLocation/Address") or delivery.child("DeliveryAddress")
    name = _first(
        delivery.find("DeliveryParty/PartyName/Name"),
        delivery.find("DeliveryLocation/Name"),
    )
    return v.joined([(name, None), *_address_parts(address, _UBL_ADDRESS)])


def _ubl_line(v: _Values, item: Node) -> ExtractedLine:
    quantity = item.child("Quantity")
    product = item.child("Item")
    code = _first(
        item.find("Item/SellersItemIdentification/ID"),
        item.find("Item/StandardItemIdentification/ID"),
        item.find("Item/BuyersItemIdentification/ID"),
    )
    return ExtractedLine(
        product_code=v.text(code),
        description=v.text(
            _first(product.child("Name"), product.child("Description")) if product else None
        ),
        quantity=v.number(quantity),
        uom=v.text_attr(quantity, "unitCode"),
        unit_price=v.price(item.find("Price/PriceAmount"), item.find("Price/BaseQuantity")),
        line_total=v.number(item.child("LineExtensionAmount")),
    )


# --------------------------------------------------------------------------- Order-X (CII)


def read_cii_order(v: _Values) -> ExtractedOrder | None:
    """An Order-X / UN/CEFACT cross-industry order (not an order change or response)."""
    root = v.xml.root
    if root.tag not in CII_ORDER_ROOTS:
        return None
    document = root.child("ExchangedDocument")
    type_code = document.value("TypeCode") if document else None
    if type_code is not None and type_code not in CII_ORDER_TYPES:
        return None
    profile = root.value("ExchangedDocumentContext/GuidelineSpecifiedDocumentContextParameter/ID")
    extractor = "structured/order-x" + (f" ({profile})" if profile else "")
    transaction = root.child("SupplyChainTradeTransaction")
    if transaction is None:
        return ExtractedOrder(
            extractor=extractor, po_number=v.text(document.child("ID") if document else None)
        )
    agreement = transaction.child("ApplicableHeaderTradeAgreement")
    delivery = transaction.child("ApplicableHeaderTradeDelivery")
    settlement = transaction.child("ApplicableHeaderTradeSettlement")
    buyer = agreement.child("BuyerTradeParty") if agreement else None
    return ExtractedOrder(
        extractor=extractor,
        po_number=v.text(document.child("ID") if document else None),
        order_date=v.date(document.find("IssueDateTime/DateTimeString") if document else None),
        currency=v.text(
            _first(settlement.child("OrderCurrencyCode"), settlement.child("InvoiceCurrencyCode"))
            if settlement
            else None
        ),
        customer_name=v.text(buyer.child("Name") if buyer else None),
        customer_vat=v.text(_cii_vat(buyer)),
        customer_email=v.text(_cii_email(buyer)),
        requested_delivery_date=_cii_delivery_date(v, delivery),
        ship_to=_cii_ship_to(v, delivery),
        total_amount=v.number(
            settlement.find("SpecifiedTradeSettlementHeaderMonetarySummation/LineTotalAmount")
            if settlement
            else None
        ),
        lines=tuple(
            _cii_line(v, item) for item in transaction.findall("IncludedSupplyChainTradeLineItem")
        ),
    )


def _cii_vat(party: Node | None) -> Node | None:
    if party is None:
        return None
    registrations = party.findall("SpecifiedTaxRegistration/ID")
    vat = [r for r in registrations if r.attrs.get("schemeID", "").upper() == "VA"]
    return _first(*vat, *registrations)


def _cii_email(party: Node | None) -> Node | None:
    if party is None:
        return None
    electronic = [
        n
        for n in party.findall("URIUniversalCommunication/URIID")
        if n.attrs.get("schemeID", "EM").upper() == "EM"
    ]
    return _first(
        party.find("DefinedTradeContact/EmailURIUniversalCommunication/URIID"), *electronic
    )


def _cii_delivery_date(v: _Values, delivery: Node | None) -> ExtractedDate:
    if delivery is None:
        return ExtractedDate()
    event = delivery.child("RequestedDeliverySupplyChainEvent")
    if event is None:
        return ExtractedDate()
    return v.date(
        _first(
            event.find("OccurrenceDateTime/DateTimeString"),
            event.find("OccurrenceSpecifiedPeriod/StartDateTime/DateTimeString"),
            event.find("OccurrenceSpecifiedPeriod/EndDateTime/DateTimeString"),
        )
    )


_CII_ADDRESS = ("LineOne", "LineTwo", "LineThree", "PostcodeCode", "CityName", "CountryID")


def _cii_ship_to(v: _Values, delivery: Node | None) -> ExtractedText:
    party = delivery.child("ShipToTradeParty") if delivery else None
    if party is None:
        return ExtractedText()
    address = party.child("PostalTradeAddress")
    return v.joined([(party.child("Name"), None), *_address_parts(address, _CII_ADDRESS)])


def _cii_line(v: _Values, item: Node) -> ExtractedLine:
    product = item.child("SpecifiedTradeProduct")
    price = item.find("SpecifiedLineTradeAgreement/NetPriceProductTradePrice")
    quantity = _first(
        item.find("SpecifiedLineTradeDelivery/RequestedQuantity"),
        item.find("SpecifiedLineTradeDelivery/AgreedQuantity"),
    )
    code = (
        _first(
            product.child("SellerAssignedID"),
            product.child("GlobalID"),
            product.child("BuyerAssignedID"),
        )
        if product
        else None
    )
    return ExtractedLine(
        product_code=v.text(code),
        description=v.text(
            _first(product.child("Name"), product.child("Description")) if product else None
        ),
        quantity=v.number(quantity),
        uom=v.text_attr(quantity, "unitCode"),
        unit_price=v.price(
            price.child("ChargeAmount") if price else None,
            price.child("BasisQuantity") if price else None,
        ),
        line_total=v.number(
            item.find(
                "SpecifiedLineTradeSettlement/SpecifiedTradeSettlementLineMonetarySummation/"
                "LineTotalAmount"
            )
        ),
    )


# --------------------------------------------------------------------------- openTRANS


def read_opentrans(v: _Values) -> ExtractedOrder | None:
    """An openTRANS ORDER (1.0, 2.0, 2.1): the German B2B order standard, with BMEcat items."""
    root = v.xml.root
    if root.tag != "ORDER" or "opentrans" not in root.namespace.lower():
        return None
    version = root.attrs.get("version", "").strip()
    info = root.find("ORDER_HEADER/ORDER_INFO")
    parties = info.findall("PARTIES/PARTY") if info else []
    buyer = _opentrans_party(parties, ("buyer", "customer"))
    delivery = _opentrans_party(parties, ("delivery", "final_delivery"))
    buyer_address = buyer.child("ADDRESS") if buyer else None
    delivery_address = delivery.child("ADDRESS") if delivery else None
    return ExtractedOrder(
        extractor="structured/opentrans" + (f"-{version}" if version else ""),
        po_number=v.text(info.child("ORDER_ID") if info else None),
        order_date=v.date(info.child("ORDER_DATE") if info else None),
        requested_delivery_date=v.date(
            _first(
                info.find("DELIVERY_DATE/DELIVERY_START_DATE"),
                info.find("DELIVERY_DATE/DELIVERY_END_DATE"),
            )
            if info
            else None
        ),
        currency=v.text(info.child("CURRENCY") if info else None),
        customer_name=v.text(buyer_address.child("NAME") if buyer_address else None),
        customer_vat=v.text(buyer_address.child("VAT_ID") if buyer_address else None),
        customer_email=v.text(buyer_address.child("EMAIL") if buyer_address else None),
        ship_to=v.joined(
            _address_parts(
                delivery_address,
                ("NAME", "NAME2", "STREET", "ZIP", "CITY", "COUNTRY_CODED"),
            )
        ),
        total_amount=v.number(root.find("ORDER_SUMMARY/TOTAL_AMOUNT")),
        lines=tuple(
            _opentrans_line(v, item) for item in root.findall("ORDER_ITEM_LIST/ORDER_ITEM")
        ),
    )


def _opentrans_party(parties: list[Node], roles: tuple[str, ...]) -> Node | None:
    for role in roles:
        for party in parties:
            if any((r.text or "").lower() == role for r in party.findall("PARTY_ROLE")):
                return party
    return None


def _opentrans_line(v: _Values, item: Node) -> ExtractedLine:
    product = item.child("PRODUCT_ID")
    price = item.child("PRODUCT_PRICE_FIX")
    code = (
        _first(
            product.child("SUPPLIER_PID"),
            product.child("INTERNATIONAL_PID"),
            product.child("BUYER_PID"),
        )
        if product
        else None
    )
    return ExtractedLine(
        product_code=v.text(code),
        description=v.text(
            _first(product.child("DESCRIPTION_SHORT"), product.child("DESCRIPTION_LONG"))
            if product
            else None
        ),
        quantity=v.number(item.child("QUANTITY")),
        uom=v.text(item.child("ORDER_UNIT")),
        unit_price=v.price(
            price.child("PRICE_AMOUNT") if price else None,
            price.child("PRICE_QUANTITY") if price else None,
        ),
        line_total=v.number(item.child("PRICE_LINE_AMOUNT")),
    )


# --------------------------------------------------------------------------- cXML


def read_cxml(v: _Values) -> ExtractedOrder | None:
    """A cXML OrderRequest (a procurement system's PO) or PunchOutOrderMessage (a cart)."""
    root = v.xml.root
    if root.tag != "cXML":
        return None
    request = root.find("Request/OrderRequest")
    if request is not None:
        header = request.child("OrderRequestHeader")
        items = request.findall("ItemOut")
        extractor = "structured/cxml-order-request"
    else:
        request = root.find("Message/PunchOutOrderMessage")
        if request is None:
            return None
        header = request.child("PunchOutOrderMessageHeader")
        items = request.findall("ItemIn")
        extractor = "structured/cxml-punchout"
    money = header.find("Total/Money") if header else None
    ship = header.find("ShipTo/Address") if header else None
    bill = header.find("BillTo/Address") if header else None
    buyer = _cxml_buyer_contact(header)
    return ExtractedOrder(
        extractor=extractor,
        po_number=v.text_attr(header, "orderID"),
        order_date=v.date_attr(header, "orderDate"),
        requested_delivery_date=_cxml_delivery_date(v, items),
        currency=v.text_attr(money, "currency"),
        total_amount=v.number(money),
        customer_name=v.text(bill.child("Name") if bill else None),
        customer_email=v.text(
            _first(
                buyer.child("Email") if buyer else None,
                bill.child("Email") if bill else None,
            )
        ),
        ship_to=_cxml_address(v, ship),
        lines=tuple(_cxml_line(v, item) for item in items),
    )


def _cxml_buyer_contact(header: Node | None) -> Node | None:
    if header is None:
        return None
    contacts = header.findall("Contact")
    return next(
        (c for c in contacts if c.attrs.get("role", "").lower() in ("buyer", "enduser")), None
    )


def _cxml_address(v: _Values, address: Node | None) -> ExtractedText:
    if address is None:
        return ExtractedText()
    postal = address.child("PostalAddress")
    parts: list[tuple[Node | None, str | None]] = [(address.child("Name"), None)]
    if postal is not None:
        parts += _address_parts(postal, ("DeliverTo", "Street", "PostalCode", "City"))
        country = postal.child("Country")
        parts.append(
            (country, "isoCountryCode" if country and country.attrs.get("isoCountryCode") else None)
        )
    return v.joined(parts)


def _cxml_delivery_date(v: _Values, items: list[Node]) -> ExtractedDate:
    """The requested delivery date when every line asks for the same one."""
    dated = [i for i in items if i.attrs.get("requestedDeliveryDate")]
    if not dated or len(dated) != len(items):
        return ExtractedDate()
    if len({i.attrs["requestedDeliveryDate"][:10] for i in dated}) != 1:
        return ExtractedDate()
    return v.date_attr(dated[0], "requestedDeliveryDate")


def _cxml_line(v: _Values, item: Node) -> ExtractedLine:
    detail = item.child("ItemDetail")
    description = detail.child("Description") if detail else None
    short = description.child("ShortName") if description else None
    return ExtractedLine(
        product_code=v.text(
            _first(item.find("ItemID/SupplierPartID"), item.find("ItemID/BuyerPartID"))
        ),
        description=v.text(_first(short, description)),
        quantity=v.number_attr(item, "quantity"),
        uom=v.text(detail.child("UnitOfMeasure") if detail else None),
        unit_price=v.number(detail.find("UnitPrice/Money") if detail else None),
    )


# --------------------------------------------------------------------------- Voxel


def read_voxel(v: _Values) -> ExtractedOrder | None:
    """A Voxel "Pedido" (the Spanish hospitality and retail EDI network's order XML)."""
    root = v.xml.root
    general = root.child("GeneralData")
    if root.tag != "Transaction" or general is None:
        return None
    if general.attrs.get("Type", "").strip().lower() != "pedido":
        return None
    client = root.child("Client")
    customer = root.find("Customers/Customer")
    return ExtractedOrder(
        extractor="structured/voxel-pedido",
        po_number=v.text_attr(general, "Ref"),
        order_date=v.date_attr(general, "BeginDate"),
        currency=v.text_attr(general, "Currency"),
        customer_name=v.text_attr(client, "Company"),
        customer_vat=v.text_attr(client, "CIF"),
        customer_email=v.text_attr(client, "Email"),
        ship_to=v.joined(
            [(customer, a) for a in ("Customer", "Address", "PC", "City", "Country")]
            if customer
            else []
        ),
        lines=tuple(
            ExtractedLine(
                product_code=_voxel_code(v, product),
                description=v.text_attr(product, "Item"),
                quantity=v.number_attr(product, "Qty"),
                uom=v.text_attr(product, "MU"),
                unit_price=v.number_attr(product, "Price"),
            )
            for product in root.findall("ProductList/Product")
        ),
    )


def _voxel_code(v: _Values, product: Node) -> ExtractedText:
    for name in ("SupplierSKU", "CustomerSKU"):
        value = v.text_attr(product, name)
        if value.value:
            return value
    return ExtractedText()


XML_READERS: tuple[Callable[[_Values], ExtractedOrder | None], ...] = (
    read_ubl,
    read_cii_order,
    read_opentrans,
    read_cxml,
    read_voxel,
)


def read_xml_order(doc: Document, xml: XmlDocument) -> ExtractedOrder | None:
    """The order in a parsed XML document, by whichever standard it follows; None otherwise."""
    values = _Values(doc, xml)
    for reader in XML_READERS:
        order = reader(values)
        if order is not None:
            return order
    return None
