/**
 * The matrix rows and what was seen on each, as the table and Markdown reports list them.
 */
import type { MatrixRow } from "../../policy/matrix.js";
import { formatPorts, rowServerText } from "../../policy/matrix.js";
import type { ConversationRecord, Report } from "../record.js";
import { detailLines } from "./conversations.js";
import { compactNumbers, counted, distinct, num, plural, portText } from "./format.js";
import { weight } from "./status.js";

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

/**
 * Every row of the matrix (when `matrixRows` is given, else only the rows conversations matched),
 * each with what was seen on it. A conversation counts for a row when its `rule` is the row's id
 * and its `ruleKind` is "matrix".
 */
/** The row's lines, saying which of its conversations only could be it (a role unknown). */
function withCandidates(convs: ConversationRecord[], id: string): string[] {
  const maybe = convs.filter((c) => c.rule === null);
  if (maybe.length === 0) return seenLines(convs);
  const others = distinct(maybe.flatMap((c) => c.ruleAlternatives.filter((x) => x !== id)));
  return [...seenLines(convs), `${plural(maybe.length, "conversation")} (${maybe.map((c) => c.id).join(", ")}) could also be ${others.join(", ")}: a role is unknown`];
}

export function matrixView(r: Report, matrixRows?: readonly MatrixRow[]): MatrixView {
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
    });
  }
  const seenCount = rows.filter((x) => x.seen !== null).length;
  const heading = `${r.matrix.product}, matrix version ${r.matrix.version}: ${num(seenCount)} of ${plural(r.matrix.rows, "row")} seen`;
  const note = matrixRows ? null : "Rows with nothing seen are listed when the renderer is given the matrix.";
  return { heading, rows, note };
}

export const NOT_SEEN = "not seen";
