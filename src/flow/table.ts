/**
 * The conversation table: TCP and UDP conversations keyed by the 5-tuple.
 *
 * Client and server are decided from a conversation's first packet by src/flow/orientation.ts
 * (SYN, then the protocol's own roles, then service ports, then the first sender).
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
 *    once it is finished: FIN both ways or a RST) is handed to the sink's `retire` (the pipeline
 *    detects it there) and its kept bytes are freed. It stays in the table, so a later packet
 *    still joins it.
 *  - Listing: the first `maxConversations` conversations of the run (all its captures, see
 *    FlowBudget) are listed one by one. Past that the limit is hit: a new conversation is tracked
 *    as usual but, once it leaves the table, it goes to the sink's `unlisted` (the pipeline folds
 *    it into an aggregate entry, src/pipeline/aggregate.ts) and its object is reused.
 *  - Eviction: when the table is full, the least recently active conversation leaves it
 *    (retired ones first, then finished ones, then open ones). Only then can a later packet of
 *    the same 5-tuple start a new conversation: below the limit nothing ever leaves the table
 *    and conversation splitting is exactly Wireshark's.
 */
import type { DecodedPacket } from "../decode/packet.js";
import { IPPROTO_TCP, IPPROTO_UDP } from "../decode/packet.js";
import { Conversation, FIRST_FRAMES_KEPT } from "./conversation.js";
import { FlowHasher, sameAddr } from "./key.js";
import { NO_SERVER_PORTS, orient } from "./orientation.js";
import { TcpTracker } from "./tcp-state.js";

/**
 * Where the table hands the conversations it is done with (the pipeline's detection and
 * aggregation, src/pipeline/capture-analysis.ts). The table never reads what the sink found.
 */
export interface FlowSink {
  /**
   * Last look at `c`'s kept bytes (its TCP tracker is finished): called once per conversation,
   * when it is retired early (idle, finished and quiet, over the byte budget), when it leaves the
   * table, or at the end of the capture. The bytes are freed or retained after the call.
   */
  retire(c: Conversation): void;
  /**
   * `c`, past the run's `maxConversations` (not listed), left the table for good (after
   * `retire`). The table reuses the object after the call: copy what you keep.
   */
  unlisted(c: Conversation): void;
}

/** Bytes counted for one kept UDP datagram beyond its data: the record object and its view. */
export const UDP_SAMPLE_OVERHEAD = 64;

/** Free what a retired conversation held for detection; its counters stay. */
function release(c: Conversation): void {
  if (c.tcp !== null) c.tcp.release();
  c.datagrams.length = 0;
  c.chargedBytes = 0;
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
  /**
   * Ports above 1023 that identify a service, for deciding who is the client when neither SYN nor
   * the protocol says (src/flow/orientation.ts rule 3). None when not given; the pipeline passes
   * its set (src/pipeline/server-ports.ts).
   */
  likelyServerPorts?: ReadonlySet<number>;
  /** Key of the flow hash (two 32-bit words); random per run (FlowBudget) when not given. Tests only: reports never depend on it. */
  hashKey?: readonly number[];
}

/** Default of `maxConversations`; the run's peak memory from the defaults is bounded in docs/performance.md ("The bound"). */
export const DEFAULT_MAX_CONVERSATIONS = 20_000;
/** Buckets of a new table (a power of two); doubled as conversations arrive. */
const INITIAL_BUCKETS = 1024;
/** Recycled conversations and trackers kept for reuse at most. */
const FREE_LIST_MAX = 4096;

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
 * after another, each with its own table): conversations listed, bytes held by
 * live conversations, bytes retired conversations go on holding. A file given three times costs
 * no more than once (issue 19).
 */
export class FlowBudget {
  readonly maxConversations: number;
  readonly maxHeldBytes: number;
  readonly retainedBytes: number;
  /** Conversations listed one by one so far in the run. */
  listed = 0;
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
  /**
   * Folded into aggregates, and how many aggregate entries hold them. These three (and
   * `coarseAggregated`) are counted by whoever folds the unlisted conversations (the pipeline,
   * src/pipeline/aggregate.ts); the table leaves them at 0.
   */
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
  /** The conversations listed one by one, in order of creation (first frame). */
  readonly conversations: Conversation[] = [];
  private nextTcpStream = 0;
  private nextUdpStream = 0;

