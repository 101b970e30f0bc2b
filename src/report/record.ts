/**
 * The one documented conversation record (docs/report-schema.md) that every reporter renders.
 * The frozen connection view (src/policy/view.ts) is turned into this plain, JSON-ready shape
 * here and nowhere else, so the table, JSON, Markdown and HTML reports cannot disagree.
 */
import type { CaptureError, CaptureSummary, LiveCaptureInfo } from "../capture/index.js";
import type { DecodeCounts } from "../decode/counts.js";
import { formatIp } from "../decode/addr.js";
import type { Anomaly, ConversationFacts, Protocol, QuicFacts, TlsFacts, TunnelFacts } from "../detect/types.js";
import type { FlowStats, TcpCounters } from "../flow/index.js";
import type { ConnectionView } from "../policy/view.js";
import type { ConversationStatus, ConversationVerdict, Finding, FindingCode, FixFirst, Limit } from "../policy/check.js";
import type { CaptureInfo, CoverageEntry, Evaluation } from "../policy/evaluate.js";
import type { Matrix } from "../policy/matrix.js";
import type { RoleMap } from "../policy/roles.js";
import { isoTime } from "./time.js";

export const REPORT_SCHEMA = "phoenix-netcheck.report/v1";

/** One capture as the pipeline hands it to the report (src/pipeline/capture-analysis.ts). */
export interface CaptureResult {
  summary: CaptureSummary;
  /** Reader errors and per-packet decode errors, in frame order (decode errors bounded). */
  errors: CaptureError[];
  decode: DecodeCounts;
  /** How the flow table kept within its limits (maxConversations, aggregates, evictions). */
  flow?: FlowStats;
}

/** What a report is made of: the captures, and every conversation frozen into its view (listed ones, then aggregates, capture by capture). */
export interface Analysis {
  captures: CaptureResult[];
  conversations: readonly ConnectionView[];
}

export interface EndpointRecord {
  /** Address as tshark prints it: dotted IPv4, RFC 5952 IPv6. */
  ip: string;
  port: number;
  /** The endpoint's role (proxy, vcenter, esxi, …) or null when unknown. */
  role: string | null;
  /** Source MAC of this side's packets (Ethernet, Linux cooked), or null. */
  mac: string | null;
}

export interface CaptureRecord {
  /** The path as given on the command line ("-" for standard input). */
  file: string;
  /** Container format found from the magic bytes. */
  format: "pcap" | "pcapng";
  /** True when the file was gzip-compressed. */
  compressed: boolean;
  /** LINKTYPE values of the capture's interfaces, in order of first appearance. */
  linkTypes: number[];
  /** Packets read. */
  packets: number;
  /** Frame numbers used (as Wireshark numbers them; pcapng custom blocks count). */
  frames: number;
  /** Sum of the packets' original (on-the-wire) lengths. */
  bytes: number;
  /** First and last packet timestamps, ISO 8601 UTC; null when the capture has no packet. */
  firstTimestamp: string | null;
  lastTimestamp: string | null;
  /** Problems with the file or its packets: 1-based frame, byte offset of the record, message. */
  errors: { frame: number; offset: number; message: string; fatal: boolean }[];
  /** What the decoders saw. */
  decode: DecodeCounts;
  /**
   * How the conversation table kept memory bounded: `maxConversations` (the limit), `limitHit`,
   * `conversations` (all seen), `listed`, `aggregated` (folded into `aggregates` entries),
   * `evicted`, `retiredEarly`. See docs/report-schema.md and docs/performance.md.
   */
  flow: FlowStats | null;
  /** How a live capture was made (capture command only; absent for files): docs/report-schema.md, "Live capture". */
  live?: LiveCaptureInfo;
  /** Present (true) when the reading was stopped by Ctrl-C or SIGTERM before the end of this capture. */
  interrupted?: true;
}

