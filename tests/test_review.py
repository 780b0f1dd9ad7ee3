"""The review web UI over HTTP: login, CSRF, escaping, approve → draft, learning, reject, reprocess.

Everything runs against a real store filled by the real pipeline (tests/review_support.py);
requests go through the whole ASGI app (sessions, CSRF, security headers) with FastAPI's
TestClient over https://, as the cookies are Secure.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from intake.match.learned import PRODUCT_CODE
from intake.models import MessageState
from intake.review.app import create_app
from intake.review.security import check_login, hash_password, verify_password
from intake.store.review import review_note
from tests.review_support import (
    FLOOR_PROTECTION,
    PASSWORD,
    USER,
    ReviewWorld,
    build_world,
    next_ready_mat_order,
    process_files,
    write_email,
)


@pytest.fixture
def world(tmp_path: Path) -> ReviewWorld:
    return build_world(tmp_path)


def client_for(world: ReviewWorld) -> TestClient:
    return TestClient(create_app(world.settings, world.ctx), base_url="https://testserver")


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client: TestClient, password: str = PASSWORD) -> object:
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": USER, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )


def approve_form(html: str, **changes: str) -> dict[str, str]:
    """The approve form's fields as the page filled them, with ``changes`` applied."""
    form = html[
        html.index('id="approve-form"') : html.index("</form>", html.index('id="approve-form"'))
    ]
    data: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="checkbox"' not in tag:
            data[name.group(1)] = value.group(1) if value else ""
    for select in re.findall(r'<select name="([^"]+)".*?</select>', form, re.S):
        block = form[form.index(f'<select name="{select}"') :]
        block = block[: block.index("</select>")]
        chosen = re.search(r'<option value="([^"]*)" selected', block)
        data[select] = chosen.group(1) if chosen else ""
    for name, text in re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        data[name] = text
    import html as html_lib

    data = {k: html_lib.unescape(v) for k, v in data.items()}
    data.update(changes)
    return data


def test_password_hashes_argon2_and_scrypt() -> None:
    import base64
    import hashlib

    stored = hash_password("s3cret-pass")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "s3cret-pass") and not verify_password(stored, "wrong")
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(b"s3cret-pass", salt=salt, n=2**14, r=8, p=1, dklen=32)
    scrypt_hash = (
        f"$scrypt$n=16384,r=8,p=1${base64.b64encode(salt).decode()}$"
        f"{base64.b64encode(digest).decode()}"
    )
    assert verify_password(scrypt_hash, "s3cret-pass")
    assert not verify_password(scrypt_hash, "s3cret-pasS")
    assert not check_login({"bob": stored}, "nobody", "s3cret-pass")


def test_config_refuses_a_plain_password_and_a_session_secret_literal(tmp_path: Path) -> None:
    from intake.config import config_problems

    toml = tmp_path / "intake.toml"
    toml.write_text('[review]\nsession_secret = "abc"\n[review.users]\nbob = "hunter22"\n')
    settings, problems = config_problems(toml)
    text = "\n".join(problems)
    assert settings is None
    assert "'review.session_secret' holds a secret in the file" in text
    assert "review.users.bob is not a password hash" in text


def test_pages_need_login_and_wrong_password_is_refused(world: ReviewWorld) -> None:
    client = client_for(world)
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and "/login" in response.headers["location"]
    assert client.get("/api/products?q=desk").status_code == 401
    message_id = world.ids["04-ready-mat-html-order.eml"]
    assert client.get(f"/items/{message_id}", follow_redirects=False).status_code == 303
    wrong = login(client, "not the password")
    assert wrong.status_code == 401 and "Wrong user name or password" in wrong.text
    ok = login(client)
    assert ok.status_code == 303
    cookie = ok.headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    page = client.get("/")
    assert page.status_code == 200 and "Review queue" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    actions = [(r.actor, r.action) for r in world.ctx.store.audit_log() if "login" in r.action]
    assert ("intake", "review_login_failed") in actions and (USER, "review_login") in actions


