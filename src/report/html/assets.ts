/**
 * The HTML report's one style sheet and one script, inline. They are constants so that the
 * Content-Security-Policy can name them by SHA-256 hash (CSP Level 3 §8.4 "hash-source"): no
 * 'unsafe-inline' for either, so text from the wire that somehow became markup could neither run
 * script nor style the page. The page therefore uses no `style="…"` attributes and no `on…=`
 * handlers; the script attaches its listeners itself.
 */
import { createHash } from "node:crypto";

/** The verdict banner's background and text colours (the browser test looks for them on screen). */
export const VERDICT_COLOURS = {
  fail: { background: "#c5221f", ink: "#ffffff" },
  warn: { background: "#e8a200", ink: "#3d2b00" },
  pass: { background: "#1e8e3e", ink: "#ffffff" },
  inconclusive: { background: "#4b5563", ink: "#ffffff" },
} as const;

export const CSS = `
:root{--err:${VERDICT_COLOURS.fail.background};--warn:${VERDICT_COLOURS.warn.background};--warn-ink:${VERDICT_COLOURS.warn.ink};--info:#6b7280;--ok:${VERDICT_COLOURS.pass.background};--ink:#1f2430;--muted:#5f6673;--line:#d8dce3;--bg:#f4f5f7;--card:#fff;--accent:#1a5fd0}
*{box-sizing:border-box}
html{font:14px/1.45 "Liberation Sans",Arial,"DejaVu Sans",system-ui,sans-serif;color:var(--ink);background:var(--bg)}
body{margin:0}
main{max-width:1240px;margin:0 auto;padding:0 20px 40px}
code,pre,.mono{font-family:"DejaVu Sans Mono","Liberation Mono",Consolas,monospace;font-size:12.5px}
a{color:var(--accent)}
h2{font-size:19px;margin:28px 0 10px;padding-bottom:4px;border-bottom:2px solid var(--line)}
h3{font-size:16px;margin:18px 0 8px}
.top{color:#fff;padding:16px 20px 14px}
.top.fail{background:var(--err);color:${VERDICT_COLOURS.fail.ink}}.top.warn{background:var(--warn);color:var(--warn-ink)}.top.pass{background:var(--ok);color:${VERDICT_COLOURS.pass.ink}}.top.inconclusive{background:${VERDICT_COLOURS.inconclusive.background};color:${VERDICT_COLOURS.inconclusive.ink}}
.top-in{max-width:1200px;margin:0 auto;display:flex;align-items:center;gap:24px}
.top-in>div:last-child{flex:1 1 auto;min-width:0;overflow-wrap:anywhere}
@media (max-width:640px){.top-in{flex-wrap:wrap}}
.why{font-weight:700;margin-bottom:4px}.verdict{flex:none;font-size:44px;font-weight:700;letter-spacing:2px;line-height:1;padding:10px 18px;border:3px solid currentColor;border-radius:8px}
.counts{font-size:20px;font-weight:700}
.facts{font-size:13.5px;margin-top:4px;opacity:.92}
.tool{font-size:12px;opacity:.85;margin-top:2px}
nav{background:#fff;border-bottom:1px solid var(--line);position:sticky;top:0;z-index:2}
nav div{max-width:1240px;margin:0 auto;padding:6px 20px;display:flex;gap:18px;flex-wrap:wrap}
nav a{text-decoration:none;font-weight:600}
.headline{margin:14px 0 0;padding:0;display:grid;gap:6px}
.headline li{list-style:none}
.headline a{color:inherit;text-decoration:none}.headline a:hover{text-decoration:underline}
.pill{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;font-weight:700;color:#fff;white-space:nowrap}
.s-error{background:var(--err)}.s-warning{background:var(--warn);color:var(--warn-ink)}.s-info{background:var(--info)}.s-ok{background:var(--ok)}.s-none{background:#9aa1ab}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px;margin:10px 0}
.finding{border-left:6px solid var(--info)}
.finding.error{border-left-color:var(--err)}.finding.warning{border-left-color:var(--warn)}
.finding .msg{font-size:15px;margin:6px 0}
.finding dl{display:grid;grid-template-columns:120px 1fr;gap:3px 10px;margin:8px 0 0}
.finding dt{color:var(--muted)}
.finding dd{margin:0;overflow-wrap:anywhere}
.filter{display:flex;align-items:stretch;gap:6px}
.filter pre{flex:1;margin:0;padding:6px 8px;background:#0f172a;color:#e2e8f0;border-radius:5px;white-space:pre-wrap;overflow-wrap:anywhere}
button{font:inherit;font-size:12.5px;cursor:pointer;border:1px solid #b8bfca;background:#fff;border-radius:5px;padding:3px 10px}
button:hover{background:#eef2f8}
.convlist{margin:2px 0;padding-left:18px}
.convlist li{margin:1px 0}
.muted{color:var(--muted)}
.diagram{background:#fff;border:1px solid var(--line);border-radius:8px;padding:8px;overflow-x:auto}
.diagram svg{display:block;max-width:100%;height:auto;margin:0 auto}
.legend{display:flex;gap:16px;flex-wrap:wrap;margin:6px 2px;font-size:13px}
.legend span.sw{display:inline-block;width:22px;height:4px;vertical-align:middle;margin-right:5px;border-radius:2px}
.sw.s-error{background:var(--err)}.sw.s-warning{background:var(--warn)}.sw.s-info{background:#9aa1ab}.sw.s-ok{background:var(--ok)}
svg .edge{cursor:pointer}
svg .edge:hover path,svg .edge:focus path{stroke-width:4}
svg .edge:focus{outline:none}
.tablewrap{overflow-x:auto;background:#fff;border:1px solid var(--line);border-radius:8px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:4px 6px;border-bottom:1px solid #e7e9ee;text-align:left;vertical-align:top}
th{background:#eef0f4;position:sticky;top:0;user-select:none;font-size:12px}
th.sortable{cursor:pointer}
th.sortable::after{content:"\\00a0\\2195";color:#9aa1ab}
th[aria-sort=ascending]::after{content:"\\00a0\\25B2";color:var(--ink)}
th[aria-sort=descending]::after{content:"\\00a0\\25BC";color:var(--ink)}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.wrap{min-width:200px;overflow-wrap:anywhere}
.nw{white-space:nowrap}
td .role{font-family:"Liberation Sans",Arial,sans-serif;font-size:12px;color:var(--muted)}
tr.r-error td:first-child{box-shadow:inset 4px 0 var(--err)}
tr.r-warning td:first-child{box-shadow:inset 4px 0 var(--warn)}
tr.r-ok td:first-child{box-shadow:inset 4px 0 var(--ok)}
tr[hidden]{display:none}
.filterbar{margin:6px 0;padding:6px 10px;background:#fff7d6;border:1px solid #ecd98a;border-radius:6px}
.filterbar[hidden]{display:none}
.empty{color:var(--muted);font-style:italic}
footer{margin-top:30px;font-size:12px;color:var(--muted)}
.hn,.hl{font-family:"Liberation Sans",Arial,sans-serif;font-size:12px;color:var(--muted);overflow-wrap:anywhere;white-space:normal}
.hn{color:#2b4f86}
td.ep{min-width:130px;max-width:240px}
.checklist{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:10px}
.card.host{margin:0;border-left:6px solid var(--info)}
.card.host.error{border-left-color:var(--err)}.card.host.warning{border-left-color:var(--warn)}
.ch-host{overflow-wrap:anywhere}
.ch-host .role,.fhosts .role{font-size:12px;color:var(--muted)}
.fhosts{display:flex;flex-wrap:wrap;gap:4px 18px}
.checks{margin:8px 0 0;padding:0;list-style:none;display:grid;gap:8px}
.checks li{overflow-wrap:anywhere}
.port{background:#eef0f4;border-radius:4px;padding:0 5px;white-space:nowrap}
.until{margin-top:2px}
.notseen{padding-left:18px}.notseen>li{margin:6px 0;overflow-wrap:anywhere}.notseen ul{margin:2px 0;padding-left:18px}
@media (min-width:1380px){main,nav div{max-width:1360px}.top-in{max-width:1320px}}
@media (max-width:640px){
main{padding:0 10px 30px}
.top{padding:12px 10px}
.top-in{gap:10px}
.verdict{font-size:28px;letter-spacing:1px;padding:6px 10px}
.counts{font-size:17px}
nav div{padding:6px 10px;gap:4px 12px}
h2{font-size:17px;margin:20px 0 8px}
.checklist{grid-template-columns:1fr}
.finding dl{grid-template-columns:1fr}
.finding dt{margin-top:4px}
.filter{flex-direction:column}
td.wrap{min-width:200px}
}
@media print{nav,button{display:none}.top{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
`;

