/**
 * The matrix rows and what was seen on each, as the table, Markdown and HTML reports list them.
 */
import { formatPorts, type MatrixRow, rowServerText } from "../../policy/index.js";
import type { ConversationRecord, Report } from "../record.js";
import { detailLines } from "./conversations.js";
import { compactNumbers, counted, distinct, num, plural, portText } from "./format.js";
import { conversationStatus, severityByConversation, weight, worse, type Status } from "./status.js";

export interface MatrixRowView {
  id: string;
  /** "proxy → esxi", "guest → guest (same host)". */
  path: string;
  /** "TCP 902", "TCP 1000-2000". */
  port: string;
  /** "vmware-authd, TLS 1.2+" (the lowest TLS version allowed, when the row sets one). */
  expects: string;
  /** "always", "if-present", "optional" ("" when the row's definition was not given). */
  required: string;
  /** What was seen, one item per line, or null when nothing was ("not seen"). */
  seen: string[] | null;
  /** Conversations counted for the row (an aggregate entry as the conversations it holds); 0 when not seen. */
  count: number;
  /** Worst of its conversations' statuses and the findings that name the row; null when neither. */
  status: Status | null;
  /** Codes of the findings that name the row, each once. */
  findings: string[];
  /** When the row applies, as the matrix says ("" when the row's definition was not given). */
  when: string;
  /** The row's lowest server port, for sorting. */
  portKey: number;
}

export interface MatrixView {
  /** "Druva Phoenix backup proxy for VMware, matrix version 1: 3 of 12 rows seen". */
  heading: string;
  rows: MatrixRowView[];
  /** Said under the rows when the matrix itself was not given to the renderer. */
  note: string | null;
}

/** Detail lines listed at most for one matrix row (distinct lines over its conversations). */
const MAX_ROW_DETAILS = 8;

function seenLines(convs: ConversationRecord[]): string[] {
  const lines: string[] = [];
  const ids = compactNumbers(convs.map((c) => c.id));
  const total = convs.reduce((n, c) => n + weight(c), 0);
  lines.push(`${plural(total, "conversation")} (${total === convs.length ? "" : "entries "}${ids})`);
  const servers = distinct(convs.map((c) => c.server.ip));
  lines.push(`to ${servers.join(", ")}`);
  lines.push(`state ${counted(convs.map((c) => c.state))}`);
  lines.push(`protocol ${counted(convs.map((c) => c.protocol))}`);
  // What the conversations carried (TLS version, SNI, banners, anomalies…), each line once.
  const details = [...new Set(convs.flatMap(detailLines))];
  lines.push(...details.slice(0, MAX_ROW_DETAILS));
  if (details.length > MAX_ROW_DETAILS) lines.push(`… ${plural(details.length - MAX_ROW_DETAILS, "more detail")} (--format json has them all)`);
  const codes = [...new Set(convs.flatMap((c) => c.findings))];
  if (codes.length > 0) lines.push(`findings: ${codes.join(", ")}`);
  return lines;
}

function expectsText(row: MatrixRow): string {
  return row.minTls ? `${row.expect}, ${row.minTls}+` : row.expect;
}

/** The row's lines, saying which of its conversations only could be it (a role unknown). */
function withCandidates(convs: ConversationRecord[], id: string): string[] {
  const maybe = convs.filter((c) => c.rule === null);
  if (maybe.length === 0) return seenLines(convs);
  const others = distinct(maybe.flatMap((c) => c.ruleAlternatives.filter((x) => x !== id)));
  return [...seenLines(convs), `${plural(maybe.length, "conversation")} (${maybe.map((c) => c.id).join(", ")}) could also be ${others.join(", ")}: a role is unknown`];
}

/**
 * Every row of the matrix (when `matrixRows` is given, else only the rows conversations matched),
 * each with what was seen on it. A conversation counts for a row when its `rule` is the row's id
 * and its `ruleKind` is "matrix", or, when a role is unknown, the row is one of its
 * `ruleAlternatives`.
 */
export function matrixView(r: Report, matrixRows?: readonly MatrixRow[]): MatrixView {
  const sev = severityByConversation(r);
  const findingsByRule = new Map<string, { code: string; severity: Status }[]>();
  for (const f of r.findings) {
    if (f.rule === null) continue;
    const list = findingsByRule.get(f.rule);
    if (list) list.push(f);
    else findingsByRule.set(f.rule, [f]);
  }
  /** The row's count, status and finding codes, from its conversations and the findings naming it. */
  const judged = (id: string, convs: ConversationRecord[] | undefined) => {
    const fs = findingsByRule.get(id) ?? [];
    let status: Status | null = null;
    for (const c of convs ?? []) status = worse(status ?? "ok", conversationStatus(c, sev));
    for (const f of fs) status = worse(status ?? "ok", f.severity);
    const count = (convs ?? []).reduce((n, c) => n + weight(c), 0);
    return { count, status, findings: [...new Set(fs.map((f) => f.code))] };
  };
  const byRule = new Map<string, ConversationRecord[]>();
  for (const c of r.conversations) {
    if (c.ruleKind !== "matrix") continue;
    // A conversation whose host's role is unknown is listed under every row it could be.
    for (const id of c.rule !== null ? [c.rule] : c.ruleAlternatives) {
      const list = byRule.get(id);
      if (list) list.push(c);
      else byRule.set(id, [c]);
    }
  }
  const rows: MatrixRowView[] = [];
  const listed = new Set<string>();
  for (const row of matrixRows ?? []) {
    listed.add(row.id);
    const convs = byRule.get(row.id);
    rows.push({
      id: row.id,
      path: `${row.client} → ${rowServerText(row)}${row.sameHost ? " (same host)" : ""}`,
      port: portText(row.transport, formatPorts(row.ports)),
      expects: expectsText(row),
      required: row.required,
      seen: convs ? withCandidates(convs, row.id) : null,
      ...judged(row.id, convs),
      when: row.when,
      portKey: row.ports[0]?.first ?? 0,
    });
  }
  // Rows conversations matched that the given rows do not define (or every row, with none given).
  for (const [id, convs] of byRule) {
    if (listed.has(id)) continue;
    const first = convs[0];
    rows.push({
      id,
      path: `${first.client.role ?? "?"} → ${first.server.role ?? "?"}`,
      port: portText(first.transport, distinct(convs.map((c) => String(c.server.port))).join(", ")),
      expects: "",
      required: "",
      seen: seenLines(convs),
      ...judged(id, convs),
      when: "",
      portKey: Math.min(...convs.map((c) => c.server.port)),
    });
  }
  const seenCount = rows.filter((x) => x.seen !== null).length;
  const heading = `${r.matrix.product}, matrix version ${r.matrix.version}: ${num(seenCount)} of ${plural(r.matrix.rows, "row")} seen`;
  const note = matrixRows ? null : "Rows with nothing seen are listed when the renderer is given the matrix.";
  return { heading, rows, note };
}

export const NOT_SEEN = "not seen";
