// intake review: highlight where a value was read, and search the catalog for a product.
// Document text is only ever inserted as text nodes (never as HTML).
"use strict";

function clearHighlights() {
  document.querySelectorAll(".hl").forEach((el) => el.remove());
  document.querySelectorAll("pre.doctext[data-plain]").forEach((pre) => {
    pre.textContent = pre.dataset.plain;
    delete pre.dataset.plain;
  });
}

function highlightText(ev) {
  const pres = document.querySelectorAll("pre.doctext");
  for (const pre of pres) {
    if (pre.dataset.doc !== ev.doc) continue;
    const start = Number(pre.dataset.start);
    const text = pre.textContent;
    if (ev.start < start || ev.start >= start + Math.max(text.length, 1)) continue;
    const a = ev.start - start;
    const b = Math.min(text.length, ev.end - start);
    pre.dataset.plain = text;
    const mark = document.createElement("mark");
    mark.className = "evidence";
    mark.textContent = text.slice(a, b);
    pre.replaceChildren(document.createTextNode(text.slice(0, a)), mark,
      document.createTextNode(text.slice(b)));
    const details = pre.closest("details");
    if (details && !ev.boxes.length) details.open = true;
    return mark;
  }
  return null;
}

function highlightPage(ev) {
  const page = document.querySelector(
    `figure.page[data-doc="${CSS.escape(ev.doc)}"][data-page="${Number(ev.page)}"]`);
  if (!page || !ev.boxes.length) return null;
  let first = null;
  for (const [x0, y0, x1, y1] of ev.boxes) {
    const box = document.createElement("div");
    box.className = "hl";
    box.style.left = `${x0 * 100}%`;
    box.style.top = `${y0 * 100}%`;
    box.style.width = `${(x1 - x0) * 100}%`;
    box.style.height = `${(y1 - y0) * 100}%`;
    page.appendChild(box);
    first = first || box;
  }
  return first;
}

function showEvidence(el) {
  clearHighlights();
  let ev;
  try { ev = JSON.parse(el.dataset.ev); } catch { return; }
  const target = highlightPage(ev) || highlightText(ev);
  if (target) target.scrollIntoView({ block: "center" });
}

document.addEventListener("focusin", (e) => {
  const el = e.target.closest && e.target.closest("[data-ev]");
  if (el) showEvidence(el);
});

function setProduct(row, id, label, uom) {
  row.querySelector(".product-id").value = String(id);
  const name = row.querySelector(".product-name");
  name.textContent = label;
  name.classList.remove("missing");
  name.classList.add("changed");
  const uomInput = row.querySelector("input.uom");
  if (uom && uomInput) uomInput.value = uom;
  const results = row.querySelector(".product-results");
  results.replaceChildren();
  results.hidden = true;
}

let searchTimer = null;
async function search(input) {
  const row = input.closest("tr");
  const results = row.querySelector(".product-results");
  const q = input.value.trim();
  if (!q) { results.replaceChildren(); results.hidden = true; return; }
  const base = document.querySelector("a.brand").getAttribute("href").replace(/\/$/, "");
  const response = await fetch(`${base}/api/products?q=${encodeURIComponent(q)}`,
    { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) return;
  const products = await response.json();
  if (input.value.trim() !== q) return; // a newer search is under way
  results.replaceChildren(...products.map((p) => {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "result";
    button.dataset.id = p.id;
    const label = (p.code ? `[${p.code}] ` : "") + p.name;
    button.textContent = `${label} · ${p.uom} · ${p.price}`;
    button.addEventListener("click", () => { setProduct(row, p.id, label, p.uom); input.value = ""; });
    li.appendChild(button);
    return li;
  }));
  if (!products.length) {
    const li = document.createElement("li");
    li.textContent = "no product found";
    results.appendChild(li);
  }
  results.hidden = false;
}

document.addEventListener("input", (e) => {
  if (!e.target.classList.contains("product-search")) return;
  clearTimeout(searchTimer);
  const input = e.target;
  searchTimer = setTimeout(() => search(input), 150);
});

document.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && e.target.classList.contains("product-search")) {
    e.preventDefault(); // Enter searches; it never submits the order
    search(e.target);
  }
});

document.addEventListener("click", (e) => {
  const pick = e.target.closest && e.target.closest("button.pick");
  if (pick) setProduct(pick.closest("tr"), pick.dataset.id, pick.dataset.name, pick.dataset.uom);
});
