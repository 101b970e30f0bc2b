/**
 * The HTML report's small parts: the escaper, cells, pills, times, sizes, the names shown beside
 * an address, click-target groups and sortable tables. Every string a part takes is escaped here
 * (sanitize.ts's escapeHtml, which also makes control and bidi characters visible).
 */
import { num as fmt, plural, type Status } from "../view/index.js";
import { escapeHtml } from "../sanitize.js";
import { nameWithSources, linkText, type HostFacts } from "./hosts.js";
import type { ConvGroup } from "./diagram/index.js";

/** JSON for a `<script type="application/json">` block: `<` (and `>`, `&`) as \u escapes so no `</script>` can close it. */
export function jsonForScript(v: unknown): string {
  return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

export const esc = escapeHtml;

/** Shorten by code points (never splitting a surrogate pair), with an ellipsis: for headings and titles (view/format.ts clip says how much was left out instead). */
export function shorten(s: string, max: number): string {
  const cps = Array.from(s);
  return cps.length <= max ? s : cps.slice(0, max - 1).join("") + "…";
}

/** "2026-11-25T10:46:20.456776000Z" → "2026-11-25 10:46:20.456776" (UTC; the full value stays in the title). */
export function shortTime(iso: string | null): string {
  if (!iso) return "—";
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(iso);
  return m ? `${m[1]} ${m[2]}${m[3] ? "." + m[3].slice(0, 6) : ""}` : iso;
}

export function timeCell(iso: string | null): string {
  return `<td class="mono nw" data-v="${esc(iso ?? "")}" title="${esc(iso ?? "")}">${esc(shortTime(iso))}</td>`;
}

export function seconds(iso: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(iso);
  if (!m) return NaN;
  return Date.parse(m[1] + "Z") / 1000 + (m[2] ? Number("0." + m[2]) : 0);
}

export function bytes(n: number): string {
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

export const STATUS_TEXT: Record<Status, string> = { error: "error", warning: "warning", info: "info", none: "no rule", ok: "clean" };

export function pill(status: Status, text = STATUS_TEXT[status]): string {
  const cls = status === "none" ? "s-none" : status === "ok" ? "s-ok" : `s-${status}`;
  return `<span class="pill ${cls}">${esc(text)}</span>`;
}

export function num(n: number, text = fmt(n)): string {
  return `<td class="num" data-v="${n}">${esc(text)}</td>`;
}

export type Hosts = Map<string, HostFacts>;

/** Names shown beside an address; the rest are in its tooltip and counted. */
export const NAMES_SHOWN = 2;
/** A name is cut to this many characters where it is shown (the tooltip has it whole). */
export const NAME_MAX = 64;

/** Tooltip text: every name with where it was seen, one per line. */
export function namesTitle(h: HostFacts): string {
  return h.names.map((n) => esc(nameWithSources(n))).join("&#10;") + (h.moreNames ? `&#10;${esc(`and ${plural(h.moreNames, "more name")}`)}` : "");
}

/**
 * Under an address: the names it was seen under (DNS answers, SNI, certificate) and, unless the
 * caller prints its own (a conversation's VLAN and MACs), its VLAN IDs and MAC. "" when none is known.
 */
export function hostExtra(ip: string, hosts: Hosts, link: string | null = null): string {
  const h = hosts.get(ip);
  let out = "";
  if (h && h.names.length) {
    const shown = h.names.slice(0, NAMES_SHOWN).map((n) => shorten(n.name, NAME_MAX));
    const more = h.names.length - shown.length + h.moreNames;
    out += `<div class="hn" title="${namesTitle(h)}">${esc(shown.join(", "))}${more > 0 ? ` <span class="muted">+${more}</span>` : ""}</div>`;
  }
  const l = link ?? linkText(h);
  if (l) out += `<div class="hl">${esc(l)}</div>`;
  return out;
}

/** An address with its first name in brackets, for inline text: "10.0.0.5 (esxi1.example)". */
export function ipWithName(ip: string, hosts: Hosts): string {
  const h = hosts.get(ip);
  if (!h || h.names.length === 0) return esc(ip);
  return `${esc(ip)} <span class="hn" title="${namesTitle(h)}">(${esc(shorten(h.names[0].name, NAME_MAX))}${h.names.length + h.moreNames > 1 ? " …" : ""})</span>`;
}

export class Groups {
  private n = 0;
  readonly all: Record<string, ConvGroup> = {};
  add(g: ConvGroup): string {
    const id = `g${++this.n}`;
    this.all[id] = g;
    return id;
  }
}

export function table(id: string, heads: [string, "num" | "text"][], rows: string[], empty: string): string {
  if (rows.length === 0) return `<p class="empty">${esc(empty)}</p>`;
  return `${tableOpen(id, heads)}${rows.join("")}${TABLE_CLOSE}`;
}

/** A sortable table up to its first row (table() whole; the conversations' rows follow in pieces). */
export function tableOpen(id: string, heads: [string, "num" | "text"][]): string {
  return `<div class="tablewrap"><table class="sortable" id="${id}"><thead><tr>` + heads.map(([h, t]) => `<th scope="col" data-type="${t}">${esc(h)}</th>`).join("") + `</tr></thead><tbody>`;
}

export const TABLE_CLOSE = `</tbody></table></div>`;
