// ckg explorer: vanilla JS over ckg's own HTTP API (same origin, nothing fetched from elsewhere).
"use strict";

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, options = {}) {
  const resp = await fetch(path, options);
  const type = resp.headers.get("content-type") || "";
  if (!resp.ok) {
    let detail = `${resp.status} ${resp.statusText}`;
    if (type.includes("json")) {
      const body = await resp.json();
      detail = body.detail || detail;  // a 404's detail already names the suggestions
    }
    throw new Error(detail);
  }
  return type.includes("json") ? resp.json() : resp.text();
}

const conceptLink = (id, label) => el("a", { href: `#/concept/${encodeURIComponent(id)}` }, label || id);

// ------------------------------------------------------------------ explore
let searchTimer = null;
let searchAbort = null;

function why(evidence) {
  const parts = [];
  if (evidence.lexical) {
    parts.push(evidence.lexical.matched_label ? `label "${evidence.lexical.matched_label}"` : `words #${evidence.lexical.rank}`);
  }
  if (evidence.dense) {
    parts.push(`meaning #${evidence.dense.rank}` + (evidence.dense.matched_text ? ` (${evidence.dense.matched_text})` : ""));
  }
  if (evidence.graph) parts.push(`near ${evidence.graph.anchor}`);
  return parts.join(" · ");
}

function layerBadge(doc) {
  if (!doc.layer) return null;
  return el("span", { class: doc.layer_inferred ? "badge inferred" : "badge", title: doc.layer_inferred ? "inferred layer" : "stated layer" }, `L${doc.layer}`);
}

async function search(query) {
  if (searchAbort) searchAbort.abort();
  if (!query.trim()) { $("hits").replaceChildren(); $("search-status").textContent = ""; return; }
  searchAbort = new AbortController();
  try {
    const res = await api(`/v1/search?q=${encodeURIComponent(query)}&k=10`, { signal: searchAbort.signal });
    $("search-status").textContent = `${res.hits.length} concepts`;
    $("hits").replaceChildren(...res.hits.map((h) =>
      el("li", { "data-id": h.id }, conceptLink(h.id, h.label), " ", layerBadge(h),
        el("div", { class: "why" }, why(h.evidence)))));
  } catch (err) {
    if (err.name !== "AbortError") $("search-status").textContent = err.message;
  }
}

function itemList(title, items, render) {
  if (!items || !items.length) return null;
  return el("section", {}, el("h3", {}, title), el("ul", {}, items.map((x) => el("li", {}, render(x)))));
}

async function showConcept(id) {
  const box = $("concept");
  box.replaceChildren(el("p", { role: "status" }, "loading…"));
  try {
    const [c, similar] = await Promise.all([
      api(`/v1/concepts/${encodeURIComponent(id)}`),
      api(`/v1/similar/${encodeURIComponent(id)}?k=5`).catch(() => ({ hits: [] })),
    ]);
    const relations = Object.entries(c.relations || {}).map(([kind, facts]) =>
      itemList(kind.replace("_", " "), facts, (f) => [conceptLink(f.id), el("span", { class: "meta" }, ` ${f.evidence || ""}`)]));
    const parts = [
      el("h2", { id: "concept-title" }, c.label), layerBadge(c),
      c.minutes ? el("span", { class: c.minutes_inferred ? "badge inferred" : "badge" }, `${c.minutes} min`) : null,
      c.stub ? el("span", { class: "badge" }, "stub: no source describes it") : null,
      el("p", {}, c.definition || ""),
      el("p", { class: "meta" }, (c.sources || []).map((s) => `${s.source} (${s.file}:${s.line})`).join(" · ")),
      el("p", {}, el("a", { href: `#/plan/${encodeURIComponent(c.id)}` }, "Learning plan for this concept")),
      itemList("Prerequisites (stated)", c.prerequisites, (p) => [conceptLink(p.id, p.label), el("span", { class: "meta" }, ` ${p.file}:${p.line}`)]),
      itemList("Prerequisites (inferred)", c.inferred_prerequisites, (p) => [conceptLink(p.id),
        el("span", { class: "badge inferred" }, `confidence ${p.confidence}`), el("span", { class: "meta" }, ` ${p.method}`)]),
      ...relations,
      itemList("Needed by", c.dependents, (d) => conceptLink(d.id, d.label)),
      itemList("Similar", similar.hits, (h) => conceptLink(h.id, h.label)),
    ];
    box.replaceChildren(...parts.filter((x) => x !== null && x !== undefined));
  } catch (err) {
    box.replaceChildren(el("p", { class: "error" }, err.message));
  }
}

