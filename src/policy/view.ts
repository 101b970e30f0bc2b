/**
 * The read-only view of one conversation that the policy judges and the report records:
 * everything they need, computed once (state, history, what the capture could not show) instead
 * of read from the TCP tracker by every check. The pipeline builds it with `connectionView` when
 * a capture ends, after detection (src/pipeline/capture-analysis.ts); never changed afterwards.
 */
import { formatIp, formatMac } from "../decode/index.js";
import type { ConversationFacts, Protocol, TlsFacts } from "../detect/index.js";
import { connHistory, connState, type Conversation, type ConversationData } from "../flow/index.js";

/**
 * What the members of an aggregate share: "port" (same client, server and server port), "hosts"
 * (same client and server, any port), "client" (same client), "all" (only transport, state and protocol).
 */
export type AggregateLevel = "port" | "hosts" | "client" | "all";

/** What an aggregate entry stands for (src/pipeline/aggregate.ts, docs/performance.md). */
export interface AggregateInfo {
  /** How many conversations were folded into it. */
  conversations: number;
  /** Their Zeek conn_state (all the same: it is part of the key) and the first one's history. */
  state: string;
  history: string;
  level: AggregateLevel;
  /** Lowest and highest server port among the members. */
  serverPortLow: number;
  serverPortHigh: number;
}

export interface EndpointView {
  /** Address as tshark prints it. */
  readonly ip: string;
  /** 16 bytes, IPv4 in the first 4 (for role lookups). */
  readonly bytes: Uint8Array;
  readonly port: number;
  /** Source MAC of this side's packets ("aa:bb:cc:dd:ee:ff"), or null when the link layer had none. */
  readonly mac: string | null;
}

export interface ConnectionView {
  /** The conversation this view was made from (the report reads its counters and frames; an aggregate's sums). */
  readonly conv: ConversationData;
  readonly id: number;
  readonly capture: number;
  readonly transport: "tcp" | "udp";
  readonly ipVersion: 4 | 6;
  readonly client: EndpointView;
  readonly server: EndpointView;
  /** Zeek conn_state and history, computed once here (an aggregate's: its members'). */
  readonly state: string;
  readonly history: string;
  readonly packetsClient: number;
  readonly packetsServer: number;
  /** First and last packet, seconds. */
  readonly start: number;
  readonly end: number;
  /** The last packet of the conversation's capture, seconds (for "cut by the end of the capture"). */
  readonly captureEnd: number;
  readonly protocol: Protocol;
  readonly facts: ConversationFacts | null;
  readonly tls: TlsFacts | null;
  /** TCP: the capture began inside the connection (a side's SYN not seen). */
  readonly startMissing: boolean;
  /** TCP: that side's SYN (or SYN-ACK) is not in the capture. */
  readonly clientStartMissing: boolean;
  readonly serverStartMissing: boolean;
  /** TCP: a side's kept bytes stop at a hole the capture never filled. */
  readonly clientGap: boolean;
  readonly serverGap: boolean;
  /** In-order payload bytes each side sent (TCP stream length; UDP: datagrams with payload). */
  readonly clientPayload: number;
  readonly serverPayload: number;
  /**
   * The server's (client's) packets are missing although the other side went on as if they had
   * come: TCP with nothing from one side but ACKs or data from the other after its SYN (Zeek's
   * possible_split_routing, as far as a capture of one side can show it).
   */
  readonly serverUnseen: boolean;
  readonly clientUnseen: boolean;
  /** Packets whose payload the snap length cut. */
  readonly truncatedPackets: number;
  /**
   * An ICMP/ICMPv6 destination unreachable quoted it before the server sent anything: a refusal.
   * Not IPv4's "fragmentation needed" (type 3 code 4: path MTU discovery, RFC 1191 §3), and not
   * one on a conversation the server answered (something listened there).
   */
  readonly unreachable: boolean;
  readonly icmpType: number;
  readonly icmpCode: number;
  /** Set on an aggregate: many conversations past the limit folded into this one entry. */
  readonly aggregate: AggregateInfo | null;
  /** Frame numbers to point at: the first few, ICMP errors, anomalies. */
  readonly frames: readonly number[];
  readonly firstFrame: number;
}

/**
 * One text per distinct IPv4 address and MAC, shared by every view (and the report's records,
 * which reuse the view's): a capture's conversations are between few hosts, and a text built
 * per view was a string each (a MAC's, as it was built here, a chain of ~11 concatenated pieces)
 * for the policy and report to hold to the end (docs/performance.md). Bounded: cleared when full.
 */
const TEXTS_MAX = 65_536;
const ipv4Texts = new Map<number, string>();
const macTexts = new Map<number, string>();

function ipText(b: Uint8Array, v: 4 | 6): string {
  if (v !== 4) return formatIp(b, v);
  const k = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  let t = ipv4Texts.get(k);
  if (t === undefined) {
    if (ipv4Texts.size >= TEXTS_MAX) ipv4Texts.clear();
    t = formatIp(b, 4);
    ipv4Texts.set(k, t);
  }
  return t;
}

