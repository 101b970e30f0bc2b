/**
 * The checks: each conversation gets the matrix row it matches (or none) and findings with stable
 * codes (docs/findings.md). Every finding names the conversations and frames behind it and a
 * Wireshark display filter that shows them.
 */
import { formatIp } from "../decode/addr.js";
import type { Conversation } from "../flow/conversation.js";
import type { InfraEntry, Matrix, MatrixRow } from "./matrix.js";
import { formatPorts, rowMatches } from "./matrix.js";
import type { RoleMap } from "./roles.js";

export const FINDING_CODES = [
  "unexpected-port",
  "plaintext-where-tls-required",
  "protocol-mismatch",
  "weak-tls",
  "tls-not-established",
  "blocked",
  "refused",
  "wrong-path",
  "wrong-direction",
  "missing-expected",
] as const;
export type FindingCode = (typeof FINDING_CODES)[number];
export type Severity = "error" | "warning" | "info";
export const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2 };

export interface Finding {
  code: FindingCode;
  severity: Severity;
  /** One or two sentences: what was seen, between which hosts (with roles) on which port. */
  message: string;
  /** What to change, where that can be said. */
  fix: string | null;
  /** The matrix row concerned (matched, or the one that should have been seen), else null. */
  rule: string | null;
  /** Conversation ids behind the finding. */
  conversations: number[];
  /** Frame numbers behind the finding (the first few of each conversation, anomalies, ICMP). */
  frames: number[];
  /** A Wireshark display filter that shows exactly the traffic behind the finding. */
  wiresharkFilter: string;
  /** For grouped attempts (blocked, refused): how many conversations, and over how long. */
  attempts?: number;
  durationSeconds?: number;
}

/** What the checks decided for one conversation. */
export interface ConversationVerdict {
  clientRole: string | null;
  serverRole: string | null;
  /** Matched row id (matrix row, infrastructure entry or related entry), or null. */
  rule: string | null;
  /** Where the matched id comes from. */
  ruleKind: "matrix" | "infrastructure" | "related" | null;
  /** Other rows the conversation would match just as well while a role is unknown. */
  alternatives: string[];
  /** Codes of the findings that name this conversation. */
  findings: FindingCode[];
}

export interface PolicyResult {
  verdicts: Map<Conversation, ConversationVerdict>;
  findings: Finding[];
  summary: {
    verdict: "pass" | "warn" | "fail";
    findings: Record<Severity, number>;
    conversations: number;
    matched: number;
  };
}

export interface CheckContext {
  matrix: Matrix;
  roles: RoleMap;
  /** Seconds between the first and last packet over all captures (for missing-expected). */
  captureSeconds: number;
}

// ---------------------------------------------------------------------------------------------

const TLS_RANK: Record<string, number> = { "SSL 2.0": 0, "SSL 3.0": 1, "TLS 1.0": 2, "TLS 1.1": 3, "TLS 1.2": 4, "TLS 1.3": 5 };

/** Rank of a version string; drafts of TLS 1.3 rank as TLS 1.3. */
function tlsRank(v: string): number {
  if (v.startsWith("TLS 1.3")) return TLS_RANK["TLS 1.3"];
  return TLS_RANK[v] ?? -1;
}

const PROXY = "proxy";

function ipOf(c: Conversation, side: "client" | "server"): string {
  return formatIp(side === "client" ? c.clientIp : c.serverIp, c.ipVersion);
}

function hostLabel(ip: string, role: string | null): string {
  return role ? `${ip} (${role})` : ip;
}

function seconds(c: Conversation): [number, number] {
  return [c.startSec + c.startNsec / 1e9, c.endSec + c.endNsec / 1e9];
}

/** Display filter for one (client, server, transport, ports) group. */
function groupFilter(c: Conversation, ports: number[], extra = ""): string {
  const ipf = c.ipVersion === 4 ? "ip" : "ipv6";
  const a = ipOf(c, "client");
  const b = ipOf(c, "server");
  const hosts = a === b ? `${ipf}.addr==${a}` : `${ipf}.addr==${a} && ${ipf}.addr==${b}`;
  const t = c.transport;
  const uniq = [...new Set(ports)].sort((x, y) => x - y);
  const portExpr = uniq.length === 1 ? `${t}.port==${uniq[0]}` : `${t}.port in {${uniq.join(" ")}}`;
  return `${hosts} && ${portExpr}${extra}`;
}

