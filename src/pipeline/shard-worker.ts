/**
 * A shard's worker thread: it owns the conversations whose flow hash falls in its shard — their
 * flow table, TCP state, reassembly and detection (conversation-stage.ts, the same code the
 * one-thread path runs) — fed the decoded packets the main thread writes into its channel
 * (shard-channel.ts, shard-records.ts). At the end of each capture it sends back the views of its
 * listed conversations and its aggregate entries as plain data; the main thread merges the
 * shards' lists by first frame and numbers them (sharded.ts).
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from "node:worker_threads";
import { DecodedPacket } from "../decode/packet.js";
import { snapshotOf, type FlowStats, type FlowTableOptions } from "../flow/index.js";
import { Channel, FREE, MESSAGE, RECORDS, STOP, type ChannelMemory } from "./shard-channel.js";
import { BatchView, KIND_PACKET, NO_CLOCK, RecordReader } from "./shard-records.js";
import { ConversationStage, RunBudget } from "./conversation-stage.js";
import type { ShardMessage, ShardResult, ShardSetup } from "./shard-wire.js";

const setup = workerData as ShardSetup;
const channel = new Channel(setup.memory);
const port: MessagePort = setup.port;
const batches: BatchView[] = [];
for (let k = 0; k < setup.memory.batches; k++) batches.push(new BatchView(setup.memory.data, k * setup.memory.batchBytes, setup.memory.batchBytes));

const flowOpts: FlowTableOptions = setup.flow;
const budget = new RunBudget(flowOpts);
budget.share(new Int32Array(setup.counters));

const packet = new DecodedPacket();
const reader = new RecordReader();
let stage: ConversationStage | null = null;
let capture = 0;
let icmpUnmatched = 0;

/** Carry out one record at byte `at` of `b`; returns its size. */
function record(b: BatchView, at: number): number {
  const size = reader.read(b, at, packet);
  const s = stage!;
  // Capture time the other shards' packets brought since this shard's last one: what one table
  // would have expired on them, before this packet (flow/table.ts advance).
  if (reader.clock !== NO_CLOCK) s.table.advance(reader.clock);
  if (reader.kind === KIND_PACKET) s.packet(packet, reader.frame, reader.origLen, reader.tsSec, reader.tsNsec);
  else if (!s.icmpError(packet, reader.frame)) icmpUnmatched++;
  return size;
}

function message(m: ShardMessage): void {
  if (m.kind === "begin") {
    capture = m.capture;
    icmpUnmatched = 0;
    stage = new ConversationStage(m.capture, 0, flowOpts, budget);
  } else if (m.kind === "record") {
    record(new BatchView(m.buffer, 0, m.buffer.byteLength), 0);
  } else {
    const s = stage!;
    if (m.clock !== NO_CLOCK) s.table.advance(m.clock);
    const { listed, aggregates } = s.finish(m.end);
    const result: ShardResult = {
      kind: "result",
      capture,
      listed: listed.map((v) => ({ ...v, conv: snapshotOf(v.conv) })),
      aggregates: aggregates.map((a) => ({ key: a.key, info: a.info, facts: a.facts, conv: snapshotOf(a.conv) })),
      stats: { ...s.table.stats } as FlowStats,
      icmpUnmatched,
    };
    stage = null;
    parentPort!.postMessage(result);
  }
}

try {
  for (let k = 0; ; k = (k + 1) % batches.length) {
    channel.waitWhile(k, FREE);
    const state = channel.state(k);
    if (state === RECORDS) {
      const b = batches[k];
      const used = channel.used(k);
      for (let at = 0; at < used; ) at += record(b, at);
    } else if (state === MESSAGE) {
      const got = receiveMessageOnPort(port);
      if (got === undefined) throw new Error("shard worker: a batch announced a message that is not there");
      message(got.message as ShardMessage);
    }
    channel.publish(k, FREE);
    if (state === STOP) break;
  }
  port.close();
} catch (e) {
  channel.fail();
  parentPort!.postMessage({ kind: "error", message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
}
