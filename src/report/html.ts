/**
 * The HTML report: one self-contained file for people (docs/reports.md, "HTML").
 *
 * It loads nothing: the style and the script are inline and allowed by SHA-256 hash in a
 * Content-Security-Policy meta tag whose default-src is 'none' (html-assets.ts), the diagram is
 * inline SVG (html-diagram.ts), and the data the script needs is a `<script type="application/json">`
 * block, which browsers never run. Every string that came off the wire — SNI, banners, HTTP host and
 * URI, certificate names, DNS names, SSH software, RDP cookie, anomaly messages, file names, role
 * reasons — goes through sanitize.ts's escapeHtml, which also makes control and bidi characters
 * visible, so a hostile capture can neither add markup nor rearrange or hide text. Output depends only on the
 * report (no clock, no randomness), so the same report gives the same bytes.
 */
import type { Finding, Severity } from "../policy/check.js";
import type { MatrixRow } from "../policy/matrix.js";
import { formatPorts, rowServerText } from "../policy/matrix.js";
import { CSP, CSS, JS } from "./html-assets.js";
import { renderDiagram } from "./html-diagram.js";
import type { ConvGroup } from "./html-diagram.js";
import type { FixFirst } from "../policy/check.js";
import { hostIndex, isAddress, linkText, nameWithSources } from "./html-hosts.js";
import type { HostFacts } from "./html-hosts.js";
import type { CaptureRecord, ConversationRecord, Report } from "./record.js";
// One escaper for every renderer: `& < > " '` as entities after every control, format, bidi and
// unassigned code point is written out visibly (ESC as the four characters \x1b, U+202E as \u202e).
import { escapeHtml } from "./sanitize.js";
// The wording every report shares (terminal table, Markdown, HTML): numbers, durations, the
// protocol details of a conversation, section titles and the sentences for empty sections.
import { addressSortKey as ipKey, conversationStatus, coverageLines, detailLines, duration, evidenceFramesText, evidenceLine, fixFirstLines, flowLimitText, NO_FINDINGS, NO_ROLES, NOT_SEEN, num as fmt, plural, SECTION, severityByConversation, STATUS_RANK, verdictView, weight, wiresharkLabel, worse, type Status } from "./view/index.js";

export interface HtmlOptions {
  /** The matrix rows the report was checked against (shown with what was seen of each). */
  matrixRows?: MatrixRow[];
}