function joinFilters(parts: string[]): string {
  const u = [...new Set(parts)];
  return u.length === 1 ? u[0] : u.map((p) => `(${p})`).join(" || ");
}

const MAX_FRAMES_LISTED = 50;

function framesOf(convs: Conversation[]): number[] {
  const s = new Set<number>();
  for (const c of convs) {
    for (const f of c.firstFrames) s.add(f);
    for (const f of c.icmpFrames) s.add(f);
    for (const a of c.facts?.anomalies ?? []) if (a.frame) s.add(a.frame);
  }
  return [...s].sort((a, b) => a - b).slice(0, MAX_FRAMES_LISTED);
}

function isUnreachable(c: Conversation): boolean {
  // ICMP type 3 (v4 destination unreachable) or ICMPv6 type 1.
  return c.icmpCount > 0 && ((c.ipVersion === 4 && c.icmpType === 3) || (c.ipVersion === 6 && c.icmpType === 1));
}

const ICMP4_CODES: Record<number, string> = {
  0: "network unreachable", 1: "host unreachable", 3: "port unreachable", 9: "network administratively prohibited",
  10: "host administratively prohibited", 13: "communication administratively prohibited",
};
const ICMP6_CODES: Record<number, string> = {
  0: "no route to destination", 1: "communication administratively prohibited", 3: "address unreachable", 4: "port unreachable",
  5: "source address failed ingress/egress policy", 6: "reject route to destination",
};

function icmpText(c: Conversation): string {
  const name = (c.ipVersion === 4 ? ICMP4_CODES : ICMP6_CODES)[c.icmpCode] ?? `code ${c.icmpCode}`;
  return `ICMP${c.ipVersion === 6 ? "v6" : ""} ${name}`;
}

/** Did the conversation never get an answer? (Zeek S0 for TCP; UDP with nothing back.) */
function unanswered(c: Conversation, state: string): boolean {
  if (c.transport === "tcp") return state === "S0";
  return c.packetsServer === 0 && !isUnreachable(c);
}

function refused(c: Conversation, state: string): boolean {
  return (c.transport === "tcp" && state === "REJ") || isUnreachable(c);
}

// ---------------------------------------------------------------------------------------------

