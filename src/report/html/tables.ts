/**
 * The HTML report's sortable tables: matrix rows, roles, conversations, captures and capture errors.
 */
import type { MatrixRow, Severity } from "../../policy/index.js";
import type { CaptureRecord, ConversationRecord, Report } from "../record.js";
import { addressSortKey as ipKey, conversationStatus, detailLines, duration, evidenceLine, flowLimitText, matrixView, NO_ROLES, NOT_SEEN, num as fmt, plural, roleViews, SECTION, STATUS_RANK, weight } from "../view/index.js";
import { bytes, esc, hostExtra, num, pill, seconds, shortTime, table, TABLE_CLOSE, tableOpen, timeCell, type Hosts } from "./cells.js";

/** The matrix rows and what was seen on each: the section view table and Markdown render (view/matrix.ts). */
export function matrixSection(r: Report, rowsIn: MatrixRow[] | undefined): string {
  const m = matrixView(r, rowsIn);
  const lines = (xs: string[]) => xs.map((x) => `<div>${esc(x)}</div>`).join("");
  const rows = m.rows.map((x) => {
    const st = x.status;
    const statusCell = st === null ? `<td data-v="0">${pill("none", NOT_SEEN)}</td>` : `<td data-v="${STATUS_RANK[st] + 1}">${pill(st)}</td>`;
    const rc = st === "error" ? "r-error" : st === "warning" ? "r-warning" : st === "ok" ? "r-ok" : "";
    return (
      `<tr${rc ? ` class="${rc}"` : ""}><td class="mono nw">${esc(x.id)}</td><td>${esc(x.path)}</td><td class="mono nw" data-v="${x.portKey}">${esc(x.port)}</td>` +
      `<td>${esc(x.expects)}</td><td>${esc(x.required)}</td>${num(x.count)}${statusCell}<td>${esc(x.findings.join(", "))}</td>` +
      `<td class="wrap">${x.seen ? lines(x.seen) : `<span class="muted">${esc(NOT_SEEN)}</span>`}</td><td class="wrap">${esc(x.when)}</td></tr>`
    );
  });
  return (
    `<section><h2 id="matrix">${esc(SECTION.matrix)}</h2><p class="muted">${esc(m.heading)}</p>` +
    table(
      "t-matrix",
      [["Row", "text"], ["Client → server", "text"], ["Port", "num"], ["Must carry", "text"], ["Required", "text"], ["Seen", "num"], ["Status", "num"], ["Findings", "text"], ["What was seen", "text"], ["When", "text"]],
      rows,
      "No matrix row given and no conversation matched a row.",
    ) +
    (m.note ? `<p class="muted">${esc(m.note)}</p>` : "") +
    `</section>`
  );
}

export function rolesSection(r: Report, hosts: Hosts): string {
  // The roles the table and Markdown list (view/summary.ts), here in address order.
  const rows = roleViews(r)
    .sort((a, b) => (ipKey(a.host) < ipKey(b.host) ? -1 : ipKey(a.host) > ipKey(b.host) ? 1 : 0))
    .map((x) => `<tr><td class="mono" data-v="${esc(ipKey(x.host))}">${esc(x.host)}${hostExtra(x.host, hosts)}</td><td>${esc(x.role)}</td><td>${esc(x.source)}</td><td class="wrap">${esc(x.reason)}</td></tr>`);
  return (
    `<section><h2 id="roles">${esc(SECTION.roles)}</h2>` +
    table("t-roles", [["Address", "text"], ["Role", "text"], ["How", "text"], ["Reason", "text"]], rows, NO_ROLES) +
    `</section>`
  );
}

/** Rows of the conversations table per piece (htmlPieces writes a large report a slice at a time). */
const ROWS_PER_PIECE = 500;

/** The conversations section in pieces: its heading and table head, the rows ROWS_PER_PIECE at a time, its end. */
export function* conversationsPieces(r: Report, sev: Map<number, Severity>, hosts: Hosts): Generator<string> {
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
  const row = (c: ConversationRecord): string => {
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
  };
  const heads: [string, "num" | "text"][] = [
    ["#", "num"], ["Client", "text"], ["Server", "text"], ["Port", "num"], ["Protocol", "text"], ["Seen", "text"], ["State", "text"], ["Findings", "num"],
    ["Rule", "text"], [oneDate ? `Start (UTC, ${oneDate})` : "Start (UTC)", "text"], ["Duration", "num"], ["Packets c/s", "num"], ["Bytes", "num"],
    ["Frames", "num"], ["Stream", "num"],
  ];
  if (multi) heads.push(["Capture", "num"]);
  const head =
    `<section><h2 id="conversations">Conversations (${fmt(total)}${total !== r.conversations.length ? `, in ${plural(r.conversations.length, "row")}` : ""})</h2>` +
    `<div class="filterbar" id="conv-filter" hidden><span></span><button type="button">Show all</button></div>`;
  const n = r.conversations.length;
  if (n === 0) {
    yield head + table("t-conv", heads, [], "No TCP or UDP conversation in the capture.") + `</section>`;
    return;
  }
  yield head + tableOpen("t-conv", heads);
  for (let i = 0; i < n; i += ROWS_PER_PIECE) yield r.conversations.slice(i, i + ROWS_PER_PIECE).map(row).join("");
  yield TABLE_CLOSE + `</section>`;
}

export function decodeNotes(c: CaptureRecord): string {
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

export function capturesSection(r: Report): string {
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