def test_login_attempts_are_rate_limited(tmp_path: Path) -> None:
    world = build_world(tmp_path, login_max_failures=3, login_window_seconds=600)
    client = client_for(world)
    for _ in range(3):
        assert login(client, "guess").status_code == 401
    limited = login(client)  # even the right password waits now
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert "Too many failed logins" in limited.text
    assert "review_login_refused" in [r.action for r in world.ctx.store.audit_log()]


def test_a_form_post_without_the_csrf_token_is_refused(world: ReviewWorld) -> None:
    client = client_for(world)
    assert login(client).status_code == 303
    message_id = world.ids["04-ready-mat-html-order.eml"]
    for path, data in (
        (f"/items/{message_id}/reject", {"reason": "forged"}),
        (f"/items/{message_id}/approve", {"line_count": "0"}),
        (f"/items/{message_id}/reprocess", {}),
        ("/login", {"username": USER, "password": PASSWORD}),
    ):
        refused = client.post(path, data=data, follow_redirects=False)
        assert refused.status_code == 403, path
        assert "CSRF" in refused.text
        forged = client.post(path, data={**data, "csrf_token": "x" * 43}, follow_redirects=False)
        assert forged.status_code == 403, path
    assert world.ctx.store.message_state(message_id) is MessageState.IN_REVIEW
    note = review_note(world.ctx.store, message_id)
    assert note is not None and note.status == "open"


def test_queue_filters_by_reason_customer_and_age(world: ReviewWorld) -> None:
    client = client_for(world)
    login(client)
    email_id = world.ids["04-ready-mat-html-order.eml"]
    pdf_id = world.ids["17-letter-ready-mat.pdf"]
    everything = client.get("/").text
    assert email_id in everything and pdf_id in everything
    unmatched = client.get("/", params={"reason": "product_unmatched"}).text
    assert email_id in unmatched and pdf_id not in unmatched
    by_date = client.get("/", params={"reason": "delivery_date_past"}).text
    assert pdf_id in by_date and email_id not in by_date
    assert email_id in client.get("/", params={"customer": "Ready Mat"}).text
    assert email_id not in client.get("/", params={"customer": "Deco Addict"}).text
    old = client.get("/", params={"age": "1d"}).text  # just arrived: none is a day old
    assert email_id not in old and "0 of 2 item(s)" in old


def test_item_page_shows_pages_evidence_and_serves_only_store_images(world: ReviewWorld) -> None:
    client = client_for(world)
    login(client)
    pdf_id = world.ids["17-letter-ready-mat.pdf"]
    html = client.get(f"/items/{pdf_id}").text
    assert "RM-2026-0412" in html
    image_url = f"/items/{pdf_id}/documents/d1/pages/1.png"
    assert image_url in html
    image = client.get(image_url)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    from io import BytesIO

    from PIL import Image

    with Image.open(BytesIO(image.content)) as png:
        assert png.width >= 800 and png.height > png.width  # a portrait letter page
        assert png.convert("L").getextrema()[0] < 100  # there is dark ink on it
    # the PO number's evidence is placed on the page as a box in page fractions
    boxes = re.search(r"name=\"po_number\"[^>]*data-ev='([^']+)'", html)
    assert boxes, "the PO number field carries its evidence"
    import json

    evidence = json.loads(boxes.group(1).replace("&#39;", "'"))
    assert evidence["text"] == "RM-2026-0412" and evidence["page"] == 1
    (x0, y0, x1, y1) = evidence["boxes"][0]
    assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
    for bad in (
        f"/items/{pdf_id}/documents/d9/pages/1.png",
        f"/items/{pdf_id}/documents/d1/pages/7.png",
        f"/items/{pdf_id}/documents/..%2F..%2Fetc%2Fpasswd/pages/1.png",
        "/items/..%2F..%2Fetc%2Fpasswd",
        "/static/..%2F..%2F..%2Fconfig.py",
        "/static/../app.py",
    ):
        assert client.get(bad).status_code == 404, bad


