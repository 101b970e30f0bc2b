/**
 * The conversation table: TCP and UDP conversations keyed by the 5-tuple.
 *
 * Client and server are decided from a conversation's first packet by src/flow/orientation.ts
 * (SYN, then the protocol's own roles, then service ports, then the first sender).
 *
 * A TCP 4-tuple that is reused after its connection finished (FIN both ways or RST) and then sees
 * a new SYN starts a new conversation, as Wireshark's tcp.stream does.
 *
 * Lookup is by a symmetric hash keyed with a per-run secret (src/flow/key.ts) into bucket chains
 * (src/flow/buckets.ts). No string keys, no allocation per packet once a conversation exists.
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
import { type DecodedPacket, IPPROTO_TCP, IPPROTO_UDP } from "../decode/index.js";
import { Conversation, FIRST_FRAMES_KEPT } from "./conversation.js";
import { FlowBudget, Lifetime, release, UDP_SAMPLE_OVERHEAD } from "./lifetime.js";
import { type FlowStats, type FlowTableOptions } from "./options.js";
import { FlowBuckets } from "./buckets.js";
import { FlowHasher, sameAddr } from "./key.js";
import { NO_SERVER_PORTS, orient } from "./orientation.js";
import { TcpTracker } from "./tcp/index.js";

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

/** Recycled conversations and trackers kept for reuse at most. */
const FREE_LIST_MAX = 4096;

export class FlowTable {
  private readonly index = new FlowBuckets();
  private readonly hasher: FlowHasher;
  /** The conversations listed one by one, in order of creation (first frame). */
  readonly conversations: Conversation[] = [];
  private nextTcpStream = 0;
  private nextUdpStream = 0;

  private readonly maxConversations: number;
  private readonly budget: FlowBudget;
  private readonly lifetime: Lifetime;
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
    this.lifetime = new Lifetime(opts, this.budget, this.stats, (c) => this.retireEarly(c));
  }

  /** Conversations in the table right now. */
  get size(): number {
    return this.index.size;
  }

  /** Longest bucket chain a conversation was inserted into (buckets.ts); not in the report. */
  get longestChain(): number {
    return this.index.longestChain;
  }

  /** Account one decoded TCP or UDP packet. Returns the conversation, or null when not TCP/UDP. */
  packet(p: DecodedPacket, frame: number, origLen: number, tsSec: number, tsNsec: number): Conversation | null {
    const proto = p.ipProto;
    if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) return null;
    // The last packet's conversation first: no hash for a run of packets of one conversation.
    let conv = this.index.recent(p);
    let hash: number;
    if (conv !== null) hash = conv.hash;
    else {
      hash = this.hasher.flow(p);
      conv = this.index.find(hash, p);
    }
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
    const lifetime = this.lifetime;
    lifetime.touch(conv);
    if (budget.heldBytes > budget.peakHeldBytes) budget.peakHeldBytes = budget.heldBytes;
    if (budget.heldBytes > budget.maxHeldBytes) lifetime.relieve(conv);
    lifetime.expire(tsSec);
    return conv;
  }

  /** Retired before the end (idle, finished and quiet, or over the byte budget): it stays in the table. */
  private retireEarly(c: Conversation): void {
    this.retire(c);
    this.stats.retiredEarly++;
    this.lifetime.touch(c);
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
    this.index.unlink(c);
    this.lifetime.remove(c);
    c.inTable = false;
    this.budget.holding(-1);
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
    const c = this.lifetime.evictionCandidate();
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
    for (const l of this.lifetime.lists) {
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
    // Its conversations no longer count against the run's table limit (the next file's table
    // starts empty, as one table at a time does when nothing is shared).
    this.budget.holding(-this.index.size);
  }

  /**
   * Capture time went on to `now` in packets this table did not see (a sharded run: the other
   * shards' packets). Retires what one table seeing every packet would have retired by now.
   */
  advance(now: number): void {
    this.lifetime.expire(now);
  }

  private isFromClient(conv: Conversation, p: DecodedPacket): boolean {
    return conv.clientPort === p.srcPort && sameAddr(conv.clientIp, p.srcIp, conv.ipVersion === 4 ? 4 : 16);
  }

  /** Attach an ICMP/ICMPv6 error to the conversation whose packet it quotes. */
  icmpError(p: DecodedPacket, frame: number): Conversation | null {
    if (!p.hasQuoted || (p.quotedProto !== IPPROTO_TCP && p.quotedProto !== IPPROTO_UDP)) return null;
    const c = this.index.findQuoted(this.hasher.quoted(p), p);
    if (c === null) return null;
    c.icmpType = p.icmpType;
    c.icmpCode = p.icmpCode;
    c.icmpCount++;
    if (c.icmpFrames.length < 16) c.icmpFrames.push(frame);
    return c;
  }

  /** Last id handed out (the pipeline numbers its aggregate entries on from it). */
  get lastId(): number {
    return this.idBase;
  }

  private create(hash: number, p: DecodedPacket, frame: number, tsSec: number, tsNsec: number): Conversation {
    if (this.budget.full(this.index.size)) this.evictOne();
    const c = this.freeConvs.pop() ?? new Conversation();
    this.stats.conversations++;
    if (this.budget.claimListing()) {
      c.id = ++this.idBase;
      this.stats.listed++;
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
    this.index.link(c);
    this.budget.holding(1);
    return c;
  }
}
