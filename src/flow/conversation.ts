/**
 * One TCP or UDP conversation as the flow table keeps it while reading. This is the internal,
 * mutable form: flow knows nothing of what the detectors found in it. The pipeline freezes it,
 * with the detectors' facts, into the read-only view policy and report read (src/policy/view.ts).
 */
import type { ClientBy } from "./orientation.js";
import type { Datagram } from "./sample.js";
import { udpHistory, udpState, type TcpCounters, type TcpTracker } from "./tcp/index.js";

export type Transport = "tcp" | "udp";

/** What of a TCP tracker is read after the analysis (the report's `tcp` record). */
export interface TcpSummary {
  readonly counters: Readonly<TcpCounters>;
  readonly clientStartMissing: boolean;
  readonly serverStartMissing: boolean;
  readonly clientUnseen: boolean;
  readonly serverUnseen: boolean;
}

/**
 * What of a conversation is read once the analysis is over (policy keys its verdicts by it, the
 * report's record reads its fields). A `Conversation` is one; so is the plain copy a shard worker
 * sends back to the main thread (`snapshotOf`), which has no tracker, no kept bytes and no links.
 */
export interface ConversationData {
  readonly id: number;
  readonly capture: number;
  readonly stream: number;
  readonly transport: Transport;
  readonly ipVersion: 4 | 6;
  readonly clientIp: Uint8Array;
  readonly serverIp: Uint8Array;
  readonly clientPort: number;
  readonly serverPort: number;
  readonly clientBy: ClientBy;
  readonly packetsClient: number;
  readonly packetsServer: number;
  readonly bytesClient: number;
  readonly bytesServer: number;
  readonly firstFrame: number;
  readonly lastFrame: number;
  readonly firstFrames: readonly number[];
  readonly startSec: number;
  readonly startNsec: number;
  readonly endSec: number;
  readonly endNsec: number;
  readonly datagramsClient: number;
  readonly datagramsServer: number;
  readonly firstFromServer: boolean;
  readonly icmpType: number;
  readonly icmpCode: number;
  readonly icmpCount: number;
  readonly icmpFrames: readonly number[];
  readonly clientMac: Uint8Array;
  readonly serverMac: Uint8Array;
  readonly clientMacSeen: boolean;
  readonly serverMacSeen: boolean;
  readonly vlan: number;
  readonly truncatedPackets: number;
  readonly tcp: TcpSummary | null;
}

/**
 * A plain copy of what `ConversationData` names (structured-clonable: no class, no link, no kept
 * byte). `share`: the copy keeps `c`'s address, MAC and frame arrays instead of copying them, for
 * a conversation nothing changes any more (a listed one at the end of its capture: the table only
 * reuses unlisted ones): no four new arrays and two copied lists a view.
 */
export function snapshotOf(c: ConversationData, id = c.id, stream = c.stream, share = false): ConversationData {
  const t = c.tcp;
  return {
    id,
    capture: c.capture,
    stream,
    transport: c.transport,
    ipVersion: c.ipVersion,
    clientIp: share ? c.clientIp : c.clientIp.slice(),
    serverIp: share ? c.serverIp : c.serverIp.slice(),
    clientPort: c.clientPort,
    serverPort: c.serverPort,
    clientBy: c.clientBy,
    packetsClient: c.packetsClient,
    packetsServer: c.packetsServer,
    bytesClient: c.bytesClient,
    bytesServer: c.bytesServer,
    firstFrame: c.firstFrame,
    lastFrame: c.lastFrame,
    firstFrames: share ? c.firstFrames : [...c.firstFrames],
    startSec: c.startSec,
    startNsec: c.startNsec,
    endSec: c.endSec,
    endNsec: c.endNsec,
    datagramsClient: c.datagramsClient,
    datagramsServer: c.datagramsServer,
    firstFromServer: c.firstFromServer,
    icmpType: c.icmpType,
    icmpCode: c.icmpCode,
    icmpCount: c.icmpCount,
    icmpFrames: share ? c.icmpFrames : [...c.icmpFrames],
    clientMac: share ? c.clientMac : c.clientMac.slice(),
    serverMac: share ? c.serverMac : c.serverMac.slice(),
    clientMacSeen: c.clientMacSeen,
    serverMacSeen: c.serverMacSeen,
    vlan: c.vlan,
    truncatedPackets: c.truncatedPackets,
    tcp:
      t === null
        ? null
        : {
            counters: { ...t.counters },
            clientStartMissing: t.clientStartMissing,
            serverStartMissing: t.serverStartMissing,
            clientUnseen: t.clientUnseen,
            serverUnseen: t.serverUnseen,
          },
  };
}

/** How many frame numbers a conversation keeps (the SYNs of a blocked connection fit). */
export const FIRST_FRAMES_KEPT = 8;

/**
 * The address and MAC bytes of many conversations, cut from one 64 KiB buffer: a Uint8Array of
 * its own costs an ArrayBuffer object and a backing store besides the view (~200 bytes of heap
 * each, four per conversation: 0.9 KiB of a conversation's ~3 KiB, and 35 MiB of the 1 M-
 * conversation scan's live heap; docs/performance.md). A slab lives as long as the last
 * conversation or view cut from it: conversations live to the end of the run, or are reused.
 */
const SLAB_BYTES = 64 * 1024;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