export interface ConversationRecord {
  /** 1-based id, unique in the report. */
  id: number;
  /** Index into `captures`. */
  capture: number;
  /** Wireshark's tcp.stream / udp.stream number in that capture. */
  stream: number;
  transport: "tcp" | "udp";
  /** Who opened it (the SYN sender, else as decided in docs/report-schema.md) and who answered. */
  client: EndpointRecord;
  server: EndpointRecord;
  /** How the client was chosen: syn, syn-ack, protocol, service-port, first-packet (src/flow/orientation.ts). */
  clientBy: string;
  /** Packets sent by the client / by the server. */
  packets: { client: number; server: number };
  /** Bytes (original frame lengths, as Wireshark's Conversations counts them) sent each way. */
  bytes: { client: number; server: number };
  /** First and last frame (1-based, as Wireshark numbers frames). */
  firstFrame: number;
  lastFrame: number;
  /** First and last packet, ISO 8601 UTC. */
  start: string;
  end: string;
  /** Zeek conn_state (S0, S1, SF, REJ, …) and history letters (uppercase = client). */
  state: string;
  history: string;
  /** What the bytes are (not the port): tls, dtls, quic, vmware-authd, ssh, rdp, http, ntp, dns, nbns, plaintext, unknown, none. */
  protocol: Protocol;
  /** What the client's bytes were when the server answered in another protocol (then `protocol` is the server's); null when both agree. */
  clientProtocol: Protocol | null;
  /** TLS facts when a TLS handshake was seen (also for vmware-authd and RDP after negotiation). */
  tls: TlsFacts | null;
  /** The first line a server (or client) sent in clear: authd 220 line, SSH banner, … */
  banner: string | null;
  /** Protocol details, each present only for its protocol. */
  ssh: ConversationFacts["ssh"];
  rdp: ConversationFacts["rdp"];
  http: ConversationFacts["http"];
  ntp: ConversationFacts["ntp"];
  dns: ConversationFacts["dns"];
  /** QUIC facts (version, Initial packets opened, …) for protocol quic, else null; its TLS handshake is in `tls`. */
  quic?: QuicFacts | null;
  /** TLS after a cleartext preamble (HTTP CONNECT through a web proxy, SOCKS, PostgreSQL SSLRequest, LDAP StartTLS, STARTTLS): how, and where to; null when none (docs/detectors/tunnels.md). */
  tunnel?: TunnelFacts | null;
  /** ICMP/ICMPv6 errors quoting this conversation: last type and code, how many, their frames. */
  icmp: { type: number; code: number; count: number; frames: number[] } | null;
  /**
   * TCP counters, and what the capture could not show of each side (null for UDP):
   * `clientStartMissing`/`serverStartMissing` (that side's SYN was not captured: its bytes start
   * mid-stream), `clientUnseen`/`serverUnseen` (the peer acknowledged data from that side that
   * the capture never saw: that side was not captured).
   */
  tcp: (TcpCounters & {
    clientStartMissing: boolean;
    serverStartMissing: boolean;
    clientUnseen: boolean;
    serverUnseen: boolean;
  }) | null;
  /** Things wrong inside the protocol (Zeek's weirds), with a name and where. */
  anomalies: Anomaly[];
  /** Matched row id (a matrix row, an infrastructure entry such as dns-53-udp, or a related entry), or null. */
  rule: string | null;
  /** Where `rule` comes from: "matrix", "infrastructure", "related", or null. */
  ruleKind: string | null;
  /** The candidate rows when the conversation could be several (then `rule` is null). */
  ruleAlternatives: string[];
  /** Codes of the findings that name this conversation. */
  findings: FindingCode[];
  /** What was decided: conforming, finding, info, ambiguous, not-verifiable, infrastructure, related, unexpected, duplicate. */
  status: ConversationStatus | null;
  /** Why it could not be verified: start-missing, one-direction, snaplen, end-of-capture. */
  limits: Limit[];
  /** The innermost 802.1Q VLAN ID of its packets, or null. */
  vlan: number | null;
  /** Packets whose payload the snap length cut. */
  truncatedPackets: number;
  /** Set when another capture of the report holds the same conversation: the id counted instead. */
  duplicateOf: number | null;
  /**
   * Null for a conversation listed one by one. Set on an aggregate entry: conversations seen
   * after the `maxConversations` limit, folded together (see docs/report-schema.md).
   */
  aggregate: AggregateRecord | null;
}

export interface AggregateRecord {
  /** How many conversations this entry stands for. */
  conversations: number;
  /** What they share besides transport, state and protocol: "port", "hosts", "client" or "all". */
  level: "port" | "hosts" | "client" | "all";
  /** Lowest and highest server port among them. */
  serverPorts: { low: number; high: number };
}

export function captureRecord(c: CaptureResult): CaptureRecord {
  const s = c.summary;
  return {
    file: s.file,
    format: s.format,
    compressed: s.compressed,
    linkTypes: [...s.linkTypes],
    packets: s.packets,
    frames: s.frames,
    bytes: s.bytes,
    firstTimestamp: s.firstTimestamp ? isoTime(s.firstTimestamp.sec, s.firstTimestamp.nsec) : null,
    lastTimestamp: s.lastTimestamp ? isoTime(s.lastTimestamp.sec, s.lastTimestamp.nsec) : null,
    errors: c.errors.map((e: CaptureError) => ({ frame: e.frame, offset: e.offset, message: e.message, fatal: e.fatal })),
    decode: c.decode,
    flow: c.flow ? { ...c.flow } : null,
    ...(s.live ? { live: s.live } : {}),
    ...(s.interrupted ? { interrupted: true as const } : {}),
  };
}

function macText(seen: boolean, b: Uint8Array): string | null {
  if (!seen) return null;
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
}

