/**
 * How long conversations live in the flow table, and what they may hold (docs/performance.md):
 *  - recency lists (open, finished, retired; least recently active first), intrusive through
 *    Conversation.lruPrev/lruNext so that touching a conversation allocates nothing;
 *  - expiry: a conversation quiet for `idleTimeout` seconds of capture time (`finishedTimeout`
 *    once finished: FIN both ways or a RST) is retired early (the table hands it to its sink);
 *  - the byte budget of the run (FlowBudget): bytes held by conversations in the table
 *    (`maxHeldBytes`; past it the least recently active are retired early) and bytes retired
 *    conversations go on holding (`retainedBytes`; past it the oldest are freed);
 *  - eviction order when the table is full: retired ones first, then finished, then open.
 */
import type { Conversation } from "./conversation.js";
import { FlowHasher } from "./key.js";
import { DEFAULT_FLOW_OPTIONS, DEFAULT_MAX_CONVERSATIONS, type FlowStats, type FlowTableOptions } from "./options.js";

/** Bytes counted for one kept UDP datagram beyond its data: the record object and its view. */
export const UDP_SAMPLE_OVERHEAD = 64;

/** Free what a retired conversation held for detection; its counters stay. */
export function release(c: Conversation): void {
  if (c.tcp !== null) c.tcp.release();
  c.datagrams.length = 0;
  c.chargedBytes = 0;
}

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
  /**
   * When the run is sharded over worker threads (src/pipeline/shard-*.ts), the counts every
   * shard's table shares, in shared memory: [conversations listed, conversations held]. So the
   * listing limit and the table limit stay the run's, and below them (where nothing depends on
   * which shard got there first) every shard decides as one table would.
   */
  private shared: Int32Array | null = null;

  constructor(opts: Partial<FlowTableOptions> = DEFAULT_FLOW_OPTIONS) {
    const max = opts.maxConversations ?? DEFAULT_MAX_CONVERSATIONS;
    this.maxConversations = Number.isFinite(max) && max >= 1 ? Math.floor(max) : DEFAULT_MAX_CONVERSATIONS;
    this.maxHeldBytes = opts.maxHeldBytes ?? DEFAULT_FLOW_OPTIONS.maxHeldBytes!;
    this.retainedBytes = opts.retainedBytes ?? DEFAULT_FLOW_OPTIONS.retainedBytes!;
    this.hasher = new FlowHasher(opts.hashKey);
  }

  /** Count listings and held conversations in `counters` ([listed, held], shared by the run's shards). */
  share(counters: Int32Array): void {
    this.shared = counters;
  }

  /** May one more conversation be listed? Counts it when so. */
  claimListing(): boolean {
    if (this.shared !== null) return Atomics.add(this.shared, 0, 1) < this.maxConversations;
    if (this.listed >= this.maxConversations) return false;
    this.listed++;
    return true;
  }

  /** Is the table (all shards' tables, when shared) full? `held`: the asking table's own count. */
  full(held: number): boolean {
    return (this.shared !== null ? Atomics.load(this.shared, 1) : held) >= this.maxConversations;
  }

  /** A table took (`n` > 0) or let go of (`n` < 0) conversations. */
  holding(n: number): void {
    if (this.shared !== null) Atomics.add(this.shared, 1, n);
  }

  /**
   * `c` (retired, listed) keeps its `chargedBytes` while the budget lasts; returns how many older
   * ones were freed to stay in it. With no retention budget (the default: nothing in the product
   * reads kept bytes after detection) they are freed at once and not counted.
   */
  retain(c: Conversation): number {
    if (c.chargedBytes === 0) return 0;
    if (this.retainedBytes <= 0) {
      release(c);
      return 0;
    }
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

/** The recency lists of one table, with expiry and the byte budget's relief. */
export class Lifetime {
  readonly lists: readonly Recency[] = [new Recency(OPEN), new Recency(FINISHED), new Recency(RETIRED)];
  private readonly idleTimeout: number;
  private readonly finishedTimeout: number;

  /** `retireEarly`: the table's (hands the conversation to its sink, then touches it here). */
  constructor(
    opts: FlowTableOptions,
    private readonly budget: FlowBudget,
    private readonly stats: FlowStats,
    private readonly retireEarly: (c: Conversation) => void,
  ) {
    this.idleTimeout = opts.idleTimeout ?? DEFAULT_FLOW_OPTIONS.idleTimeout!;
    this.finishedTimeout = opts.finishedTimeout ?? DEFAULT_FLOW_OPTIONS.finishedTimeout!;
  }


  /** Move `c` to the most recent end of the list its state belongs in. */
  touch(c: Conversation): void {
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
  expire(now: number): void {
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
  relieve(current: Conversation): void {
    this.relieveFrom(this.lists[FINISHED], current);
    this.relieveFrom(this.lists[OPEN], current);
  }

  private relieveFrom(l: Recency, current: Conversation): void {
    while (this.budget.heldBytes > this.budget.maxHeldBytes && l.head !== null && l.head !== current) {
      this.stats.retiredForMemory++;
      this.retireEarly(l.head);
    }
  }

  /** `c` leaves the table: out of its list. */
  remove(c: Conversation): void {
    if (c.lruList >= 0) this.removeFromList(c, this.lists[c.lruList]);
  }

  /** The conversation to evict when the table is full: the least recently active, retired ones first, then finished, then open. */
  evictionCandidate(): Conversation | null {
    const l = this.lists;
    return l[RETIRED].head ?? l[FINISHED].head ?? l[OPEN].head;
  }
}
