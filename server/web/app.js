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
        el("span", { class: "badge inferred" }, `confidence ${p.confidence.toFixed(2)}`), el("span", { class: "meta" }, ` ${p.method}`)]),
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
let lastRequest = null;

async function makePlan(target, known, upTo, full) {
  $("plan-status").textContent = "planning…";
  try {
    lastRequest = { targets: [target], known, up_to_layer: upTo || null, full: Boolean(full) };
    const plan = await api("/v1/gap", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...lastRequest, graph: true }),
    });
    lastPlan = plan;
    $("plan-markdown").hidden = true;
    const minutes = plan.total_minutes ? `, about ${plan.total_minutes} minutes` : "";
    $("plan-status").textContent = `${plan.missing.length} concepts to learn before ${plan.targets.join(", ")}${minutes}`;
    if (plan.omitted) {  // the plan lists the nearest prerequisites; the rest are one click away
      const all = new URLSearchParams(location.hash.split("?")[1] || "");
      all.set("full", "1");
      $("plan-status").append(` (${plan.omitted} deeper prerequisites not listed: `,
        el("a", { id: "plan-full", href: `${location.hash.split("?")[0]}?${all}` }, "list all"), ")");
    }
    $("plan").replaceChildren(...plan.missing.map((i) => el("li", { "data-id": i.id },
      conceptLink(i.id, i.label), " ", layerBadge(i),
      i.minutes ? el("span", { class: "meta" }, ` ${i.minutes} min`) : null,
      i.via_inferred ? el("span", { class: "badge inferred", title: "rests on an inferred edge" }, `inferred ${i.confidence.toFixed(2)}`) : null,
      el("div", { class: "why" }, `via ${i.why.join(" → ")}`))));
    drawPlan(plan.graph);
  } catch (err) {
    $("plan-status").textContent = err.message;
    $("plan").replaceChildren();
    $("plan-figure").hidden = true;
  }
}

// The drawing: one row per depth (a concept sits below everything it needs), fill colour = layer
// (the palette of `ckg path -f dot`), the target outlined, known concepts grey, stubs dashed,
// inferred edges dashed with their confidence. Each node links to its concept page.
const SVG = "http://www.w3.org/2000/svg";
const BOX = { w: 168, h: 42, gapX: 18, gapY: 58, pad: 12 };

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) node.setAttribute(k, v);
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function layout(graph) {
  const prereqs = new Map(graph.nodes.map((n) => [n.id, []]));
  const dependents = new Map(graph.nodes.map((n) => [n.id, []]));
  for (const e of graph.edges) {
    prereqs.get(e.dependent).push(e.prerequisite);
    dependents.get(e.prerequisite).push(e.dependent);
  }
  const depth = new Map();
  const depthOf = (id) => {
    if (!depth.has(id)) depth.set(id, Math.max(-1, ...prereqs.get(id).map(depthOf)) + 1);
    return depth.get(id);
  };
  const rows = [];
  for (const n of graph.nodes) (rows[depthOf(n.id)] ||= []).push(n);
  const step = BOX.w + BOX.gapX;
  const x = new Map();
  const mean = (ids, fallback) => (ids.length ? ids.reduce((a, id) => a + x.get(id), 0) / ids.length : fallback);
  // Place a row left to right, each node as near its wanted x as the ones before it allow.
  const place = (row, wanted) => {
    row.sort((a, b) => wanted(a) - wanted(b));
    let next = BOX.pad;
    for (const n of row) { const at = Math.max(next, wanted(n)); x.set(n.id, at); next = at + step; }
  };
  // Barycentre sweeps (Sugiyama style): down from the foundations, up from the target, down again.
  rows.forEach((row, r) => place(row, (n) => (r === 0 ? BOX.pad + row.indexOf(n) * step : mean(prereqs.get(n.id), BOX.pad))));
  for (let r = rows.length - 2; r >= 0; r--) {
    place(rows[r], (n) => mean(dependents.get(n.id).filter((d) => depth.get(d) > r), x.get(n.id)));
  }
  rows.forEach((row, r) => { if (r > 0) place(row, (n) => mean(prereqs.get(n.id), x.get(n.id))); });
  const left = Math.min(...x.values()) - BOX.pad;
  const pos = new Map();
  rows.forEach((row, r) => row.forEach((n) => pos.set(n.id, { x: x.get(n.id) - left, y: BOX.pad + r * (BOX.h + BOX.gapY) })));
  const width = Math.max(...[...pos.values()].map((p) => p.x)) + BOX.w + BOX.pad;
  return { pos, width, height: 2 * BOX.pad + rows.length * (BOX.h + BOX.gapY) - BOX.gapY };
}

