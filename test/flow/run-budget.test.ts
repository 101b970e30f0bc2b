/**
 * One memory bound per run (issue 19): the conversation limit, the aggregate cap and the byte
 * budgets hold for all the files of a run together, every kept byte is counted, and every limit's
 * drops are in the report. Captures are built byte by byte (test/capture/build.ts,
 * test/decode/build.ts). Peak RSS against the documented bound is checked by `npm run bench`.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { pcapHeader, pcapRecord } from "../capture/build.js";
import { cat, eth, ipv4, tcp, udp } from "../decode/build.js";
import { readCaptureFrom } from "../../src/capture/index.js";
import { analyzeFiles, CaptureAnalysis, RunBudget } from "../../src/pipeline/index.js";
import type { Conversation } from "../../src/flow/conversation.js";
import { DEFAULT_FLOW_OPTIONS, UDP_SAMPLE_OVERHEAD, type FlowTableOptions } from "../../src/flow/index.js";

const dir = mkdtempSync(path.join(tmpdir(), "run-budget-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function pcap(frames: Uint8Array[], perSecond = 1000): Uint8Array {
  return cat(
    pcapHeader({ le: true, snaplen: 65535, linkType: 1 }),
    ...frames.map((f, i) => pcapRecord(true, 1_700_000_000 + Math.floor(i / perSecond), (i % perSecond) * Math.floor(1e6 / perSecond), f)),
  );
}

function file(name: string, bytes: Uint8Array): string {
  const f = path.join(dir, name);
  writeFileSync(f, bytes);
  return f;
}

const A = (i: number) => [10, 1, (i >>> 8) & 0xff, i & 0xff];
const SERVER = [10, 2, 0, 1];

/** `n` SYNs from distinct clients to SERVER:443. */
function syns(n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => eth(0x0800, ipv4({ src: A(i), dst: SERVER, proto: 6, payload: tcp({ sport: 40000, dport: 443, seq: i, flags: 0x02 }) })));
}

/** `n` TCP sessions, each SYN, SYN-ACK, ACK, `bytes` of client data, FIN both ways. */
function sessions(n: number, bytes: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const c = (o: Parameters<typeof tcp>[0]) => eth(0x0800, ipv4({ src: A(i), dst: SERVER, proto: 6, payload: tcp({ sport: 40000, dport: 8080, ...o }) }));
    const s = (o: Parameters<typeof tcp>[0]) => eth(0x0800, ipv4({ src: SERVER, dst: A(i), proto: 6, payload: tcp({ sport: 8080, dport: 40000, ...o }) }));
    out.push(c({ seq: 100, flags: 0x02 })); // SYN
    out.push(s({ seq: 900, ack: 101, flags: 0x12 })); // SYN-ACK
    out.push(c({ seq: 101, ack: 901, flags: 0x10 })); // ACK
    out.push(c({ seq: 101, ack: 901, flags: 0x18, payload: new Uint8Array(bytes).fill(0x41) })); // data
    out.push(c({ seq: 101 + bytes, ack: 901, flags: 0x11 })); // FIN
    out.push(s({ seq: 901, ack: 102 + bytes, flags: 0x11 })); // FIN
  }
  return out;
}

/** `n` UDP flows, `k` 1,000-byte datagrams each way, interleaved so all flows are live at once. */
function udpFlows(n: number, k: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let j = 0; j < k; j++) {
    for (let i = 0; i < n; i++) {
      const data = new Uint8Array(1000).fill(j);
      out.push(eth(0x0800, ipv4({ src: A(i), dst: SERVER, proto: 17, payload: udp({ sport: 50000, dport: 7000, payload: data }) })));
      out.push(eth(0x0800, ipv4({ src: SERVER, dst: A(i), proto: 17, payload: udp({ sport: 7000, dport: 50000, payload: data }) })));
    }
  }
  return out;
}

/** What a conversation really holds right now, counted the way the budget counts it. */
function holds(c: Conversation): number {
  if (c.tcp !== null) return c.tcp.keptBytes;
  return c.datagrams.reduce((s, d) => s + d.data.byteLength + UDP_SAMPLE_OVERHEAD, 0);
}