// --------------------------------------------------------------------- plan
let lastPlan = null;

async function makePlan(target, known) {
  $("plan-status").textContent = "planning…";
  try {
    const plan = await api("/v1/gap", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ targets: [target], known }),
    });
    lastPlan = plan;
    const minutes = plan.total_minutes ? `, about ${plan.total_minutes} minutes` : "";
    $("plan-status").textContent = `${plan.missing.length} concepts to learn before ${plan.targets.join(", ")}${minutes}`;
    $("plan").replaceChildren(...plan.missing.map((i) => el("li", { "data-id": i.id },
      conceptLink(i.id, i.label), " ", layerBadge(i),
      i.minutes ? el("span", { class: "meta" }, ` ${i.minutes} min`) : null,
      i.via_inferred ? el("span", { class: "badge inferred", title: "rests on an inferred edge" }, `inferred ${i.confidence}`) : null,
      el("div", { class: "why" }, `via ${i.why.join(" → ")}`))));
  } catch (err) {
    $("plan-status").textContent = err.message;
    $("plan").replaceChildren();
  }
}

function planMarkdown(plan) {
  const lines = [`# Learning plan for ${plan.targets.join(", ")}`, ""];
  plan.missing.forEach((i) => lines.push(`${i.step}. ${i.label}${i.minutes ? ` (${i.minutes} min)` : ""}${i.via_inferred ? " *(inferred)*" : ""}`));
  return lines.join("\n") + "\n";
}

// ------------------------------------------------------------------- sparql
async function runSparql(query) {
  $("sparql-status").textContent = "running…";
  $("sparql-result").replaceChildren();
  try {
    const body = await api(`/sparql?query=${encodeURIComponent(query)}`, {
      headers: { accept: "application/sparql-results+json, text/turtle;q=0.9" },
    });
    if (typeof body === "string") {
      $("sparql-status").textContent = "graph (Turtle)";
      $("sparql-result").replaceChildren(el("pre", {}, body));
    } else if ("boolean" in body) {
      $("sparql-status").textContent = `ASK: ${body.boolean}`;
    } else {
      const vars = body.head.vars;
      const rows = body.results.bindings;
      $("sparql-status").textContent = `${rows.length} rows`;
      $("sparql-result").replaceChildren(el("table", {},
        el("thead", {}, el("tr", {}, vars.map((v) => el("th", { scope: "col" }, v)))),
        el("tbody", {}, rows.map((r) => el("tr", {}, vars.map((v) => el("td", {}, r[v] ? r[v].value : "")))))));
    }
  } catch (err) {
    $("sparql-status").textContent = "";
    $("sparql-result").replaceChildren(el("p", { class: "error" }, err.message));
  }
}

// ------------------------------------------------------------------- routing
function route() {
  const parts = location.hash.replace(/^#/, "").split("/");
  const view = parts[1];
  const arg = parts.slice(2).join("/");
  const name = view === "plan" || view === "sparql" ? view : "explore";
  for (const v of ["explore", "plan", "sparql"]) {
    $(`view-${v}`).hidden = v !== name;
    $(`nav-${v}`).toggleAttribute("aria-current", v === name);
  }
  if (name === "explore" && view === "concept" && arg) showConcept(decodeURIComponent(arg));
  if (name === "plan" && arg) {
    const [raw, query] = arg.split("?");
    const target = decodeURIComponent(raw);
    const known = new URLSearchParams(query || "").get("known");
    $("plan-target").value = target;
    $("plan-known").value = known || "";
    makePlan(target, known ? known.split(",").map((s) => s.trim()).filter(Boolean) : []);
  }
}

$("q").addEventListener("input", (e) => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => search(e.target.value), 150);
});
$("plan-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const known = $("plan-known").value.split(",").map((s) => s.trim()).filter(Boolean);
  const suffix = known.length ? `?known=${encodeURIComponent(known.join(","))}` : "";
  location.hash = `#/plan/${encodeURIComponent($("plan-target").value.trim())}${suffix}`;  // a shareable URL
});
$("plan-md").addEventListener("click", async () => {
  if (!lastPlan) return;
  const md = planMarkdown(lastPlan);
  try { await navigator.clipboard.writeText(md); $("plan-status").textContent = "copied as Markdown"; }
  catch { $("plan").replaceChildren(el("pre", {}, md)); }
});
$("sparql-form").addEventListener("submit", (e) => { e.preventDefault(); runSparql($("sparql-query").value); });
window.addEventListener("hashchange", route);
route();
