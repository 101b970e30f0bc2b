/**
 * A run over several cores (docs/performance.md, "Threads"), as Suricata's workers and a Zeek
 * cluster's flow-hash load balancing split traffic: the main thread reads and decodes every packet
 * (PacketFront: reassembly, the filter, the decode counts) and writes each TCP/UDP packet into the
 * channel of the shard its symmetric flow hash picks — an ICMP error by the packet it quotes, a
 * reassembled datagram by its own ports, so all of a conversation lands in one shard. Each shard's
 * worker runs the conversation stage on its part (shard-worker.ts). At the end of a capture the
 * shards' conversations are merged by first frame and numbered as one table numbers them, so the
 * report is the one-thread report (test/pipeline/threads.test.ts) — as long as no limit of the run
 * (listing, table size, held bytes) is reached; past one, which conversations a limit takes
 * depends on the shards' timing, and the report says the limit was hit.
 */
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import type { CaptureSummary, RawPacket } from "../capture/index.js";
import { IPPROTO_TCP, IPPROTO_UDP, type DecodedPacket } from "../decode/packet.js";
import type { DecodeCounts } from "../decode/counts.js";
import { Conversation, FlowHasher, type FlowStats, type FlowTableOptions } from "../flow/index.js";
import { connectionView, type ConnectionView } from "../policy/view.js";
import type { CaptureResult } from "../report/record.js";
import { mergeAggregates, type AggregateEntry } from "./aggregate.js";
import { endOf } from "./capture-analysis.js";
import { SHARED_COUNTERS } from "./conversation-stage.js";
import { PacketFront } from "./packet-front.js";
import { CONTROL_WORDS, MainEnd, type ToWorker } from "./shard-channel.js";
import { BatchView, KIND_ICMP_ERROR, KIND_PACKET, NO_CLOCK, recordSize, writeRecord } from "./shard-records.js";
import type { ShardReply, ShardResult, ShardSetup } from "./shard-wire.js";

/** Bytes of one batch, and batches per shard (what a shard may hold unread). */
export const DEFAULT_BATCH_BYTES = 1 << 20;
const BATCHES = 4;

/** One shard: its worker, its channel and the batch the main thread writes into. */
class Shard {
  private readonly channel: MainEnd;
  private batch: BatchView | null = null;
  private at = 0;
  /** Latest capture time (s) of the packets other shards got since this shard's last record. */
  clock = NO_CLOCK;
  private readonly replies: ShardReply[] = [];
  private waiting: ((r: ShardReply) => void) | null = null;
  private failure: string | null = null;

  constructor(readonly worker: Worker, port: MessagePort, control: SharedArrayBuffer, private readonly batchBytes: number) {
    this.channel = new MainEnd(port, control, BATCHES, batchBytes);
    worker.on("message", (r: ShardReply) => this.reply(r));
    worker.on("error", (e) => this.reply({ kind: "error", message: e.stack ?? e.message }));
    worker.on("exit", (code) => {
      if (code !== 0) this.reply({ kind: "error", message: `shard worker exited with code ${code}` });
    });
  }

  private reply(r: ShardReply): void {
    if (r.kind === "error" && this.failure === null) this.failure = r.message;
    if (this.waiting !== null) {
      const w = this.waiting;
      this.waiting = null;
      w(r);
    } else this.replies.push(r);
  }

  /** The next reply (the result of a finish). */
  result(): Promise<ShardResult> {
    return new Promise((resolve, reject) => {
      const take = (r: ShardReply) => (r.kind === "result" ? resolve(r) : reject(new Error(`a shard worker failed: ${r.message}`)));
      const queued = this.replies.shift();
      if (queued !== undefined) take(queued);
      else this.waiting = take;
    });
  }

  /** Write one record (a decoded TCP/UDP packet, or an ICMP error). */
  write(kind: number, p: DecodedPacket, pkt: RawPacket): void {
    const clock = this.clock;
    this.clock = NO_CLOCK;
    const size = recordSize(kind === KIND_PACKET ? p.payloadLength : 0);
    if (size > this.batchBytes) {
      // Larger than a batch: a message of its own, in its place in the order.
      const buffer = new ArrayBuffer(size);
      writeRecord(new BatchView(buffer, 0, size), 0, kind, p, pkt.frame, pkt.origLen, pkt.tsSec, pkt.tsNsec, clock);
      this.send({ kind: "record", buffer }, [buffer]);
      return;
    }
    if (this.batch !== null && this.at + size > this.batchBytes) this.flush();
    if (this.batch === null) {
      const buffer = this.channel.take();
      if (buffer === null) throw new Error(`a shard worker failed${this.failure ? `: ${this.failure}` : ""}`);
      this.batch = new BatchView(buffer, 0, buffer.byteLength);
    }
    this.at += writeRecord(this.batch, this.at, kind, p, pkt.frame, pkt.origLen, pkt.tsSec, pkt.tsNsec, clock);
  }

  /** Hand the records written so far to the worker. */
  flush(): void {
    if (this.batch === null) return;
    const buffer = this.batch.bytes.buffer as ArrayBuffer;
    this.channel.send({ kind: "batch", buffer, used: this.at }, [buffer]);
    this.batch = null;
    this.at = 0;
  }

  /** A message for the worker, after everything written before it. */
  send(m: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.flush();
    this.channel.send(m, transfer);
  }
}

/** The workers of one run, started once and used for each of its captures. */
export class ShardPool {
  readonly shards: Shard[] = [];
  /**
   * Picks a packet's shard: the flow table's own symmetric hash, keyed by its own secret, so a
   * capture's author cannot aim every flow at one shard.
   */
  private readonly hasher = new FlowHasher();