async function feed(bytes: Uint8Array, flow: Partial<FlowTableOptions>, budget: RunBudget) {
  const opts = { ...DEFAULT_FLOW_OPTIONS, ...flow };
  const ca = new CaptureAnalysis(0, 0, opts, null, budget);
  async function* one(): AsyncGenerator<Uint8Array> {
    yield bytes;
  }
  let worst = 0;
  const summary = await readCaptureFrom(one(), "t", (p) => {
    ca.packet(p);
    worst = Math.max(worst, budget.heldBytes);
  });
  // Before finish: the budget's count is exactly what the live conversations hold.
  const live = ca.table.conversations.filter((c) => !c.retired).reduce((s, c) => s + holds(c), 0);
  const held = budget.heldBytes;
  return { ca, live, held, worst, result: ca.finish(summary) };
}

describe("one bound for the whole run, not per file", () => {
  it("three copies of one file: --max-conversations is the run's limit", async () => {
    const f = file("syns.pcap", pcap(syns(600)));
    const r = await analyzeFiles([f, f, f], { flow: { maxConversations: 1000 } });
    const flows = r.captures.map((c) => c.flow!);
    expect(flows.map((x) => x.listed)).toEqual([600, 400, 0]);
    expect(flows.map((x) => x.aggregated)).toEqual([0, 200, 600]);
    expect(flows.map((x) => x.limitHit)).toEqual([false, true, true]);
    expect(flows.every((x) => x.conversations === 600 && x.maxConversations === 1000)).toBe(true);
    const listed = r.conversations.filter((c) => c.aggregate === null);
    expect(listed).toHaveLength(1000);
    expect(new Set(r.conversations.map((c) => c.id)).size).toBe(r.conversations.length);
  });

  it("three copies of one file: the retained bytes stay within one budget, the oldest freed", async () => {
    const f = file("sessions.pcap", pcap(sessions(100, 1000)));
    const retainedBytes = 64 * 1024;
    const r = await analyzeFiles([f, f, f], { flow: { retainedBytes } });
    const kept = r.conversations.reduce((s, c) => s + holds(c.conv as Conversation), 0);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(retainedBytes);
    // The newest conversations keep theirs; what was freed is counted, and detection had run first.
    const last = r.conversations[r.conversations.length - 1];
    expect((last.conv as Conversation).tcp!.client.bytes().length).toBe(1000);
    expect(r.captures.reduce((s, c) => s + c.flow!.retainedReleased, 0)).toBeGreaterThan(200);
    expect(r.conversations.every((c) => c.facts?.protocol === "plaintext")).toBe(true);
  });
});

describe("every kept byte is counted against the held-bytes budget", () => {
  it("2,000 UDP flows with 8 samples each way: held bytes never pass the budget by more than one datagram", async () => {
    const maxHeldBytes = 512 * 1024;
    const budget = new RunBudget({ ...DEFAULT_FLOW_OPTIONS, maxHeldBytes });
    const { ca, live, held, worst, result } = await feed(pcap(udpFlows(2000, 8), 100_000), { maxHeldBytes }, budget);
    expect(live).toBe(held);
    expect(worst).toBeLessThanOrEqual(maxHeldBytes + 1000 + UDP_SAMPLE_OVERHEAD);
    // The peak is taken before the relief that brings it back under the budget.
    expect(budget.peakHeldBytes).toBeGreaterThanOrEqual(worst);
    expect(budget.peakHeldBytes).toBeLessThanOrEqual(maxHeldBytes + 1000 + UDP_SAMPLE_OVERHEAD);
    expect(result.flow!.retiredForMemory).toBeGreaterThan(1000);
    // Retired early, still detected and listed with every packet counted.
    expect(ca.table.conversations).toHaveLength(2000);
    expect(ca.conversations.every((c) => c.facts !== null && c.packetsClient === 8 && c.packetsServer === 8)).toBe(true);
  });

  it("the same flows with the default budget: nothing retired for memory, the count still exact", async () => {
    const budget = new RunBudget(DEFAULT_FLOW_OPTIONS);
    const { live, held, worst, result } = await feed(pcap(udpFlows(200, 8), 100_000), {}, budget);
    expect(live).toBe(held);
    // 200 flows × 16 samples × (1,000 bytes + overhead), all held at the end of the packets.
    expect(worst).toBe(200 * 16 * (1000 + UDP_SAMPLE_OVERHEAD));
    expect(result.flow!.retiredForMemory).toBe(0);
  });

  it("TCP flows with holes: buffers, bitmaps, frame maps and hole lists are counted, and bounded", async () => {
    // Each flow: handshake, then 20 segments of 500 bytes with a 100-byte hole after each.
    const frames: Uint8Array[] = [];
    const n = 300;
    for (let j = 0; j < 20; j++) {
      for (let i = 0; i < n; i++) {
        if (j === 0) {
          frames.push(eth(0x0800, ipv4({ src: A(i), dst: SERVER, proto: 6, payload: tcp({ sport: 40000, dport: 8080, seq: 100, flags: 0x02 }) }))); // SYN
          frames.push(eth(0x0800, ipv4({ src: SERVER, dst: A(i), proto: 6, payload: tcp({ sport: 8080, dport: 40000, seq: 900, ack: 101, flags: 0x12 }) }))); // SYN-ACK
        }
        frames.push(eth(0x0800, ipv4({ src: A(i), dst: SERVER, proto: 6, payload: tcp({ sport: 40000, dport: 8080, seq: 101 + j * 600, ack: 901, flags: 0x18, payload: new Uint8Array(500).fill(j) }) })));
      }
    }
    const maxHeldBytes = 256 * 1024;
    const budget = new RunBudget({ ...DEFAULT_FLOW_OPTIONS, maxHeldBytes });
    const { live, held, worst, result } = await feed(pcap(frames, 100_000), { maxHeldBytes }, budget);
    expect(live).toBe(held);
    // One segment can grow one buffer (×2, at most the 16 KiB cap), its bitmap and its hole lists.
    expect(worst).toBeLessThanOrEqual(maxHeldBytes + 16 * 1024 + 2048 + 3 * 1024);
    expect(result.flow!.retiredForMemory).toBeGreaterThan(0);

    const free = new RunBudget(DEFAULT_FLOW_OPTIONS);
    const all = await feed(pcap(frames, 100_000), {}, free);
    expect(all.live).toBe(all.held);
    expect(all.worst).toBeGreaterThan(maxHeldBytes); // the case does need the budget
  });
});

