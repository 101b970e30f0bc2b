/**
 * The conversation table: TCP and UDP conversations keyed by the 5-tuple.
 *
 * Client and server: the sender of the first SYN (without ACK) is the client; a conversation first
 * seen with a SYN-ACK has the SYN-ACK's receiver as client. Without a SYN (a capture started
 * mid-connection, or UDP) the first sender is the client, unless its port is a service port and
 * the other's is not — then the roles flip, as Zeek does with its likely_server_ports.
 *
 * A TCP 4-tuple that is reused after its connection finished (FIN both ways or RST) and then sees
 * a new SYN starts a new conversation, as Wireshark's tcp.stream does.
 *
 * Lookup is by a symmetric hash keyed with a per-run secret (src/flow/key.ts) into an array of
 * bucket chains, a power of two long, doubled whenever it holds more conversations than buckets
 * (load factor ≤ 1, like the Linux kernel's and Suricata's flow tables): with a key the capture
 * cannot predict, chains stay a few entries long whatever the addresses (`longestChain`). No
 * string keys, no allocation per packet once a conversation exists.
 *
 * Bounded memory (docs/performance.md): memory grows with the conversations held, never with the
 * packets, and the table holds at most `maxConversations`.
 *  - Retiring: a conversation quiet for `idleTimeout` seconds of capture time (`finishedTimeout`
 *    once it is finished: FIN both ways or a RST) is handed to `onRetire` (detection) and its kept
 *    bytes are freed. It stays in the table, so a later packet still joins it.
 *  - Listing: the first `maxConversations` conversations of the run (all its captures, see
 *    FlowBudget) are listed one by one. Past that the
 *    limit is hit: a new conversation is tracked as usual but, once it leaves the table, it is
 *    folded into an aggregate entry (same transport, client, server, server port, state,
 *    protocol) instead of being listed. Aggregates are bounded too (MAX_AGGREGATES; past it
 *    they share ever fewer fields, down to transport, state and protocol).
 *  - Eviction: when the table is full, the least recently active conversation leaves it
 *    (retired ones first, then finished ones, then open ones). Only then can a later packet of
 *    the same 5-tuple start a new conversation: below the limit nothing ever leaves the table
 *    and conversation splitting is exactly Wireshark's.
 */
import type { DecodedPacket } from "../decode/packet.js";
import { IPPROTO_TCP, IPPROTO_UDP, TCP_ACK, TCP_SYN } from "../decode/packet.js";
import { Conversation, FIRST_FRAMES_KEPT, connState } from "./conversation.js";
import { FlowHasher, sameAddr } from "./key.js";
import { TcpTracker, udpHistory } from "./tcp-state.js";

/** Ports that identify a service even above 1023 (the Phoenix matrix's and common ones). */
const SERVICE_PORTS = new Set([
  902, 903, 1433, 1521, 2049, 3268, 3306, 3389, 3542, 3545, 5060, 5061, 5353, 5355, 5432, 5900, 5985, 5986, 6379,
  6443, 6667, 8000, 8080, 8443, 9418, 9440, 27017,
]);

type AggregateLevel = "port" | "hosts" | "client" | "all";
const LEVELS: readonly AggregateLevel[] = ["port", "hosts", "client", "all"];

/** An address as a short map key (not for display). */
function ipKey(ip: Uint8Array, v: 4 | 6): string {
  if (v === 4) return String(((ip[0] << 24) | (ip[1] << 16) | (ip[2] << 8) | ip[3]) >>> 0);
  let k = "";
  for (let i = 0; i < 16; i += 2) k += ((ip[i] << 8) | ip[i + 1]).toString(36) + ":";
  return k;
}

/** Bytes counted for one kept UDP datagram beyond its data: the record object and its view. */
export const UDP_SAMPLE_OVERHEAD = 64;

/** Free what a retired conversation held for detection; its counters and facts stay. */
function release(c: Conversation): void {
  if (c.tcp !== null) c.tcp.release();
  c.datagrams.length = 0;
  c.chargedBytes = 0;
}

export function isServicePort(port: number): boolean {
  return (port > 0 && port < 1024) || SERVICE_PORTS.has(port);
}

