/**
 * Conversations as people read them: who talked to whom on which port, what the protocol
 * detectors found (detailLines), the traffic each way; and the conversations no matrix row matched.
 */
import type { ConversationRecord, Report } from "../record.js";
import { clip, distinct, endpointText, hostPort, MAX_OTHER_CONVERSATIONS, plural, portText } from "./format.js";

/** The TLS versions of one conversation: "TLS 1.2", "TLS 1.3 offered, no ServerHello", or null. */
function tlsVersionText(c: ConversationRecord): string | null {
  const t = c.tls;
  if (!t) return null;
  if (t.version) return t.version;
  if (t.clientVersion) return `${t.clientVersion} offered, no ServerHello`;
  return null;
}

export interface ConversationView {
  id: number;
  /** 1-based capture number, or null when the report has one capture. */
  capture: number | null;
  /** "10.0.0.5:51234 (proxy)"; the address and the role apart below. */
  client: string;
  server: string;
  clientAddress: string;
  serverAddress: string;
  clientRole: string | null;
  serverRole: string | null;
  /** "TCP 443". */
  port: string;
  /** "infrastructure dns-53-udp", "related esxi-902-udp", "no matrix row". */
  kind: string;
  state: string;
  history: string;
  protocol: string;
  /** Protocol facts, one per line (wire strings inside). */
  details: string[];
  /** "8 packets, 1,212 bytes" sent by the client / by the server. */
  fromClient: string;
  fromServer: string;
  /** "frames 1–17". */
  frames: string;
  /** "tcp.stream==0" (Wireshark shows the conversation with it). */
  stream: string;
  /** Finding codes that name the conversation. */
  findings: string[];
}

function kindText(c: ConversationRecord): string {
  const agg = c.aggregate;
  if (agg) {
    const ports = agg.serverPorts.low === agg.serverPorts.high ? `port ${agg.serverPorts.low}` : `ports ${agg.serverPorts.low}–${agg.serverPorts.high}`;
    return `${plural(agg.conversations, "conversation")} past the limit, folded (same ${agg.level}; ${ports})`;
  }
  if (c.ruleKind === "infrastructure" || c.ruleKind === "related") return `${c.ruleKind} ${c.rule ?? ""}`.trim();
  if (c.rule) return `${c.ruleKind ?? "rule"} ${c.rule}`;
  return "no matrix row";
}