export function conversationRecord(view: ConnectionView, v: ConversationVerdict | undefined, duplicateOf: number | null = null): ConversationRecord {
  const c = view.conv;
  const f = view.facts;
  const t = c.tcp;
  const agg = view.aggregate;
  return {
    id: c.id,
    capture: c.capture,
    stream: c.stream,
    transport: c.transport,
    client: { ip: formatIp(c.clientIp, c.ipVersion), port: c.clientPort, role: v?.clientRole ?? null, mac: macText(c.clientMacSeen, c.clientMac) },
    server: { ip: formatIp(c.serverIp, c.ipVersion), port: c.serverPort, role: v?.serverRole ?? null, mac: macText(c.serverMacSeen, c.serverMac) },
    clientBy: c.clientBy,
    packets: { client: c.packetsClient, server: c.packetsServer },
    bytes: { client: c.bytesClient, server: c.bytesServer },
    firstFrame: c.firstFrame,
    lastFrame: c.lastFrame,
    start: isoTime(c.startSec, c.startNsec),
    end: isoTime(c.endSec, c.endNsec),
    state: view.state,
    history: view.history,
    protocol: f?.protocol ?? "none",
    clientProtocol: f?.clientProtocol ?? null,
    tls: f?.tls ?? null,
    banner: f?.banner ?? null,
    ssh: f?.ssh ?? null,
    rdp: f?.rdp ?? null,
    http: f?.http ?? null,
    ntp: f?.ntp ?? null,
    dns: f?.dns ?? null,
    quic: f?.quic ?? null,
    tunnel: f?.tunnel ?? null,
    icmp: c.icmpCount > 0 ? { type: c.icmpType, code: c.icmpCode, count: c.icmpCount, frames: [...c.icmpFrames] } : null,
    tcp:
      t !== null
        ? {
            ...t.counters,
            clientStartMissing: t.clientStartMissing,
            serverStartMissing: t.serverStartMissing,
            clientUnseen: t.clientUnseen,
            serverUnseen: t.serverUnseen,
          }
        : null,
    anomalies: f?.anomalies ?? [],
    rule: v?.rule ?? null,
    ruleKind: v?.ruleKind ?? null,
    ruleAlternatives: v?.alternatives ?? [],
    findings: v?.findings ?? [],
    status: v?.status ?? null,
    limits: v?.limits ?? [],
    vlan: c.vlan >= 0 ? c.vlan : null,
    truncatedPackets: c.truncatedPackets,
    duplicateOf,
    aggregate:
      agg !== null
        ? {
            conversations: agg.conversations,
            level: agg.level,
            serverPorts: { low: agg.serverPortLow, high: agg.serverPortHigh },
          }
        : null,
  };
}

/** A host with a role: given by the user, or inferred from the traffic with the reason. */
export interface RoleRecord {
  ip: string;
  role: string;
  /** "explicit" (--role, --roles) or "inferred". */
  source: "explicit" | "inferred";
  /** How it was given, or the evidence it was inferred from. */
  reason: string;
}

export interface Summary {
  /** inconclusive: the capture cannot support a verdict (see coverage); else pass: no finding above info; warn: warnings only; fail: at least one error. */
  verdict: "pass" | "warn" | "fail" | "inconclusive";
  /** What the capture could not show, each with what to do; those marked inconclusive decide the verdict. */
  coverage: CoverageEntry[];
  /** One line per host and action, most damaging first (docs/findings.md, "Order"). */
  fixFirst: FixFirst[];
  /** The --filter the packets went through, or null. */
  filter: string | null;
  findings: { error: number; warning: number; info: number };
  conversations: number;
  /** Conversations that matched a row of the matrix (not infrastructure or related). */
  matched: number;
  /** Seconds the captures cover: the union of each capture's first-to-last-packet span (never negative). */
  captureSeconds: number;
}

/** A finding as the report carries it: with `--evidence`, its frames in the evidence file. */
export type ReportFinding = Finding & {
  /** Frame numbers (1-based) in the evidence file of the packets behind this finding; only with --evidence. */
  evidenceFrames?: number[];
};

/** The evidence pcapng written with `--evidence` (src/report/evidence.ts, docs/report-schema.md). */
export interface EvidenceRecord {
  /** The path as given with --evidence. */
  file: string;
  /** SHA-256 of the file's bytes, lowercase hex. */
  sha256: string;
  /** Packets in the file. */
  packets: number;
  /** Size of the file in bytes. */
  bytes: number;
  /** One conforming conversation per matrix row seen, and its frames in the evidence file. */
  examples: { rule: string; conversation: number; frames: number[] }[];
  /** Conversations of findings not in the file because of limits.conversationsPerFinding. */
  conversationsLeftOut: number;
  limits: { conversationsPerFinding: number; framesPerConversation: number };
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  /** Tool name and version that wrote the report. */
  generator: { name: string; version: string };
  /** The matrix the conversations were checked against. */
  matrix: { product: string; version: string; rows: number };
  captures: CaptureRecord[];
  /** Every host in the captures that has a role, explicit or inferred. */
  roles: RoleRecord[];
  conversations: ConversationRecord[];
  findings: ReportFinding[];
  summary: Summary;
  /** Only with --evidence: the evidence pcapng's name, sha256 and contents. */
  evidence?: EvidenceRecord;
  /** Present only in a report written with --redact: says that its values are pseudonyms (docs/redaction.md). */
  redaction?: { note: string };
}

