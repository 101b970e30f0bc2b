/**
 * Findings from grouped judgements: conversations with the same code, rows, hosts and port are
 * one finding (docs/findings.md, "Codes"), with the sentence, frames and Wireshark filter that
 * show them; a scan of more than five unexpected ports between two hosts is folded into one.
 */
import type { ConversationData } from "../flow/index.js";
import type { ConversationVerdict, Finding } from "./finding.js";
import { PROXY } from "./finding.js";
import { type FindingCode, type Severity, icmpText, isRefused, isUnanswered } from "./judge.js";
import { CERTIFICATE_CODES, type CertificateCode } from "./certificate.js";
import type { Namer } from "./namer.js";
import { tunnelHead, webProxyPath } from "./tunnel.js";
import type { ConnectionView } from "./view.js";
import { groupFilter, hostsFilter, joinFilters, portFilter } from "./wireshark.js";

/** Conversations that are one finding, before it is written. */
export interface Group {
  code: FindingCode;
  severity: Severity;
  rules: string[];
  convs: ConnectionView[];
  what: string;
  fix: string | null;
  /** Folded from the groups of more than SWEEP_FOLD host pairs (one port, many hosts). */
  sweep?: boolean;
}

/**
 * More than this many host pairs with the same unexpected port fold into one finding: a sweep
 * over many hosts (or a capture of many clients) is one thing to find out, not a card per pair,
 * and the report's findings stay few whatever the number of hosts (issue 19's memory bound).
 */
export const SWEEP_FOLD = 10;

/** The server ports of a group's conversations (an aggregate entry of coarser level stands for a range). */
function portsOf(convs: readonly ConnectionView[]): number[] {
  return [...new Set(convs.flatMap((x) => (x.aggregate !== null && x.aggregate.level !== "port" ? [x.aggregate.serverPortLow, x.aggregate.serverPortHigh] : [x.server.port])))].sort((a, b) => a - b);
}

function hostLabel(ip: string, role: string | null, n: Namer): string {
  const t = n.address(ip);
  return role ? `${t} (${role})` : t;
}

export function buildFindings(groups: Map<string, Group>, verdicts: Map<ConversationData, ConversationVerdict>, n: Namer): Finding[] {
  // More than five unexpected ports between the same two hosts (a scan) fold into one finding.
  const byHosts = new Map<string, number>();
  const hostKey = (c: ConnectionView) => [c.transport, c.client.ip, c.server.ip].join("|");
  for (const g of groups.values()) if (g.code === "unexpected-port") byHosts.set(hostKey(g.convs[0]), (byHosts.get(hostKey(g.convs[0])) ?? 0) + 1);
  const folded = new Map<string, Group>();
  for (const [key, g] of groups) {
    const k = hostKey(g.convs[0]);
    if (g.code === "unexpected-port" && (byHosts.get(k) ?? 0) > 5) {
      const f = folded.get(`scan|${k}`);
      if (f) f.convs.push(...g.convs);
      else folded.set(`scan|${k}`, { ...g, convs: [...g.convs] });
    } else folded.set(key, g);
  }
  const out: Finding[] = [];
  for (const g of foldSweeps(folded).values()) {
    const f = groupFinding(g, verdicts, n);
    out.push(f);
    for (const c of g.convs) verdicts.get(c.conv)?.findings.push(g.code);
  }
  return out;
}

/** Unexpected-port groups of one port, code, severity and rows over more than SWEEP_FOLD host pairs → one group each. */
function foldSweeps(groups: Map<string, Group>): Map<string, Group> {
  const keys = new Map<Group, string>();
  const count = new Map<string, number>();
  for (const [key, g] of groups) {
    if (g.code !== "unexpected-port" || key.startsWith("scan|")) continue;
    const ports = portsOf(g.convs);
    if (ports.length !== 1) continue;
    const k = [g.severity, g.convs[0].transport, ports[0], g.rules.join(","), g.what].join("|");
    keys.set(g, k);
    count.set(k, (count.get(k) ?? 0) + 1);
  }
  if (![...count.values()].some((n) => n > SWEEP_FOLD)) return groups;
  const out = new Map<string, Group>();
  for (const [key, g] of groups) {
    const k = keys.get(g);
    if (k === undefined || count.get(k)! <= SWEEP_FOLD) {
      out.set(key, g);
      continue;
    }
    const f = out.get(`sweep|${k}`);
    if (f) for (const c of g.convs) f.convs.push(c);
    else out.set(`sweep|${k}`, { ...g, convs: [...g.convs], sweep: true });
  }
  return out;
}