/** JSON for a `<script type="application/json">` block: `<` (and `>`, `&`) as \u escapes so no `</script>` can close it. */
export function jsonForScript(v: unknown): string {
  return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

const esc = escapeHtml;

/** Shorten by code points (never splitting a surrogate pair), with an ellipsis. */
function clip(s: string, max: number): string {
  const cps = Array.from(s);
  return cps.length <= max ? s : cps.slice(0, max - 1).join("") + "…";
}

/** "2026-11-25T10:46:20.456776000Z" → "2026-11-25 10:46:20.456776" (UTC; the full value stays in the title). */
function shortTime(iso: string | null): string {
  if (!iso) return "—";
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(iso);
  return m ? `${m[1]} ${m[2]}${m[3] ? "." + m[3].slice(0, 6) : ""}` : iso;
}

function timeCell(iso: string | null): string {
  return `<td class="mono nw" data-v="${esc(iso ?? "")}" title="${esc(iso ?? "")}">${esc(shortTime(iso))}</td>`;
}

function seconds(iso: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(iso);
  if (!m) return NaN;
  return Date.parse(m[1] + "Z") / 1000 + (m[2] ? Number("0." + m[2]) : 0);
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const u = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${u[i]}`;
}

const STATUS_TEXT: Record<Status, string> = { error: "error", warning: "warning", info: "info", none: "no rule", ok: "clean" };
const SEVERITIES: Severity[] = ["error", "warning", "info"];
const SEVERITY_HEADING: Record<Severity, string> = { error: "Errors", warning: "Warnings", info: "Info" };

function pill(status: Status, text = STATUS_TEXT[status]): string {
  const cls = status === "none" ? "s-none" : status === "ok" ? "s-ok" : `s-${status}`;
  return `<span class="pill ${cls}">${esc(text)}</span>`;
}

function num(n: number, text = fmt(n)): string {
  return `<td class="num" data-v="${n}">${esc(text)}</td>`;
}

type Hosts = Map<string, HostFacts>;

/** Names shown beside an address; the rest are in its tooltip and counted. */
const NAMES_SHOWN = 2;
/** A name is cut to this many characters where it is shown (the tooltip has it whole). */
const NAME_MAX = 64;

/** Tooltip text: every name with where it was seen, one per line. */
function namesTitle(h: HostFacts): string {
  return h.names.map((n) => esc(nameWithSources(n))).join("&#10;") + (h.moreNames ? `&#10;${esc(`and ${plural(h.moreNames, "more name")}`)}` : "");
}

/**
 * Under an address: the names it was seen under (DNS answers, SNI, certificate) and, unless the
 * caller prints its own (a conversation's VLAN and MACs), its VLAN IDs and MAC. "" when none is known.
 */
function hostExtra(ip: string, hosts: Hosts, link: string | null = null): string {
  const h = hosts.get(ip);
  let out = "";
  if (h && h.names.length) {
    const shown = h.names.slice(0, NAMES_SHOWN).map((n) => clip(n.name, NAME_MAX));
    const more = h.names.length - shown.length + h.moreNames;
    out += `<div class="hn" title="${namesTitle(h)}">${esc(shown.join(", "))}${more > 0 ? ` <span class="muted">+${more}</span>` : ""}</div>`;
  }
  const l = link ?? linkText(h);
  if (l) out += `<div class="hl">${esc(l)}</div>`;
  return out;
}

/** An address with its first name in brackets, for inline text: "10.0.0.5 (esxi1.example)". */
function ipWithName(ip: string, hosts: Hosts): string {
  const h = hosts.get(ip);
  if (!h || h.names.length === 0) return esc(ip);
  return `${esc(ip)} <span class="hn" title="${namesTitle(h)}">(${esc(clip(h.names[0].name, NAME_MAX))}${h.names.length + h.moreNames > 1 ? " …" : ""})</span>`;
}

class Groups {
  private n = 0;
  readonly all: Record<string, ConvGroup> = {};
  add(g: ConvGroup): string {
    const id = `g${++this.n}`;
    this.all[id] = g;
    return id;
  }
}

function verdictText(r: Report): string {
  return verdictView(r).word;
}

function header(r: Report): string {
  const s = r.summary;
  const f = s.findings;
  // Base names here; the captures table has the paths as given.
  const files = r.captures.map((c) => c.file.split(/[\\/]/).pop() || c.file);
  const packets = r.captures.reduce((a, c) => a + c.packets, 0);
  const errors = r.captures.reduce((a, c) => a + c.errors.length, 0);
  return (
    `<header class="top ${s.verdict}" id="verdict-banner"><div class="top-in">` +
    `<div class="verdict" id="verdict" data-verdict="${s.verdict}">${verdictText(r)}</div>` +
    `<div>${(s.coverage ?? []).filter((c) => c.inconclusive).map((c) => `<div class="why">${esc(c.message)}</div>`).join("")}<div class="counts">${plural(f.error, "error")} · ${plural(f.warning, "warning")} · ${fmt(f.info)} info</div>` +
    `<div class="facts">${plural(s.conversations, "conversation")}, ${fmt(s.matched)} matched to the matrix · ` +
    `${plural(r.captures.length, "capture")} (${esc(clip(files.join(", "), 140))}), ${plural(packets, "packet")} over ${esc(duration(s.captureSeconds))}` +
    `${errors ? ` · <strong>${plural(errors, "capture error")}</strong>` : ""}</div>` +
    `<div class="tool">${esc(r.generator.name)} ${esc(r.generator.version)} · matrix: ${esc(r.matrix.product)} v${esc(r.matrix.version)} (${plural(r.matrix.rows, "row")})</div>` +
    `</div></div></header>`
  );
}

function nav(): string {
  const links = [["not-seen", "Not seen"], ["diagram", "Diagram"], ["findings", "Findings"], ["matrix", "Matrix"], ["roles", "Roles"], ["conversations", "Conversations"], ["captures", "Captures"]];
  return `<nav><div>${links.map(([id, t]) => `<a href="#${id}">${t}</a>`).join("")}</div></nav>`;
}

/** The most severe findings, one line each, right under the verdict. */
function headline(r: Report): string {
  const top = [...r.findings]
    .map((f, i) => ({ f, i }))
    .filter(({ f }) => f.severity !== "info")
    .sort((a, b) => STATUS_RANK[b.f.severity] - STATUS_RANK[a.f.severity] || a.i - b.i)
    .slice(0, 5);
  if (top.length === 0) {
    const parts = [r.findings.length ? "No errors or warnings; the informational findings are listed below." : NO_FINDINGS];
    if (r.summary.matched === 0) {
      parts.push(
        "No conversation matched a row of the matrix, so this capture says little about the proxy's connections: " +
          "was it taken on the proxy, while backups ran? Roles can be given with --role.",
      );
    }
    return `<p>${esc(parts.join(" "))}</p>`;
  }
  const more = r.findings.filter((f) => f.severity !== "info").length - top.length;
  return (
    `<ul class="headline">${top.map(({ f, i }) => `<li>${pill(f.severity)} <a href="#finding-${i + 1}">${esc(clip(f.message, 220))}</a></li>`).join("")}</ul>` +
    (more > 0 ? `<p class="muted">and ${plural(more, "more finding")} below.</p>` : "")
  );
}

/** "What to fix first" and "what the capture could not show", right under the verdict. */
function firstScreen(r: Report, byId: Map<number, ConversationRecord>, hosts: Hosts): string {
  const fixes = fixFirstLines(r);
  const limits = coverageLines(r);
  return (
    (fixes.length ? `<h2 id="fix-first">${esc(SECTION.fixFirst)}</h2><ol class="fix-first">${fixes.map((t) => `<li>${esc(t)}</li>`).join("")}</ol>` : "") +
    checklistSection(r, byId, hosts) +
    (limits.length
      ? `<h2 id="coverage">${esc(SECTION.coverage)}</h2><ul class="coverage">${limits.map((l) => `<li>${esc(l.message)}${l.action ? ` <strong>What to do:</strong> ${esc(l.action)}` : ""}</li>`).join("")}</ul>`
      : "")
  );
}

const isIp = isAddress;

/** "TCP 443", "UDP 1000-2000": the port a fix-first action names, or null. */
function actionPort(action: string): string | null {
  return /\b(?:TCP|UDP) \d+(?:[-–,]\d+)*/.exec(action)?.[0] ?? null;
}

/**
 * The findings behind one fix-first line: same code and severity, about that host (one of its
 * conversations, or its address in the message; "the proxy" for findings with no conversation),
 * on the port the action names. Only to link to them: the line itself is the record's.
 */
function findingsOf(x: FixFirst, r: Report, byId: Map<number, ConversationRecord>): number[] {
  const port = actionPort(x.action);
  const ip = isIp(x.host);
  return r.findings
    .map((f, i) => ({ f, i }))
    .filter(({ f }) => {
      if (f.code !== x.code || f.severity !== x.severity) return false;
      const onPort = (id: number) => {
        const c = byId.get(id);
        return c !== undefined && `${c.transport.toUpperCase()} ${c.server.port}` === port;
      };
      if (port && !f.message.includes(port) && !f.conversations.some(onPort)) return false;
      if (f.conversations.length) return f.conversations.some((id) => byId.get(id)?.client.ip === x.host || byId.get(id)?.server.ip === x.host);
      return ip ? f.message.includes(x.host) : true;
    })
    .map(({ i }) => i);
}

/**
 * One card per host with something to change, in the order of "What to fix first" (most damaging
 * first): each action with its port, what fails until then, and links to the findings behind it.
 */
function checklistSection(r: Report, byId: Map<number, ConversationRecord>, hosts: Hosts): string {
  const fixes = r.summary.fixFirst ?? [];
  if (fixes.length === 0) return "";
  const proxies = r.roles.filter((x) => x.role === "proxy").map((x) => x.ip);
  // The proxy is one machine however many addresses it has: its lines share one card.
  const cardOf = (x: FixFirst) => (x.role === "proxy" && (!isIp(x.host) || proxies.includes(x.host)) ? PROXY_CARD : x.host);
  const cards = new Map<string, FixFirst[]>();
  for (const x of fixes) {
    const l = cards.get(cardOf(x));
    if (l) l.push(x);
    else cards.set(cardOf(x), [x]);
  }
  const out: string[] = [];
  let n = 0;
  for (const [host, items] of cards) {
    n++;
    const worst = items.some((x) => x.severity === "error") ? "error" : items.some((x) => x.severity === "warning") ? "warning" : "info";
    const role = items.find((x) => x.role !== null)?.role ?? null;
    // "the proxy" (a finding about the proxy with no conversation) is every address the proxy has.
    const addrs = isIp(host) ? [host] : host === PROXY_CARD ? [...new Set([...proxies, ...items.map((x) => x.host).filter(isIp)])] : [];
    const ids = addrs.filter((a) => a !== host).map((a) => `<div class="mono"><span class="nw">${esc(a)}</span>${hostExtra(a, hosts)}</div>`).join("");
    const head =
      `<div class="ch-host"><strong class="mono">${esc(host || "—")}</strong>${role ? ` <span class="role">${esc(role)}</span>` : ""}` +
      `${isIp(host) ? hostExtra(host, hosts) : ids}</div>`;
    const lis = items.map((x) => {
      const port = actionPort(x.action);
      const links = findingsOf(x, r, byId).map((i) => `<a href="#finding-${i + 1}">finding ${i + 1}</a>`);
      return (
        `<li>${pill(x.severity)} ${x.host !== host ? `<span class="mono">${esc(x.host)}</span>: ` : ""}<span class="act">${esc(x.action)}</span>` +
        (port ? ` <span class="port mono">${esc(port)}</span>` : "") +
        (x.impact ? `<div class="until"><strong>Until then:</strong> ${esc(x.impact)}</div>` : "") +
        (links.length ? `<div class="muted">${esc(x.code)} · ${links.join(", ")}</div>` : `<div class="muted">${esc(x.code)}</div>`) +
        `</li>`
      );
    });
    out.push(`<article class="card host ${worst}" id="host-${n}">${head}<ul class="checks">${lis.join("")}</ul></article>`);
  }
  return `<h2 id="checklist">${esc(SECTION_CHECKLIST)}</h2><div class="checklist">${out.join("")}</div>`;
}

/** The card of the proxy's lines, as policy/check.ts names the proxy in them. */
const PROXY_CARD = "the proxy";

const SECTION_CHECKLIST = "Per host: what to open or change";
const SECTION_NOT_SEEN = "What was not seen, and why";

const LIMIT_TEXT: Record<string, string> = {
  "start-missing": "the capture starts after it did, so its opening (handshake) is not in it",
  "one-direction": "only one direction of it was captured",
  snaplen: "the snap length cut its packets, so what they carried is not all there",
  "end-of-capture": "the capture ends before it could show an answer",
};

/** Not-verifiable conversations listed at most; the rest are counted. */
const NOT_VERIFIABLE_LISTED = 50;

/** The rows a --filter left out (the "filtered" coverage entry's `rows`). */
function filteredRows(r: Report): Set<string> {
  return new Set((r.summary.coverage ?? []).find((c) => c.code === "filtered")?.rows ?? []);
}

/**
 * Matrix rows with no conversation, each with why (a finding says it is missing, the --filter
 * left it out, it is optional, no host has the role it needs), then the conversations on matrix
 * rows that the capture could not verify, with what was missing.
 */
function notSeenSection(r: Report, rowsIn: MatrixRow[] | undefined, hosts: Hosts): string {
  const out = [`<section id="not-seen-section"><h2 id="not-seen">${esc(SECTION_NOT_SEEN)}</h2>`];
  const limits = (r.summary.coverage ?? []).filter((c) => c.code !== "filtered" && c.code !== "not-verifiable");
  if (limits.length) {
    out.push(`<p class="muted">${esc(`The capture's own limits apply to every row below: ${limits.map((c) => c.code).join(", ")}`)} (<a href="#coverage">${esc(SECTION.coverage)}</a>).</p>`);
  }
  if (rowsIn) {
    const seen = new Set<string>();
    for (const c of r.conversations) {
      if (c.ruleKind !== "matrix" && c.rule === null && c.ruleAlternatives.length === 0) continue;
      if (c.rule !== null) seen.add(c.rule);
      for (const a of c.ruleAlternatives) seen.add(a);
    }
    const roles = new Set<string>([...r.roles.map((x) => x.role), ...r.conversations.flatMap((c) => [c.client.role, c.server.role]).filter((x): x is string => x !== null)]);
    const filtered = filteredRows(r);
    const items: string[] = [];
    const optional: MatrixRow[] = [];
    for (const row of rowsIn) {
      if (seen.has(row.id)) continue;
      const why: string[] = [];
      const missing = r.findings.map((f, i) => ({ f, i })).filter(({ f }) => f.code === "missing-expected" && f.rule === row.id);
      for (const { f, i } of missing) why.push(`<a href="#finding-${i + 1}">finding ${i + 1}</a>: ${esc(clip(f.message, 220))}`);
      if (filtered.has(row.id)) why.push(esc(`Outside the --filter "${r.summary.filter ?? ""}": not judged, and not missing.`));
      const noClient = row.client !== "any" && !roles.has(row.client);
      // Optional rows with nothing else to say share one line: they are the usual case.
      if (row.required === "optional" && why.length === 0 && !noClient) {
        optional.push(row);
        continue;
      }
      if (row.required === "optional") why.push(esc(`Not required in this capture: optional, used only ${row.when}.`));
      if (noClient) why.push(esc(`No host has the role ${row.client} here (none given with --role, none inferred), so nothing could open it.`));
      else if (row.required === "if-present" && !row.servers.some((x) => roles.has(x))) {
        why.push(esc(`Required only towards a host that is ${row.servers.join(" or ")}, and none is in the capture.`));
      }
      if (why.length === 0) why.push(esc(`Not seen in the ${duration(r.summary.captureSeconds)} the capture covers (${row.when}).`));
      items.push(
        `<li><span class="mono nw">${esc(row.id)}</span> <span class="muted">${esc(`${row.client} → ${rowServerText(row)}, ${formatPorts(row.ports)}/${row.transport}, ${row.required}`)}</span>` +
          `<ul>${why.map((w) => `<li>${w}</li>`).join("")}</ul></li>`,
      );
    }
    if (optional.length) {
      items.push(
        `<li><span class="mono nw">optional</span> <span class="muted">${esc(plural(optional.length, "row"))}</span><ul><li>` +
          esc(`Not required in this capture: optional, used only when their work runs — ${optional.map((x) => `${x.id} (${x.when})`).join(", ")}.`) +
          `</li></ul></li>`,
      );
    }
    const unseen = items.length - (optional.length ? 1 : 0) + optional.length;
    out.push(`<h3 id="rows-not-seen">Matrix rows with no conversation (${unseen} of ${rowsIn.length})</h3>`);
    out.push(items.length ? `<ul class="notseen">${items.join("")}</ul>` : `<p class="empty">Every row of the matrix had at least one conversation.</p>`);
  } else {
    out.push(`<p class="muted">The matrix rows were not given to the report, so the rows with no conversation cannot be listed.</p>`);
  }
  const nv = r.conversations.filter((c) => c.status === "not-verifiable");
  out.push(`<h3 id="not-verifiable">Conversations that could not be verified (${fmt(nv.length)})</h3>`);
  if (nv.length === 0) out.push(`<p class="empty">None: every conversation on a matrix row could be judged from the capture.</p>`);
  else {
    const lis = nv.slice(0, NOT_VERIFIABLE_LISTED).map((c) => {
      const rows = c.rule !== null ? [c.rule] : c.ruleAlternatives;
      const why = c.limits.length ? c.limits.map((l) => LIMIT_TEXT[l] ?? l).join("; ") : "the capture does not show enough of it";
      return (
        `<li><span class="mono">#${c.id} ${ipWithName(c.client.ip, hosts)} → ${ipWithName(c.server.ip, hosts)}:${c.server.port}/${c.transport}</span>` +
        (rows.length ? ` <span class="muted">(row ${esc(rows.join(" or "))})</span>` : "") +
        `<div>${esc(`${c.limits.join(", ") || "not verifiable"}: ${why}.`)}</div></li>`
      );
    });
    out.push(`<ul class="notseen">${lis.join("")}</ul>`);
    if (nv.length > NOT_VERIFIABLE_LISTED) out.push(`<p class="muted">and ${plural(nv.length - NOT_VERIFIABLE_LISTED, "more")} (the conversations table lists them all).</p>`);
  }
  out.push(`</section>`);
  return out.join("");
}

function diagramSection(r: Report, groups: Groups, hosts: Hosts): string {
  const d = renderDiagram(r, esc, (g) => groups.add(g), hosts);
  const legend =
    `<div class="legend"><span><span class="sw s-error"></span>error</span><span><span class="sw s-warning"></span>warning</span>` +
    `<span><span class="sw s-info"></span>info, or no rule matched</span><span><span class="sw s-ok"></span>matched the matrix, no finding</span>` +
    `<span class="muted">Arrows point from client to server; chips are server ports. Click an arrow or a chip to list its conversations.</span></div>`;
  return (
    `<section id="diagram-section"><h2 id="diagram">Roles and ports as observed</h2>` +
    `<div class="diagram">${d.svg}</div>${legend}` +
    d.notes.map((n) => `<p class="muted">${esc(n)}</p>`).join("") +
    `</section>`
  );
}

function convLine(c: ConversationRecord, hosts: Hosts): string {
  const dur = seconds(c.end) - seconds(c.start);
  return (
    `<li><span class="mono">#${c.id}</span> ${c.transport}.stream ${c.stream} · ` +
    `<span class="mono">${ipWithName(c.client.ip, hosts)}:${c.client.port} → ${ipWithName(c.server.ip, hosts)}:${c.server.port}</span>${c.vlan !== null ? ` · VLAN ${c.vlan}` : ""} · ` +
    `<span class="mono" title="${esc(c.start)} → ${esc(c.end)}">${esc(shortTime(c.start))} → ${esc(shortTime(c.end).slice(11))}</span> ` +
    `(${esc(duration(dur))}) · ${esc(c.state)} · ${c.firstFrame === c.lastFrame ? `frame ${c.firstFrame}` : `frames ${c.firstFrame}–${c.lastFrame}`}</li>`
  );
}

const CONVS_LISTED = 8;
/** Addresses listed at most on a finding's card. */
const HOSTS_LISTED = 6;

function findingCard(f: Finding, index: number, byId: Map<number, ConversationRecord>, groups: Groups, hosts: Hosts, label: string): string {
  const id = `finding-${index + 1}`;
  const convs = f.conversations.map((i) => byId.get(i)).filter((c): c is ConversationRecord => c !== undefined);
  convs.sort((a, b) => a.id - b.id);
  const rows: string[] = [];
  if (f.fix) rows.push(`<dt>Fix</dt><dd>${esc(f.fix)}</dd>`);
  if (f.rule) rows.push(`<dt>Matrix row</dt><dd class="mono">${esc(f.rule)}</dd>`);
  if (f.attempts !== undefined) {
    rows.push(`<dt>Attempts</dt><dd>${plural(f.attempts, "conversation")}${f.durationSeconds !== undefined ? ` over ${esc(duration(f.durationSeconds))}` : ""}</dd>`);
  }
  if (convs.length) {
    const first = convs.reduce((a, c) => (c.start < a ? c.start : a), convs[0].start);
    const last = convs.reduce((a, c) => (c.end > a ? c.end : a), convs[0].end);
    rows.push(`<dt>When</dt><dd class="mono" title="${esc(first)} → ${esc(last)}">${esc(shortTime(first))} → ${esc(shortTime(last))} UTC</dd>`);
    // Every address of its conversations, with its role, names, VLAN and MAC.
    const ends = new Map<string, string | null>();
    for (const c of convs) for (const e of [c.client, c.server]) if (!ends.has(e.ip) || ends.get(e.ip) === null) ends.set(e.ip, e.role);
    const listed = [...ends].slice(0, HOSTS_LISTED);
    rows.push(
      `<dt>Hosts</dt><dd class="fhosts">${listed.map(([ip, role]) => `<div><span class="mono nw">${esc(ip)}</span>${role ? ` <span class="role">${esc(role)}</span>` : ""}${hostExtra(ip, hosts)}</div>`).join("")}` +
        (ends.size > HOSTS_LISTED ? `<span class="muted">and ${plural(ends.size - HOSTS_LISTED, "more")}</span>` : "") +
        `</dd>`,
    );
    const gid = groups.add({ ids: convs.map((c) => c.id), label: `finding ${index + 1} (${f.code})` });
    rows.push(
      `<dt>Conversations</dt><dd><ul class="convlist">${convs.slice(0, CONVS_LISTED).map((c) => convLine(c, hosts)).join("")}</ul>` +
        (convs.length > CONVS_LISTED ? `<span class="muted">and ${plural(convs.length - CONVS_LISTED, "more")}. </span>` : "") +
        `<button type="button" data-convs="${gid}">Show ${convs.length === 1 ? "it" : `all ${fmt(convs.length)}`} in the conversations table</button></dd>`,
    );
  }
  if (f.frames.length) rows.push(`<dt>Frames</dt><dd class="mono">${esc(f.frames.join(", "))}</dd>`);
  const ev = evidenceFramesText(f);
  if (ev) rows.push(`<dt>Evidence file</dt><dd class="mono">${esc(ev)}</dd>`);
  rows.push(
    `<dt>${esc(label === "Wireshark" ? "Wireshark filter" : label)}</dt><dd><div class="filter"><pre id="${id}-filter">${esc(f.wiresharkFilter)}</pre>` +
      `<button type="button" data-copy="${id}-filter">Copy</button></div></dd>`,
  );
  return (
    `<article class="card finding ${f.severity}" id="${id}">` +
    `<div>${pill(f.severity)} <strong class="mono">${esc(f.code)}</strong></div>` +
    `<p class="msg">${esc(f.message)}</p><dl>${rows.join("")}</dl></article>`
  );
}

function findingsSection(r: Report, byId: Map<number, ConversationRecord>, groups: Groups, hosts: Hosts): string {
  const out = [`<section><h2 id="findings">${esc(SECTION.findings)}</h2>`];
  if (r.findings.length === 0) out.push(`<p class="empty">${esc(NO_FINDINGS)}</p>`);
  for (const s of SEVERITIES) {
    const list = r.findings.map((f, i) => ({ f, i })).filter((x) => x.f.severity === s);
    if (list.length === 0) continue;
    out.push(`<h3 id="findings-${s}">${SEVERITY_HEADING[s]} (${list.length})</h3>`);
    for (const { f, i } of list) out.push(findingCard(f, i, byId, groups, hosts, wiresharkLabel(r)));
  }
  out.push(`</section>`);
  return out.join("");
}

function table(id: string, heads: [string, "num" | "text"][], rows: string[], empty: string): string {
  if (rows.length === 0) return `<p class="empty">${esc(empty)}</p>`;
  return (
    `<div class="tablewrap"><table class="sortable" id="${id}"><thead><tr>` +
    heads.map(([h, t]) => `<th scope="col" data-type="${t}">${esc(h)}</th>`).join("") +
    `</tr></thead><tbody>${rows.join("")}</tbody></table></div>`
  );
}

function matrixSection(r: Report, rowsIn: MatrixRow[] | undefined, sev: Map<number, Severity>, hosts: Hosts): string {
  const seen = new Map<string, ConversationRecord[]>();
  for (const c of r.conversations) {
    if (c.rule === null) continue;
    const l = seen.get(c.rule) ?? [];
    l.push(c);
    seen.set(c.rule, l);
  }
  const findingsByRule = new Map<string, Finding[]>();
  for (const f of r.findings) {
    if (f.rule === null) continue;
    const l = findingsByRule.get(f.rule) ?? [];
    l.push(f);
    findingsByRule.set(f.rule, l);
  }
  const rows: string[] = [];
  const described = new Set<string>();
  const line = (id: string, kind: string, path: string, ports: string, portKey: number, expect: string, required: string, when: string) => {
    const convs = seen.get(id) ?? [];
    const fs = findingsByRule.get(id) ?? [];
    let st: Status | null = null;
    for (const c of convs) st = st === null ? conversationStatus(c, sev) : worse(st, conversationStatus(c, sev));
    for (const f of fs) st = st === null ? f.severity : worse(st, f.severity);
    const pairs = [...new Map(convs.map((c) => [`${c.client.ip} ${c.server.ip}`, c])).values()];
    const shown = pairs.slice(0, 3).map((c) => `${ipWithName(c.client.ip, hosts)} → ${ipWithName(c.server.ip, hosts)}`);
    const hostCell = pairs.length ? shown.join(", ") + (pairs.length > 3 ? ` <span class="muted">+${pairs.length - 3}</span>` : "") : `<span class="muted">—</span>`;
    const statusCell = st === null ? `<td data-v="0">${pill("none", NOT_SEEN)}</td>` : `<td data-v="${STATUS_RANK[st] + 1}">${pill(st)}</td>`;
    const codes = [...new Set(fs.map((f) => f.code))];
    const rc = st === "error" ? "r-error" : st === "warning" ? "r-warning" : st === "ok" ? "r-ok" : "";
    rows.push(
      `<tr${rc ? ` class="${rc}"` : ""}><td class="mono nw">${esc(id)}</td><td>${esc(kind)}</td><td>${esc(path)}</td><td class="mono nw" data-v="${portKey}">${esc(ports)}</td>` +
        `<td>${esc(expect)}</td><td>${esc(required)}</td>${num(convs.length)}<td class="mono">${hostCell}</td>${statusCell}` +
        `<td>${esc(codes.join(", "))}</td><td class="wrap">${esc(when)}</td></tr>`,
    );
    described.add(id);
  };
  for (const row of rowsIn ?? []) {
    line(
      row.id, "matrix", `${row.client} → ${rowServerText(row)}${row.sameHost ? " (same host)" : ""}`,
      `${formatPorts(row.ports)}/${row.transport}`, row.ports[0]?.first ?? 0,
      `${row.expect}${row.minTls ? `, ≥ ${row.minTls}` : ""}`, row.required, row.when,
    );
  }
  // Rules seen that the caller did not describe (infrastructure, related, or no rows given).
  for (const [id, convs] of [...seen.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (described.has(id)) continue;
    const ports = [...new Set(convs.map((c) => `${c.server.port}/${c.transport}`))];
    const roles = [...new Set(convs.map((c) => `${c.client.role ?? "?"} → ${c.server.role ?? "?"}`))];
    line(id, convs[0].ruleKind ?? "", roles.join(", "), ports.join(", "), convs[0].server.port, "", "", "");
  }
  const note = rowsIn
    ? `Every row of the matrix (${r.matrix.product} v${r.matrix.version}) with the conversations that matched it; other rules seen (infrastructure such as DNS, related VMware traffic) follow.`
    : `The rules the conversations matched (the matrix rows themselves were not given to the report).`;
  return (
    `<section><h2 id="matrix">${esc(SECTION.matrix)}</h2><p class="muted">${esc(note)}</p>` +
    table(
      "t-matrix",
      [["Row", "text"], ["Kind", "text"], ["Client → server", "text"], ["Port", "num"], ["Expects", "text"], ["Required", "text"], ["Seen", "num"], ["Hosts", "text"], ["Status", "num"], ["Findings", "text"], ["When", "text"]],
      rows,
      "No matrix row given and no conversation matched a rule.",
    ) +
    `</section>`
  );
}

function rolesSection(r: Report, hosts: Hosts): string {
  const rows = [...r.roles]
    .sort((a, b) => (ipKey(a.ip) < ipKey(b.ip) ? -1 : ipKey(a.ip) > ipKey(b.ip) ? 1 : 0))
    .map((x) => `<tr><td class="mono" data-v="${esc(ipKey(x.ip))}">${esc(x.ip)}${hostExtra(x.ip, hosts)}</td><td>${esc(x.role)}</td><td>${esc(x.source)}</td><td class="wrap">${esc(x.reason)}</td></tr>`);
  return (
    `<section><h2 id="roles">${esc(SECTION.roles)}</h2>` +
    table("t-roles", [["Address", "text"], ["Role", "text"], ["How", "text"], ["Reason", "text"]], rows, NO_ROLES) +
    `</section>`
  );
}

function conversationsSection(r: Report, sev: Map<number, Severity>, hosts: Hosts): string {
  // One date for every conversation (the usual case): print it once, in the header.
  const dates = new Set(r.conversations.map((c) => c.start.slice(0, 10)));
  const oneDate = dates.size === 1 ? [...dates][0] : null;
  const multi = r.captures.length > 1;
  const total = r.conversations.reduce((n, c) => n + weight(c), 0);
  // The conversation's own VLAN and this side's MAC, not every one the address was seen with.
  const endpoint = (e: ConversationRecord["client"], port: number | null, vlan: number | null) => {
    const link = [vlan !== null ? `VLAN ${vlan}` : "", e.mac !== null ? `MAC ${e.mac}` : ""].filter(Boolean).join(" · ");
    return `<td class="mono ep" data-v="${esc(ipKey(e.ip))}"><span class="nw">${esc(e.ip)}${port !== null ? `:${port}` : ""}</span>${e.role ? `<div class="role">${esc(e.role)}</div>` : ""}${hostExtra(e.ip, hosts, link)}</td>`;
  };
  const rows = r.conversations.map((c) => {
    const st = conversationStatus(c, sev);
    const rc = st === "error" ? "r-error" : st === "warning" ? "r-warning" : st === "ok" ? "r-ok" : "";
    const dur = seconds(c.end) - seconds(c.start);
    const anomalies = c.anomalies.map((a) => esc(`${a.name}: ${a.message}`)).join("&#10;");
    const codes = c.findings.length ? `${pill(st)} ${c.findings.map((f) => `<span class="nw">${esc(f)}</span>`).join(", ")}` : st === "ok" ? pill("ok") : "";
    const start = oneDate ? shortTime(c.start).slice(11) : shortTime(c.start);
    // An aggregate entry stands for many conversations past the flow table's limit.
    const agg = c.aggregate;
    const range = agg && agg.serverPorts.low !== agg.serverPorts.high ? `${agg.serverPorts.low}–${agg.serverPorts.high}` : null;
    const portCell = `${range ?? c.server.port}/${c.transport}`;
    const seen = agg
      ? [`${plural(agg.conversations, "conversation")} past the conversation limit, folded (same ${agg.level}${range ? `; ports ${range}` : ""})`, ...detailLines(c)]
      : detailLines(c);
    return (
      `<tr data-id="${c.id}"${rc ? ` class="${rc}"` : ""}>` +
      (agg ? `<td class="num" data-v="${c.id}">${c.id}<div class="role">×${esc(fmt(agg.conversations))} folded</div></td>` : num(c.id)) +
      endpoint(c.client, c.client.port, c.vlan) +
      endpoint(c.server, null, c.vlan) +
      `<td class="num nw" data-v="${c.server.port}">${esc(portCell)}</td>` +
      `<td>${esc(c.protocol)}</td><td class="wrap"${anomalies ? ` title="${anomalies}"` : ""}>${esc(seen.join(" · "))}</td>` +
      `<td class="mono" title="history ${esc(c.history)}">${esc(c.state)}</td>` +
      `<td data-v="${STATUS_RANK[st]}">${codes}</td><td class="mono nw">${esc(c.rule ?? "")}</td>` +
      `<td class="mono nw" data-v="${esc(c.start)}" title="${esc(c.start)}">${esc(start)}</td>` +
      num(Number.isFinite(dur) ? Number(dur.toFixed(9)) : 0, duration(dur)) +
      num(c.packets.client + c.packets.server, `${c.packets.client} / ${c.packets.server}`) +
      num(c.bytes.client + c.bytes.server, bytes(c.bytes.client + c.bytes.server)) +
      num(c.firstFrame, `${c.firstFrame}–${c.lastFrame}`) +
      num(c.stream) +
      (multi ? num(c.capture + 1) : "") +
      `</tr>`
    );
  });
  const heads: [string, "num" | "text"][] = [
    ["#", "num"], ["Client", "text"], ["Server", "text"], ["Port", "num"], ["Protocol", "text"], ["Seen", "text"], ["State", "text"], ["Findings", "num"],
    ["Rule", "text"], [oneDate ? `Start (UTC, ${oneDate})` : "Start (UTC)", "text"], ["Duration", "num"], ["Packets c/s", "num"], ["Bytes", "num"],
    ["Frames", "num"], ["Stream", "num"],
  ];
  if (multi) heads.push(["Capture", "num"]);
  return (
    `<section><h2 id="conversations">Conversations (${fmt(total)}${total !== r.conversations.length ? `, in ${plural(r.conversations.length, "row")}` : ""})</h2>` +
    `<div class="filterbar" id="conv-filter" hidden><span></span><button type="button">Show all</button></div>` +
    table("t-conv", heads, rows, "No TCP or UDP conversation in the capture.") +
    `</section>`
  );
}

function decodeNotes(c: CaptureRecord): string {
  const d = c.decode;
  const out: string[] = [];
  const limit = flowLimitText(c);
  if (limit) out.push(limit);
  if (d.malformed) out.push(`${d.malformed} malformed`);
  if (d.snaplenCut) out.push(`${d.snaplenCut} cut by snaplen`);
  if (d.fragments) out.push(`${d.fragments} fragments, ${d.reassembled} reassembled${d.fragmentsIncomplete ? `, ${d.fragmentsIncomplete} incomplete` : ""}`);
  const nonIp = Object.values(d.nonIp).reduce((a, b) => a + b, 0);
  if (nonIp) out.push(`${nonIp} non-IP`);
  const other = Object.values(d.otherIpProtocols).reduce((a, b) => a + b, 0);
  if (other) out.push(`${other} other IP protocols`);
  const unsup = Object.values(d.unsupportedLinkTypes).reduce((a, b) => a + b, 0);
  if (unsup) out.push(`${unsup} on unsupported link types`);
  if (d.icmpUnmatched) out.push(`${d.icmpUnmatched} ICMP errors for unknown conversations`);
  if (d.errorsNotListed) out.push(`${d.errorsNotListed} errors not listed`);
  return out.join(", ");
}

function capturesSection(r: Report): string {
  const rows = r.captures.map((c, i) => {
    const rc = c.errors.some((e) => e.fatal) ? "r-error" : c.errors.length ? "r-warning" : "";
    return (
      `<tr${rc ? ` class="${rc}"` : ""}>${num(i + 1)}<td class="mono wrap">${esc(c.file)}</td><td>${esc(c.format)}${c.compressed ? " (gzip)" : ""}</td>` +
      `<td class="mono">${esc(c.linkTypes.join(", "))}</td>${num(c.packets)}${num(c.bytes, bytes(c.bytes))}${timeCell(c.firstTimestamp)}${timeCell(c.lastTimestamp)}` +
      `${num(c.errors.length)}<td class="wrap">${esc(decodeNotes(c))}</td></tr>`
    );
  });
  const errs = r.captures.flatMap((c, i) =>
    c.errors.map(
      (e) =>
        `<tr class="${e.fatal ? "r-error" : "r-warning"}">${num(i + 1)}<td class="mono wrap">${esc(c.file)}</td>${num(e.frame)}${num(e.offset)}` +
        `<td class="wrap">${esc(e.message)}</td><td>${e.fatal ? "yes: reading stopped here" : "no"}</td></tr>`,
    ),
  );
  return (
    `<section><h2 id="captures">${esc(SECTION.captures)}</h2>` +
    table(
      "t-captures",
      [["#", "num"], ["File", "text"], ["Format", "text"], ["Link types", "text"], ["Packets", "num"], ["Bytes", "num"], ["First packet (UTC)", "text"], ["Last packet (UTC)", "text"], ["Errors", "num"], ["Decoding", "text"]],
      rows,
      "No capture.",
    ) +
    `<h3 id="capture-errors">Capture errors (${errs.length})</h3>` +
    table("t-errors", [["Capture", "num"], ["File", "text"], ["Frame", "num"], ["Offset", "num"], ["Message", "text"], ["Fatal", "text"]], errs, "No capture had an error: every file was read to its end.") +
    (evidenceLine(r) ? `<p id="evidence" class="wrap">${esc(evidenceLine(r)!)}</p>` : "") +
    `</section>`
  );
}

/** The whole HTML report as one string (UTF-8 when written). Same report, same bytes. */
export function renderHtml(r: Report, o: HtmlOptions = {}): string {
  const groups = new Groups();
  const sev = severityByConversation(r);
  const byId = new Map(r.conversations.map((c) => [c.id, c]));
  const hosts = hostIndex(r);
  const title = `${verdictText(r)} · ${r.captures.map((c) => c.file).join(", ") || "no capture"} · phoenix-netcheck`;
  const body =
    header(r) +
    nav() +
    `<main>` +
    `<section id="summary">${firstScreen(r, byId, hosts)}${headline(r)}</section>` +
    notSeenSection(r, o.matrixRows, hosts) +
    diagramSection(r, groups, hosts) +
    findingsSection(r, byId, groups, hosts) +
    matrixSection(r, o.matrixRows, sev, hosts) +
    rolesSection(r, hosts) +
    conversationsSection(r, sev, hosts) +
    capturesSection(r) +
    `<footer>Written by ${esc(r.generator.name)} ${esc(r.generator.version)} (${esc(r.schema)}). Times are UTC. ` +
    `This file is self-contained: it loads nothing from the network.</footer>` +
    `</main>`;
  const data = { schema: r.schema, verdict: r.summary.verdict, findings: r.summary.findings, groups: groups.all };
  return (
    `<!DOCTYPE html>\n<html lang="en" data-verdict="${r.summary.verdict}"><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="${esc(CSP)}">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta name="generator" content="${esc(`${r.generator.name} ${r.generator.version}`)}">` +
    `<title>${esc(clip(title, 200))}</title><link rel="icon" href="data:,">` +
    `<style>${CSS}</style></head><body>` +
    body +
    `<script type="application/json" id="report-data">${jsonForScript(data)}</script>` +
    `<script>${JS}</script>` +
    `</body></html>\n`
  );
}