export function checkConversations(convs: readonly Conversation[], ctx: CheckContext, stateOf: (c: Conversation) => string): PolicyResult {
  const { matrix, roles } = ctx;
  const verdicts = new Map<Conversation, ConversationVerdict>();
  const findings: Finding[] = [];
  const proxyKnown = convs.some((c) => roles.roleOf(c.clientIp, c.ipVersion) === PROXY || roles.roleOf(c.serverIp, c.ipVersion) === PROXY);

  const roleOk = (want: string, have: string | null, side: "client" | "server"): boolean => {
    if (want === "any") return true;
    if (have !== null) return have === want;
    // An unknown host stands in for any role — except the proxy once the proxy is known, so a
    // workstation's HTTPS is not judged as the proxy's.
    return !(want === PROXY && proxyKnown && side === "client") && !(want === PROXY && proxyKnown && side === "server");
  };
  const rowFits = (r: MatrixRow, c: Conversation, cr: string | null, sr: string | null) =>
    rowMatches(r, c.serverPort, c.transport) && roleOk(r.client, cr, "client") && roleOk(r.server, sr, "server") &&
    (!r.sameHost || ipOf(c, "client") === ipOf(c, "server"));
  const exactness = (r: MatrixRow, cr: string | null, sr: string | null) => (r.client === cr ? 1 : 0) + (r.server === sr ? 1 : 0);

  // Pending groups of attempts: key → conversations.
  const groups = new Map<string, { code: FindingCode; row: MatrixRow | null; convs: Conversation[]; severity: Severity }>();
  const addGroup = (code: FindingCode, row: MatrixRow | null, c: Conversation, severity: Severity, byPort = true) => {
    const key = [code, row?.id ?? "", c.transport, ipOf(c, "client"), ipOf(c, "server"), byPort ? c.serverPort : "*"].join("|");
    const g = groups.get(key);
    if (g) g.convs.push(c);
    else groups.set(key, { code, row, convs: [c], severity });
  };
  const add: AddFn = (f) => {
    const { convs: cs, filterExtra, filter, ...rest } = f;
    findings.push({
      ...rest,
      conversations: cs.map((c) => c.id),
      frames: framesOf(cs),
      wiresharkFilter: filter ?? joinFilters(cs.map((c) => groupFilter(c, [c.serverPort], filterExtra ?? ""))),
    });
    for (const c of cs) verdicts.get(c)?.findings.push(rest.code);
  };

  for (const c of convs) {
    const cr = roles.roleOf(c.clientIp, c.ipVersion);
    const sr = roles.roleOf(c.serverIp, c.ipVersion);
    const v: ConversationVerdict = { clientRole: cr, serverRole: sr, rule: null, ruleKind: null, alternatives: [], findings: [] };
    verdicts.set(c, v);
    const state = stateOf(c);
    const where = `${c.transport.toUpperCase()} ${c.serverPort} from ${hostLabel(ipOf(c, "client"), cr)} to ${hostLabel(ipOf(c, "server"), sr)}`;

    // Infrastructure (DNS) and VMware's own traffic: shown, never violations.
    const infra = matrix.infrastructure.find((e: InfraEntry) => (e.transport === "tcp" || e.transport === "udp") && rowMatches(e, c.serverPort, c.transport));
    if (infra) {
      v.rule = infra.id;
      v.ruleKind = "infrastructure";
      continue;
    }
    const related = matrix.related.find((r) => rowFits(r, c, cr, sr));
    if (related) {
      v.rule = related.id;
      v.ruleKind = "related";
      continue;
    }

    const candidates = matrix.rows.filter((r) => rowFits(r, c, cr, sr)).sort((a, b) => exactness(b, cr, sr) - exactness(a, cr, sr));
    if (candidates.length === 0) {
      const proxyInvolved = cr === PROXY || sr === PROXY;
      const swapEsxi = (r: string | null) => (r === "esxi" ? "esxi-standalone" : r === "esxi-standalone" ? "esxi" : r);
      const pathRow = sr === "esxi" || sr === "esxi-standalone" ? matrix.rows.find((r) => rowFits(r, c, cr, swapEsxi(sr))) : undefined;
      const reverseRow = matrix.rows.find((r) => rowMatches(r, c.serverPort, c.transport) && (cr !== null || sr !== null) &&
        roleOk(r.client, sr, "client") && roleOk(r.server, cr, "server") && r.client !== "any");
      if (pathRow) {
        const standalone = sr === "esxi-standalone";
        add({
          code: "wrong-path", severity: "warning", rule: pathRow.id, convs: [c],
          message: `${where}: ${standalone
            ? `TCP ${c.serverPort} is the path to ESXi hosts managed through vCenter; a standalone ESXi host is reached on 443`
            : `TCP ${c.serverPort} is the path to standalone ESXi hosts; a host managed through vCenter is reached on 902 (authd/NFC)`} (row ${pathRow.id} is for ${pathRow.server}).`,
          fix: standalone
            ? `Check how ${ipOf(c, "server")} is registered in Phoenix: as a standalone host the proxy should use 443.`
            : `Check how ${ipOf(c, "server")} is registered in Phoenix: a host managed through vCenter is backed up over 902, not 443.`,
        });
      } else if (reverseRow) {
        add({
          code: "wrong-direction", severity: "warning", rule: reverseRow.id, convs: [c],
          message: `${where}: the matrix expects this port opened the other way (${reverseRow.client} → ${reverseRow.server}, row ${reverseRow.id}).`,
          fix: `Find out why ${ipOf(c, "client")} opens ${c.transport.toUpperCase()} ${c.serverPort} towards ${ipOf(c, "server")}.`,
        });
      } else {
        addGroup("unexpected-port", null, c, proxyInvolved ? "warning" : "info");
      }
      continue;
    }

    const row = candidates[0];
    v.rule = row.id;
    v.ruleKind = "matrix";
    v.alternatives = candidates.slice(1).filter((r) => exactness(r, cr, sr) === exactness(row, cr, sr)).map((r) => r.id);

    if (refused(c, state)) {
      addGroup("refused", row, c, "error");
      continue;
    }
    if (unanswered(c, state)) {
      addGroup("blocked", row, c, "error");
      continue;
    }
    checkContent(c, row, where, add);
  }

  // Grouped attempts → one finding per group; unexpected ports between the same two hosts on
  // many ports (a scan) are folded into one finding.
  const folded = new Map<string, { code: FindingCode; row: MatrixRow | null; convs: Conversation[]; severity: Severity }>();
  const byHosts = new Map<string, number>();
  for (const g of groups.values()) {
    if (g.code !== "unexpected-port") continue;
    const c = g.convs[0];
    const k = [c.transport, ipOf(c, "client"), ipOf(c, "server")].join("|");
    byHosts.set(k, (byHosts.get(k) ?? 0) + 1);
  }
  for (const [key, g] of groups) {
    const c = g.convs[0];
    const k = [c.transport, ipOf(c, "client"), ipOf(c, "server")].join("|");
    if (g.code === "unexpected-port" && (byHosts.get(k) ?? 0) > 5) {
      const f = folded.get(k);
      if (f) for (const x of g.convs) f.convs.push(x);
      else folded.set(k, { ...g, convs: [...g.convs] });
    } else folded.set(key, g);
  }
  for (const g of folded.values()) groupFinding(g, verdicts, add, stateOf);

  missingExpected(convs, verdicts, ctx, findings);

  findings.sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || Math.min(...(a.frames.length ? a.frames : [Infinity])) - Math.min(...(b.frames.length ? b.frames : [Infinity])));
  const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  const matched = [...verdicts.values()].filter((v) => v.ruleKind === "matrix").length;
  return {
    verdicts,
    findings,
    summary: {
      verdict: counts.error > 0 ? "fail" : counts.warning > 0 ? "warn" : "pass",
      findings: counts,
      conversations: convs.length,
      matched,
    },
  };
}