describe("every limit's drops are in the report", () => {
  it("20,000 never-completing IPv4 fragments: 1,024 incomplete at the end, the rest counted as dropped", async () => {
    // Each a first fragment (MF set, offset 0) of its own datagram (Identification i): none completes.
    const frames = Array.from({ length: 20_000 }, (_, i) =>
      eth(0x0800, ipv4({ src: [192, 0, 2, 1], dst: [192, 0, 2, 2], proto: 17, id: i, more: true, payload: new Uint8Array(16).fill(7) })),
    );
    // And one fragment that would end past 65,535 bytes: refused.
    frames.push(eth(0x0800, ipv4({ src: [192, 0, 2, 1], dst: [192, 0, 2, 2], proto: 17, id: 40000, fragOffset: 65528, more: false, payload: new Uint8Array(16) })));
    const budget = new RunBudget(DEFAULT_FLOW_OPTIONS);
    const { result } = await feed(pcap(frames), {}, budget);
    const d = result.decode;
    expect(d.fragments).toBe(20_001);
    expect(d.reassembled).toBe(0);
    expect(d.fragmentsIncomplete).toBe(1024);
    expect(d.fragmentsDropped).toBe(20_000 - 1024);
    expect(d.fragmentsRejected).toBe(1);
  });

  it("past MAX_AGGREGATES entries in the run, the coarser folds are counted", async () => {
    // 3 files × 4,000 SYNs to distinct ports, 1 listed: 11,999 aggregate keys at port level > 10,000.
    const frames = Array.from({ length: 4000 }, (_, i) => eth(0x0800, ipv4({ src: [10, 9, 0, 1], dst: SERVER, proto: 6, payload: tcp({ sport: 40000, dport: 1000 + i, seq: i, flags: 0x02 }) })));
    const files = [0, 1, 2].map((k) => file(`ports${k}.pcap`, pcap(frames.map((f) => { const g = f.slice(); g[14 + 15] = 1 + k; return g; })))); // source 10.9.0.(1+k)
    const r = await analyzeFiles(files, { flow: { maxConversations: 1 } });
    const flows = r.captures.map((c) => c.flow!);
    expect(flows.reduce((s, x) => s + x.aggregates, 0)).toBeLessThanOrEqual(10_000 + 1_000 + 10);
    expect(flows[0].coarseAggregated).toBe(0);
    expect(flows[2].coarseAggregated).toBeGreaterThan(0);
    expect(flows.reduce((s, x) => s + x.aggregated, 0)).toBe(3 * 4000 - 1);
  });
});
