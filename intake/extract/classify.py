"""Is this message a purchase order? Decided by rules before anything is extracted.

An order inbox also receives out-of-office replies, invoices, newsletters, shipping notices and
requests for quotation. Telling them apart first keeps the extractor from reading an order into
an invoice, and lets a confident "not an order" be rejected without a person. The rules weigh
evidence for both sides — headers (``Auto-Submitted``, ``List-Unsubscribe``), subject and body
phrases, attachment names, and order signals in the text (a PO number label, lines with
quantities, "please send") — and answer ``unsure`` when neither side clearly wins, so a person
decides. Every reason is written for that person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser

from intake.extract._lines import lines_of_document
from intake.extract._text import TextLine, split_lines
from intake.extract.offline import PO_LABELS, PO_TOKEN, PO_VALUE, labelled
from intake.extract.structured import structured_kind
from intake.models import Classification, Document, ParsedMessage

_I = re.IGNORECASE

_AUTO_SUBJECT = re.compile(
    r"^\s*(?:auto(?:matic)?[ -]?reply|autoreply|auto[ -]?response|out\s+of\s+(?:the\s+)?office|"
    r"abwesenheit\w*|automatische\s+antwort|réponse\s+automatique|absence\b|ooo\b|"
    r"away\s+from\s+(?:the\s+)?office)",
    _I,
)
_AUTO_BODY = re.compile(
    r"\b(?:out\s+of\s+(?:the\s+)?office|i\s+am\s+(?:currently\s+)?(?:away|on\s+(?:annual\s+)?"
    r"leave|on\s+vacation|on\s+holiday|out)\b|limited\s+access\s+to\s+(?:my\s+)?e-?mail|"
    r"will\s+(?:be\s+back|return)\s+(?:on|in|to)|nicht\s+im\s+büro|bin\s+(?:bis|ab)\s.{0,40}"
    r"abwesend)",
    _I,
)
_BOUNCE_SUBJECT = re.compile(
    r"\b(?:undeliverable|undelivered\s+mail|delivery\s+status\s+notification|"
    r"mail\s+delivery\s+(?:failed|failure|subsystem)|returned\s+mail|unzustellbar)\b",
    _I,
)
_INVOICE_WORDS = re.compile(
    r"\b(?:(?:tax\s+)?invoices?|rechnung|facture|factura|fattura|credit\s+note|gutschrift|"
    r"statement\s+of\s+account|payment\s+reminder|zahlungserinnerung|mahnung)\b",
    _I,
)
_INVOICE_HEADING = re.compile(
    r"^\W*(?:(?:tax\s+|commercial\s+|proforma\s+|pro-forma\s+)?invoice|rechnung|facture|"
    r"factura|credit\s+note|gutschrift|avoir)\b"
    r"(?!\s*(?:and|to|address|addr|adresse|an)\b)",  # "Invoice address:" is a PO's block
    _I,
)
_INVOICE_FILE = re.compile(r"(?<![a-z])(?:invoice|rechnung|facture|factura|inv[_-]?\d)", _I)
_NEWSLETTER = re.compile(
    r"\b(?:unsubscribe|abmelden|se\s+désabonner|view\s+(?:this\s+e-?mail\s+)?in\s+"
    r"(?:your\s+)?browser|newsletter|manage\s+(?:your\s+)?(?:email\s+)?preferences)\b",
    _I,
)
_DELIVERY_NOTICE = re.compile(
    r"\b(?:(?:has|have)\s+(?:been\s+)?(?:shipped|dispatched)|shipping\s+confirmation|"
    r"shipment\s+notification|dispatch(?:ed)?\s+(?:notification|note|advice)|delivery\s+note|"
    r"lieferschein|versandbestätigung|tracking\s+(?:number|no\.?|id)|out\s+for\s+delivery|"
    r"advance\s+shipping\s+notice)\b",
    _I,
)
_INQUIRY = re.compile(
    r"\b(?:request\s+for\s+(?:a\s+)?(?:quotation|quote|proposal)|rfq\b|quote\s+request|"
    r"request\s+a\s+quote|price\s+(?:inquiry|enquiry|request)|"
    r"(?:could|can|would)\s+you\s+(?:please\s+)?(?:send|provide|give|quote)\s+(?:us\s+|me\s+)?"
    r"(?:a\s+|your\s+|the\s+)?(?:quote|quotation|price|prices|offer|pricing)|"
    r"please\s+(?:send\s+(?:us\s+|me\s+)?(?:a\s+|your\s+)?)?quot(?:e|ation)\s+(?:for|on)|"
    r"do\s+you\s+have\s.{0,60}\b(?:in\s+stock|available)|what\s+(?:is|are)\s+(?:the\s+|your\s+)?"
    r"(?:price|prices|lead\s+time)|anfrage|bitte\s+um\s+(?:ein\s+)?angebot|"
    r"demande\s+de\s+(?:prix|devis))",
    _I,
)
_SHOP_CONFIRMATION = re.compile(
    r"\b(?:thank\s+you\s+for\s+your\s+order|your\s+order\s+has\s+been\s+(?:received|placed|"
    r"confirmed)|order\s+confirmation|auftragsbestätigung|bestellbestätigung)\b",
    _I,
)
_ORDER_PHRASE = re.compile(
    r"\b(?:purchase\s+order|bestellung|bon\s+de\s+commande|orden\s+de\s+compra|"
    r"ordine\s+d'acquisto|pedido)\b",
    _I,
)
_ORDER_SUBJECT = re.compile(r"\b(?:orders?|po|p\.o\.|bestellung|commande|pedido|ordine)\b", _I)
_ORDER_FILE = re.compile(
    r"(?<![a-z])(?:po|p\.o|purchase[ _-]?order|order|bestellung|commande|pedido|ordine)(?![a-z])",
    _I,
)
_REQUEST = re.compile(
    r"\b(?:please\s+(?:send|supply|ship|deliver|book|process|enter|dispatch|provide)\b|"
    r"(?:we|i)\s+(?:would\s+like|wish|want)\s+to\s+order|i'?d\s+like\s+to\s+order|"
    r"(?:please\s+find|attached\s+(?:is|please\s+find)|find\s+attached)\s.{0,40}\border\b|"
    r"kindly\s+(?:supply|send|deliver|arrange|process)|bitte\s+liefern|wir\s+bestellen|"
    r"can\s+(?:i|we)\s+(?:get|have|order)|we\s+need\s+\d|merci\s+de\s+(?:livrer|nous\s+envoyer))",
    _I,
)


@dataclass
class _Evidence:
    """Scores and reasons gathered for each side."""

    order: float = 0.0
    order_reasons: list[str] = field(default_factory=list)
    kinds: dict[str, float] = field(default_factory=dict)
    kind_reasons: dict[str, list[str]] = field(default_factory=dict)

    def add_order(self, score: float, reason: str) -> None:
        self.order += score
        self.order_reasons.append(reason)

    def add_kind(self, kind: str, score: float, reason: str) -> None:
        old = self.kinds.get(kind, 0.0)
        # A second signal of the same kind adds a little; it never makes one weak hint strong.
        self.kinds[kind] = max(old, score) + (min(old, score) * 0.15 if old else 0.0)
        self.kind_reasons.setdefault(kind, []).append(reason)


def _headers(parsed: ParsedMessage) -> EmailMessage | None:
    if parsed.message.kind != "email":
        return None
    msg = BytesHeaderParser(policy=policy.default).parsebytes(parsed.message.raw)
    assert isinstance(msg, EmailMessage)
    return msg


def _quote(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _header_signals(ev: _Evidence, headers: EmailMessage | None, subject: str) -> None:
    if headers is not None:
        auto = str(headers.get("Auto-Submitted", "") or "").strip().lower()
        if auto.startswith("auto-replied"):
            ev.add_kind("auto_reply", 0.97, f"header Auto-Submitted: {auto}")
        for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply"):
            if headers.get(name) is not None:
                ev.add_kind("auto_reply", 0.95, f"header {name} is set")
        precedence = str(headers.get("Precedence", "") or "").strip().lower()
        if precedence == "auto_reply":
            ev.add_kind("auto_reply", 0.95, "header Precedence: auto_reply")
        elif precedence in ("bulk", "list", "junk"):
            ev.add_kind("newsletter", 0.6, f"header Precedence: {precedence}")
        if headers.get("List-Unsubscribe") is not None:
            ev.add_kind("newsletter", 0.85, "header List-Unsubscribe is set (a mailing list)")
        if headers.get_content_type() == "multipart/report":
            ev.add_kind("bounce", 0.95, "a delivery status report (multipart/report)")
    if _AUTO_SUBJECT.search(subject):
        ev.add_kind("auto_reply", 0.9, f"subject '{_quote(subject)}' is an automatic reply")
    if _BOUNCE_SUBJECT.search(subject):
        ev.add_kind("bounce", 0.9, f"subject '{_quote(subject)}' is a delivery failure notice")
    if m := _INVOICE_WORDS.search(subject):
        ev.add_kind("invoice", 0.8, f"subject mentions '{m.group(0)}'")
    if m := _DELIVERY_NOTICE.search(subject):
        ev.add_kind("delivery_notice", 0.75, f"subject mentions '{m.group(0)}'")
    if m := _INQUIRY.search(subject):
        ev.add_kind("inquiry", 0.75, f"subject asks for a quotation ('{m.group(0)}')")
    if m := _SHOP_CONFIRMATION.search(subject):
        ev.add_kind("order_confirmation", 0.6, f"subject reads like a shop's '{m.group(0)}'")
    if m := _ORDER_SUBJECT.search(subject):
        ev.add_order(0.15, f"subject mentions '{m.group(0)}'")
    if m := _ORDER_PHRASE.search(subject):
        ev.add_order(0.15, f"subject says '{m.group(0)}'")


def _text_signals(ev: _Evidence, parsed: ParsedMessage, cut_history: bool) -> None:
    docs = [(doc, split_lines(doc, cut_history=cut_history)) for doc in parsed.documents]
    active = [ln for _, lines in docs for ln in lines if not ln.quoted]
    body = "\n".join(ln.text for ln in active)
    for doc, lines in docs:
        name = doc.origin.filename or ""
        if doc.origin.kind != "body" and name:
            if _ORDER_FILE.search(name):
                ev.add_order(0.3, f"attachment name '{name}' looks like an order")
            if _INVOICE_FILE.search(name):
                ev.add_kind("invoice", 0.75, f"attachment name '{name}' looks like an invoice")
        heading = [ln.text for ln in lines if not ln.blank and not ln.quoted][:5]
        for text in heading:
            words = text.split()
            short = (
                len(words) <= 4
                and "," not in text
                and not re.search(r"\b(?:address|adresse|to)\b", text, _I)
                and _INVOICE_WORDS.search(text)
            )
            if doc.origin.kind != "body" and (_INVOICE_HEADING.search(text) or short):
                ev.add_kind("invoice", 0.8, f"{doc.origin.describe()} is headed '{_quote(text)}'")
                break
    for problem in parsed.problems:
        unread = problem.origin.filename if problem.origin else None
        if unread and _ORDER_FILE.search(unread):
            ev.add_order(0.2, f"unreadable attachment '{unread}' is named like an order")
    if m := _AUTO_BODY.search(body):
        ev.add_kind("auto_reply", 0.75, f"the text says '{_quote(m.group(0))}'")
    if m := _NEWSLETTER.search(body):
        ev.add_kind("newsletter", 0.7, f"the text has '{m.group(0)}'")
    if m := _DELIVERY_NOTICE.search(body):
        ev.add_kind("delivery_notice", 0.6, f"the text says '{_quote(m.group(0))}'")
    if m := _INQUIRY.search(body):
        ev.add_kind("inquiry", 0.7, f"the text asks '{_quote(m.group(0))}'")
    if m := _SHOP_CONFIRMATION.search(body):
        ev.add_kind("order_confirmation", 0.5, f"the text says '{_quote(m.group(0))}'")
    if _INVOICE_WORDS.search(body) and re.search(
        r"\b(?:amount|balance|total)\s+due|\bpayment\s+due|\bplease\s+(?:pay|remit)", body, _I
    ):
        ev.add_kind("invoice", 0.6, "the text has an invoice with an amount or date due")
    if m := _ORDER_PHRASE.search(body):
        ev.add_order(0.2, f"the text says '{m.group(0)}'")
    if m := _REQUEST.search(body):
        ev.add_order(0.25, f"the text asks '{_quote(m.group(0))}'")
    _po_signal(ev, docs)
    n_lines = max((len(lines_of_document(d, cut_history=cut_history)) for d, _ in docs), default=0)
    if n_lines:
        plural = "s" if n_lines > 1 else ""
        ev.add_order(0.3 if n_lines == 1 else 0.4, f"{n_lines} order line{plural} with quantities")


def _po_signal(ev: _Evidence, docs: list[tuple[Document, list[TextLine]]]) -> None:
    for _, lines in docs:
        for hit in labelled(lines, PO_LABELS, PO_VALUE):
            label = " ".join(hit.label.group(0).split())
            if re.search(r"\d", hit.value.group(0)) and hit.confidence >= 0.75:
                ev.add_order(0.35, f"PO number label '{label}' with '{hit.value.group(0)}'")
                return
        for line in lines:
            if not line.quoted and (m := PO_TOKEN.search(line.text)):
                ev.add_order(0.3, f"PO number '{m.group(0)}' in the text")
                return


def _structured_signals(ev: _Evidence, parsed: ParsedMessage) -> None:
    """A structured document says what it is: a UBL Order is an order, a Factur-X an invoice."""
    for doc in parsed.documents:
        found = structured_kind(doc)
        if found is None:
            continue
        kind, words = found
        reason = f"{doc.origin.describe()} is {words}"
        if kind == "order":
            ev.add_order(0.9, reason)
        else:  # alone, never enough to reject without a person (see reject_not_order_confidence)
            ev.add_kind(kind, 0.85, reason)


def classify(parsed: ParsedMessage) -> Classification:
    """Decide whether a parsed message is a purchase order, with reasons a person can read.

    Args:
        parsed: the message (its headers are read from ``message.raw`` for e-mails) and the
            text of its documents.

    Returns:
        ``order``, ``not_order`` (with ``kind``: auto_reply, bounce, invoice, newsletter,
        delivery_notice, inquiry, order_confirmation) or ``unsure`` when the evidence does not
        clearly favour one side; ``confidence`` is how strongly the evidence supports the label.
    """
    subject = parsed.message.subject or ""
    cut_history = not re.match(r"^\s*(?:fwd?|wg|tr)\s*:", subject, _I)
    ev = _Evidence()
    _header_signals(ev, _headers(parsed), subject)
    _text_signals(ev, parsed, cut_history)
    _structured_signals(ev, parsed)
    order = min(0.98, ev.order)
    kind, not_order = max(ev.kinds.items(), key=lambda kv: kv[1], default=(None, 0.0))
    not_order = min(0.98, not_order)
    if kind in ("auto_reply", "bounce") and not_order >= 0.9:
        # Automatic replies quote the message they answer, order words included.
        reasons = ev.kind_reasons[kind] + [f"ignored: {r}" for r in ev.order_reasons]
        return Classification(
            label="not_order", kind=kind, confidence=round(not_order, 2), reasons=tuple(reasons)
        )
    if not any(doc.text.strip() for doc in parsed.documents):
        return Classification(
            label="unsure",
            confidence=0.5,
            reasons=("no readable text in the message", *ev.order_reasons),
        )
    if order >= 0.5 and order >= not_order + 0.25:
        reasons = ev.order_reasons + [
            f"against: {r}" for k in ev.kind_reasons for r in ev.kind_reasons[k]
        ]
        confidence = order - 0.3 * not_order
        return Classification(
            label="order", confidence=round(max(0.5, confidence), 2), reasons=tuple(reasons)
        )
    if kind is not None and not_order >= 0.6 and not_order >= order + 0.25:
        reasons = ev.kind_reasons[kind] + [f"against: {r}" for r in ev.order_reasons]
        confidence = not_order - 0.3 * order
        return Classification(
            label="not_order",
            kind=kind,
            confidence=round(max(0.5, confidence), 2),
            reasons=tuple(reasons),
        )
    reasons = ev.order_reasons + [r for k in ev.kind_reasons for r in ev.kind_reasons[k]]
    if not reasons:
        reasons = ["no sign of an order and none of anything else"]
    return Classification(
        label="unsure",
        kind=kind,
        confidence=round(max(0.3, 1 - abs(order - not_order)), 2),
        reasons=tuple(reasons),
    )