type AddFn = (
  f: Omit<Finding, "frames" | "wiresharkFilter" | "conversations"> & {
    convs: Conversation[];
    /** Appended to each conversation's address/port filter. */
    filterExtra?: string;
    /** The whole filter, when the per-conversation one would not do. */
    filter?: string;
  },
) => void;

/** Up to this many distinct ports are listed in a filter's `port in {…}`; beyond, the hosts alone. */
const MAX_FILTER_PORTS = 20;

/** What must cross the wire on a matched row, compared with what did. */
function checkContent(c: Conversation, row: MatrixRow, where: string, add: AddFn): void {
  const f = c.facts;
  if (f === null) return;
  const p = f.protocol;
  const tls = f.tls;
  const label = `${where} (row ${row.id})`;

  const tlsChecks = () => {
    if (tls === null) return;
    // When the capture lost the start of the server's bytes, a missing ServerHello proves nothing.
    if (tls.clientHelloSeen && !tls.serverHelloSeen && !(c.tcp !== null && c.tcp.server.gap)) {
      const alert = tls.alerts.find((a) => a.from === "server");
      add({
        code: "tls-not-established", severity: "error", rule: row.id, convs: [c],
        message: `${label}: the client sent a TLS ClientHello${tls.sni ? ` for ${tls.sni}` : ""} but no ServerHello came back${alert ? ` (the server answered with a ${alert.level} ${alert.description} alert)` : ""}.`,
        fix: alert
          ? `The server refused the handshake: compare the TLS versions and cipher suites both sides allow (the client offered up to ${tls.clientVersion ?? "an unknown version"}).`
          : `Check that a TLS service listens on ${c.transport.toUpperCase()} ${c.serverPort} at ${formatIp(c.serverIp, c.ipVersion)} and that nothing in the path cuts the handshake.`,
      });
      return;
    }
    const ver = tls.version;
    if (ver !== null && row.minTls !== null && (ver.startsWith("SSL") || tlsRank(ver) < tlsRank(row.minTls))) {
      add({
        code: "weak-tls", severity: "error", rule: row.id, convs: [c],
        message: `${label}: negotiated ${ver}${tls.cipher ? ` with ${tls.cipher}` : ""}; the row requires ${row.minTls} or newer${tls.clientVersion ? ` (the client offered up to ${tls.clientVersion})` : ""}.`,
        fix: `Enable ${row.minTls} or newer on ${formatIp(c.serverIp, c.ipVersion)} port ${c.serverPort}${tls.clientVersion && tlsRank(tls.clientVersion) < tlsRank(row.minTls) ? " and on the client" : ""}.`,
      });
    }
  };

  const mismatch = (what: string) =>
    add({
      code: "protocol-mismatch", severity: "error", rule: row.id, convs: [c],
      message: `${label}: expected ${row.expect === "vmware-authd" ? "the VMware authd banner then TLS" : row.expect.toUpperCase()}, but the bytes are ${what}.`,
      fix: `Find out which service answers on ${c.transport.toUpperCase()} ${c.serverPort} at ${formatIp(c.serverIp, c.ipVersion)}: it is not the one Phoenix expects.`,
    });
  const plaintext = (what: string) =>
    add({
      code: "plaintext-where-tls-required", severity: "error", rule: row.id, convs: [c],
      message: `${label}: ${what} in clear where TLS is required.`,
      fix: `Serve TLS (${row.minTls ?? "TLS 1.2"} or newer) on ${c.transport.toUpperCase()} ${c.serverPort} at ${formatIp(c.serverIp, c.ipVersion)}.`,
    });
  const describeClear = () => {
    if (p === "http" && f.http) return `HTTP${f.http.method ? ` (${f.http.method} ${f.http.uri ?? ""}${f.http.host ? `, Host ${f.http.host}` : ""})` : ""}`.trim();
    if (p === "plaintext") return "plain text";
    return "data that is not TLS";
  };

  // Bytes the capture lost (a gap at the start of either side) leave nothing to judge.
  if ((p === "unknown" || p === "none") && c.tcp !== null && (c.tcp.client.gap || c.tcp.server.gap)) return;

  switch (row.expect) {
    case "tls":
      if (p === "tls") tlsChecks();
      else if (p === "http" || p === "plaintext" || p === "unknown") plaintext(describeClear());
      else if (p !== "none") mismatch(p.toUpperCase());
      return;
    case "vmware-authd":
      if (p === "vmware-authd") {
        if (f.anomalies.some((a) => a.name === "authd_plaintext_after_banner")) plaintext("the session after the authd banner went on");
        else if (tls !== null) tlsChecks();
        // `length`, not bytes(): a retired conversation's kept bytes are freed, its length stays.
        else if (c.tcp !== null && c.tcp.client.length === 0)
          add({
            code: "tls-not-established", severity: "error", rule: row.id, convs: [c],
            message: `${label}: the ESXi host sent its authd banner, but no TLS handshake followed.`,
            fix: `Check the proxy's side of TCP ${c.serverPort}: it connected and read the banner but did not start TLS.`,
          });
      } else if (p === "tls") tlsChecks(); // the capture began after the banner
      else if (p === "http" || p === "plaintext" || p === "unknown") plaintext(describeClear());
      else if (p !== "none") mismatch(p.toUpperCase());
      return;
    case "nfs":
      if (p !== "none" && p !== "unknown") mismatch(p.toUpperCase());
      return;
    case "any":
      return;
    default:
      if (p !== "none" && p !== row.expect) mismatch(p === "plaintext" ? "plain text" : p === "unknown" ? "unrecognised binary data" : p.toUpperCase());
  }
}