function macText(b: Uint8Array): string {
  // 48 bits: exact in a double.
  const k = (((b[0] << 8) | b[1]) >>> 0) * 2 ** 32 + (((b[2] << 24) | (b[3] << 16) | (b[4] << 8) | b[5]) >>> 0);
  let t = macTexts.get(k);
  if (t === undefined) {
    if (macTexts.size >= TEXTS_MAX) macTexts.clear();
    t = formatMac(b);
    macTexts.set(k, t);
  }
  return t;
}

const MAX_FRAMES = 50;

/** ICMP destination unreachable code 4 (RFC 792; RFC 1191 §3): the path's MTU, not a refusal. */
const ICMP4_FRAGMENTATION_NEEDED = 4;

function framesOf(c: Conversation, f: ConversationFacts | null): readonly number[] {
  // Most conversations: only their first frames, already in order (a listed conversation's are
  // final when its view is made), shared instead of copied through a set and a sort (15 MiB of
  // allocation on mixed.pcap). An aggregate's come in the order its members left: checked.
  if (c.icmpFrames.length === 0 && (f === null || !f.anomalies.some((a) => a.frame))) {
    const ff = c.firstFrames;
    let inOrder = ff.length <= MAX_FRAMES;
    for (let i = 1; inOrder && i < ff.length; i++) inOrder = ff[i - 1] < ff[i];
    if (inOrder) return ff;
  }
  const s = new Set<number>();
  for (const x of c.firstFrames) s.add(x);
  for (const x of c.icmpFrames) s.add(x);
  for (const a of f?.anomalies ?? []) if (a.frame) s.add(a.frame);
  return [...s].sort((a, b) => a - b).slice(0, MAX_FRAMES);
}

/** Client letters of a Zeek history (upper case); with a SYN seen, any A or D means it went on. */
function clientWentOn(history: string): boolean {
  return /[AD]/.test(history.replace(/[a-z^]/g, ""));
}

function serverWentOn(history: string): boolean {
  return /[ad]/.test(history);
}

/**
 * Freeze `c` with what the detectors found (`facts`, null when not detected) and, for an
 * aggregate entry, what it stands for. `captureEnd`: its capture's last packet, seconds. `keep`:
 * what the view's `conv` holds (the pipeline's plain copy of `c`, so the tracker is not kept).
 */
export function connectionView(c: Conversation, facts: ConversationFacts | null, aggregate: AggregateInfo | null, captureEnd: number, keep: ConversationData = c): ConnectionView {
  const t = c.tcp;
  const f = facts;
  const history = aggregate !== null ? aggregate.history : connHistory(c);
  // The tracker knows each side's start (its SYN) and whether the peer acknowledged bytes the
  // capture never saw from it (Zeek's possible_split_routing); a side the capture never showed a
  // packet of, while the other went on, is unseen too.
  const tracked = t !== null && aggregate === null;
  const noHandshake = tracked && !t.synSeen && !t.synAckSeen;
  const clientStartMissing = tracked && (t.clientStartMissing || noHandshake);
  const serverStartMissing = tracked && (t.serverStartMissing || noHandshake);
  const unreachable = c.icmpCount > 0 && c.packetsServer === 0 &&
    ((c.ipVersion === 4 && c.icmpType === 3 && c.icmpCode !== ICMP4_FRAGMENTATION_NEEDED) || (c.ipVersion === 6 && c.icmpType === 1));
  return Object.freeze({
    conv: keep,
    id: c.id,
    capture: c.capture,
    transport: c.transport,
    ipVersion: c.ipVersion,
    client: Object.freeze({ ip: ipText(c.clientIp, c.ipVersion), bytes: c.clientIp, port: c.clientPort, mac: c.clientMacSeen ? macText(c.clientMac) : null }),
    server: Object.freeze({ ip: ipText(c.serverIp, c.ipVersion), bytes: c.serverIp, port: c.serverPort, mac: c.serverMacSeen ? macText(c.serverMac) : null }),
    state: aggregate !== null ? aggregate.state : connState(c),
    history,
    packetsClient: c.packetsClient,
    packetsServer: c.packetsServer,
    start: c.startSec + c.startNsec / 1e9,
    end: c.endSec + c.endNsec / 1e9,
    captureEnd,
    protocol: f?.protocol ?? "none",
    facts: f,
    tls: f?.tls ?? null,
    startMissing: clientStartMissing || serverStartMissing,
    clientStartMissing,
    serverStartMissing,
    clientGap: t !== null && t.client.gap,
    serverGap: t !== null && t.server.gap,
    clientPayload: t !== null ? t.client.length : c.datagramsClient,
    serverPayload: t !== null ? t.server.length : c.datagramsServer,
    serverUnseen: t !== null && aggregate === null && (t.serverUnseen || (c.packetsServer === 0 && c.packetsClient > 0 && clientWentOn(history))),
    clientUnseen: t !== null && aggregate === null && (t.clientUnseen || (c.packetsClient === 0 && c.packetsServer > 0 && serverWentOn(history))),
    truncatedPackets: c.truncatedPackets,
    unreachable,
    icmpType: c.icmpType,
    icmpCode: c.icmpCode,
    aggregate,
    frames: framesOf(c, f),
    firstFrame: c.firstFrame,
  });
}