/**
 * Sorting, copying and filtering. Written as ES5 in one closure so it runs in anything that opens
 * the file. Problems it meets are written into <html data-errors="[…]"> so a headless browser's
 * DOM dump shows them; <html data-ready="1"> says it ran to the end.
 */
export const JS = `
(function () {
  "use strict";
  var d = document, root = d.documentElement, errors = [];
  function note(m) { errors.push(String(m)); root.setAttribute("data-errors", JSON.stringify(errors)); }
  window.addEventListener("error", function (e) { note(e.message || "error"); });
  window.addEventListener("unhandledrejection", function (e) { note("unhandled rejection: " + e.reason); });
  d.addEventListener("securitypolicyviolation", function (e) { note("CSP blocked " + e.blockedURI + " (" + e.violatedDirective + ")"); });

  var data = {};
  try { data = JSON.parse(d.getElementById("report-data").textContent); } catch (e) { note("report data: " + e); }

  /* Sorting: a cell's data-v is its sort key when present, else its text. */
  function keyOf(row, col, num) {
    var td = row.cells[col]; if (!td) return num ? -Infinity : "";
    var v = td.getAttribute("data-v"); if (v === null) v = td.textContent;
    if (num) { var n = parseFloat(v); return isNaN(n) ? -Infinity : n; }
    return v.toLowerCase();
  }
  function sortTable(table, col, dir) {
    var th = table.tHead.rows[0].cells[col]; if (!th) return;
    var num = th.getAttribute("data-type") === "num", body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).map(function (r, i) { return { r: r, k: keyOf(r, col, num), i: i }; });
    var sign = dir === "descending" ? -1 : 1;
    rows.sort(function (a, b) { return a.k < b.k ? -sign : a.k > b.k ? sign : a.i - b.i; });
    for (var i = 0; i < rows.length; i++) body.appendChild(rows[i].r);
    var ths = table.tHead.rows[0].cells;
    for (var j = 0; j < ths.length; j++) if (ths[j] !== th) ths[j].removeAttribute("aria-sort");
    th.setAttribute("aria-sort", dir);
  }
  var tables = d.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.classList.add("sortable");
      th.tabIndex = 0;
      function go() { sortTable(table, col, th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending"); }
      th.addEventListener("click", go);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); go(); } });
    });
  });
  /* ?sort=TABLE_ID:COLUMN[:desc],… sorts on load (a link can open the page sorted). */
  var m = /[?&]sort=([^&#]*)/.exec(location.search);
  if (m) decodeURIComponent(m[1]).split(",").forEach(function (s) {
    var p = s.split(":"), t = d.getElementById(p[0]);
    if (t && t.tHead) sortTable(t, parseInt(p[1], 10) || 0, p[2] === "desc" ? "descending" : "ascending");
  });

  /* Copy a Wireshark filter: the clipboard API where the page may use it, else select the text
     (file:// pages are often not allowed the clipboard) so Ctrl+C copies it. */
  function selectText(el) {
    var r = d.createRange(); r.selectNodeContents(el);
    var s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
    var ok = false; try { ok = d.execCommand("copy"); } catch (e) { ok = false; }
    return ok;
  }
  Array.prototype.forEach.call(d.querySelectorAll("button[data-copy]"), function (b) {
    b.addEventListener("click", function () {
      var el = d.getElementById(b.getAttribute("data-copy")); if (!el) return;
      function done(t) { b.textContent = t; setTimeout(function () { b.textContent = "Copy"; }, 2000); }
      function fallback() { done(selectText(el) ? "Copied" : "Selected: press Ctrl+C"); }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(el.textContent).then(function () { done("Copied"); }, fallback);
      } else fallback();
    });
  });

  /* Show only some conversations (an arrow of the diagram, a finding) in the conversations table. */
  var conv = d.getElementById("t-conv"), bar = d.getElementById("conv-filter");
  function filterConvs(ids, label) {
    if (!conv) return;
    var set = {}; for (var i = 0; i < ids.length; i++) set[ids[i]] = true;
    var rows = conv.tBodies[0].rows, n = 0;
    for (var j = 0; j < rows.length; j++) { var on = !ids.length || set[rows[j].getAttribute("data-id")] === true; rows[j].hidden = !on; if (on) n++; }
    if (bar) { bar.hidden = !ids.length; bar.querySelector("span").textContent = "Showing " + n + " conversation" + (n === 1 ? "" : "s") + ": " + label + ". "; }
  }
  function pick(el) {
    var g = (data.groups || {})[el.getAttribute("data-convs")]; if (!g) return;
    filterConvs(g.ids, g.label);
    var sec = d.getElementById("conversations"); if (sec && sec.scrollIntoView) sec.scrollIntoView();
  }
  Array.prototype.forEach.call(d.querySelectorAll("[data-convs]"), function (el) {
    el.addEventListener("click", function () { pick(el); });
    el.addEventListener("keydown", function (e) { if (e.key === "Enter") pick(el); });
  });
  if (bar) bar.querySelector("button").addEventListener("click", function () { filterConvs([], ""); });

  root.setAttribute("data-ready", "1");
})();
`;

/** 'sha256-…' source expression for an inline block's exact text (CSP Level 3 §8.4). */
export function cspHash(text: string): string {
  return `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
}

/**
 * Nothing may be fetched: default-src 'none' covers scripts, styles, fonts, images, frames,
 * fetch/XHR and the rest; the one script and the one style block are allowed by hash; images only
 * as data: URLs (the empty favicon, so the browser asks for no /favicon.ico).
 */
export const CSP = [
  "default-src 'none'",
  `script-src ${cspHash(JS)}`,
  `style-src ${cspHash(CSS)}`,
  "img-src data:",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");