export interface FlowTableOptions {
  /** Bytes of in-order payload kept per TCP direction for detection (default 16 KiB). */
  reassemblyCap: number;
  /** UDP datagrams kept per direction for detection, and bytes kept of each. */
  udpSampleCount: number;
  udpSampleBytes: number;
  /**
   * Most conversations listed one by one in the run (all captures together), and most held in the table at once
   * (default DEFAULT_MAX_CONVERSATIONS). Past it, conversations are folded into aggregates and
   * the report says the limit was hit (`--max-conversations`).
   */
  maxConversations?: number;
  /** Seconds of capture time after which a quiet conversation is retired (default 300, Zeek's tcp_inactivity_timeout); 0 never. */
  idleTimeout?: number;
  /** The same for a finished TCP conversation (FIN both ways or a RST); default 5; 0 never. */
  finishedTimeout?: number;
  /**
   * Bytes that retired conversations may go on holding (their kept TCP prefixes and UDP samples,
   * for callers that read them after the analysis), all captures of the run together; past it the
   * oldest are freed. Default 32 MiB.
   */
  retainedBytes?: number;
  /**
   * Bytes that conversations still in the table may hold for detection at once, for the whole run
   * (TCP stream buffers, their bitmaps, frame maps and hole lists, UDP samples). Past it the least
   * recently active conversations are retired early (detected on what they have, bytes freed),
   * counted in `retiredForMemory`. Default 128 MiB.
   */
  maxHeldBytes?: number;
  /** Key of the flow hash (two 32-bit words); random per run (FlowBudget) when not given. Tests only: reports never depend on it. */
  hashKey?: readonly number[];
}

/** Default of `maxConversations`; the run's peak memory from the defaults is bounded in docs/performance.md ("The bound"). */
export const DEFAULT_MAX_CONVERSATIONS = 20_000;
/** Buckets of a new table (a power of two); doubled as conversations arrive. */
const INITIAL_BUCKETS = 1024;
/** Recycled conversations and trackers kept for reuse at most. */
const FREE_LIST_MAX = 4096;
/** Most aggregate entries in the run at full detail; past it aggregates share fewer fields. */
export const MAX_AGGREGATES = 10_000;

export const DEFAULT_FLOW_OPTIONS: FlowTableOptions = {
  reassemblyCap: 16 * 1024,
  udpSampleCount: 8,
  udpSampleBytes: 2048,
  maxConversations: DEFAULT_MAX_CONVERSATIONS,
  idleTimeout: 300,
  finishedTimeout: 5,
  retainedBytes: 32 * 1024 * 1024,
  maxHeldBytes: 128 * 1024 * 1024,
};

/**
 * The limits of one run, shared by the tables of all its captures (analyzeFiles reads files one
 * after another, each with its own table): conversations listed, aggregate entries, bytes held by
 * live conversations, bytes retired conversations go on holding. A file given three times costs
 * no more than once (issue 19).
 */
export class FlowBudget {
  readonly maxConversations: number;
  readonly maxHeldBytes: number;
  readonly retainedBytes: number;
  /** Conversations listed one by one so far in the run. */
  listed = 0;
  /** Aggregate entries made so far in the run. */
  aggregates = 0;
  /** Bytes held right now by conversations not yet retired (all tables). */
  heldBytes = 0;
  /** Largest `heldBytes` seen. */
  peakHeldBytes = 0;
  /** Retired listed conversations that still hold their bytes, oldest first (from `keptHead` on). */
  private kept: Conversation[] = [];
  private keptHead = 0;
  /** Bytes they hold. */
  keptBytes = 0;
  /** The flow hash, keyed once per run (a random secret unless `hashKey` is given). */
  readonly hasher: FlowHasher;

  constructor(opts: Partial<FlowTableOptions> = DEFAULT_FLOW_OPTIONS) {
    const max = opts.maxConversations ?? DEFAULT_MAX_CONVERSATIONS;
    this.maxConversations = Number.isFinite(max) && max >= 1 ? Math.floor(max) : DEFAULT_MAX_CONVERSATIONS;
    this.maxHeldBytes = opts.maxHeldBytes ?? DEFAULT_FLOW_OPTIONS.maxHeldBytes!;
    this.retainedBytes = opts.retainedBytes ?? DEFAULT_FLOW_OPTIONS.retainedBytes!;
    this.hasher = new FlowHasher(opts.hashKey);
  }