  constructor(threads: number, flowOpts: FlowTableOptions, batchBytes = DEFAULT_BATCH_BYTES) {
    const counters = new SharedArrayBuffer(4 * SHARED_COUNTERS);
    // The held-bytes budget is the run's: each shard gets its part (a shard over its part retires
    // its own least recently active conversations early, as one table does over the whole).
    // Workers keep no bytes after detection: their views come back as plain copies.
    const flow: FlowTableOptions = { ...flowOpts, maxHeldBytes: Math.floor((flowOpts.maxHeldBytes ?? 0) / threads), retainedBytes: 0 };
    const url = new URL("./shard-worker.js", import.meta.url);
    for (let i = 0; i < threads; i++) {
      const control = new SharedArrayBuffer(4 * CONTROL_WORDS);
      const { port1, port2 } = new MessageChannel();
      const setup: ShardSetup = { port: port2, control, counters, flow };
      const worker = new Worker(url, { workerData: setup, transferList: [port2] });
      this.shards.push(new Shard(worker, port1, control, Math.max(1024, batchBytes)));
    }
  }

  /** The shard of a decoded TCP/UDP packet, or of the packet an ICMP error quotes. */
  shardOf(p: DecodedPacket, quoted: boolean): number {
    return (quoted ? this.hasher.quoted(p) : this.hasher.flow(p)) % this.shards.length;
  }

  /** Stop the workers (after the last capture, or when the run breaks off). */
  async close(): Promise<void> {
    const exits = this.shards.map((s) => new Promise<void>((resolve) => s.worker.once("exit", () => resolve())));
    for (const s of this.shards) s.send({ kind: "stop" });
    await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, 2000).unref())]);
    await Promise.all(this.shards.map((s) => s.worker.terminate()));
  }
}

/** One capture's packet loop, sharded: the CaptureAnalysis of a run with `--threads` above 1. */
export class ShardedCapture {
  private readonly front: PacketFront;
  private views: ConnectionView[] | null = null;
  private lastIdAfter: number;

  constructor(
    index: number,
    private readonly idBase: number,
    private readonly pool: ShardPool,
    filter: ((p: DecodedPacket) => boolean) | null = null,
  ) {
    this.front = new PacketFront(filter);
    this.lastIdAfter = idBase;
    for (const s of pool.shards) s.send({ kind: "begin", capture: index });
  }

  get counts(): DecodeCounts {
    return this.front.counts;
  }

  get packets(): number {
    return this.front.packets;
  }

  /** Decode one packet on this thread and hand it to its shard. */
  packet(pkt: RawPacket): void {
    const p = this.front.take(pkt);
    if (p === null) return;
    const shards = this.pool.shards;
    if (p.ipProto === IPPROTO_TCP || p.ipProto === IPPROTO_UDP) {
      const s = this.pool.shardOf(p, false);
      // Every other shard's table would have expired conversations on this packet's time.
      const t = pkt.tsSec;
      for (let i = 0; i < shards.length; i++) if (i !== s && t > shards[i].clock) shards[i].clock = t;
      shards[s].write(KIND_PACKET, p, pkt);
    } else shards[this.pool.shardOf(p, true)].write(KIND_ICMP_ERROR, p, pkt);
  }

  /** End of the capture: every shard finishes its part; their conversations merged and numbered as one table numbers them. */
  async finish(summary: CaptureSummary): Promise<CaptureResult> {
    this.front.end();
    const end = endOf(summary);
    const shards = this.pool.shards;
    const pending = shards.map((s) => s.result());
    for (const s of shards) s.send({ kind: "finish", end, clock: s.clock });
    const results = await Promise.all(pending);
    const stats = mergeStats(results.map((r) => r.stats));
    const counts = this.front.counts;
    for (const r of results) counts.icmpUnmatched += r.icmpUnmatched;

    // Listed conversations in order of creation (first frame), numbered as one table does: ids on
    // from the run's last, TCP and UDP streams each from 0.
    const listed = results.flatMap((r) => r.listed).sort((a, b) => a.firstFrame - b.firstFrame);
    let id = this.idBase;
    let tcp = 0;
    let udp = 0;
    const views: ConnectionView[] = listed.map((v) => {
      const conv = { ...v.conv, id: ++id, stream: v.transport === "tcp" ? tcp++ : udp++ };
      return Object.freeze({ ...v, id: conv.id, conv, client: Object.freeze(v.client), server: Object.freeze(v.server) });
    });
    const entries: AggregateEntry[] = results.flatMap((r) =>
      r.aggregates.map((a) => ({ key: a.key, info: a.info, facts: a.facts, conv: Object.assign(new Conversation(), a.conv, { tcp: null }) })),
    );
    const aggregates = mergeAggregates(entries);
    for (const a of aggregates) {
      a.conv.id = ++id;
      views.push(connectionView(a.conv, a.facts, a.info, end));
    }
    stats.aggregates = aggregates.length;
    this.views = views;
    this.lastIdAfter = id;
    return this.front.result(summary, stats);
  }

  get conversations(): readonly ConnectionView[] {
    return this.views ?? [];
  }

  get lastId(): number {
    return this.lastIdAfter;
  }
}

/** The shards' flow stats of one capture as one table's. */
function mergeStats(all: FlowStats[]): FlowStats {
  const out: FlowStats = { ...all[0] };
  for (const s of all.slice(1)) {
    for (const k of Object.keys(out) as (keyof FlowStats)[]) {
      if (k === "maxConversations") continue;
      if (k === "limitHit") out.limitHit = out.limitHit || s.limitHit;
      else (out[k] as number) += s[k] as number;
    }
  }
  return out;
}