/** What the protocol detectors found, for people: TLS facts, banners, HTTP, SSH, RDP, DNS, NTP, anomalies. */
export function detailLines(c: ConversationRecord): string[] {
  const out: string[] = [];
  const t = c.tls;
  if (t) {
    const parts = [tlsVersionText(c), t.cipher].filter((x): x is string => !!x);
    if (parts.length > 0) out.push(parts.join(", "));
    if (t.sni) out.push(`SNI ${clip(t.sni)}`);
    if (t.alpn.length > 0) out.push(`ALPN ${clip(t.alpn.join(", "))}${t.alpnSelected ? ` (chose ${clip(t.alpnSelected)})` : ""}`);
    if (t.certificate) out.push(`certificate ${clip(t.certificate.subject)}`);
    // Alerts in clear by name; encrypted ones (level "encrypted": their content is ciphertext) only by who sent them.
    for (const a of t.alerts.filter((x) => x.level !== "encrypted").slice(0, 2)) out.push(`${a.from} alert ${a.level} ${a.description}`);
    const enc = [...new Set(t.alerts.filter((x) => x.level === "encrypted").map((x) => x.from))];
    if (enc.length > 0) out.push(`encrypted alert from ${enc.join(" and ")}`);
  }
  if (c.ssh) {
    if (c.ssh.clientSoftware) out.push(`client software ${clip(c.ssh.clientSoftware)}`);
    if (c.ssh.serverSoftware) out.push(`server software ${clip(c.ssh.serverSoftware)}`);
  }
  if (c.http) {
    const h = c.http;
    const req = [h.method, h.uri].filter((x): x is string => !!x).join(" ");
    if (req) out.push(clip(req));
    if (h.host) out.push(`Host ${clip(h.host)}`);
    if (h.status !== null) out.push(`status ${h.status}${h.server ? `, Server ${clip(h.server)}` : ""}`);
  }
  if (c.rdp) {
    const r = c.rdp;
    if (r.cookie) out.push(`cookie ${clip(r.cookie)}`);
    if (r.requestedProtocols.length > 0) out.push(`requested ${r.requestedProtocols.join(", ")}${r.selectedProtocol ? `, selected ${r.selectedProtocol}` : ""}`);
    if (r.failure) out.push(`refused: ${r.failure}`);
  }
  if (c.dns) {
    const q = distinct(c.dns.queries, 3);
    if (q.length > 0) out.push(`query ${q.map((x) => clip(x)).join(", ")}`);
    const rc = distinct(c.dns.rcodes, 3);
    if (rc.length > 0) out.push(`rcode ${rc.join(", ")}`);
  }
  if (c.ntp) {
    const n = c.ntp;
    const modes = [n.clientMode, n.serverMode].filter((m): m is number => m !== null).join("/");
    out.push(`NTPv${n.version}${modes ? ` mode ${modes}` : ""}${n.stratum !== null ? `, stratum ${n.stratum}` : ""}`);
  }
  // The banner, unless it is the SSH identification or HTTP line already shown above.
  if (c.banner && !c.ssh && !c.http) out.push(`banner ${clip(c.banner)}`);
  if (c.icmp) out.push(`ICMP type ${c.icmp.type} code ${c.icmp.code} ×${c.icmp.count}`);
  for (const a of c.anomalies.slice(0, 3)) out.push(`${a.name}: ${clip(a.message)}`);
  if (c.anomalies.length > 3) out.push(`… ${plural(c.anomalies.length - 3, "more anomaly", "more anomalies")}`);
  return out;
}

function trafficText(packets: number, bytes: number): string {
  return `${plural(packets, "packet")}, ${plural(bytes, "byte")}`;
}

export function conversationView(c: ConversationRecord, multiCapture: boolean): ConversationView {
  return {
    id: c.id,
    capture: multiCapture ? c.capture + 1 : null,
    client: endpointText(c.client),
    server: endpointText(c.server),
    clientAddress: hostPort(c.client.ip, c.client.port),
    serverAddress: hostPort(c.server.ip, c.server.port),
    clientRole: c.client.role,
    serverRole: c.server.role,
    port: c.aggregate ? portText(c.transport, "*") : portText(c.transport, c.server.port),
    kind: kindText(c),
    state: c.state,
    history: c.history,
    protocol: c.protocol,
    details: detailLines(c),
    fromClient: trafficText(c.packets.client, c.bytes.client),
    fromServer: trafficText(c.packets.server, c.bytes.server),
    frames: c.firstFrame === c.lastFrame ? `frame ${c.firstFrame}` : `frames ${c.firstFrame}–${c.lastFrame}`,
    stream: `${c.transport}.stream==${c.stream}`,
    findings: [...new Set(c.findings)],
  };
}

export interface OtherConversationsView {
  rows: ConversationView[];
  /** "… 1,790 more conversations not shown (the JSON report lists all)", or null. */
  more: string | null;
}

/** Conversations that did not match a matrix row, in id order, at most MAX_OTHER_CONVERSATIONS. */
export function otherConversations(r: Report, max = MAX_OTHER_CONVERSATIONS): OtherConversationsView {
  const all = r.conversations.filter((c) => c.ruleKind !== "matrix");
  const multi = r.captures.length > 1;
  const rows = all.slice(0, max).map((c) => conversationView(c, multi));
  const more = all.length > max ? `… ${plural(all.length - max, "more conversation")} not shown (--format json lists every conversation).` : null;
  return { rows, more };
}

export const NO_OTHER_CONVERSATIONS = "None: every conversation matched a row of the matrix.";