function framesIn(convs: readonly ConnectionView[]): { capture: number; frames: number[] }[] {
  const by = new Map<number, ConnectionView[]>();
  for (const c of convs) {
    const list = by.get(c.capture);
    if (list) list.push(c);
    else by.set(c.capture, [c]);
  }
  return [...by].sort((a, b) => a[0] - b[0]).map(([capture, cs]) => ({ capture, frames: framesOf(cs) }));
}

/** The first 50 frames of the conversations, each once, in order. */
function framesOf(convs: readonly ConnectionView[]): number[] {
  // A conversation's frames all come at or after its first frame: once 50 are known, one that
  // starts after the 50th has none to add (a group of a scan's thousands stops early).
  let kept: number[] = [];
  let bound = Infinity;
  for (const c of convs) {
    if (c.firstFrame > bound) continue;
    for (const f of c.frames) if (f <= bound) kept.push(f);
    if (kept.length >= 200) {
      kept = firstFifty(kept);
      if (kept.length === 50) bound = kept[49];
    }
  }
  return firstFifty(kept);
}

function firstFifty(frames: number[]): number[] {
  return [...new Set(frames)].sort((a, b) => a - b).slice(0, 50);
}

function groupFinding(g: Group, verdicts: Map<ConversationData, ConversationVerdict>, namer: Namer): Finding {
  const c = g.convs[0];
  const v = verdicts.get(c.conv)!;
  const client = hostLabel(c.client.ip, v.clientRole, namer);
  const server = hostLabel(c.server.ip, v.serverRole, namer);
  const clientIp = namer.address(c.client.ip);
  const serverIp = namer.address(c.server.ip);
  const ports = portsOf(g.convs);
  let start = Infinity;
  let end = -Infinity;
  for (const x of g.convs) {
    if (x.start < start) start = x.start;
    if (x.end > end) end = x.end;
  }
  const span = Math.max(0, end - start);
  const n = g.convs.reduce((s, x) => s + (x.aggregate !== null ? x.aggregate.conversations : 1), 0);
  const T = c.transport.toUpperCase();
  const over = n > 1 || span > 0 ? ` over ${span.toFixed(1)} s` : "";
  const rowText = g.rules.length === 1 ? ` (row ${g.rules[0]})` : g.rules.length > 1 ? ` (row ${g.rules.slice(0, -1).join(", ")} or ${g.rules[g.rules.length - 1]})` : "";
  const attempts = g.convs.reduce((s, x) => s + x.packetsClient, 0);
  const tunnel = webProxyPath(c);
  const head = `${tunnel ? tunnelHead(c, tunnel, client, namer) : `${T} ${c.server.port} from ${client} to ${server}`}${rowText}`;
  let message: string;
  let fix = g.fix;
  let filterExtra = "";
  let filterOverride: string | null = null;
  if ((g.code === "blocked" || g.code === "refused") && g.what) {
    // The judgement said why (a web proxy refusing the CONNECT): its words, not the SYN count.
    message = `${head}: ${g.what}${n > 1 ? ` (${n} conversations)` : ""}`;
  } else if (g.code === "blocked") {
    if (c.transport === "tcp") {
      message = `${head}: ${attempts} SYN${attempts === 1 ? "" : "s"} in ${n} connection attempt${n === 1 ? "" : "s"}${over} never answered — usually a firewall dropping them.`;
      filterExtra = " && tcp.flags.syn==1";
    } else message = `${head}: ${attempts} datagram${attempts === 1 ? "" : "s"}${over} never answered.`;
    fix = `Allow ${T} ${c.server.port} from ${clientIp} to ${serverIp} in the firewalls between them, and check that the service runs.`;
  } else if (g.code === "refused") {
    const how = c.unreachable ? `answered with ${icmpText(c)}` : "answered with a TCP reset";
    message = `${head}: ${n} attempt${n === 1 ? "" : "s"}${over} ${how} — nothing listens there, or a firewall rejects it.`;
    fix = `Start the service on ${T} ${c.server.port} at ${serverIp}, or open the port in its host firewall.`;
  } else if (g.code === "unexpected-port") {
    const portText = ports.length === 1 ? `${T} ${ports[0]}` : `${ports.length} ${T} ports (${ports.slice(0, 8).join(", ")}${ports.length > 8 ? ", …" : ""})`;
    const outcomes = new Map<string, number>();
    for (const x of g.convs) {
      const o = isRefused(x) ? "refused" : isUnanswered(x) ? "never answered" : "answered";
      outcomes.set(o, (outcomes.get(o) ?? 0) + (x.aggregate !== null ? x.aggregate.conversations : 1));
    }
    const how = [...outcomes].map(([o, k]) => (outcomes.size === 1 ? o : `${k} ${o}`)).join(", ");
    if (g.sweep) {
      const sw = sweepHosts(g.convs);
      const from = sw.clients.size === 1 ? client : `${sw.clients.size} clients`;
      const to = sw.servers.size === 1 ? server : `${sw.servers.size} servers`;
      message = `${portText} from ${from} to ${to}: no row of the matrix allows it (${n} conversation${n === 1 ? "" : "s"} between ${sw.pairs} host pairs, ${how}).${g.what ? ` ${g.what}` : ""}`;
      fix = g.what || sw.clients.size > 1 ? null : v.clientRole === PROXY ? `Find out what on ${clientIp} opens ${portText}; the proxy needs none of it.` : null;
      filterOverride = sweepFilter(c, sw, ports[0], namer);
    } else {
      message = `${portText} from ${client} to ${server}: no row of the matrix allows it (${n} conversation${n === 1 ? "" : "s"}, ${how}).${g.what ? ` ${g.what}` : ""}`;
      fix = g.what ? null : v.clientRole === PROXY || v.serverRole === PROXY ? `Find out what on ${clientIp} opens ${portText}; the proxy needs none of it.` : null;
    }
  } else {
    message = `${head}: ${g.what}${n > 1 ? ` (${n} conversations)` : ""}`;
    // Certificate findings show the message they are about (RFC 8446 §4.4.2 / RFC 5246 §7.4.2:
    // Certificate is handshake type 11; TLS 1.3 hides it, so its ServerHello, type 2). TLS after
    // the authd banner needs Wireshark's Decode As, so there the conversation's filter stays whole.
    if (CERTIFICATE_CODES.includes(g.code as CertificateCode) && c.protocol === "tls") {
      filterExtra = g.code === "certificate-not-verifiable" ? " && tls.handshake.type==2" : " && tls.handshake.type==11";
    }
  }
  const filter = filterOverride ?? groupFilter(c, ports, filterExtra, namer);
  const single = g.rules.length === 1 ? g.rules[0] : null;
  return {
    code: g.code,
    severity: g.severity,
    message,
    fix,
    rule: single,
    rules: g.rules.length > 1 ? [...g.rules] : [],
    conversations: g.convs.map((x) => x.id),
    frames: framesOf(g.convs),
    framesIn: framesIn(g.convs),
    wiresharkFilter: joinFilters([filter]),
    attempts: n,
    durationSeconds: Number(span.toFixed(6)),
  };
}

/** The distinct clients, servers and host pairs of a sweep. */
function sweepHosts(convs: readonly ConnectionView[]): { clients: Set<string>; servers: Set<string>; pairs: number } {
  const clients = new Set<string>();
  const servers = new Set<string>();
  const pairs = new Set<string>();
  for (const x of convs) {
    clients.add(x.client.ip);
    servers.add(x.server.ip);
    pairs.add(`${x.client.ip}|${x.server.ip}`);
  }
  return { clients, servers, pairs: pairs.size };
}

/** A sweep's filter: its one client or one server on the port, else the port alone (the traffic on it is what the finding is about). */
function sweepFilter(c: ConnectionView, sw: { clients: Set<string>; servers: Set<string> }, port: number, n: Namer): string {
  const p = portFilter(c.transport, [port]);
  const one = sw.clients.size === 1 ? c.client.ip : sw.servers.size === 1 ? c.server.ip : null;
  return one === null ? p : `${hostsFilter(one, one, n)} && ${p}`;
}