function groupFinding(
  g: { code: FindingCode; row: MatrixRow | null; convs: Conversation[]; severity: Severity },
  verdicts: Map<Conversation, ConversationVerdict>,
  add: AddFn,
  connStateOf: (c: Conversation) => string,
): void {
  const c = g.convs[0];
  const v = verdicts.get(c)!;
  const client = hostLabel(ipOf(c, "client"), v.clientRole);
  const server = hostLabel(ipOf(c, "server"), v.serverRole);
  // An aggregate entry stands for many conversations (flow table limit): count its members, and
  // its server-port range when it folded ports together (serverPort 0).
  const ports = [...new Set(g.convs.flatMap((x) => (x.aggregate !== null && x.aggregate.level !== "port" ? [x.aggregate.serverPortLow, x.aggregate.serverPortHigh] : [x.serverPort])))].sort((a, b) => a - b);
  let start = Infinity;
  let end = -Infinity;
  for (const x of g.convs) {
    const [s0, s1] = seconds(x);
    if (s0 < start) start = s0;
    if (s1 > end) end = s1;
  }
  const span = Math.max(0, end - start); // a clock that went backwards: no negative duration
  const n = g.convs.reduce((s, x) => s + (x.aggregate !== null ? x.aggregate.conversations : 1), 0);
  const T = c.transport.toUpperCase();
  const over = n > 1 || span > 0 ? ` over ${span.toFixed(1)} s` : "";
  const rowText = g.row ? ` (row ${g.row.id})` : "";
  const attempts = g.convs.reduce((s, x) => s + x.packetsClient, 0);
  let message: string;
  let fix: string | null = null;
  let filterExtra = "";
  if (g.code === "blocked") {
    if (c.transport === "tcp") {
      message = `${T} ${c.serverPort} from ${client} to ${server}${rowText}: ${attempts} SYN${attempts === 1 ? "" : "s"} in ${n} connection attempt${n === 1 ? "" : "s"}${over} never answered — usually a firewall dropping them.`;
      filterExtra = " && tcp.flags.syn==1";
    } else {
      message = `${T} ${c.serverPort} from ${client} to ${server}${rowText}: ${attempts} datagram${attempts === 1 ? "" : "s"}${over} never answered.`;
    }
    fix = `Allow ${T} ${c.serverPort} from ${ipOf(c, "client")} to ${ipOf(c, "server")} in the firewalls between them, and check that the service runs.`;
  } else if (g.code === "refused") {
    const how = isUnreachable(c) ? `answered with ${icmpText(c)}` : "answered with a TCP reset";
    message = `${T} ${c.serverPort} from ${client} to ${server}${rowText}: ${n} attempt${n === 1 ? "" : "s"}${over} ${how} — nothing listens there, or a firewall rejects it.`;
    fix = `Start the service on ${T} ${c.serverPort} at ${ipOf(c, "server")}, or open the port in its host firewall.`;
  } else {
    const portText = ports.length === 1 ? `${T} ${ports[0]}` : `${ports.length} ${T} ports (${ports.slice(0, 8).join(", ")}${ports.length > 8 ? ", …" : ""})`;
    const outcomes = new Map<string, number>();
    for (const x of g.convs) {
      const st = connStateOf(x);
      const o = refused(x, st) ? "refused" : unanswered(x, st) ? "never answered" : "answered";
      outcomes.set(o, (outcomes.get(o) ?? 0) + (x.aggregate !== null ? x.aggregate.conversations : 1));
    }
    const how = [...outcomes].map(([o, k]) => (outcomes.size === 1 ? o : `${k} ${o}`)).join(", ");
    message = `${portText} from ${client} to ${server}: no row of the matrix allows it (${n} conversation${n === 1 ? "" : "s"}, ${how}).`;
    fix = v.clientRole === PROXY || v.serverRole === PROXY ? `Find out what on ${ipOf(c, "client")} opens ${portText}; the proxy needs none of it.` : null;
  }
  const ipf = c.ipVersion === 4 ? "ip" : "ipv6";
  const filter =
    ports.length <= MAX_FILTER_PORTS
      ? groupFilter(c, ports, filterExtra)
      : `${ipf}.addr==${ipOf(c, "client")} && ${ipf}.addr==${ipOf(c, "server")} && ${c.transport}`;
  add({ code: g.code, severity: g.severity, rule: g.row?.id ?? null, convs: g.convs, message, fix, attempts: n, durationSeconds: Number(span.toFixed(6)), filter });
}

