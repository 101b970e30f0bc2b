/**
 * The top of the HTML report: the verdict banner, the navigation, "What to fix first", the
 * per-host checklist, "What the capture could not show", and the most severe findings.
 */
import type { FixFirst } from "../../policy/index.js";
import type { ConversationRecord, Report } from "../record.js";
import { coverageLines, duration, fixFirstLines, NO_FINDINGS, num as fmt, plural, SECTION, STATUS_RANK, verdictView } from "../view/index.js";
import { isAddress } from "./hosts.js";
import { shorten, esc, hostExtra, pill, type Hosts } from "./cells.js";

export function verdictText(r: Report): string {
  return verdictView(r).word;
}

export function header(r: Report): string {
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
    `${plural(r.captures.length, "capture")} (${esc(shorten(files.join(", "), 140))}), ${plural(packets, "packet")} over ${esc(duration(s.captureSeconds))}` +
    `${errors ? ` · <strong>${plural(errors, "capture error")}</strong>` : ""}</div>` +
    `<div class="tool">${esc(r.generator.name)} ${esc(r.generator.version)} · matrix: ${esc(r.matrix.product)} v${esc(r.matrix.version)} (${plural(r.matrix.rows, "row")})</div>` +
    `</div></div></header>`
  );
}

export function nav(): string {
  const links = [["not-seen", "Not seen"], ["diagram", "Diagram"], ["findings", "Findings"], ["matrix", "Matrix"], ["roles", "Roles"], ["conversations", "Conversations"], ["captures", "Captures"]];
  return `<nav><div>${links.map(([id, t]) => `<a href="#${id}">${t}</a>`).join("")}</div></nav>`;
}

/** The most severe findings, one line each, right under the verdict. */
export function headline(r: Report): string {
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
    `<ul class="headline">${top.map(({ f, i }) => `<li>${pill(f.severity)} <a href="#finding-${i + 1}">${esc(shorten(f.message, 220))}</a></li>`).join("")}</ul>` +
    (more > 0 ? `<p class="muted">and ${plural(more, "more finding")} below.</p>` : "")
  );
}

/** "What to fix first" and "what the capture could not show", right under the verdict. */
export function firstScreen(r: Report, byId: Map<number, ConversationRecord>, hosts: Hosts): string {
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

export const isIp = isAddress;

/** "TCP 443", "UDP 1000-2000": the port a fix-first action names, or null. */
export function actionPort(action: string): string | null {
  return /\b(?:TCP|UDP) \d+(?:[-–,]\d+)*/.exec(action)?.[0] ?? null;
}

/**
 * The findings behind one fix-first line: same code and severity, about that host (one of its
 * conversations, or its address in the message; "the proxy" for findings with no conversation),
 * on the port the action names. Only to link to them: the line itself is the record's.
 */
export function findingsOf(x: FixFirst, r: Report, byId: Map<number, ConversationRecord>): number[] {
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
export function checklistSection(r: Report, byId: Map<number, ConversationRecord>, hosts: Hosts): string {
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
export const PROXY_CARD = "the proxy";

export const SECTION_CHECKLIST = "Per host: what to open or change";