function slabBytes(n: number): Uint8Array {
  if (slabUsed + n > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const b = new Uint8Array(slab, slabUsed, n);
  slabUsed += n;
  return b;
}

export class Conversation implements ConversationData {
  /** 1-based id, unique within a report, in order of first frame (capture by capture). */
  id = 0;
  /** Index of the capture file in the report's `captures`. */
  capture = 0;
  /** Wireshark's tcp.stream / udp.stream number for this conversation in its capture (0-based). */
  stream = 0;
  transport: Transport = "tcp";
  ipVersion: 4 | 6 = 4;
  readonly clientIp = slabBytes(16);
  readonly serverIp = slabBytes(16);
  clientPort = 0;
  serverPort = 0;
  /** How the client was chosen (src/flow/orientation.ts): "syn", "syn-ack", "protocol" (the first datagram's own role: NTP mode, DHCP ports, DNS QR bit), "service-port", "first-packet". */
  clientBy: ClientBy = "first-packet";
  /** Packets and bytes (original frame lengths) sent by the client / by the server. */
  packetsClient = 0;
  packetsServer = 0;
  bytesClient = 0;
  bytesServer = 0;
  firstFrame = 0;
  lastFrame = 0;
  /** The first few frame numbers (at most FIRST_FRAMES_KEPT), for findings to point at. */
  readonly firstFrames: number[] = [];
  startSec = 0;
  startNsec = 0;
  endSec = 0;
  endNsec = 0;
  /** TCP state and the first bytes each way; null for UDP. */
  tcp: TcpTracker | null = null;
  /** UDP: the first datagrams each way (bounded), for detection. */
  readonly datagrams: Datagram[] = [];
  datagramsClient = 0;
  datagramsServer = 0;
  /** The first packet came from the server (roles were flipped by the service-port rule). */
  firstFromServer = false;
  /** ICMP errors that quoted one of this conversation's packets (the last type/code seen, and how many). */
  icmpType = -1;
  icmpCode = -1;
  icmpCount = 0;
  /** Frame numbers of the ICMP errors (the first few). */
  readonly icmpFrames: number[] = [];
  /**
   * The link-layer source address each side's first packet came from (Ethernet only; *MacSeen
   * false otherwise). The capture point's own addresses (IPv4, IPv6, VLAN sub-interfaces) share
   * one MAC: role inference links them to the proxy by it.
   */
  readonly clientMac = slabBytes(6);
  readonly serverMac = slabBytes(6);
  clientMacSeen = false;
  serverMacSeen = false;
  /** The innermost 802.1Q VLAN ID of the first tagged packet, or -1 when no packet was tagged. */
  vlan = -1;
  /** Packets whose payload the capture's snap length cut (caplen < length on the wire). */
  truncatedPackets = 0;
  // ---- the table's plumbing (intrusive links: no allocation per packet, see src/flow/table.ts) ----
  /** Symmetric flow hash and the next conversation in the same hash bucket (flow table chaining). */
  hash = 0;
  nextInBucket: Conversation | null = null;
  /** Neighbours in the table's recency list (least recently active first); see FlowTable. */
  lruPrev: Conversation | null = null;
  lruNext: Conversation | null = null;
  /** Which of the table's recency lists it is in (-1: none). */
  lruList = -1;
  /** Still in the table's hash (a later packet of its 5-tuple finds it). */
  inTable = false;
  /** Listed one by one in the report (false once the table's maxConversations was reached: folded into an aggregate). */
  listed = true;
  /** Detection has run and the kept bytes were released (idle, finished and quiet, or evicted). */
  retired = false;
  /** Bytes this conversation holds for detection, as counted in the run's FlowBudget. */
  chargedBytes = 0;

  /**
   * Back to the state of `new Conversation()`, keeping its arrays (the flow table reuses the
   * conversations that leave it unlisted). `tcp` is set to null: the caller recycles it.
   */
  reset(): void {
    this.id = 0;
    this.capture = 0;
    this.stream = 0;
    this.transport = "tcp";
    this.ipVersion = 4;
    this.clientIp.fill(0);
    this.serverIp.fill(0);
    this.clientPort = 0;
    this.serverPort = 0;
    this.clientBy = "first-packet";
    this.packetsClient = 0;
    this.packetsServer = 0;
    this.bytesClient = 0;
    this.bytesServer = 0;
    this.firstFrame = 0;
    this.lastFrame = 0;
    empty(this.firstFrames);
    this.startSec = 0;
    this.startNsec = 0;
    this.endSec = 0;
    this.endNsec = 0;
    this.tcp = null;
    empty(this.datagrams);
    this.datagramsClient = 0;
    this.datagramsServer = 0;
    this.firstFromServer = false;
    this.icmpType = -1;
    this.icmpCode = -1;
    this.icmpCount = 0;
    empty(this.icmpFrames);
    this.clientMac.fill(0);
    this.serverMac.fill(0);
    this.clientMacSeen = false;
    this.serverMacSeen = false;
    this.vlan = -1;
    this.truncatedPackets = 0;
    this.hash = 0;
    this.nextInBucket = null;
    this.lruPrev = null;
    this.lruNext = null;
    this.lruList = -1;
    this.inTable = false;
    this.listed = true;
    this.retired = false;
    this.chargedBytes = 0;
  }
}

/**
 * Empties a short array, keeping its storage: `length = 0` is a runtime call that drops it (a
 * scan's million reused conversations spent 150 ms there and allocated the storage again).
 */
function empty(a: unknown[]): void {
  while (a.length > 0) a.pop();
}

/**
 * Zeek conn_state of a conversation: the TCP tracker's, or Zeek's UDP rule. Computed once per
 * conversation, when the pipeline freezes its view (src/policy/view.ts); everyone reads that.
 */
export function connState(c: Conversation): string {
  return c.tcp !== null ? c.tcp.state : udpState(c.packetsClient, c.packetsServer);
}

/** Zeek history of a conversation: the TCP tracker's letters, or the UDP ones (docs/tcp-state.md). */
export function connHistory(c: Conversation): string {
  return c.tcp !== null ? c.tcp.history : udpHistory(c.packetsClient > 0, c.packetsServer > 0, c.firstFromServer);
}