def test_document_text_is_escaped(tmp_path: Path) -> None:
    world = build_world(tmp_path)
    hostile = write_email(
        tmp_path / "in",
        "hostile.eml",
        "Mallory <mallory@example.net>",
        "Order <script>alert('subject')</script>",
        "Purchase order\nPO number: <script>alert(1)</script>\n"
        "Please supply:\n2 x FURN_7800 Desk <img src=x onerror=alert(2)> 450.00\n",
        "hostile-1@example.net",
    )
    message_id = process_files(world.ctx, [hostile])["hostile.eml"]
    client = client_for(world)
    login(client)
    for html in (client.get("/").text, client.get(f"/items/{message_id}").text):
        assert "<script>alert" not in html and "<img src=x" not in html
    item = client.get(f"/items/{message_id}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in item
    assert "&lt;img src=x onerror=alert(2)&gt;" in item


def test_approve_with_corrections_keeps_the_draft_and_teaches_the_matcher(
    world: ReviewWorld, tmp_path: Path
) -> None:
    store = world.ctx.store
    client = client_for(world)
    login(client)
    message_id = world.ids["04-ready-mat-html-order.eml"]
    html = client.get(f"/items/{message_id}").text
    assert "RM-MAT-120" in html and "no product" in html
    found = client.get("/api/products", params={"q": "floor"}).json()
    assert [p["id"] for p in found][:1] == [FLOOR_PROTECTION]
    form = approve_form(
        html,
        **{"line-2-product_id": str(FLOOR_PROTECTION), "line-0-quantity": "6"},
    )
    response = client.post(f"/items/{message_id}/approve", data=form, follow_redirects=True)
    assert response.status_code == 200
    assert "Approved: the draft quotation is kept in the store" in response.text
    assert store.message_state(message_id) is MessageState.DRAFTED
    draft = store.quotation(message_id)
    assert draft is not None and draft.partner_name == "Ready Mat"
    assert [(ln.product_id, ln.quantity) for ln in draft.lines] == [
        (16, 6),
        (15, 2),
        (FLOOR_PROTECTION, 8),
    ]
    assert f"approved in intake review by {USER}" in draft.note
    assert store.outbox_item(message_id).status == "kept"  # type: ignore[union-attr]
    audit = [r for r in store.audit_log(message_id) if r.action == "review_approved"]
    assert len(audit) == 1 and audit[0].actor == USER
    assert "lines[0].quantity → 6" in audit[0].detail["changes"]
    # the labeled example feeds the LLM extractor's per-customer examples
    examples = store.approved_examples("ready.mat28@example.com")
    assert len(examples) == 1 and "RM-MAT-120" in examples[0][0]
    assert '"extractor": "review (alice)"' in examples[0][1]
    # the learned mapping: Ready Mat's RM-MAT-120 is Chair floor protection
    learned = store.learned_mappings()
    assert learned.product_for(4, "rm-mat-120") == FLOOR_PROTECTION
    assert (PRODUCT_CODE, 4, "RMMAT120") in learned.targets
    # a second approval of the same item is refused, nothing is written twice
    again = client.post(f"/items/{message_id}/approve", data=form, follow_redirects=True)
    assert "not open" in again.text
    assert store.count_quotations() == 1

    # Ready Mat's next order with the same code matches the learned product
    next_id = process_files(world.ctx, [next_ready_mat_order(tmp_path / "next")])[
        "ready-mat-next-order.eml"
    ]
    matched = store.load_match(next_id)
    assert matched is not None and matched.customer and matched.customer.partner_id == 4
    by_code = {m.line.product_code.value: m.product for m in matched.lines}
    assert by_code["RM-MAT-120"] is not None
    assert by_code["RM-MAT-120"].product_id == FLOOR_PROTECTION
    assert by_code["RM-MAT-120"].method == "learned"
    assessment = store.load_assessment(next_id)
    assert assessment is not None
    assert "product_unmatched" not in {f.code for f in assessment.findings}


def test_another_customer_does_not_get_ready_mats_mapping(world: ReviewWorld) -> None:
    from intake.match import match_order
    from intake.models import ExtractedLine, ExtractedOrder, ExtractedText
    from intake.store.review import Mapping

    store = world.ctx.store
    with store.session() as session:
        from intake.store import utcnow
        from intake.store.schema import LearnedMappingRow

        session.add(
            LearnedMappingRow(
                kind=PRODUCT_CODE,
                partner_id=4,
                key="RMMAT120",
                target_id=FLOOR_PROTECTION,
                target_name="Chair floor protection",
                text="RM-MAT-120",
                actor=USER,
                created_at=utcnow(),
            )
        )
    assert Mapping  # the dataclass the approval uses
    order = ExtractedOrder(
        extractor="test",
        customer_name=ExtractedText(value="Deco Addict"),
        lines=(ExtractedLine(product_code=ExtractedText(value="RM-MAT-120")),),
    )
    learned = store.learned_mappings()
    deco = match_order(order, "deco_addict@yourcompany.example.com", world.ctx.catalog, learned)
    assert deco.customer is not None and deco.customer.partner_id != 4
    assert deco.lines[0].product is None or deco.lines[0].product.method != "learned"


def test_reject_needs_a_reason_and_is_audited(world: ReviewWorld) -> None:
    client = client_for(world)
    login(client)
    message_id = world.ids["17-letter-ready-mat.pdf"]
    token = csrf_of(client.get(f"/items/{message_id}").text)
    empty = client.post(f"/items/{message_id}/reject", data={"csrf_token": token, "reason": "  "})
    assert "Not rejected: reason: say why" in empty.text
    assert world.ctx.store.message_state(message_id) is MessageState.IN_REVIEW
    done = client.post(
        f"/items/{message_id}/reject",
        data={"csrf_token": token, "reason": "customer cancelled by phone"},
    )
    assert done.status_code == 200
    assert world.ctx.store.message_state(message_id) is MessageState.REJECTED
    note = review_note(world.ctx.store, message_id)
    assert note is not None and note.status == "rejected" and note.resolved_by == USER
    assert note.note == "customer cancelled by phone"
    event = [r for r in world.ctx.store.audit_log(message_id) if r.action == "review_rejected"]
    assert event[0].actor == USER and event[0].detail == {"reason": "customer cancelled by phone"}


def test_reprocess_runs_extraction_again_from_the_stored_documents(world: ReviewWorld) -> None:
    store = world.ctx.store
    client = client_for(world)
    login(client)
    message_id = world.ids["04-ready-mat-html-order.eml"]
    before = len([r for r in store.audit_log(message_id) if r.action == "extracted"])
    token = csrf_of(client.get(f"/items/{message_id}").text)
    response = client.post(f"/items/{message_id}/reprocess", data={"csrf_token": token})
    assert "Reprocessed with the current prompts and config: in_review" in response.text
    actions = [r.action for r in store.audit_log(message_id)]
    assert actions.count("extracted") == before + 1
    assert "review_reprocess" in actions
    assert store.message_state(message_id) is MessageState.IN_REVIEW
    note = review_note(store, message_id)
    assert note is not None and note.status == "open"


def test_other_reviewers_are_served_while_a_reprocess_runs(
    world: ReviewWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reprocess (OCR and the LLM again: minutes) must not stall the server for everyone."""
    import threading

    from intake.review import actions

    started, release = threading.Event(), threading.Event()
    real_reprocess = actions.reprocess

    def held_reprocess(*args: object) -> MessageState:
        started.set()
        assert release.wait(120), "the test never released the reprocess"
        return real_reprocess(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(actions, "reprocess", held_reprocess)
    message_id = world.ids["04-ready-mat-html-order.eml"]
    answers: dict[str, object] = {}
    # One TestClient context = one event loop shared by every request, as under uvicorn.
    with client_for(world) as client:
        login(client)
        token = csrf_of(client.get(f"/items/{message_id}").text)

        def click_reprocess() -> None:
            answers["reprocess"] = client.post(
                f"/items/{message_id}/reprocess", data={"csrf_token": token}
            )

        def open_queue() -> None:
            answers["queue"] = client.get("/")

        clicking = threading.Thread(target=click_reprocess)
        clicking.start()
        try:
            assert started.wait(60), "the reprocess never started"
            reading = threading.Thread(target=open_queue)
            reading.start()
            reading.join(60)
            served_meanwhile = not reading.is_alive()
        finally:
            release.set()
            clicking.join(120)
        assert served_meanwhile, "the queue page waited for another reviewer's reprocess"
        assert getattr(answers["queue"], "status_code", None) == 200
        reprocessed = answers["reprocess"]
        assert "Reprocessed with the current prompts and config" in reprocessed.text


def test_proxy_header_is_believed_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    world = build_world(tmp_path, auth="proxy", trusted_proxies=["testclient"])
    client = client_for(world)
    assert client.get("/", headers={"X-Forwarded-User": "bob"}).status_code == 200
    assert client.get("/").status_code == 403
    world.settings.review.trusted_proxies = ["10.0.0.1"]
    untrusted = client_for(world)
    assert untrusted.get("/", headers={"X-Forwarded-User": "bob"}).status_code == 403


def test_serve_refuses_to_start_without_users(tmp_path: Path) -> None:
    from tests.conftest import run_intake

    env = {
        "PATH": "/usr/bin:/bin",
        "INTAKE_STORE__URL": f"sqlite:///{tmp_path / 'x.db'}",
    }
    result = run_intake(["review", "serve"], env, cwd=tmp_path)
    assert result.returncode == 2
    assert "the review UI has no users: add [review.users]" in result.stderr


def test_a_chosen_delivery_address_is_learned_for_the_ship_to_text(world: ReviewWorld) -> None:
    from intake.match.address import match_ship_to

    store, catalog = world.ctx.store, world.ctx.catalog
    client = client_for(world)
    login(client)
    message_id = world.ids["04-ready-mat-html-order.eml"]
    html = client.get(f"/items/{message_id}").text
    ship_to = "Ready Mat, dock 4\n7500 W Linne Road\nTracy"
    form = approve_form(
        html,
        **{"line-2-product_id": str(FLOOR_PROTECTION), "ship_to": ship_to, "delivery_id": "4"},
    )
    client.post(f"/items/{message_id}/approve", data=form)
    assert store.message_state(message_id) is MessageState.DRAFTED
    learned = store.learned_mappings()
    assert match_ship_to(ship_to, 4, catalog).method != "learned"  # type: ignore[union-attr]
    taught = match_ship_to("ready mat dock 4 7500 w linne road tracy", 4, catalog, learned)
    assert taught is not None and taught.partner_id == 4 and taught.method == "learned"
    other = match_ship_to(ship_to, 1, catalog, learned)  # another customer: not taught
    assert other is None or other.method != "learned"


def test_approved_corrections_export_as_labels_that_intake_eval_scores(
    world: ReviewWorld, tmp_path: Path
) -> None:
    from intake.eval import evaluate
    from intake.eval.export import export_labels

    client = client_for(world)
    login(client)
    message_id = world.ids["04-ready-mat-html-order.eml"]
    html = client.get(f"/items/{message_id}").text
    form = approve_form(html, **{"line-0-quantity": "6"})
    assert client.post(f"/items/{message_id}/approve", data=form).status_code in (200, 303)

    out = tmp_path / "approved"
    report = export_labels(world.ctx.store, out, world.ctx.catalog)
    assert [d.name for d, _ in report.written] == [f"{message_id}.eml"]
    [(document, label_path)] = report.written
    assert document.read_bytes() == world.ctx.store.load_message(message_id).raw
    label = json.loads(label_path.read_text("utf-8"))
    assert label["expected"] == {"decision": "draft", "customer_partner": "Ready Mat"}
    assert label["order"]["lines"][0]["quantity"] == 6  # the person's correction
    # Run again: the same files, no duplicates.
    assert len(export_labels(world.ctx.store, out, world.ctx.catalog).written) == 1
    assert sorted(p.name for p in out.iterdir()) == sorted([document.name, label_path.name])

    scored = evaluate([out], world.settings, world.ctx.catalog)
    [doc] = scored["documents"]
    # The extractor read 5 where the person approved 6: eval names exactly that as wrong.
    assert doc["errors"] == [
        {"path": "lines[0].quantity", "expected": "6", "got": "5", "outcome": "wrong"}
    ]
    assert doc["expected_decision"] == "draft" and doc["decision"] == "review"