/** The places --resync read past (the readers say "looking for the next plausible …" at each): how many, and the first. */
function resyncedAt(errors: readonly { frame: number; offset: number; message: string; fatal: boolean }[]): CaptureInfo["resynced"] {
  const at = errors.filter((e) => !e.fatal && /; looking for the next plausible (record|block)$/.test(e.message));
  return at.length ? { places: at.length, frame: at[0].frame, offset: at[0].offset } : null;
}

/** What the policy needs of each capture (policy/evaluate.ts CaptureInfo). */
export function captureInfos(a: Analysis): CaptureInfo[] {
  return a.captures.map((c) => {
    const s = c.summary;
    const fatal = c.errors.find((e) => e.fatal);
    const d = c.decode;
    return {
      file: s.file,
      packets: s.packets,
      transportPackets: d.tcp + d.udp,
      unsupportedLinkPackets: Object.values(d.unsupportedLinkTypes).reduce((x, y) => x + y, 0),
      stopped: fatal ? { message: fatal.message, frame: fatal.frame, offset: fatal.offset } : null,
      interrupted: s.interrupted === true,
      // The readers say "file ends inside …" when the last record is cut (not fatal: nothing after it).
      cut: c.errors.find((e) => !e.fatal && /file ends inside/.test(e.message))?.message.replace(/^frame \d+ at offset \d+: /, "") ?? null,
      resynced: resyncedAt(c.errors),
      bytes: s.bytes,
      capturedBytes: s.capturedBytes,
      lastTimestamp: s.lastTimestamp ? s.lastTimestamp.sec + s.lastTimestamp.nsec / 1e9 : null,
    };
  });
}

/**
 * Seconds the captures cover: the union of each capture's span from its first to its last packet
 * (0 with no packet). A capture whose clock went backwards (last before first) covers 0 s rather
 * than a negative time; and the first packet of one file is never paired with the last of
 * another, so a file with a stepped clock cannot make two files "cover" 82 years, nor the gap
 * between day1.pcap and day2.pcap count as captured.
 */
export function captureSeconds(a: Analysis): number {
  const spans: [number, number][] = [];
  for (const c of a.captures) {
    const f = c.summary.firstTimestamp;
    const l = c.summary.lastTimestamp;
    if (!f || !l) continue;
    const s0 = f.sec + f.nsec / 1e9;
    const s1 = l.sec + l.nsec / 1e9;
    if (s1 > s0) spans.push([s0, s1]);
  }
  spans.sort((x, y) => x[0] - y[0]);
  let total = 0;
  let end = -Infinity;
  for (const [s0, s1] of spans) {
    if (s1 <= end) continue;
    total += s1 - Math.max(s0, end);
    end = s1;
  }
  return total;
}

function roleRecords(a: Analysis, roles: RoleMap): RoleRecord[] {
  const out = new Map<string, RoleRecord>();
  for (const { conv: c } of a.conversations) {
    for (const [ip, v] of [[c.clientIp, c.ipVersion], [c.serverIp, c.ipVersion]] as const) {
      const text = formatIp(ip, v);
      if (out.has(text)) continue;
      const m = roles.lookup(ip, v);
      if (m) out.set(text, { ip: text, role: m.role, source: m.explicit ? "explicit" : "inferred", reason: m.reason });
    }
  }
  return [...out.values()];
}

export function buildReport(a: Analysis, policy: Evaluation, matrix: Matrix, version: string, filter: string | null = null): Report {
  const roles = policy.roles;
  return {
    schema: REPORT_SCHEMA,
    generator: { name: "phoenix-netcheck", version },
    matrix: { product: matrix.product, version: matrix.version, rows: matrix.rows.length },
    captures: a.captures.map(captureRecord),
    roles: roleRecords(a, roles),
    conversations: a.conversations.map((v) => conversationRecord(v, policy.verdicts.get(v.conv), policy.duplicates.get(v.conv) ?? null)),
    findings: policy.findings,
    summary: { ...policy.summary, coverage: policy.coverage, fixFirst: policy.fixFirst, filter, captureSeconds: Number(captureSeconds(a).toFixed(6)) },
  };
}
