/**
 * The flow table's lookup: conversations by the symmetric hash of their 5-tuple (key.ts) in an
 * array of bucket chains (via Conversation.nextInBucket), a power of two long, doubled whenever
 * it holds more conversations than buckets (load factor ≤ 1, like the Linux kernel's and
 * Suricata's flow tables). With a key the capture cannot predict, chains stay a few entries long
 * whatever the addresses (`longestChain`). No allocation per lookup.
 */
import { type DecodedPacket, IPPROTO_TCP } from "../decode/index.js";
import type { Conversation } from "./conversation.js";
import { sameAddr } from "./key.js";

/** Buckets of a new index (a power of two); doubled as conversations arrive. */
const INITIAL_BUCKETS = 1024;

export class FlowBuckets {
  /** Bucket chains, indexed by `hash & mask`. */
  private buckets: (Conversation | null)[] = new Array<Conversation | null>(INITIAL_BUCKETS).fill(null);
  private mask = INITIAL_BUCKETS - 1;
  /** Conversations linked. */
  private count = 0;
  /** The conversation the last lookup found or the last link added (recent()), or null. */
  private last: Conversation | null = null;
  /**
   * Longest bucket chain any conversation was inserted into (1 = no collision). Not in the report:
   * it depends on the random key, and reports must not.
   */
  longestChain = 0;

  /** Conversations in the index right now. */
  get size(): number {
    return this.count;
  }

  /**
   * The conversation of the last packet looked up, when `p` belongs to it too (either direction),
   * else null. Packets come in runs of one conversation (a window of data, its ACKs), so most
   * lookups end here without hashing. Cleared when that conversation leaves the index.
   */
  recent(p: DecodedPacket): Conversation | null {
    const c = this.last;
    return c !== null && matches(c, p) ? c : null;
  }

  /** The conversation `p` belongs to (either direction), or null. `hash` is the hasher's `flow(p)`. */
  find(hash: number, p: DecodedPacket): Conversation | null {
    for (let c = this.buckets[hash & this.mask]; c !== null; c = c.nextInBucket) {
      if (matches(c, p)) {
        this.last = c;
        return c;
      }
    }
    return null;
  }

  /**
   * The conversation of the packet an ICMP/ICMPv6 error quotes (either direction), or null.
   * `hash` is the hasher's `quoted(p)`.
   */
  findQuoted(hash: number, p: DecodedPacket): Conversation | null {
    const len = p.quotedIpVersion === 4 ? 4 : 16;
    for (let c = this.buckets[hash & this.mask]; c !== null; c = c.nextInBucket) {
      if (c.ipVersion !== p.quotedIpVersion || (c.transport === "tcp") !== (p.quotedProto === IPPROTO_TCP)) continue;
      const direct =
        c.clientPort === p.quotedSrcPort && c.serverPort === p.quotedDstPort &&
        sameAddr(c.clientIp, p.quotedSrcIp, len) && sameAddr(c.serverIp, p.quotedDstIp, len);
      const reverse =
        c.clientPort === p.quotedDstPort && c.serverPort === p.quotedSrcPort &&
        sameAddr(c.clientIp, p.quotedDstIp, len) && sameAddr(c.serverIp, p.quotedSrcIp, len);
      if (direct || reverse) return c;
    }
    return null;
  }

  /** Insert `c` (its `hash` set) at the head of its chain, doubling the bucket array first when it is full. */
  link(c: Conversation): void {
    if (++this.count > this.buckets.length) this.grow();
    const i = c.hash & this.mask;
    c.nextInBucket = this.buckets[i];
    this.buckets[i] = c;
    this.last = c;
    let n = 0;
    for (let x: Conversation | null = c; x !== null; x = x.nextInBucket) n++;
    if (n > this.longestChain) this.longestChain = n;
  }

  /** Take `conv` out of its chain. */
  unlink(conv: Conversation): void {
    this.count--;
    if (this.last === conv) this.last = null;
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
}

/** `p` is a packet of `c`, in either direction: same IP version and transport, same endpoints. */
function matches(c: Conversation, p: DecodedPacket): boolean {
  if (c.ipVersion !== p.ipVersion || (c.transport === "tcp") !== (p.ipProto === IPPROTO_TCP)) return false;
  const len = p.ipVersion === 4 ? 4 : 16;
  if (c.clientPort === p.srcPort && c.serverPort === p.dstPort) {
    if (sameAddr(c.clientIp, p.srcIp, len) && sameAddr(c.serverIp, p.dstIp, len)) return true;
  }
  return c.clientPort === p.dstPort && c.serverPort === p.srcPort && sameAddr(c.clientIp, p.dstIp, len) && sameAddr(c.serverIp, p.srcIp, len);
}