  private readonly maxConversations: number;
  private readonly budget: FlowBudget;
  private readonly idleTimeout: number;
  private readonly finishedTimeout: number;
  private readonly lists = [new Recency(OPEN), new Recency(FINISHED), new Recency(RETIRED)];
  private held = 0;
  private finished = false;
  private readonly serverPorts: ReadonlySet<number>;
  readonly stats: FlowStats;

  /**
   * `sink` gets each conversation before its kept bytes are freed, and the unlisted ones when
   * they leave. `budget`: the run's limits, shared with the other captures' tables (a new one
   * when not given).
   */
  constructor(
    private readonly capture: number,
    private readonly opts: FlowTableOptions,
    private idBase: number,
    private readonly sink: FlowSink,
    budget?: FlowBudget,
  ) {
    this.budget = budget ?? new FlowBudget(opts);
    this.maxConversations = this.budget.maxConversations;
    this.idleTimeout = opts.idleTimeout ?? DEFAULT_FLOW_OPTIONS.idleTimeout!;
    this.finishedTimeout = opts.finishedTimeout ?? DEFAULT_FLOW_OPTIONS.finishedTimeout!;
    this.hasher = this.budget.hasher;
    this.serverPorts = opts.likelyServerPorts ?? NO_SERVER_PORTS;
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
    if (budget.heldBytes > budget.maxHeldBytes) this.relieve(conv);
    this.expire(tsSec);
    return conv;
  }

  // ---- limits: recency lists, retiring, eviction ----

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
    this.retire(c);
    this.stats.retiredEarly++;
    this.touch(c);
  }

  /**
   * The sink reads the kept bytes (detection), then they go: the TCP streams, the UDP samples.
   * The tracker is finished without counting as closed (`finish(false)`): a conversation retired
   * early stays in the table, and a later SYN on its 4-tuple must not split it unless its FINs or
   * RST say it ended.
   */
  private retire(c: Conversation, endOfCapture = false): void {
    if (c.retired) return;
    if (c.tcp !== null) c.tcp.finish(endOfCapture);
    this.sink.retire(c);
    this.settle(c);
  }

  /** The sink has read `c`: its bytes leave the held budget, and are freed or retained. */
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

  /** `c` leaves the table for good: listed ones stay in the list, the others go to the sink. */
  private leave(c: Conversation): void {
    this.unlink(c);
    if (c.lruList >= 0) this.removeFromList(c, this.lists[c.lruList]);
    c.inTable = false;
    this.held--;
    this.retire(c);
    if (!c.listed) {
      this.sink.unlisted(c);
      this.recycle(c);
    }
  }

  /** Conversations and trackers of unlisted conversations, reused by create() (bounded). */
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

  /**
   * End of the capture: every conversation still in the table goes to the sink (the unlisted
   * ones first, then the listed ones in order of creation, their trackers finished as closed),
   * and what the listed ones hold moves from the held budget to the retained one, so the next
   * file starts with an empty held budget and the run's retained bytes stay bounded whatever
   * the number of files.
   */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    for (const l of this.lists) {
      for (let c = l.head; c !== null; ) {
        const next = c.lruNext;
        if (!c.listed) {
          this.retire(c);
          this.sink.unlisted(c);
          this.recycle(c);
        }
        c = next;
      }
    }
    for (const c of this.conversations) this.retire(c, true);
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
    return null;
  }

  /** Last id handed out (the pipeline numbers its aggregate entries on from it). */
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
      // Past the limit: tracked like any other, then handed to the sink unlisted (id 0).
      c.listed = false;
      this.stats.limitHit = true;
    }
    c.capture = this.capture;
    c.hash = hash;
    c.ipVersion = p.ipVersion === 6 ? 6 : 4;
    const tcp = p.ipProto === IPPROTO_TCP;
    c.transport = tcp ? "tcp" : "udp";
    c.stream = tcp ? this.nextTcpStream++ : this.nextUdpStream++;

    // Decide who is the client (src/flow/orientation.ts).
    const o = orient(p, this.serverPorts);
    const srcIsClient = o.srcIsClient;
    c.clientBy = o.by;

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
