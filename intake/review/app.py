"""The review web UI: a FastAPI app rendering Jinja2 pages, with a little JavaScript.

``create_app`` builds it from the settings and a job context (store, catalog, Odoo client).
Every page needs a logged-in person (password login, or a trusted reverse proxy's header);
every POST needs the session's CSRF token; every page is sent with a Content-Security-Policy
that allows only this app's own script and styles, and all document text goes through Jinja2's
autoescaping — so a purchase order containing ``<script>`` is shown as text and never runs.
Page images are rendered from the message bytes in the store; no path from a request ever
reaches the file system.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.middleware.sessions import SessionMiddleware

from intake.catalog import Catalog
from intake.config import Settings
from intake.match.product import ProductIndex
from intake.match.text import normalize_code, normalize_text
from intake.models import Document, Evidence, ExtractedLine, MessageState, ParsedMessage
from intake.pipeline import JobContext
from intake.review import actions, pages
from intake.review.security import (
    LoginLimiter,
    check_login,
    csrf_matches,
    new_csrf_token,
    session_secret,
)
from intake.store import review as records
from intake.store.review import ReviewConflict

log = logging.getLogger(__name__)
T = TypeVar("T")

HERE = Path(__file__).resolve().parent
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
AGES = {"": None, "1h": 1, "4h": 4, "1d": 24, "3d": 72, "7d": 168}
STATUSES = ("open", "approved", "rejected", "all")
UOMS = ("Units", "Dozens", "Hours", "Days", "kg", "g", "t", "lb", "L", "m", "cm", "m²", "m³")


@dataclass
class QueueRow:
    """One review item as the queue lists it."""

    message_id: str
    status: str
    created_at: datetime
    age: str
    sender: str | None
    subject: str | None
    source_ref: str
    customer: str | None
    po_number: str | None
    confidence: float | None
    reasons: list[str]
    codes: list[str]


def _age(created: datetime, now: datetime) -> str:
    seconds = int((now - created).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def _safe_next(value: str | None) -> str:
    """Only a path on this site may follow the login (no open redirect)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def create_app(settings: Settings, ctx: JobContext) -> FastAPI:
    """The review app for one store and catalog; ``intake review serve`` runs it."""
    config = settings.review
    app = FastAPI(
        title="intake review",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        root_path=config.root_path,
    )
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    templates = Jinja2Templates(env=env)
    limiter = LoginLimiter(config.login_max_failures, config.login_window_seconds)
    lock = threading.Lock()

    async def locked(work: Callable[[], T]) -> T:
        """Run a review action in a worker thread, one action at a time.

        Actions take seconds to minutes (reprocessing runs OCR and the LLM again; approving
        may send the draft to Odoo). On the event loop they would stall every other
        reviewer's page; in a thread only the one who clicked waits for the result.
        """

        def run() -> T:
            with lock:
                return work()

        return await run_in_threadpool(run)

    index_cache: dict[int, ProductIndex] = {}

    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings),
        session_cookie="intake_review",
        max_age=config.session_minutes * 60,
        same_site="strict",
        https_only=config.secure_cookies,
    )

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    # ------------------------------------------------------------------ helpers

    def base(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    def csrf(request: Request) -> str:
        token = request.session.get("csrf")
        if not token:
            token = new_csrf_token()
            request.session["csrf"] = token
        return str(token)

    def user_of(request: Request) -> str | None:
        if config.auth == "proxy":
            host = request.client.host if request.client else ""
            if host not in config.trusted_proxies:
                return None
            name = request.headers.get(config.proxy_user_header, "").strip()
            return name[:200] or None
        user = request.session.get("user")
        return str(user) if user else None

    def page(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
        values.setdefault("user", user_of(request))
        flash = request.session.pop("flash", None)
        return templates.TemplateResponse(
            request,
            name,
            {"base": base(request), "csrf": csrf(request), "flash": flash, **values},
            status_code=status,
        )

    def redirect(request: Request, path: str) -> RedirectResponse:
        return RedirectResponse(base(request) + path, status_code=303)

    def flash(request: Request, kind: str, text: str) -> None:
        request.session["flash"] = {"kind": kind, "text": text}

    def require_user(request: Request) -> str:
        user = user_of(request)
        if user is not None:
            return user
        if config.auth == "proxy":
            raise HTTPException(
                403,
                f"no authenticated user: this server trusts the {config.proxy_user_header} "
                "header only from review.trusted_proxies; open it through the proxy",
            )
        raise HTTPException(401, "log in first")

    async def checked_form(request: Request) -> FormData:
        form = await request.form()
        given = form.get("csrf_token")
        if not csrf_matches(request.session.get("csrf"), given if isinstance(given, str) else None):
            raise HTTPException(
                403,
                "the form's security token is missing or out of date (CSRF check): reload "
                "the page and submit again",
            )
        return form

    def fields(form: FormData) -> dict[str, str]:
        return {k: v for k, v in form.items() if isinstance(v, str)}

    def product_index(catalog: Catalog) -> ProductIndex:
        key = id(catalog)
        if key not in index_cache:
            index_cache.clear()
            index_cache[key] = ProductIndex.build(catalog)
        return index_cache[key]

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 401 and request.method == "GET" and not _is_api(request):
            target = request.url.path.removeprefix(base(request)) or "/"
            if request.url.query:
                target += "?" + request.url.query
            return redirect(request, "/login?" + urlencode({"next": target}))
        if _is_api(request):
            return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
        return page(
            request, "error.html", status=exc.status_code, code=exc.status_code, detail=exc.detail
        )

    # ------------------------------------------------------------------ login

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/") -> Response:
        if config.auth == "proxy":
            return redirect(request, "/")
        return page(request, "login.html", next=_safe_next(next), error=None)

    @app.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        if config.auth == "proxy":
            raise HTTPException(404, "log in at the proxy")
        form = await checked_form(request)
        name = str(form.get("username", ""))[:200].strip()
        password = str(form.get("password", ""))[:1000]
        target = _safe_next(str(form.get("next", "/")))
        host = request.client.host if request.client else "?"
        keys = [f"user:{name.lower()}", f"addr:{host}"]
        wait = limiter.retry_after(keys)
        if wait is not None:
            ctx.store.audit("review_login_refused", detail={"user": name, "from": host})
            response = page(
                request,
                "login.html",
                status=429,
                next=target,
                error=f"Too many failed logins: try again in {wait} seconds.",
            )
            response.headers["Retry-After"] = str(wait)
            return response
        if not check_login(config.users, name, password):
            limiter.failed(keys)
            ctx.store.audit("review_login_failed", detail={"user": name, "from": host})
            return page(
                request, "login.html", status=401, next=target, error="Wrong user name or password."
            )
        limiter.succeeded(keys)
        request.session.clear()  # a new session: nothing from before the login survives
        request.session["user"] = name
        request.session["csrf"] = new_csrf_token()
        ctx.store.audit("review_login", detail={"from": host}, actor=name)
        return RedirectResponse(base(request) + target, status_code=303)

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        await checked_form(request)
        user = user_of(request)
        request.session.clear()
        if user:
            ctx.store.audit("review_logout", actor=user)
        return redirect(request, "/login" if config.auth == "password" else "/")

    # ------------------------------------------------------------------ queue

    @app.get("/", response_class=HTMLResponse)
    def queue(
        request: Request, status: str = "open", reason: str = "", customer: str = "", age: str = ""
    ) -> Response:
        require_user(request)
        if status not in STATUSES:
            status = "open"
        rows = _queue_rows(ctx, None if status == "all" else status)
        codes = sorted({c for r in rows for c in r.codes})
        customers = sorted({r.customer for r in rows if r.customer})
        hours = AGES.get(age)
        now = datetime.now(UTC)
        shown = [
            r
            for r in rows
            if (
                not reason
                or reason in r.codes
                or any(reason.lower() in x.lower() for x in r.reasons)
            )
            and (not customer or (r.customer or "") == customer)
            and (hours is None or r.created_at <= now - timedelta(hours=hours))
        ]
        return page(
            request,
            "queue.html",
            rows=shown,
            total=len(rows),
            codes=codes,
            customers=customers,
            ages=list(AGES),
            statuses=STATUSES,
            filters={"status": status, "reason": reason, "customer": customer, "age": age},
        )

    # ------------------------------------------------------------------ item

    def load_item(message_id: str) -> records.ReviewStatus:
        status = records.review_note(ctx.store, message_id)
        if status is None:
            raise HTTPException(404, f"no review item for message {message_id}: see the queue")
        return status

    @app.get("/items/{message_id}", response_class=HTMLResponse)
    def item(request: Request, message_id: str) -> Response:
        require_user(request)
        status = load_item(message_id)
        view = _item_view(ctx, message_id)
        return page(request, "item.html", item=status, uoms=UOMS, **view)

    @app.get("/items/{message_id}/documents/{document_id}/pages/{number}.png")
    def page_image(request: Request, message_id: str, document_id: str, number: int) -> Response:
        require_user(request)
        load_item(message_id)
        message = ctx.store.load_message(message_id)
        parsed = ctx.store.load_parsed(message)
        document = parsed.document(document_id)
        source = pages.source_of(message, document) if document is not None else None
        if source is None:
            raise HTTPException(404, f"message {message_id} has no page images for {document_id}")
        try:
            png = pages.render_page(source, number)
        except ValueError as exc:
            raise HTTPException(404, f"{document_id}: {exc}") from exc
        return Response(
            png, media_type="image/png", headers={"Cache-Control": "private, max-age=600"}
        )

    @app.get("/api/products")
    def products(request: Request, q: str = "", limit: int = 20) -> Response:
        require_user(request)
        return JSONResponse(_search_products(ctx.catalog, product_index(ctx.catalog), q, limit))

    # ------------------------------------------------------------------ actions

    @app.post("/items/{message_id}/approve")
    async def approve(request: Request, message_id: str) -> Response:
        user = require_user(request)
        form = await checked_form(request)
        load_item(message_id)
        try:
            correction = actions.parse_correction(fields(form))
            await locked(lambda: actions.approve(ctx, message_id, correction, user))
        except actions.FormError as exc:
            flash(request, "error", f"Not approved: {exc}")
            return redirect(request, f"/items/{quote(message_id)}")
        except ReviewConflict as exc:
            flash(request, "error", str(exc))
            return redirect(request, f"/items/{quote(message_id)}")
        where = "sent to Odoo" if ctx.odoo is not None else "kept in the store (no Odoo configured)"
        flash(request, "ok", f"Approved: the draft quotation is {where}.")
        return redirect(request, f"/items/{quote(message_id)}")

    @app.post("/items/{message_id}/reject")
    async def reject(request: Request, message_id: str) -> Response:
        user = require_user(request)
        form = await checked_form(request)
        load_item(message_id)
        try:
            reason = str(form.get("reason", ""))
            await locked(lambda: actions.reject(ctx, message_id, reason, user))
        except (actions.FormError, ReviewConflict) as exc:
            flash(request, "error", f"Not rejected: {exc}")
            return redirect(request, f"/items/{quote(message_id)}")
        flash(request, "ok", "Rejected.")
        return redirect(request, "/")

    @app.post("/items/{message_id}/reprocess")
    async def reprocess(request: Request, message_id: str) -> Response:
        user = require_user(request)
        await checked_form(request)
        load_item(message_id)
        try:
            state = await locked(lambda: actions.reprocess(ctx, message_id, user))
        except ReviewConflict as exc:
            flash(request, "error", f"Not reprocessed: {exc}")
            return redirect(request, f"/items/{quote(message_id)}")
        flash(request, "ok", f"Reprocessed with the current prompts and config: {state.value}.")
        return redirect(request, f"/items/{quote(message_id)}")

    return app


def _is_api(request: Request) -> bool:
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return request.url.path.removeprefix(root).startswith("/api/")


def _queue_rows(ctx: JobContext, status: str | None) -> list[QueueRow]:
    store = ctx.store
    items = store.review_items(status=status)
    summaries = {s.id: s for s in store.summaries([i.message_id for i in items])}
    now = datetime.now(UTC)
    rows = []
    for item in items:
        summary = summaries.get(item.message_id)
        assessment = store.load_assessment(item.message_id)
        codes = sorted({f.code for f in assessment.findings}) if assessment else []
        if not assessment:
            codes = ["not_assessed"]
        rows.append(
            QueueRow(
                message_id=item.message_id,
                status=item.status,
                created_at=item.created_at,
                age=_age(item.created_at, now),
                sender=item.sender,
                subject=item.subject,
                source_ref=item.source_ref,
                customer=summary.customer if summary else None,
                po_number=summary.po_number if summary else None,
                confidence=summary.confidence if summary else None,
                reasons=item.reasons,
                codes=codes,
            )
        )
    return rows


def _search_products(
    catalog: Catalog, index: ProductIndex, query: str, limit: int
) -> list[dict[str, Any]]:
    """Sellable products whose code or name contains the query, then similar names."""
    limit = max(1, min(limit, 50))
    text, code = normalize_text(query), normalize_code(query)
    found: dict[int, Any] = {}
    if text or code:
        for product in catalog.products:
            if not (product.sale_ok and product.active):
                continue
            if (code and product.default_code and code in normalize_code(product.default_code)) or (
                text and text in normalize_text(product.name)
            ):
                found.setdefault(product.id, product)
        if len(found) < limit and text:
            for product, _score in index.fuzzy(query, limit):
                found.setdefault(product.id, product)
    else:
        found = {p.id: p for p in catalog.products if p.sale_ok and p.active}
    return [
        {
            "id": p.id,
            "code": p.default_code,
            "name": p.name,
            "uom": p.uom,
            "price": str(p.list_price),
        }
        for p in list(found.values())[:limit]
    ]


def _evidence(
    parsed: ParsedMessage, sources: dict[str, pages.Source | None], evidence: Evidence | None
) -> dict[str, Any] | None:
    """What the browser needs to highlight one value: document, page, span and boxes."""
    if evidence is None:
        return None
    document = parsed.document(evidence.document_id)
    if document is None:
        return None
    page_number = evidence.page or document.page_at(evidence.start) or 1
    return {
        "doc": document.id,
        "page": page_number,
        "start": evidence.start,
        "end": evidence.end,
        "text": evidence.text,
        "boxes": [
            [round(v, 5) for v in box]
            for box in pages.evidence_boxes(sources.get(document.id), document, evidence)
        ],
    }


def _document_view(
    message_id: str, document: Document, source: pages.Source | None
) -> dict[str, Any]:
    text_pages = [
        {"number": p.number, "start": p.start, "text": document.text[p.start : p.end]}
        for p in document.pages
    ] or [{"number": 1, "start": 0, "text": document.text}]
    images = []
    if source is not None:
        try:
            count = pages.page_count(source)
        except Exception as exc:  # a file that parsed before but cannot be opened now
            log.warning("message %s %s: no page images: %s", message_id, document.id, exc)
            count = 0
        images = [
            {"number": n, "url": f"/items/{message_id}/documents/{document.id}/pages/{n}.png"}
            for n in range(1, min(count, 50) + 1)
        ]
    return {
        "id": document.id,
        "origin": document.origin.describe(),
        "media_type": document.media_type,
        "pages": text_pages,
        "images": images,
    }


def _item_view(ctx: JobContext, message_id: str) -> dict[str, Any]:
    """Everything the item page shows, read from the store."""
    store, catalog = ctx.store, ctx.catalog
    message = store.load_message(message_id)
    parsed = store.load_parsed(message)
    summary = store.summary(message_id)
    extraction = store.load_extraction(message_id)
    matched = store.load_match(message_id)
    assessment = store.load_assessment(message_id)
    sources = {d.id: pages.source_of(message, d) for d in parsed.documents}
    order = extraction[1] if extraction else None
    customer = matched.customer if matched else None

    def ev(evidence: Evidence | None) -> dict[str, Any] | None:
        return _evidence(parsed, sources, evidence)

    header: list[dict[str, Any]] = []
    if order is not None:
        for name, label, kind in (
            ("po_number", "PO number", "text"),
            ("order_date", "Order date", "date"),
            ("requested_delivery_date", "Requested delivery", "date"),
            ("currency", "Currency", "text"),
        ):
            value = getattr(order, name)
            header.append(
                {
                    "name": name,
                    "label": label,
                    "kind": kind,
                    "value": "" if value.value is None else str(value.value),
                    "confidence": value.confidence,
                    "evidence": ev(value.evidence),
                }
            )
    lines = []
    matched_lines = matched.lines if matched else ()
    for i, item in enumerate(matched_lines):
        line: ExtractedLine = item.line
        product = item.product
        lines.append(
            {
                "index": i,
                "code": line.product_code.value or "",
                "code_evidence": ev(line.product_code.evidence),
                "description": line.description.value or "",
                "description_evidence": ev(line.description.evidence),
                "quantity": "" if line.quantity.value is None else str(line.quantity.value),
                "quantity_evidence": ev(line.quantity.evidence),
                "unit_price": "" if line.unit_price.value is None else str(line.unit_price.value),
                "unit_price_evidence": ev(line.unit_price.evidence),
                "written_uom": line.uom.value or "",
                "product": product,
                "uom": product.uom if product else "",
                "alternatives": product.alternatives if product else (),
            }
        )
    companies = sorted(
        (p for p in catalog.partners if p.parent_id is None), key=lambda p: p.name.lower()
    )
    deliveries = (
        [p for p in catalog.partners if p.parent_id == customer.partner_id and p.type == "delivery"]
        + [p for p in catalog.partners if p.id == customer.partner_id]
        if customer
        else []
    )
    outbox = store.outbox_item(message_id)
    return {
        "message": message,
        "summary": summary,
        "documents": [_document_view(message_id, d, sources[d.id]) for d in parsed.documents],
        "problems": parsed.problems,
        "classification": extraction[0] if extraction else None,
        "order": order,
        "header": header,
        "ship_to": order.ship_to.value if order and order.ship_to.value else "",
        "ship_to_evidence": ev(order.ship_to.evidence) if order else None,
        "customer": customer,
        "customer_evidence": ev(order.customer_name.evidence) if order else None,
        "companies": companies,
        "deliveries": deliveries,
        "lines": lines,
        "findings": assessment.findings if assessment else (),
        "confidence": assessment.confidence if assessment else None,
        "outbox": outbox,
        "draft": outbox.draft if outbox else None,
        "editable": summary.state in (MessageState.IN_REVIEW, MessageState.FAILED),
        "can_approve": extraction is not None and matched is not None,
    }