  /** `c` (retired, listed) keeps its `chargedBytes` while the budget lasts; returns how many older ones were freed. */
  retain(c: Conversation): number {
    if (c.chargedBytes === 0) return 0;
    this.kept.push(c);
    this.keptBytes += c.chargedBytes;
    let freed = 0;
    while (this.keptBytes > this.retainedBytes && this.keptHead < this.kept.length) {
      const old = this.kept[this.keptHead++];
      this.keptBytes -= old.chargedBytes;
      release(old);
      freed++;
    }
    if (this.keptHead > 1024 && this.keptHead * 2 > this.kept.length) {
      this.kept = this.kept.slice(this.keptHead);
      this.keptHead = 0;
    }
    return freed;
  }
}

/** How the table kept within its limits (the report's `captures[].flow`). */
export interface FlowStats {
  /** The limit in force. */
  maxConversations: number;
  /** True when more conversations were seen than the limit: some are only in aggregates. */
  limitHit: boolean;
  /** Every conversation seen (listed + folded into aggregates). */
  conversations: number;
  /** Listed one by one. */
  listed: number;
  /** Folded into aggregates, and how many aggregate entries hold them. */
  aggregated: number;
  aggregates: number;
  /** Removed from the table before the end of the capture because it was full. */
  evicted: number;
  /** Retired before the end (idle or finished and quiet): detected early, kept bytes freed. */
  retiredEarly: number;
  /**
   * Of those, retired because the run's held-bytes budget (`maxHeldBytes`) was full: detection ran
   * on the bytes they had so far, later payload is not kept.
   */
  retiredForMemory: number;
  /** Folded into an aggregate coarser than `port` because MAX_AGGREGATES entries existed. */
  coarseAggregated: number;
  /** Listed conversations whose kept bytes the retained-bytes budget freed (their facts stay). */
  retainedReleased: number;
}

/** An intrusive doubly linked list of conversations, least recently active first. */
class Recency {
  head: Conversation | null = null;
  tail: Conversation | null = null;
  size = 0;
  constructor(readonly id: number) {}
}
const OPEN = 0;
const FINISHED = 1;
const RETIRED = 2;

export class FlowTable {
  /** Bucket chains (via Conversation.nextInBucket), indexed by `hash & mask`. */
  private buckets: (Conversation | null)[] = new Array<Conversation | null>(INITIAL_BUCKETS).fill(null);
  private mask = INITIAL_BUCKETS - 1;
  private readonly hasher: FlowHasher;
  /**
   * Longest bucket chain any conversation was inserted into (1 = no collision). Not in the report:
   * it depends on the random key, and reports must not.
   */
  longestChain = 0;
  /**
   * The conversations listed one by one, in order of creation (first frame); after `finish()`
   * followed by the aggregates.
   */
  readonly conversations: Conversation[] = [];
  private nextTcpStream = 0;
  private nextUdpStream = 0;
  /** ICMP errors that quoted a packet of no known conversation. */
  unmatchedIcmp = 0;

  private readonly maxConversations: number;
  private readonly budget: FlowBudget;
  private readonly idleTimeout: number;
  private readonly finishedTimeout: number;
  private readonly lists = [new Recency(OPEN), new Recency(FINISHED), new Recency(RETIRED)];
  private held = 0;
  private readonly aggregates = new Map<string, Conversation>();
  private finished = false;
  readonly stats: FlowStats;