function facts(n) {
  const parts = [];
  if (n.layer) parts.push(`L${n.layer}${n.layer_inferred ? "~" : ""}`);
  if (n.minutes !== null && n.minutes !== undefined) parts.push(`${n.minutes}${n.minutes_inferred ? "~" : ""} min`);
  if (n.stub) parts.push("stub");
  if (n.role === "known") parts.push("known");
  return parts.join(" · ");
}

const DARK = new Set(["4", "5"]);
const clip = (text, max) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

function drawPlan(graph) {
  if (!graph || !graph.nodes.length) { $("plan-figure").hidden = true; return; }
  const { pos, width, height } = layout(graph);
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": `Prerequisite graph: ${graph.nodes.length} concepts, ${graph.edges.length} edges` });
  root.append(svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5,
    markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#5a6472" }))));
  for (const e of graph.edges) {
    const a = pos.get(e.prerequisite), b = pos.get(e.dependent);
    const x1 = a.x + BOX.w / 2, y1 = a.y + BOX.h, x2 = b.x + BOX.w / 2, y2 = b.y;
    const midY = (y1 + y2) / 2;
    const g = svg("g", { class: e.inferred ? "edge inferred" : "edge", "data-from": e.prerequisite, "data-to": e.dependent },
      svg("path", { d: `M${x1},${y1} C${x1},${midY} ${x2},${midY} ${x2},${y2}`, "marker-end": "url(#arrow)" }));
    if (e.inferred) g.append(svg("text", { x: (x1 + x2) / 2, y: midY - 3, class: "confidence" }, e.confidence.toFixed(2)));
    root.append(g);
  }
  for (const n of graph.nodes) {
    const p = pos.get(n.id);
    const classes = ["node", n.role, n.stub ? "stub" : "", DARK.has(n.layer) && n.role !== "known" ? "dark" : ""];
    root.append(svg("a", { href: `#/concept/${encodeURIComponent(n.id)}`, class: classes.join(" ").trim(), "data-id": n.id },
      svg("title", {}, `${n.label} (${n.role}${facts(n) ? `; ${facts(n)}` : ""})`),
      svg("rect", { x: p.x, y: p.y, width: BOX.w, height: BOX.h, rx: 6, fill: n.colour }),
      svg("text", { x: p.x + 8, y: p.y + 17 }, clip(n.label, 24)),
      svg("text", { x: p.x + 8, y: p.y + 33, class: "facts" }, facts(n))));
  }
  $("plan-graph").replaceChildren(root);
  const swatch = (cls, style) => el("span", { class: `swatch ${cls}`, style });
  const legend = graph.legend.map((l) => el("li", {}, swatch("", `background:${l.colour}`), `layer ${l.layer}`));
  legend.push(el("li", {}, swatch("target", ""), "target"));
  if (graph.nodes.some((n) => n.role === "known")) legend.push(el("li", {}, swatch("known", ""), "known (greyed)"));
  if (graph.nodes.some((n) => n.stub)) legend.push(el("li", {}, swatch("stub", ""), "stub: no source describes it"));
  legend.push(el("li", {}, "→ prerequisite to what needs it"));
  if (graph.edges.some((e) => e.inferred)) legend.push(el("li", {}, "⇢ dashed: inferred, with its confidence"));
  legend.push(el("li", {}, "~ inferred layer or minutes"));
  $("plan-legend").replaceChildren(...legend);
  $("plan-figure").hidden = false;
}

// Suggestions for the target and the known concepts: lexical search as you type (ids as values,
// labels shown beside them), so a concept is picked by name, never guessed.
let suggestTimer = null;

async function suggest(text) {
  if (text.trim().length < 2) return;
  try {
    const res = await api(`/v1/search?q=${encodeURIComponent(text)}&k=8&mode=lexical`);
    $("concept-suggestions").replaceChildren(...res.hits.map((h) => el("option", { value: h.id, label: h.label })));
  } catch { /* suggestions are a convenience: the plan itself reports bad names */ }
}

function addKnown(onlySuggested) {
  const id = $("plan-add").value.trim();
  const suggested = [...$("concept-suggestions").options].some((o) => o.value === id);
  if (!id || (onlySuggested && !suggested)) return;  // leaving the field with half a name adds nothing
  const known = $("plan-known").value.split(",").map((s) => s.trim()).filter(Boolean);
  if (!known.includes(id)) known.push(id);
  $("plan-known").value = known.join(",");
  $("plan-add").value = "";
}

async function planMarkdown(plan) {
  const lines = [`# Learning plan for ${plan.targets.join(", ")}`, ""];
  plan.missing.forEach((i) => lines.push(`${i.step}. ${i.label}${i.minutes ? ` (${i.minutes} min)` : ""}${i.via_inferred ? " *(inferred)*" : ""}`));
  lines.push("", `${plan.total_minutes} minutes in total.`);
  if (plan.omitted) lines.push("", `${plan.omitted} deeper prerequisites are not listed.`);
  // The picture as the server draws it (the same as `ckg gap -f mermaid`): Markdown viewers render it.
  const picture = await api("/v1/gap", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/vnd.mermaid" },
    body: JSON.stringify(lastRequest),
  });
  lines.push("", "```mermaid", picture.trimEnd(), "```");
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
        el("tbody", {}, rows.map((r) => el("tr", {}, vars.map((v) => el("td", {}, cell(r[v]))))))));
    }
  } catch (err) {
    $("sparql-status").textContent = "";
    const where = /at (\d+):(\d+)/.exec(err.message);  // the engine reports line:column (1-based)
    $("sparql-result").replaceChildren(el("p", { class: "error" }, err.message,
      where ? el("span", { class: "position" }, ` (line ${where[1]}, column ${where[2]})`) : null));
    if (where) selectPosition($("sparql-query"), Number(where[1]), Number(where[2]));
  }
}

