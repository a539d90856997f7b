// The dashboard's page: one self-contained HTML answer (no CDN, no external files), which polls
// the JSON API (hone/dashboard.h) and redraws the study list, the progress and the trials table.
// Everything from the storage is put into the page with textContent, never parsed as HTML.
#include <string>

#include <nlohmann/json.hpp>

#include "report/dashboard_api.h"

namespace hone::report {

namespace {

constexpr const char* kHead = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hone dashboard</title>
<link rel="icon" href="data:,">
<style>
:root { --fg:#1d2430; --muted:#667085; --line:#e4e7ec; --bg:#f7f8fa; --accent:#2f6fde;
        --ok:#1a7f37; --warn:#b54708; --bad:#c01f2f; --run:#2f6fde; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--fg); background:var(--bg); }
header { display:flex; align-items:baseline; gap:16px; padding:10px 18px; background:#fff; border-bottom:1px solid var(--line); }
header h1 { font-size:17px; margin:0; }
#storage { color:var(--muted); font-family:ui-monospace, monospace; font-size:12px; }
#status { margin-left:auto; font-size:12px; color:var(--muted); }
#status.bad { color:var(--bad); font-weight:600; }
#status .dot { display:inline-block; width:8px; height:8px; border-radius:50%; background:var(--ok); margin-right:6px; }
#layout { display:grid; grid-template-columns: 280px 1fr; min-height: calc(100vh - 44px); }
nav { background:#fff; border-right:1px solid var(--line); padding:12px; overflow:auto; }
nav h2, main h3 { font-size:12px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); margin:6px 0 10px; }
#study-list { list-style:none; margin:0; padding:0; }
#study-list li { padding:8px 10px; border-radius:6px; cursor:pointer; margin-bottom:4px; border:1px solid transparent; }
#study-list li:hover { background:var(--bg); }
#study-list li.sel { background:#eef4ff; border-color:#c7d7fe; }
#study-list .name { font-weight:600; word-break:break-all; }
#study-list .meta { color:var(--muted); font-size:12px; }
.badge { display:inline-block; font-size:11px; padding:0 6px; border-radius:9px; background:#e8f0fe; color:var(--run); margin-left:6px; font-weight:600; }
.bar { height:6px; background:var(--line); border-radius:3px; overflow:hidden; margin-top:4px; }
.bar > div { height:100%; background:var(--accent); }
main { padding:14px 20px; min-width:0; }
#study-name { margin:0 0 10px; font-size:20px; word-break:break-all; }
.cards { display:flex; flex-wrap:wrap; gap:10px; margin-bottom:12px; }
.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:6px 10px; min-width:80px; }
.card .k { font-size:11px; color:var(--muted); text-transform:uppercase; letter-spacing:.03em; }
.card .v { font-size:16px; font-weight:600; font-variant-numeric: tabular-nums; }
#progress { background:#fff; border:1px solid var(--line); border-radius:8px; padding:10px 12px; margin-bottom:14px; }
#progress .bar { height:10px; }
#progress-text { font-size:13px; color:var(--muted); }
#plots { width:100%; height:720px; border:1px solid var(--line); border-radius:8px; background:#fff; margin-bottom:14px; display:block; }
summary { cursor:pointer; list-style:none; } summary::-webkit-details-marker { display:none; }
summary h3 { display:inline-block; } summary h3::before { content:"▾ "; } details:not([open]) summary h3::before { content:"▸ "; }
#controls { display:flex; flex-wrap:wrap; gap:12px; align-items:center; margin-bottom:8px; }
#controls label { font-size:13px; }
#filter { width:280px; padding:4px 8px; border:1px solid var(--line); border-radius:6px; font-family:ui-monospace, monospace; }
#table-error { color:var(--bad); font-size:13px; }
.pager button { border:1px solid var(--line); background:#fff; border-radius:5px; padding:2px 8px; cursor:pointer; }
.pager button:disabled { opacity:.4; cursor:default; }
.table-wrap { overflow:auto; max-height:60vh; margin-bottom:14px; background:#fff; border:1px solid var(--line); border-radius:8px; }
table { border-collapse:collapse; font-size:13px; font-variant-numeric: tabular-nums; width:max-content; min-width:100%; }
th, td { padding:4px 10px; border-bottom:1px solid var(--line); text-align:right; white-space:nowrap; }
th { position:sticky; top:0; background:#f2f4f7; cursor:pointer; user-select:none; font-weight:600; }
th.p { color:#344054; font-weight:500; }
td.s, th.s { text-align:left; }
tr.new td { animation: flash 2s ease-out; }
@keyframes flash { from { background:#fff3c4; } to { background:transparent; } }
.COMPLETE { color:var(--ok); } .PRUNED { color:var(--warn); } .FAIL { color:var(--bad); }
.RUNNING { color:var(--run); } .WAITING { color:var(--muted); }
.empty { color:var(--muted); padding:20px; }
</style>
</head>
<body>
<header><h1>hone dashboard</h1><span id="storage"></span><span id="status">connecting…</span></header>
<div id="layout">
<nav><h2>Studies</h2><ul id="study-list"></ul></nav>
<main>
<div id="no-studies" class="empty" hidden></div>
<section id="study" hidden>
  <h2 id="study-name"></h2>
  <div id="summary" class="cards"></div>
  <div id="progress"><div id="progress-text"></div><div class="bar"><div id="progress-bar" style="width:0"></div></div></div>
  <details id="trials-box" open><summary><h3>Trials</h3></summary>
  <div id="controls">
    <span id="states"></span>
    <input id="filter" placeholder="filter: value&lt;0.5, lr&gt;=1e-3, optimizer=adam" spellcheck="false">
    <label>rows <select id="size"><option>25</option><option selected>50</option><option>100</option><option>500</option></select></label>
    <span class="pager"><button id="first">«</button> <button id="prev">‹</button>
      <span id="page-text"></span> <button id="next">›</button> <button id="last">»</button></span>
    <span id="table-error"></span>
  </div>
  <div class="table-wrap"><table id="trials"><thead></thead><tbody></tbody></table></div>
  </details>
  <details id="plots-box" open><summary><h3>Plots</h3></summary>
    <iframe id="plots" title="the study's plots (the report's views, live)"></iframe></details>
</section>
</main>
</div>
)HTML";

constexpr const char* kScript = R"JS(
"use strict";
const cfg = JSON.parse(document.getElementById("config").textContent);
const $ = (id) => document.getElementById(id);
// A link with ?token=... sets a cookie; the token is also sent with every request and then taken
// out of the address bar, so that a screenshot or a copied link does not show it.
const search = new URLSearchParams(location.search);
const token = search.get("token");
if (token) {
  search.delete("token");
  const rest = search.toString();
  history.replaceState(null, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
}
const headers = token ? { Authorization: "Bearer " + token } : {};

async function getJSON(url) {
  const r = await fetch(url, { headers, cache: "no-cache" });
  let body = null;
  try { body = await r.json(); } catch (e) { /* not JSON: the status says it */ }
  if (!r.ok) throw new Error((body && body.error) || r.status + " " + r.statusText);
  return body;
}

function el(tag, props, ...kids) {
  const e = document.createElement(tag);
  if (props) for (const [k, v] of Object.entries(props)) {
    if (k === "text") e.textContent = v;
    else if (k === "cls") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k);
  return e;
}

function num(v) {
  if (v === null || v === undefined) return "";
  if (typeof v !== "number") return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(4) : String(+v.toPrecision(6));
}
function dur(s) {
  if (s === null || s === undefined) return "";
  if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + Math.round(s % 60) + " s";
  return Math.floor(s / 3600) + " h " + Math.round((s % 3600) / 60) + " min";
}
function when(t) { return t ? new Date(t * 1000).toLocaleString() : ""; }

// ---------------------------------------------------------------- state (kept in the URL hash)
const STATES = ["COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING"];
const view = { study: null, page: 0, size: 50, sort: "number", order: "asc", states: [], filter: "" };
function readHash() {
  const h = new URLSearchParams(location.hash.slice(1));
  view.study = h.has("study") ? Number(h.get("study")) : null;
  view.page = Number(h.get("page") || 0);
  view.size = Number(h.get("size") || 50);
  view.sort = h.get("sort") || "number";
  view.order = h.get("order") || "asc";
  view.states = (h.get("state") || "").split(",").filter(Boolean);
  view.filter = h.get("filter") || "";
}
function writeHash() {
  const h = new URLSearchParams();
  if (view.study !== null) h.set("study", view.study);
  if (view.page) h.set("page", view.page);
  if (view.size !== 50) h.set("size", view.size);
  if (view.sort !== "number") h.set("sort", view.sort);
  if (view.order !== "asc") h.set("order", view.order);
  if (view.states.length) h.set("state", view.states.join(","));
  if (view.filter) h.set("filter", view.filter);
  history.replaceState(null, "", location.pathname + location.search + "#" + h.toString());
}
function setView(change) {
  if ("study" in change && change.study !== view.study) known = new Set();
  Object.assign(view, change); writeHash(); lastTable = ""; refresh(); }

// ---------------------------------------------------------------- studies and progress
let studies = [];
function renderList() {
  const ul = $("study-list");
  ul.replaceChildren(...studies.map((s) => {
    const meta = s.n_trials + " trials" + (s.best !== null ? " · best " + num(s.best) : "");
    const li = el("li", { cls: s.id === view.study ? "sel" : "", "data-study": s.id,
                          onclick: () => setView({ study: s.id, page: 0, filter: "", states: [], sort: "number", order: "asc" }) },
      el("div", { cls: "name", text: s.name }, s.live ? el("span", { cls: "badge", text: "running" }) : null),
      el("div", { cls: "meta", text: meta }));
    if (s.progress !== null) {
      const bar = el("div", { cls: "bar" }, el("div", { style: "width:" + (100 * s.progress).toFixed(1) + "%" }));
      li.append(bar);
    }
    return li;
  }));
  const none = $("no-studies");
  none.hidden = studies.length > 0;
  none.textContent = "No studies in " + cfg.storage + " yet. Start one (hone tune study.toml --storage ...): this page updates by itself.";
}

function card(k, v, cls) {
  return el("div", { cls: "card" }, el("div", { cls: "k", text: k }), el("div", { cls: "v " + (cls || ""), text: v }));
}
function renderSummary(s) {
  $("study-name").textContent = s.name;
  const c = s.counts;
  $("summary").replaceChildren(
    card("direction", s.direction.toLowerCase()),
    card("trials", s.n_trials),
    card("complete", c.COMPLETE, "COMPLETE"), card("pruned", c.PRUNED, "PRUNED"), card("fail", c.FAIL, "FAIL"),
    card("running", c.RUNNING, "RUNNING"), card("waiting", c.WAITING, "WAITING"),
    card("best", s.best === null ? "–" : num(s.best) + "  (#" + s.best_number + ")"),
    card("rate", s.rate_per_min ? s.rate_per_min.toFixed(1) + " /min" : "–"),
    card("last activity", s.last_activity ? when(s.last_activity) : "–"));
  let text;
  if (s.budget !== null) {
    text = s.finished + " of " + s.budget + " trials finished (" + (100 * s.progress).toFixed(1) + "%)";
    if (s.running) text += ", " + s.running + " running";
    if (s.eta_s !== null) text += " · about " + dur(s.eta_s) + " left";
  } else {
    text = s.finished + " trials finished" + (s.running ? ", " + s.running + " running" : "") + " (no trial budget stored)";
  }
  if (!s.live && s.n_trials) text += " · idle";
  $("progress-text").textContent = text;
  $("progress-bar").style.width = (s.progress !== null ? 100 * s.progress : (s.live || !s.n_trials ? 0 : 100)).toFixed(1) + "%";
}

// ---------------------------------------------------------------- trials table
let lastTable = "";
let known = new Set();  // trial numbers already shown: new ones flash
function trialsURL() {
  const q = new URLSearchParams({ page: view.page, size: view.size, sort: view.sort, order: view.order });
  if (view.states.length) q.set("state", view.states.join(","));
  if (view.filter) q.set("filter", view.filter);
  return "api/studies/" + view.study + "/trials?" + q.toString();
}
function header(key, label, cls) {
  const mark = view.sort === key ? (view.order === "asc" ? " ▲" : " ▼") : "";
  return el("th", { cls: cls || "", "data-key": key, title: "sort by " + label,
                    onclick: () => setView({ sort: key, order: view.sort === key && view.order === "asc" ? "desc" : "asc", page: 0 }) },
            label + mark);
}
function renderTable(t) {
  const cols = t.columns;
  $("trials").tHead.replaceChildren(el("tr", null,
    header("number", "#"), header("state", "state", "s"), header("value", "value"), header("duration", "duration"),
    header("step", "step"), header("start", "started", "s"),
    ...cols.map((p) => header(p, p, "p"))));
  const body = $("trials").tBodies[0];
  if (!t.rows.length) {
    body.replaceChildren(el("tr", null, el("td", { cls: "s empty", colspan: 6 + cols.length,
      text: t.total ? "no trial matches" : "no trials yet" })));
  } else {
    const first = known.size === 0;
    body.replaceChildren(...t.rows.map((r) => el("tr", { "data-number": r.number, cls: first || known.has(r.number) ? "" : "new" },
      el("td", { text: r.number }),
      el("td", { cls: "s " + r.state, text: r.state, title: r.fail_reason || "" }),
      el("td", { text: num(r.value !== null ? r.value : r.intermediate), title: r.value === null && r.intermediate !== null ? "last reported value" : "" }),
      el("td", { text: dur(r.duration_s) }),
      el("td", { text: r.step === null ? "" : r.step }),
      el("td", { cls: "s", text: when(r.start) }),
      ...cols.map((p) => el("td", { text: p in r.params ? num(r.params[p]) : "" })))));
    for (const r of t.rows) known.add(r.number);
  }
  const from = t.matched ? t.page * t.size + 1 : 0, to = Math.min(t.matched, (t.page + 1) * t.size);
  $("page-text").textContent = "page " + (t.page + 1) + " of " + t.pages + " · " + from + "–" + to + " of " + t.matched +
    (t.matched !== t.total ? " (" + t.total + " in all)" : "");
  $("first").disabled = $("prev").disabled = t.page === 0;
  $("next").disabled = $("last").disabled = t.page >= t.pages - 1;
  // For tests: what the first view held, and which study the table shows now.
  if (!document.body.dataset.firstTotal) document.body.dataset.firstTotal = t.total;
  document.body.dataset.shown = t.study;
  view.lastPages = t.pages;
  view.page = t.page;
}

function renderStateBoxes() {
  $("states").replaceChildren(...STATES.map((s) => el("label", { cls: s },
    (() => { const b = el("input", { type: "checkbox", "data-state": s, onchange: (e) => {
      const on = new Set(view.states); e.target.checked ? on.add(s) : on.delete(s);
      setView({ states: STATES.filter((x) => on.has(x)), page: 0 }); } }); b.checked = view.states.includes(s); return b; })(),
    " " + s.toLowerCase())));
}

// The plots' frame grows to its page's height (same origin), so the dashboard scrolls as one page.
function fitPlots() {
  try {
    const d = $("plots").contentDocument;
    if (d && d.body && d.body.dataset.ready) $("plots").style.height = (d.documentElement.scrollHeight + 4) + "px";
  } catch (e) { /* not loaded yet */ }
}

// ---------------------------------------------------------------- the loop
let timer = null;
async function refresh() {
  clearTimeout(timer);
  try {
    const list = await getJSON("api/studies");
    studies = list.studies;
    if (view.study === null && studies.length) {  // the study that moved last
      const last = (x) => (x.live ? 1e12 : 0) + (x.last_activity || 0);
      view.study = studies.reduce((a, b) => (last(b) > last(a) ? b : a)).id;
      writeHash();
    }
    renderList();
    const s = studies.find((x) => x.id === view.study);
    $("study").hidden = !s;
    if (s) {
      renderSummary(s);
      const plots = $("plots");
      if (plots.dataset.study !== String(s.id)) {  // the report's live page: it redraws by itself
        plots.dataset.study = s.id;
        plots.src = "study/" + s.id;
      }
      fitPlots();
      const url = trialsURL();
      const key = url + "|" + s.version;
      if (key !== lastTable) {
        try {
          const t = await getJSON(url);
          renderTable(t);
          $("table-error").textContent = "";
        } catch (e) {
          $("table-error").textContent = e.message;
        }
        lastTable = key;
      }
    }
    $("status").className = "";
    $("status").replaceChildren(el("span", { cls: "dot" }), "live · updated " + new Date().toLocaleTimeString());
    document.body.dataset.ready = "1";
  } catch (e) {
    $("status").className = "bad";
    $("status").textContent = "cannot reach the dashboard server (" + e.message + "); retrying";
  }
  timer = setTimeout(refresh, cfg.refresh_s * 1000);
}

readHash();
$("storage").textContent = cfg.storage;
$("size").value = String(view.size);
$("filter").value = view.filter;
renderStateBoxes();
$("size").addEventListener("change", (e) => setView({ size: Number(e.target.value), page: 0 }));
let typing = null;
$("filter").addEventListener("input", (e) => {
  clearTimeout(typing);
  typing = setTimeout(() => setView({ filter: e.target.value.trim(), page: 0 }), 400);
});
$("first").addEventListener("click", () => setView({ page: 0 }));
$("prev").addEventListener("click", () => setView({ page: Math.max(0, view.page - 1) }));
$("next").addEventListener("click", () => setView({ page: view.page + 1 }));
$("last").addEventListener("click", () => setView({ page: (view.lastPages || 1) - 1 }));
window.addEventListener("hashchange", () => { readHash(); renderStateBoxes(); lastTable = ""; known = new Set(); refresh(); });
$("plots").addEventListener("load", () => setTimeout(fitPlots, 500));
refresh();
)JS";

}  // namespace

std::string dashboard_page(const std::string& storage_label, double refresh_s) {
  // JSON inside <script>: "<" escaped so that no value can close the element.
  std::string config = nlohmann::json{{"storage", storage_label}, {"refresh_s", refresh_s}}.dump();
  std::string safe;
  for (char c : config) safe += c == '<' ? std::string("\\u003c") : std::string(1, c);
  return std::string(kHead) + "<script id=\"config\" type=\"application/json\">" + safe + "</script>\n<script>" +
         kScript + "</script>\n</body>\n</html>\n";
}

}  // namespace hone::report
