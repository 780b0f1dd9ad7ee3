"""The review UI end to end in a real headless Chromium (Debian's package, driven by Playwright).

``intake review serve`` runs as a user would start it, on 127.0.0.1, over a store the real
pipeline filled from real documents. The browser logs in, opens an item, corrects a product
(with the catalog search) and a quantity, approves, and sees the draft; screenshots are taken
and checked to show the page. XSS and CSRF are tried the way an attacker would. Then Ready
Mat's next order, with the same customer code, must match the product the person picked.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from tests.conftest import ROOT, _free_port
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

CHROMIUM = "/usr/bin/chromium"

pytestmark = pytest.mark.slow

playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium missing: .ci/install-system-packages installs it")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


def _config(world: ReviewWorld, folder: Path) -> Path:
    users = world.settings.review.users
    path = folder / "intake.toml"
    path.write_text(
        f'[store]\nurl = "{world.settings.store.url}"\n\n'
        "[review]\nsecure_cookies = true\n\n[review.users]\n"
        + "".join(f'{name} = "{value}"\n' for name, value in users.items())
    )
    return path


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ReviewWorld, str]]:
    """A real ``intake review serve`` over a store with review items, and its URL."""
    world = build_world(tmp_path)
    hostile = write_email(
        tmp_path / "in",
        "hostile.eml",
        "Mallory <mallory@example.net>",
        "Order <script>window.__xss_subject = 1</script>",
        "Purchase order\nPO number: <script>window.__xss = 1; alert(1)</script>\n"
        'Please supply:\n2 x FURN_7800 Desk <img src=x onerror="window.__xss_img=1"> 450.00\n',
        "hostile-2@example.net",
    )
    world.ids.update(process_files(world.ctx, [hostile]))
    config = _config(world, tmp_path)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "intake", "-c", str(config), "review", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # wait until it answers (the loop ends on success, not on time)
            if server.poll() is not None:
                raise AssertionError("intake review serve exited:\n" + _read(tmp_path))
            try:
                with urllib.request.urlopen(url + "/login") as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("intake review serve never answered:\n" + _read(tmp_path))
        yield world, url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _read(folder: Path) -> str:
    return (folder / "serve.log").read_text()


def _check_screenshot(png: bytes, folder: Path, name: str) -> Image.Image:
    """The screenshot is a real picture of the page: full size, and not one flat colour."""
    (folder / name).write_bytes(png)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.width >= 1200 and image.height >= 700
    stats = ImageStat.Stat(image.convert("L"))
    assert stats.stddev[0] > 10, "the screenshot is blank"
    assert len(image.getcolors(1 << 20) or []) > 50
    return image


def _login(page: object, url: str) -> None:
    page.goto(url + "/")  # type: ignore[attr-defined]
    assert "/login" in page.url  # type: ignore[attr-defined]
    page.fill("input[name=username]", USER)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("button:has-text('Log in')")  # type: ignore[attr-defined]
    page.wait_for_selector("h1:has-text('Review queue')")  # type: ignore[attr-defined]


def test_a_person_corrects_approves_and_intake_learns(
    served: tuple[ReviewWorld, str], browser: object, tmp_path: Path
) -> None:
    world, url = served
    store = world.ctx.store
    context = browser.new_context(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(page, url)
    message_id = world.ids["04-ready-mat-html-order.eml"]
    page.click(f"tr[data-message='{message_id}'] a:has-text('Open')")
    page.wait_for_selector("#approve-form")
    assert page.inner_text("#item-title") == "Ready Mat — RM-2025-0318"

    # the evidence of the selected value is highlighted in the original text
    page.focus("input[name=po_number]")
    page.wait_for_selector("mark.evidence")
    assert page.inner_text("mark.evidence") == "RM-2025-0318"

    # line 3 (RM-MAT-120) matched nothing: search the catalog and pick the product
    row = page.locator("tr.line[data-line='2']")
    assert row.locator(".product-name").inner_text() == "no product"
    row.locator(".product-search").fill("floor prot")
    row.locator("button.result", has_text="Chair floor protection").click()
    assert row.locator(".product-id").input_value() == str(FLOOR_PROTECTION)
    # and line 1's quantity was 6, not 5
    page.fill("input[name='line-0-quantity']", "6")
    _check_screenshot(page.screenshot(full_page=True), tmp_path, "item-before-approve.png")

    page.click("#approve")
    page.wait_for_selector("#draft")
    assert "Approved: the draft quotation is kept in the store" in page.inner_text("#flash")
    assert page.inner_text("#review-status") == "approved"
    draft = page.inner_text("#draft")
    assert "kept in the store (no Odoo configured)" in draft
    rows = page.locator("#draft tbody tr")
    assert rows.count() == 3
    assert rows.nth(0).locator("td").nth(2).inner_text() == "6"
    assert "Anti-fatigue floor mat" in rows.nth(2).inner_text()
    assert "ship_to" not in page.inner_text("#review-note")  # unchanged fields are not changes
    assert "lines[2].product → Chair floor protection" in page.inner_text("#review-note")
    image = _check_screenshot(page.screenshot(full_page=True), tmp_path, "item-approved.png")
    assert image.height >= 900
    assert "RM-2025-0318" in page.inner_text("body")  # the page shows this item
    assert errors == []

    draft_model = store.quotation(message_id)
    assert draft_model is not None
    assert [(ln.product_id, ln.quantity) for ln in draft_model.lines] == [
        (16, 6),
        (15, 2),
        (FLOOR_PROTECTION, 8),
    ]
    assert [r.actor for r in store.audit_log(message_id) if r.action == "review_approved"] == [USER]

    # the next order from Ready Mat with the same customer code matches what was learned
    next_id = process_files(world.ctx, [next_ready_mat_order(tmp_path / "next")])[
        "ready-mat-next-order.eml"
    ]
    matched = store.load_match(next_id)
    assert matched is not None
    learned = [m.product for m in matched.lines if m.line.product_code.value == "RM-MAT-120"]
    assert learned[0] is not None and learned[0].product_id == FLOOR_PROTECTION
    assert learned[0].method == "learned"
    context.close()


def test_pdf_pages_are_shown_with_the_evidence_boxed(
    served: tuple[ReviewWorld, str], browser: object, tmp_path: Path
) -> None:
    world, url = served
    context = browser.new_context(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    _login(page, url)
    message_id = world.ids["17-letter-ready-mat.pdf"]
    page.goto(f"{url}/items/{message_id}")
    img = page.locator("figure.page[data-doc='d1'][data-page='1'] img")
    img.wait_for()
    page.wait_for_function(
        "document.querySelector('figure.page img').complete && "
        "document.querySelector('figure.page img').naturalWidth > 0"
    )
    assert img.evaluate("i => i.naturalWidth") >= 800
    page.focus("input[name=po_number]")
    box = page.locator("figure.page[data-page='1'] .hl").first
    box.wait_for()
    figure = page.locator("figure.page[data-page='1']").bounding_box()
    mark = box.bounding_box()
    assert figure and mark
    assert figure["x"] <= mark["x"] and mark["x"] + mark["width"] <= figure["x"] + figure["width"]
    assert 0 < mark["height"] < figure["height"] / 10  # one line of text, not the whole page
    shot = _check_screenshot(page.screenshot(), tmp_path, "pdf-page.png")
    # the highlight is drawn on the page image: its colour is in the screenshot there
    x, y = int(mark["x"] + mark["width"] / 2), int(mark["y"] + mark["height"] / 2)
    r, g, b = shot.getpixel((x, min(y, shot.height - 1)))[:3]
    assert r > 200 and g > 150 and b < 200, (r, g, b)
    context.close()


def test_script_in_a_purchase_order_is_shown_as_text_and_never_runs(
    served: tuple[ReviewWorld, str], browser: object
) -> None:
    world, url = served
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _login(page, url)
    assert "<script>window.__xss_subject = 1</script>" in page.inner_text("table.queue")
    page.goto(f"{url}/items/{world.ids['hostile.eml']}")
    page.wait_for_selector("pre.doctext")
    text = page.inner_text("pre.doctext")
    assert "<script>window.__xss = 1; alert(1)</script>" in text
    assert '<img src=x onerror="window.__xss_img=1">' in text
    for line in page.locator("input[name$='-description']").all():
        line.focus()  # highlighting evidence must not turn text into markup either
    ran = page.evaluate("[window.__xss, window.__xss_img, window.__xss_subject]")
    assert ran == [None, None, None]
    assert dialogs == []
    assert page.locator("pre.doctext script, pre.doctext img").count() == 0
    context.close()


def test_a_cross_site_form_post_is_refused(
    served: tuple[ReviewWorld, str], browser: object
) -> None:
    world, url = served
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    _login(page, url)
    message_id = world.ids["17-letter-ready-mat.pdf"]
    page.goto(f"{url}/items/{message_id}")
    # a form without the token, posted from the logged-in browser (session cookie sent)
    page.evaluate(
        """id => {
            const form = document.createElement('form');
            form.method = 'post';
            form.action = `/items/${id}/reject`;
            const reason = document.createElement('input');
            reason.name = 'reason';
            reason.value = 'forged';
            form.appendChild(reason);
            document.body.appendChild(form);
            HTMLFormElement.prototype.submit.call(form);
        }""",
        message_id,
    )
    page.wait_for_selector("h1:has-text('Error 403')")
    assert "CSRF" in page.inner_text("body")
    response = context.request.post(f"{url}/items/{message_id}/approve", form={"line_count": "0"})
    assert response.status == 403
    assert world.ctx.store.message_state(message_id).value == "in_review"
    context.close()


def test_chromium_is_installed_by_the_ci_script() -> None:
    script = (ROOT / ".ci" / "install-system-packages").read_text()
    assert " chromium" in script
    assert shutil.which("chromium") or not os.environ.get("CI")