  /**
   * `onRetire` runs detection on a conversation before its kept bytes are freed (the pipeline
   * passes detectConversation). Without it nothing is retired early and nothing freed. `budget`:
   * the run's limits, shared with the other captures' tables (a new one when not given).
   */
  constructor(
    private readonly capture: number,
    private readonly opts: FlowTableOptions = DEFAULT_FLOW_OPTIONS,
    private idBase = 0,
    private readonly onRetire: ((c: Conversation) => void) | null = null,
    budget?: FlowBudget,
  ) {
    this.budget = budget ?? new FlowBudget(opts);
    this.maxConversations = this.budget.maxConversations;
    this.idleTimeout = opts.idleTimeout ?? DEFAULT_FLOW_OPTIONS.idleTimeout!;
    this.finishedTimeout = opts.finishedTimeout ?? DEFAULT_FLOW_OPTIONS.finishedTimeout!;
    this.hasher = this.budget.hasher;
    this.stats = {
      maxConversations: this.maxConversations,
      limitHit: false,
      conversations: 0,
      listed: 0,
      aggregated: 0,
      aggregates: 0,
      evicted: 0,
      retiredEarly: 0,
      retiredForMemory: 0,
      coarseAggregated: 0,
      retainedReleased: 0,
    };
  }

  /** Conversations in the table right now. */
  get size(): number {
    return this.held;
  }

  /** Account one decoded TCP or UDP packet. Returns the conversation, or null when not TCP/UDP. */
  packet(p: DecodedPacket, frame: number, origLen: number, tsSec: number, tsNsec: number): Conversation | null {
    const proto = p.ipProto;
    if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) return null;
    const hash = this.hasher.flow(p);
    let conv = this.find(hash, p);
    // A new SYN (another ISN) on a finished 4-tuple is a new connection, as Wireshark's
    // tcp.stream splits it; a retried SYN with the same ISN stays in the old one.
    if (conv !== null && conv.tcp !== null && conv.tcp.startsNew(this.isFromClient(conv, p), p)) {
      this.leave(conv);
      conv = null;
    }
    if (conv === null) conv = this.create(hash, p, frame, tsSec, tsNsec);

    const fromClient = this.isFromClient(conv, p);
    if (fromClient) {
      conv.packetsClient++;
      conv.bytesClient += origLen;
    } else {
      conv.packetsServer++;
      conv.bytesServer += origLen;
    }
    if (p.hasMac) {
      if (fromClient && !conv.clientMacSeen) {
        conv.clientMac.set(p.srcMac);
        conv.clientMacSeen = true;
      } else if (!fromClient && !conv.serverMacSeen) {
        conv.serverMac.set(p.srcMac);
        conv.serverMacSeen = true;
      }
    }
    if (p.vlanCount > 0 && conv.vlan < 0) conv.vlan = p.vlanIds[p.vlanCount - 1];
    if (p.payloadMissing > 0) conv.truncatedPackets++;
    conv.lastFrame = frame;
    if (conv.firstFrames.length < FIRST_FRAMES_KEPT) conv.firstFrames.push(frame);
    conv.endSec = tsSec;
    conv.endNsec = tsNsec;