const CONCEPT_IRI = /^https?:\/\/\S*\/concept\/([a-z0-9-]+)$/;  // a concept's IRI opens its page

function cell(term) {
  if (!term) return "";
  const m = term.type === "uri" ? CONCEPT_IRI.exec(term.value) : null;
  return m ? el("a", { href: `#/concept/${m[1]}`, title: "open the concept" }, term.value) : term.value;
}

function selectPosition(area, line, column) {
  const lines = area.value.split("\n");
  let offset = 0;
  for (let i = 0; i < Math.min(line - 1, lines.length); i++) offset += lines[i].length + 1;
  offset = Math.min(offset + column - 1, area.value.length);
  area.focus();
  area.setSelectionRange(offset, Math.min(offset + 1, area.value.length));
}

let namedQueries = [];

async function loadNamedQueries() {
  try {
    namedQueries = await api("/v1/queries");
    $("named-query").append(...namedQueries.map((q) => el("option", { value: q.name }, q.name)));
  } catch (err) {
    $("named-description").textContent = `named queries unavailable: ${err.message}`;
  }
}

async function insertNamed(name, target) {
  const q = namedQueries.find((x) => x.name === name);
  if (!q) { $("named-description").textContent = ""; $("named-target-box").hidden = true; return; }
  $("named-description").textContent = q.description;
  $("named-target-box").hidden = !q.params.length;
  if (q.params.length && !target) return;  // wait for the concept
  try {
    const path = `/v1/queries/${encodeURIComponent(name)}` + (target ? `?target=${encodeURIComponent(target)}` : "");
    $("sparql-query").value = (await api(path)).text;
  } catch (err) {
    $("named-description").textContent = err.message;
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
    const params = new URLSearchParams(query || "");
    const known = params.get("known");
    const upTo = params.get("upto") || "";
    $("plan-target").value = target;
    $("plan-known").value = known || "";
    $("plan-layer").value = upTo;
    makePlan(target, known ? known.split(",").map((s) => s.trim()).filter(Boolean) : [], upTo, params.get("full") === "1");
  }
}

$("q").addEventListener("input", (e) => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => search(e.target.value), 150);
});
for (const id of ["plan-target", "plan-add"]) {
  $(id).addEventListener("input", (e) => {
    clearTimeout(suggestTimer);
    suggestTimer = setTimeout(() => suggest(e.target.value), 120);
  });
}
$("plan-add").addEventListener("change", () => addKnown(true));
$("plan-add").addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); addKnown(false); } });
$("plan-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const known = $("plan-known").value.split(",").map((s) => s.trim()).filter(Boolean);
  const params = new URLSearchParams();
  if (known.length) params.set("known", known.join(","));
  if ($("plan-layer").value) params.set("upto", $("plan-layer").value);
  const suffix = params.toString() ? `?${params}` : "";
  location.hash = `#/plan/${encodeURIComponent($("plan-target").value.trim())}${suffix}`;  // a shareable URL
});
$("plan-md").addEventListener("click", async () => {
  if (!lastPlan) return;
  const md = await planMarkdown(lastPlan);
  $("plan-markdown").textContent = md;  // shown too, to select by hand where the clipboard is not allowed
  $("plan-markdown").hidden = false;
  try { await navigator.clipboard.writeText(md); $("plan-status").textContent = "copied as Markdown"; }
  catch { $("plan-status").textContent = "the Markdown is below (the clipboard is not available here)"; }
});
$("named-query").addEventListener("change", (e) => insertNamed(e.target.value, $("named-target").value.trim()));
$("named-form").addEventListener("submit", (e) => {
  e.preventDefault();
  insertNamed($("named-query").value, $("named-target").value.trim());
});
$("sparql-form").addEventListener("submit", (e) => { e.preventDefault(); runSparql($("sparql-query").value); });
window.addEventListener("hashchange", route);
loadNamedQueries();
route();
