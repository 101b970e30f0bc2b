/** What a sharded run's main thread and its workers send each other beside the channel (plain data). */
import type { ConversationFacts } from "../detect/types.js";
import type { ConversationData, FlowStats, FlowTableOptions } from "../flow/index.js";
import type { AggregateInfo, ConnectionView } from "../policy/view.js";
import type { MessagePort } from "node:worker_threads";

/** The worker's `workerData`. */
export interface ShardSetup {
  /** The worker's end of the shard's channel (shard-channel.ts), and its control words. */
  port: MessagePort;
  control: SharedArrayBuffer;
  /** The run's shared counts (conversation-stage.ts SHARED_COUNTERS). */
  counters: SharedArrayBuffer;
  /** The run's flow options, with this shard's part of the held-bytes budget. */
  flow: FlowTableOptions;
}

/** A listed conversation's view as it crosses threads: its conversation a plain snapshot. */
export type WireView = Omit<ConnectionView, "conv"> & { conv: ConversationData };

export interface WireAggregate {
  key: string;
  info: AggregateInfo;
  facts: ConversationFacts | null;
  conv: ConversationData;
}

/** From the worker, once per capture (or once, on failure). */
export type ShardResult = {
  kind: "result";
  capture: number;
  listed: WireView[];
  aggregates: WireAggregate[];
  stats: FlowStats;
  icmpUnmatched: number;
};

export type ShardReply = ShardResult | { kind: "error"; message: string };