    const budget = this.budget;
    if (conv.tcp !== null) {
      conv.tcp.segment(fromClient, p, frame);
      if (!conv.retired) {
        const now = conv.tcp.keptBytes;
        if (now !== conv.chargedBytes) {
          budget.heldBytes += now - conv.chargedBytes;
          conv.chargedBytes = now;
        }
      }
    } else if (p.payloadLength > 0 && !conv.retired) {
      // Samples are for detection: once it has run (retired), nothing more is kept.
      const kept = fromClient ? conv.datagramsClient : conv.datagramsServer;
      if (kept < this.opts.udpSampleCount) {
        const n = Math.min(p.payloadLength, this.opts.udpSampleBytes);
        // Copied: the payload view is only valid until the next packet. Not Buffer#slice, which
        // is a view on a Buffer and would keep the reader's whole 1 MiB chunk alive.
        const data = new Uint8Array(n);
        data.set(p.payloadBuf.subarray(p.payloadOffset, p.payloadOffset + n));
        conv.datagrams.push({ fromClient, frame, data });
        if (fromClient) conv.datagramsClient++;
        else conv.datagramsServer++;
        conv.chargedBytes += n + UDP_SAMPLE_OVERHEAD;
        budget.heldBytes += n + UDP_SAMPLE_OVERHEAD;
      }
    }
    this.touch(conv);
    if (budget.heldBytes > budget.peakHeldBytes) budget.peakHeldBytes = budget.heldBytes;
    if (budget.heldBytes > budget.maxHeldBytes && this.onRetire !== null) this.relieve(conv);
    if (this.onRetire !== null) this.expire(tsSec);
    return conv;
  }

  // ---- limits: recency lists, retiring, eviction, aggregates ----

  /** Move `c` to the most recent end of the list its state belongs in. */
  private touch(c: Conversation): void {
    const want = c.retired ? this.lists[RETIRED] : c.tcp !== null && c.tcp.finished ? this.lists[FINISHED] : this.lists[OPEN];
    if (want.tail === c) return;
    if (c.lruList >= 0) this.removeFromList(c, this.lists[c.lruList]);
    c.lruPrev = want.tail;
    c.lruNext = null;
    if (want.tail !== null) want.tail.lruNext = c;
    else want.head = c;
    want.tail = c;
    want.size++;
    c.lruList = want.id;
  }

  private removeFromList(c: Conversation, l: Recency): void {
    if (c.lruPrev !== null) c.lruPrev.lruNext = c.lruNext;
    else l.head = c.lruNext;
    if (c.lruNext !== null) c.lruNext.lruPrev = c.lruPrev;
    else l.tail = c.lruPrev;
    c.lruPrev = c.lruNext = null;
    l.size--;
    c.lruList = -1;
  }

  /** Retire the conversations that have been quiet too long (capture time `now`). */
  private expire(now: number): void {
    const idle = this.idleTimeout;
    const fin = this.finishedTimeout;
    if (fin > 0) {
      const l = this.lists[FINISHED];
      while (l.head !== null && now - l.head.endSec > fin) this.retireEarly(l.head);
    }
    if (idle > 0) {
      const l = this.lists[OPEN];
      while (l.head !== null && now - l.head.endSec > idle) this.retireEarly(l.head);
    }
  }

  /**
   * Over the held-bytes budget: retire the least recently active conversations (finished ones
   * first) until it fits again, sparing `current`.
   */
  private relieve(current: Conversation): void {
    this.relieveFrom(this.lists[FINISHED], current);
    this.relieveFrom(this.lists[OPEN], current);
  }

  private relieveFrom(l: Recency, current: Conversation): void {
    while (this.budget.heldBytes > this.budget.maxHeldBytes && l.head !== null && l.head !== current) {
      this.stats.retiredForMemory++;
      this.retireEarly(l.head);
    }
  }

  private retireEarly(c: Conversation): void {
    this.retire(c, false);
    this.stats.retiredEarly++;
    this.touch(c);
  }

  /**
   * Detection runs (onRetire), then the kept bytes go: the TCP streams, the UDP samples. `final`
   * says no packet can join it any more (it left the table).
   */
  private retire(c: Conversation, final: boolean): void {
    if (c.retired || this.onRetire === null) return;
    if (c.tcp !== null && !final) c.tcp.finish(false);
    this.onRetire(c);
    this.settle(c);
  }

  /** Detection has run on `c`: its bytes leave the held budget, and are freed or retained. */
  private settle(c: Conversation): void {
    c.retired = true;
    this.budget.heldBytes -= c.chargedBytes;
    // Retained as they are after detection (a retired stream keeps nothing more).
    if (c.tcp !== null) c.chargedBytes = c.tcp.keptBytes;
    if (!c.listed) {
      release(c);
      return;
    }
    // Listed conversations keep their bytes while the run's budget lasts (small captures: all of them).
    this.stats.retainedReleased += this.budget.retain(c);
  }

  /**
   * After the caller detected the conversations left at the end of the capture (`finish()`): what
   * they hold moves from the held budget to the retained one, so the next file starts with an
   * empty held budget and the run's retained bytes stay bounded whatever the number of files.
   */
  retainAll(): void {
    for (const c of this.conversations) if (c.aggregate === null && !c.retired && c.facts !== null) this.settle(c);
  }

  /** `c` leaves the table for good: listed ones stay in the list, the others join an aggregate. */
  private leave(c: Conversation): void {
    this.unlink(c);
    if (c.lruList >= 0) this.removeFromList(c, this.lists[c.lruList]);
    c.inTable = false;
    this.held--;
    this.retire(c, true);
    if (!c.listed) {
      this.fold(c);
      this.recycle(c);
    }
  }

  /** Conversations and trackers of folded conversations, reused by create() (bounded). */
  private readonly freeConvs: Conversation[] = [];
  private readonly freeTrackers: TcpTracker[] = [];

  private recycle(c: Conversation): void {
    if (c.tcp !== null && this.freeTrackers.length < FREE_LIST_MAX) this.freeTrackers.push(c.tcp);
    c.reset();
    if (this.freeConvs.length < FREE_LIST_MAX) this.freeConvs.push(c);
  }

  /** Make room for one more: the least recently active conversation leaves the table. */
  private evictOne(): void {
    const l = this.lists[RETIRED].head !== null ? this.lists[RETIRED] : this.lists[FINISHED].head !== null ? this.lists[FINISHED] : this.lists[OPEN];
    const c = l.head;
    if (c === null) return;
    this.stats.evicted++;
    this.leave(c);
  }

  /** Fold a conversation that is not listed into its aggregate entry. */
  private fold(c: Conversation): void {
    const state = connState(c);
    const proto = c.facts?.protocol ?? "none";
    const t = c.transport;
    const v = c.ipVersion;
    const rest = `${t}${v}|${state}|${proto}|${c.icmpCount > 0 ? `${c.icmpType}/${c.icmpCode}` : ""}`;
    const client = ipKey(c.clientIp, v);
    const server = ipKey(c.serverIp, v);
    let agg: Conversation | undefined;
    for (let i = 0; i < LEVELS.length && agg === undefined; i++) {
      const level = LEVELS[i];
      // Built only as far as needed: most folds stop at the first level.
      const key =
        i === 0 ? `${rest}|${client}|${server}|${c.serverPort}` : i === 1 ? `${rest}|${client}|${server}|*` : i === 2 ? `${rest}|${client}|*|*` : `${rest}|*|*|*`;
      agg = this.aggregates.get(key);
      // Each coarser level may add a tenth of the cap more; "all" has only a handful of keys.
      // The cap is the run's: every capture's entries count.
      if (agg === undefined && (level === "all" || this.budget.aggregates < MAX_AGGREGATES + (i * MAX_AGGREGATES) / 10)) {
        agg = this.newAggregate(c, level, state);
        this.aggregates.set(key, agg);
        this.budget.aggregates++;
      }
      if (agg !== undefined && i > 0) this.stats.coarseAggregated++;
    }
    const a = agg!;
    const info = a.aggregate!;
    info.conversations++;
    if (c.serverPort < info.serverPortLow) info.serverPortLow = c.serverPort;
    if (c.serverPort > info.serverPortHigh) info.serverPortHigh = c.serverPort;
    a.packetsClient += c.packetsClient;
    a.packetsServer += c.packetsServer;
    a.bytesClient += c.bytesClient;
    a.bytesServer += c.bytesServer;
    if (c.firstFrame < a.firstFrame) a.firstFrame = c.firstFrame;
    if (c.lastFrame > a.lastFrame) a.lastFrame = c.lastFrame;
    if (a.firstFrames.length < FIRST_FRAMES_KEPT) a.firstFrames.push(c.firstFrame);
    if (c.startSec < a.startSec || (c.startSec === a.startSec && c.startNsec < a.startNsec)) {
      a.startSec = c.startSec;
      a.startNsec = c.startNsec;
    }
    if (c.endSec > a.endSec || (c.endSec === a.endSec && c.endNsec > a.endNsec)) {
      a.endSec = c.endSec;
      a.endNsec = c.endNsec;
    }
    if (c.icmpCount > 0) {
      a.icmpType = c.icmpType;
      a.icmpCode = c.icmpCode;
      a.icmpCount += c.icmpCount;
      for (const f of c.icmpFrames) if (a.icmpFrames.length < 16) a.icmpFrames.push(f);
    }
    this.stats.aggregated++;
  }

  private newAggregate(c: Conversation, level: AggregateLevel, state: string): Conversation {
    const a = new Conversation();
    a.capture = c.capture;
    a.stream = -1;
    a.transport = c.transport;
    a.ipVersion = c.ipVersion;
    if (level === "port" || level === "hosts" || level === "client") a.clientIp.set(c.clientIp);
    if (level === "port" || level === "hosts") a.serverIp.set(c.serverIp);
    a.serverPort = level === "port" ? c.serverPort : 0;
    a.clientBy = c.clientBy;
    a.firstFrame = c.firstFrame;
    a.lastFrame = c.lastFrame;
    a.startSec = c.startSec;
    a.startNsec = c.startNsec;
    a.endSec = c.endSec;
    a.endNsec = c.endNsec;
    a.firstFromServer = c.firstFromServer;
    a.facts = c.facts;
    a.retired = true;
    a.listed = true;
    a.aggregate = {
      conversations: 0,
      state,
      history: c.tcp !== null ? c.tcp.history : udpHistory(c.packetsClient > 0, c.packetsServer > 0, c.firstFromServer),
      level,
      serverPortLow: c.serverPort,
      serverPortHigh: c.serverPort,
    };
    return a;
  }

  /**
   * End of the capture: conversations still in the table that are not listed are detected and
   * folded; the aggregates get ids and join `conversations` after the listed ones. Listed
   * conversations not yet detected are left to the caller (facts === null).
   */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    for (const l of this.lists) {
      for (let c = l.head; c !== null; ) {
        const next = c.lruNext;
        if (!c.listed) {
          this.retire(c, true);
          this.fold(c);
          this.recycle(c);
        }
        c = next;
      }
    }
    for (const a of this.aggregates.values()) {
      a.id = ++this.idBase;
      this.conversations.push(a);
    }
    this.stats.aggregates = this.aggregates.size;
    this.aggregates.clear();
  }

  private isFromClient(conv: Conversation, p: DecodedPacket): boolean {
    return conv.clientPort === p.srcPort && sameAddr(conv.clientIp, p.srcIp, conv.ipVersion === 4 ? 4 : 16);
  }

  /** Attach an ICMP/ICMPv6 error to the conversation whose packet it quotes. */
  icmpError(p: DecodedPacket, frame: number): Conversation | null {
    if (!p.hasQuoted || (p.quotedProto !== IPPROTO_TCP && p.quotedProto !== IPPROTO_UDP)) return null;
    const hash = this.hasher.quoted(p);
    const len = p.quotedIpVersion === 4 ? 4 : 16;
    for (let c = this.buckets[hash & this.mask]; c !== null; c = c.nextInBucket) {
      if (c.ipVersion !== p.quotedIpVersion || (c.transport === "tcp") !== (p.quotedProto === IPPROTO_TCP)) continue;
      const direct =
        c.clientPort === p.quotedSrcPort && c.serverPort === p.quotedDstPort &&
        sameAddr(c.clientIp, p.quotedSrcIp, len) && sameAddr(c.serverIp, p.quotedDstIp, len);
      const reverse =
        c.clientPort === p.quotedDstPort && c.serverPort === p.quotedSrcPort &&
        sameAddr(c.clientIp, p.quotedDstIp, len) && sameAddr(c.serverIp, p.quotedSrcIp, len);
      if (direct || reverse) {
        c.icmpType = p.icmpType;
        c.icmpCode = p.icmpCode;
        c.icmpCount++;
        if (c.icmpFrames.length < 16) c.icmpFrames.push(frame);
        return c;
      }
    }
    this.unmatchedIcmp++;
    return null;
  }

  /** Last id handed out (so the next capture's table can continue the numbering). */
  get lastId(): number {
    return this.idBase;
  }

  private find(hash: number, p: DecodedPacket): Conversation | null {
    const len = p.ipVersion === 4 ? 4 : 16;
    const tcp = p.ipProto === IPPROTO_TCP;
    for (let c = this.buckets[hash & this.mask]; c !== null; c = c.nextInBucket) {
      if (c.ipVersion !== p.ipVersion || (c.transport === "tcp") !== tcp) continue;
      if (c.clientPort === p.srcPort && c.serverPort === p.dstPort &&
          sameAddr(c.clientIp, p.srcIp, len) && sameAddr(c.serverIp, p.dstIp, len)) return c;
      if (c.clientPort === p.dstPort && c.serverPort === p.srcPort &&
          sameAddr(c.clientIp, p.dstIp, len) && sameAddr(c.serverIp, p.srcIp, len)) return c;
    }
    return null;
  }

  private unlink(conv: Conversation): void {
    const i = conv.hash & this.mask;
    let c = this.buckets[i];
    let prev: Conversation | null = null;
    while (c !== null && c !== conv) {
      prev = c;
      c = c.nextInBucket;
    }
    if (c === null) return;
    if (prev === null) this.buckets[i] = conv.nextInBucket;
    else prev.nextInBucket = conv.nextInBucket;
    conv.nextInBucket = null;
  }

  /** Insert `c` at the head of its chain, doubling the bucket array first when it is full. */
  private link(c: Conversation): void {
    if (this.held > this.buckets.length) this.grow();
    const i = c.hash & this.mask;
    c.nextInBucket = this.buckets[i];
    this.buckets[i] = c;
    let n = 0;
    for (let x: Conversation | null = c; x !== null; x = x.nextInBucket) n++;
    if (n > this.longestChain) this.longestChain = n;
  }

  /** Twice the buckets; every chain is split by the next bit of its hashes. */
  private grow(): void {
    const old = this.buckets;
    const size = old.length * 2;
    this.buckets = new Array<Conversation | null>(size).fill(null);
    this.mask = size - 1;
    for (let b of old) {
      while (b !== null) {
        const next: Conversation | null = b.nextInBucket;
        const i = b.hash & this.mask;
        b.nextInBucket = this.buckets[i];
        this.buckets[i] = b;
        b = next;
      }
    }
  }

  private create(hash: number, p: DecodedPacket, frame: number, tsSec: number, tsNsec: number): Conversation {
    if (this.held >= this.maxConversations) this.evictOne();
    const c = this.freeConvs.pop() ?? new Conversation();
    this.stats.conversations++;
    if (this.budget.listed < this.maxConversations) {
      c.id = ++this.idBase;
      this.stats.listed++;
      this.budget.listed++;
      this.conversations.push(c);
    } else {
      // Past the limit: tracked like any other, then folded into an aggregate (id 0, not listed).
      c.listed = false;
      this.stats.limitHit = true;
    }
    c.capture = this.capture;
    c.hash = hash;
    c.ipVersion = p.ipVersion === 6 ? 6 : 4;
    const tcp = p.ipProto === IPPROTO_TCP;
    c.transport = tcp ? "tcp" : "udp";
    c.stream = tcp ? this.nextTcpStream++ : this.nextUdpStream++;

    // Decide who is the client (see the file comment).
    let srcIsClient = true;
    const synFlags = p.tcpFlags & (TCP_SYN | TCP_ACK);
    if (tcp && synFlags === TCP_SYN) c.clientBy = "syn";
    else if (tcp && synFlags === (TCP_SYN | TCP_ACK)) {
      srcIsClient = false;
      c.clientBy = "syn-ack";
    } else if (isServicePort(p.srcPort) && !isServicePort(p.dstPort)) {
      srcIsClient = false;
      c.clientBy = "service-port";
    } else c.clientBy = "first-packet";

    c.firstFromServer = !srcIsClient;
    if (srcIsClient) {
      c.clientIp.set(p.srcIp);
      c.serverIp.set(p.dstIp);
      c.clientPort = p.srcPort;
      c.serverPort = p.dstPort;
    } else {
      c.clientIp.set(p.dstIp);
      c.serverIp.set(p.srcIp);
      c.clientPort = p.dstPort;
      c.serverPort = p.srcPort;
    }
    c.firstFrame = frame;
    c.startSec = tsSec;
    c.startNsec = tsNsec;
    if (tcp) {
      const t = this.freeTrackers.pop();
      if (t !== undefined) t.reset();
      c.tcp = t ?? new TcpTracker(this.opts.reassemblyCap);
    }

    c.inTable = true;
    this.held++;
    this.link(c);
    return c;
  }
}
