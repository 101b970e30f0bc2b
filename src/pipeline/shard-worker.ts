/**
 * A shard's worker thread: it owns the conversations whose flow hash falls in its shard — their
 * flow table, TCP state, reassembly and detection (conversation-stage.ts, the same code the
 * one-thread path runs) — fed the decoded packets the main thread writes into batches
 * (shard-channel.ts, shard-records.ts). At the end of each capture it sends back the views of its
 * listed conversations and its aggregate entries as plain data; the main thread merges the
 * shards' lists by first frame and numbers them (sharded.ts).
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { DecodedPacket } from "../decode/packet.js";
import { snapshotOf, type FlowTableOptions } from "../flow/index.js";
import { WorkerEnd, type ToWorker } from "./shard-channel.js";
import { BatchView, KIND_PACKET, NO_CLOCK, RecordReader } from "./shard-records.js";
import { ConversationStage, RunBudget } from "./conversation-stage.js";
import type { ShardResult, ShardSetup } from "./shard-wire.js";

const setup = workerData as ShardSetup;
const port: MessagePort = setup.port;
const end = new WorkerEnd(port, setup.control);

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

function finish(clock: number, endSec: number): void {
  const s = stage!;
  if (clock !== NO_CLOCK) s.table.advance(clock);
  const { listed, aggregates } = s.finish(endSec);
  const result: ShardResult = {
    kind: "result",
    capture,
    // The stage's views already hold plain copies (ConversationStage.finish): cloned as they are.
    listed,
    aggregates: aggregates.map((a) => ({ key: a.key, info: a.info, facts: a.facts, conv: snapshotOf(a.conv) })),
    stats: { ...s.table.stats },
    icmpUnmatched,
  };
  stage = null;
  parentPort!.postMessage(result);
}

function onMessage(m: ToWorker): void {
  switch (m.kind) {
    case "batch": {
      const b = new BatchView(m.buffer, 0, m.buffer.byteLength);
      for (let at = 0; at < m.used; ) at += record(b, at);
      end.giveBack(m.buffer);
      break;
    }
    case "record":
      record(new BatchView(m.buffer, 0, m.buffer.byteLength), 0);
      break;
    case "begin":
      capture = m.capture;
      icmpUnmatched = 0;
      stage = new ConversationStage(m.capture, 0, flowOpts, budget);
      break;
    case "finish":
      finish(m.clock, m.end);
      break;
    case "stop":
      port.close();
  }
}

port.on("message", (m: ToWorker) => {
  try {
    onMessage(m);
  } catch (e) {
    end.fail();
    parentPort!.postMessage({ kind: "error", message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    port.close();
  }
});
