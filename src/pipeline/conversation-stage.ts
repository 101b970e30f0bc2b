/**
 * The back half of the packet loop: decoded TCP/UDP packets and ICMP errors → the flow table →
 * detection as conversations leave (the table's sink) → aggregation past the run's listing limit →
 * at the end, every conversation frozen into the view policy and report read. One capture's
 * `CaptureAnalysis` feeds it the packets it decoded; in a sharded run each worker feeds it the
 * packets of its shard (src/pipeline/shard-worker.ts).
 */
import type { DecodedPacket } from "../decode/packet.js";
import type { Conversation } from "../flow/conversation.js";
import { FlowBudget, FlowTable, snapshotOf, type FlowSink, type FlowTableOptions } from "../flow/index.js";
import { connectionView, type ConnectionView } from "../policy/view.js";
import { Aggregator, type AggregateCount, type AggregateEntry } from "./aggregate.js";
import { DetectStage } from "./detect-stage.js";
import { likelyServerPorts } from "./server-ports.js";

/**
 * The limits of one run, shared by its captures: the flow table's (FlowBudget) and the count of
 * aggregate entries (the cap of src/pipeline/aggregate.ts is the run's, not each file's).
 */
export class RunBudget extends FlowBudget implements AggregateCount {
  private made = 0;
  private counters: Int32Array | null = null;

  /** Aggregate entries made so far in the run (all shards', when shared). */
  get aggregates(): number {
    return this.counters !== null ? Atomics.load(this.counters, SHARED_AGGREGATES) : this.made;
  }

  set aggregates(n: number) {
    // Shards that make entries at the same instant may each count from the same value: the cap
    // is then passed by at most one entry per shard.
    if (this.counters !== null) Atomics.store(this.counters, SHARED_AGGREGATES, n);
    else this.made = n;
  }

  /** Share the run's counts with the other shards: [listed, held, aggregates] (SHARED_COUNTERS words). */
  override share(counters: Int32Array): void {
    super.share(counters);
    this.counters = counters;
  }
}

/** Words of the counters a sharded run's budgets share (listed, held, aggregates). */
export const SHARED_COUNTERS = 3;
const SHARED_AGGREGATES = 2;

export class ConversationStage {
  readonly table: FlowTable;
  private readonly detection = new DetectStage();
  private readonly aggregator: Aggregator;
  /** A library caller's `retainedBytes` keeps the bytes readable on the views' conversations after the run. */
  private readonly retains: boolean;

  constructor(index: number, idBase: number, flowOpts: FlowTableOptions, budget: RunBudget) {
    this.retains = (flowOpts.retainedBytes ?? 0) > 0;
    // Detection runs when a conversation is retired (idle, finished and quiet, evicted from a
    // full table, or when the run's held bytes are over budget), so its kept bytes can be freed
    // long before the end of the capture; the unlisted ones are folded when they leave.
    const detection = this.detection;
    const sink: FlowSink = {
      retire: (c) => {
        detection.detect(c);
      },
      unlisted: (c) => this.aggregator.fold(c, detection.take(c)),
    };
    this.table = new FlowTable(index, { ...flowOpts, likelyServerPorts: flowOpts.likelyServerPorts ?? likelyServerPorts() }, idBase, sink, budget);
    this.aggregator = new Aggregator(budget, this.table.stats);
  }

  /** One decoded TCP or UDP packet. */
  packet(p: DecodedPacket, frame: number, origLen: number, tsSec: number, tsNsec: number): void {
    this.table.packet(p, frame, origLen, tsSec, tsNsec);
  }

  /** One decoded ICMP/ICMPv6 packet that quotes another (`p.hasQuoted`); false when it quotes no conversation of the table. */
  icmpError(p: DecodedPacket, frame: number): boolean {
    return this.table.icmpError(p, frame) !== null;
  }

  /** The conversations so far, frozen with what was detected of them yet (capture end unknown: 0). */
  viewsSoFar(): ConnectionView[] {
    return this.table.conversations.map((c) => connectionView(c, this.detection.factsOf(c), null, 0));
  }

  /**
   * End of the capture (`end`: its last timestamp, seconds): detect what is left in the table,
   * fold the rest of the unlisted conversations; the listed ones frozen into views, in order of
   * creation, and the aggregate entries numbered on after them.
   */
  finish(end: number): { listed: ConnectionView[]; aggregates: AggregateEntry[] } {
    this.table.finish();
    // The view keeps a plain copy (snapshotOf), as a shard worker's does: the conversation's TCP
    // tracker (endpoints, stream buffers, hole lists) and its table links are freed with the
    // table, not carried to the report (a third of the live heap on 20,000 conversations). The
    // copy shares the conversation's arrays (a listed conversation is never reused), so making
    // the views, while the table is still alive, sets the run's peak heap by less. A library
    // caller that asked to retain bytes (retainedBytes) keeps the conversation itself.
    const listed = this.table.conversations.map((c: Conversation) =>
      connectionView(c, this.detection.factsOf(c), null, end, this.retains ? c : snapshotOf(c, c.id, c.stream, true)),
    );
    const aggregates = this.aggregator.finish(this.table.lastId);
    return { listed, aggregates };
  }
}
