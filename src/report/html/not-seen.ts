/**
 * "What was not seen, and why": matrix rows with no conversation, each with why, and the
 * conversations on matrix rows the capture could not verify.
 */
import { formatPorts, type MatrixRow, rowServerText } from "../../policy/index.js";
import type { Report } from "../record.js";
import { duration, num as fmt, plural, SECTION } from "../view/index.js";
import { shorten, esc, ipWithName, type Hosts } from "./cells.js";

export const SECTION_NOT_SEEN = "What was not seen, and why";

export const LIMIT_TEXT: Record<string, string> = {
  "start-missing": "the capture starts after it did, so its opening (handshake) is not in it",
  "one-direction": "only one direction of it was captured",
  snaplen: "the snap length cut its packets, so what they carried is not all there",
  "end-of-capture": "the capture ends before it could show an answer",
};

/** Not-verifiable conversations listed at most; the rest are counted. */
export const NOT_VERIFIABLE_LISTED = 50;

/** The rows a --filter left out (the "filtered" coverage entry's `rows`). */
export function filteredRows(r: Report): Set<string> {
  return new Set((r.summary.coverage ?? []).find((c) => c.code === "filtered")?.rows ?? []);
}

/**
 * Matrix rows with no conversation, each with why (a finding says it is missing, the --filter
 * left it out, it is optional, no host has the role it needs), then the conversations on matrix
 * rows that the capture could not verify, with what was missing.
 */
export function notSeenSection(r: Report, rowsIn: MatrixRow[] | undefined, hosts: Hosts): string {
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
      for (const { f, i } of missing) why.push(`<a href="#finding-${i + 1}">finding ${i + 1}</a>: ${esc(shorten(f.message, 220))}`);
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
