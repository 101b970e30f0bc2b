/**
 * The HTML report's findings: one card per finding, grouped by severity, with its conversations,
 * hosts, frames and the Wireshark filter to copy.
 */
import type { Finding } from "../../policy/index.js";
import type { ConversationRecord, Report } from "../record.js";
import { duration, evidenceFramesText, findingGroups, NO_FINDINGS, num as fmt, plural, SECTION, wiresharkLabel } from "../view/index.js";
import { esc, Groups, hostExtra, ipWithName, pill, seconds, shortTime, type Hosts } from "./cells.js";

export function convLine(c: ConversationRecord, hosts: Hosts): string {
  const dur = seconds(c.end) - seconds(c.start);
  return (
    `<li><span class="mono">#${c.id}</span> ${c.transport}.stream ${c.stream} · ` +
    `<span class="mono">${ipWithName(c.client.ip, hosts)}:${c.client.port} → ${ipWithName(c.server.ip, hosts)}:${c.server.port}</span>${c.vlan !== null ? ` · VLAN ${c.vlan}` : ""} · ` +
    `<span class="mono" title="${esc(c.start)} → ${esc(c.end)}">${esc(shortTime(c.start))} → ${esc(shortTime(c.end).slice(11))}</span> ` +
    `(${esc(duration(dur))}) · ${esc(c.state)} · ${c.firstFrame === c.lastFrame ? `frame ${c.firstFrame}` : `frames ${c.firstFrame}–${c.lastFrame}`}</li>`
  );
}

export const CONVS_LISTED = 8;
/** Addresses listed at most on a finding's card. */
export const HOSTS_LISTED = 6;

export function findingCard(f: Finding, index: number, byId: Map<number, ConversationRecord>, groups: Groups, hosts: Hosts, label: string): string {
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

/**
 * The findings as the view groups them (view/findings.ts: errors, warnings, info, report order
 * inside a group), the same groups the table and Markdown list; each card is drawn from its record.
 */
export function findingsSection(r: Report, byId: Map<number, ConversationRecord>, groups: Groups, hosts: Hosts): string {
  const out = [`<section><h2 id="findings">${esc(SECTION.findings)}</h2>`];
  if (r.findings.length === 0) out.push(`<p class="empty">${esc(NO_FINDINGS)}</p>`);
  for (const g of findingGroups(r)) {
    out.push(`<h3 id="findings-${g.severity}">${g.name} (${g.items.length})</h3>`);
    for (const v of g.items) out.push(findingCard(r.findings[v.index], v.index, byId, groups, hosts, wiresharkLabel(r)));
  }
  out.push(`</section>`);
  return out.join("");
}
