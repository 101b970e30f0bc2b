/**
 * The one documented conversation record (docs/report-schema.md) that every reporter renders:
 * the types, and the report schema's name. record-build.ts turns the frozen connection view
 * (src/policy/view.ts) into this plain, JSON-ready shape, there and nowhere else, so the table,
 * JSON, Markdown and HTML reports cannot disagree.
 */
import type { CaptureError, CaptureSummary, LiveCaptureInfo } from "../capture/index.js";
import type { DecodeCounts } from "../decode/index.js";
import type { Anomaly, ConversationFacts, Protocol, QuicFacts, TlsFacts, TunnelFacts } from "../detect/index.js";
import type { FlowStats, TcpCounters } from "../flow/index.js";
import type { ConnectionView, ConversationStatus, CoverageEntry, Finding, FindingCode, FixFirst, Limit } from "../policy/index.js";

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
  /** Inputs given but never read because a signal stopped the run first (coverage read-stopped). */
  notRead?: string[];
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