/** Rows that should have been seen for the roles present, and were not. */
function missingExpected(convs: readonly Conversation[], verdicts: Map<Conversation, ConversationVerdict>, ctx: CheckContext, findings: Finding[]): void {
  const hostsByRole = new Map<string, Map<string, Conversation>>();
  const note = (role: string | null, ip: string, c: Conversation) => {
    if (role === null) return;
    if (!hostsByRole.has(role)) hostsByRole.set(role, new Map());
    if (!hostsByRole.get(role)!.has(ip)) hostsByRole.get(role)!.set(ip, c);
  };
  for (const c of convs) {
    const v = verdicts.get(c)!;
    note(v.clientRole, ipOf(c, "client"), c);
    note(v.serverRole, ipOf(c, "server"), c);
  }
  // A row counts as seen only through a conversation that matched it unambiguously: a 443
  // conversation to a host of unknown role fits cloud-443, vcenter-443 and esxi-443 alike and
  // proves none of them. Such conversations are named in the message instead.
  const seen = (rowId: string, serverIp?: string) =>
    convs.some((c) => {
      const v = verdicts.get(c)!;
      return v.rule === rowId && v.alternatives.length === 0 && (serverIp === undefined || ipOf(c, "server") === serverIp);
    });
  const maybe = (rowId: string) =>
    convs.filter((c) => {
      const v = verdicts.get(c)!;
      return v.ruleKind === "matrix" && v.alternatives.length > 0 && (v.rule === rowId || v.alternatives.includes(rowId));
    });
  const dur = `${ctx.captureSeconds.toFixed(1)} s`;
  for (const row of ctx.matrix.rows) {
    if (row.required === "optional") continue;
    const clients = row.client === "any" ? undefined : hostsByRole.get(row.client);
    if (row.client !== "any" && (clients === undefined || clients.size === 0)) continue;
    const clientIps = clients ? [...clients.keys()] : [];
    const T = row.transport.toUpperCase();
    const ports = formatPorts(row.ports);
    const portFilter = row.ports.length === 1 && row.ports[0].first === row.ports[0].last ? `${row.transport}.port==${row.ports[0].first}` : `${row.transport}.port in {${row.ports.map((p) => (p.first === p.last ? `${p.first}` : `${p.first}..${p.last}`)).join(" ")}}`;
    const ipf = (ip: string) => (ip.includes(":") ? "ipv6" : "ip");
    const clientText = clientIps.length ? clientIps.map((ip) => `${ip} (${row.client})`).join(", ") : row.client;
    if (row.required === "always") {
      if (seen(row.id)) continue;
      const could = maybe(row.id);
      const couldText = could.length
        ? ` ${could.length} conversation${could.length === 1 ? "" : "s"} on ${T} ${ports} to host${could.length === 1 ? "" : "s"} of unknown role (${[...new Set(could.map((c) => ipOf(c, "server")))].slice(0, 4).join(", ")}) could be it: give the ${row.server}'s address with --role ${row.server}=ADDRESS to tell.`
        : "";
      findings.push({
        code: "missing-expected", severity: "warning", rule: row.id,
        message: `No ${T} ${ports} from ${clientText} to any known ${row.server} host in the ${dur} the capture covers (row ${row.id}: ${row.when}). A capture this short may simply have missed it.${couldText}`,
        fix: `If backups fail, check that ${clientIps[0] ?? "the proxy"} can reach its ${row.server} on ${T} ${ports}.`,
        conversations: [], frames: [],
        wiresharkFilter: clientIps.length ? joinFilters(clientIps.map((ip) => `${ipf(ip)}.addr==${ip} && ${portFilter}`)) : portFilter,
      });
    } else {
      const servers = hostsByRole.get(row.server);
      if (!servers) continue;
      for (const ip of servers.keys()) {
        if (seen(row.id, ip)) continue;
        findings.push({
          code: "missing-expected", severity: "warning", rule: row.id,
          message: `No ${T} ${ports} from ${clientText} to ${ip} (${row.server}) in the ${dur} the capture covers (row ${row.id}: ${row.when}). A capture this short may simply have missed it.`,
          fix: `If backups of this host fail, check that the proxy can reach ${ip} on ${T} ${ports}.`,
          conversations: [], frames: [],
          wiresharkFilter: `${ipf(ip)}.addr==${ip} && ${portFilter}`,
        });
      }
    }
  }
}
