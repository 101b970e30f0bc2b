/**
 * `missing-expected`: the rows that should have been seen for the roles present, and were not
 * (never a row with conversations; docs/findings.md, "Codes").
 */
import type { CheckContext, Finding } from "./finding.js";
import { PROXY } from "./finding.js";
import { formatPorts } from "./matrix.js";
import type { Namer } from "./namer.js";
import type { ConnectionView } from "./view.js";
import { rowFilter } from "./wireshark.js";

/** Rows that should have been seen for the roles present, and were not (never a row with conversations). */
/** Who a missing-expected finding is about: the server host that saw nothing (if-present rows), and the proxy. */
export interface MissingHosts {
  server: string | null;
  proxy: string | null;
}

export function missingExpected(
  views: readonly ConnectionView[],
  candidateRows: Map<ConnectionView, string[]>,
  ctx: CheckContext,
  n: Namer,
  hostsOut: Map<Finding, MissingHosts>,
): Finding[] {
  const out: Finding[] = [];
  // The part of the file not read may hold the row's conversations (coverage read-stopped says so).
  if (ctx.partial) return out;
  // Every host once, with its possible roles; and for each row, the servers of the conversations that could be it.
  const hosts = new Map<string, { cands: readonly string[]; role: string | null }>();
  for (const c of views) {
    for (const e of [c.client, c.server]) {
      if (hosts.has(e.ip)) continue;
      const cands = ctx.roles.candidatesOf(e.bytes, c.ipVersion);
      if (cands) hosts.set(e.ip, { cands, role: ctx.roles.roleOf(e.bytes, c.ipVersion) });
    }
  }
  const serversByRow = new Map<string, Set<string>>();
  for (const [c, ids] of candidateRows) {
    for (const id of ids) {
      let set = serversByRow.get(id);
      if (!set) serversByRow.set(id, (set = new Set()));
      set.add(c.server.ip);
    }
  }
  /** Hosts whose every possible role is one of `want`, with their role for the message. */
  const hostsOf = (want: readonly string[]) => {
    const m = new Map<string, string>();
    for (const [ip, h] of hosts) if (h.cands.every((r) => want.includes(r))) m.set(ip, h.role ?? want[0]);
    return m;
  };
  const hasConversations = (rowId: string, serverIp?: string) => {
    const set = serversByRow.get(rowId);
    return set !== undefined && (serverIp === undefined || set.has(serverIp));
  };
  const dur = `${ctx.captureSeconds.toFixed(1)} s`;
  for (const row of ctx.matrix.rows) {
    if (row.required === "optional" || !ctx.rowInFilter(row)) continue;
    const clientIps = row.client === "any" ? [] : [...hostsOf([row.client]).keys()];
    if (row.client !== "any" && clientIps.length === 0) continue;
    const T = row.transport.toUpperCase();
    const ports = formatPorts(row.ports);
    const clientText = clientIps.length ? clientIps.map((ip) => `${n.address(ip)} (${row.client})`).join(", ") : row.client;
    const proxy = row.client === PROXY && clientIps.length ? clientIps[0] : null;
    if (row.required === "always") {
      if (hasConversations(row.id)) continue;
      out.push({
        code: "missing-expected", severity: "warning", rule: row.id, rules: [],
        message: `No ${T} ${ports} from ${clientText} to any ${row.server} host in the ${dur} the capture covers (row ${row.id}: ${row.when}). A capture this short may simply have missed it.`,
        fix: `If backups fail, check that ${clientIps.length ? n.address(clientIps[0]) : "the proxy"} can reach its ${row.server} on ${T} ${ports}.`,
        conversations: [], frames: [], framesIn: [], wiresharkFilter: rowFilter(clientIps, row.transport, row.ports, n),
      });
      hostsOut.set(out[out.length - 1], { server: null, proxy });
    } else {
      for (const [ip, role] of hostsOf(row.servers)) {
        if (hasConversations(row.id, ip)) continue;
        out.push({
          code: "missing-expected", severity: "warning", rule: row.id, rules: [],
          message: `No ${T} ${ports} from ${clientText} to ${n.address(ip)} (${role}) in the ${dur} the capture covers (row ${row.id}: ${row.when}). A capture this short may simply have missed it.`,
          fix: `If backups of this host fail, check that the proxy can reach ${n.address(ip)} on ${T} ${ports}.`,
          conversations: [], frames: [], framesIn: [], wiresharkFilter: rowFilter([ip], row.transport, row.ports, n),
        });
        hostsOut.set(out[out.length - 1], { server: ip, proxy });
      }
    }
  }
  return out;
}
