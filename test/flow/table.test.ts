/**
 * Bounded memory: the conversation limit, aggregates, retirement and eviction (src/flow/table.ts,
 * docs/performance.md). Captures are built byte by byte (test/capture/build.ts, test/decode/build.ts).
 */
import { describe, expect, it } from "vitest";
import { pcapHeader, pcapRecord } from "../capture/build.js";
import { cat, eth, ipv4, tcp } from "../decode/build.js";
import { CaptureAnalysis } from "../../src/pipeline/index.js";
import { readCaptureFrom } from "../../src/capture/index.js";
import { detect } from "../../src/detect/registry.js";
import type { StreamSample } from "../../src/detect/types.js";
import { Conversation } from "../../src/flow/conversation.js";
import { DEFAULT_FLOW_OPTIONS, FlowBudget, FlowTable, TcpTracker, type FlowSink } from "../../src/flow/index.js";
import { DecodeContext, decodePacket } from "../../src/decode/decode.js";
import { FragmentReassembler } from "../../src/decode/fragments.js";
import { DecodedPacket } from "../../src/decode/packet.js";
import { Status } from "../../src/decode/status.js";
import { analyzeBytes } from "../fuzz/harness.js";

const SCANNER = [10, 9, 0, 1];
const TARGET = [10, 9, 1, 1];

/** `n` SYNs from SCANNER to TARGET, one per port from `firstPort`, 1 ms apart, plus extra frames. */
function scan(n: number, firstPort: number, extra: Uint8Array[] = []): Uint8Array {
  const frames: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    frames.push(eth(0x0800, ipv4({ src: SCANNER, dst: TARGET, proto: 6, payload: tcp({ sport: 40000, dport: firstPort + i, seq: 1000 + i, flags: 0x02 }) })));
  }
  frames.push(...extra);
  return cat(pcapHeader({ le: true, snaplen: 65535, linkType: 1 }), ...frames.map((f, i) => pcapRecord(true, 1_700_000_000 + Math.floor(i / 1000), (i % 1000) * 1000, f)));
}

describe("conversation limit: listed, then aggregated, and still judged", () => {
  // 3,000 SYNs to ports 1000…3999, then one SYN to 443 after the limit.
  const syn443 = eth(0x0800, ipv4({ src: SCANNER, dst: TARGET, proto: 6, payload: tcp({ sport: 40001, dport: 443, seq: 7, flags: 0x02 }) }));
  const bytes = scan(3000, 1000, [syn443]);

  it("lists the first maxConversations, folds the rest, and says the limit was hit", async () => {
    const r = await analyzeBytes(bytes, { flow: { maxConversations: 500 } });
    const flow = r.captures[0].flow!;
    expect(flow).toMatchObject({ maxConversations: 500, limitHit: true, conversations: 3001, listed: 500, aggregated: 2501 });
    const listed = r.conversations.filter((c) => c.aggregate === null);
    const aggs = r.conversations.filter((c) => c.aggregate !== null);
    expect(listed).toHaveLength(500);
    expect(aggs.length).toBe(flow.aggregates);
    // Nothing is lost: conversations and packets add up to what was sent.
    expect(listed.length + aggs.reduce((s, c) => s + c.aggregate!.conversations, 0)).toBe(3001);
    expect(r.conversations.reduce((s, c) => s + c.packets.client, 0)).toBe(3001);
    // An aggregate says what its members share.
    for (const a of aggs) {
      expect(a.state).toBe("S0");
      expect(a.protocol).toBe("none");
      expect(a.aggregate!.serverPorts.low).toBeLessThanOrEqual(a.aggregate!.serverPorts.high);
    }
    // Ids stay unique.
    expect(new Set(r.conversations.map((c) => c.id)).size).toBe(r.conversations.length);
  });

  it("judges aggregated conversations: SYNs to matrix ports past the limit are still 'blocked'", async () => {
    // Ports 3389 and 3542 (guest rows of the matrix) are the 2,390th and 2,543rd conversations:
    // far past the 500 listed. The 3542 server makes the target a guest (inferred role).
    const r = await analyzeBytes(bytes, { flow: { maxConversations: 500 } });
    for (const port of [3389, 3542]) {
      const blocked = r.findings.filter((f) => f.code === "blocked" && f.message.startsWith(`TCP ${port} `));
      expect(blocked, `TCP ${port}`).toHaveLength(1);
      const conv = r.conversations.find((c) => c.id === blocked[0].conversations[0])!;
      expect(conv.aggregate?.conversations).toBe(1);
      expect(conv.findings).toEqual(["blocked"]);
    }
    // Every other attempt (443 included: not a guest's port) is one unexpected-port finding that
    // counts them all, listed and aggregated alike.
    const scanFinding = r.findings.find((f) => f.code === "unexpected-port")!;
    expect(scanFinding.attempts).toBe(3001 - 2);
  });

  it("past MAX_AGGREGATES-sized key spaces, aggregates fold ports together (bounded entries)", async () => {
    const r = await analyzeBytes(scan(3000, 1000), { flow: { maxConversations: 10 } });
    const flow = r.captures[0].flow!;
    expect(flow.aggregated).toBe(2990);
    // One entry per server port at most: below the cap, each port keeps its own entry.
    expect(flow.aggregates).toBe(2990);
    expect(r.conversations.every((c) => c.aggregate === null || c.aggregate.level === "port")).toBe(true);
  });

  it("below the limit nothing changes: every conversation listed, none aggregated", async () => {
    const r = await analyzeBytes(bytes, { flow: { maxConversations: 3001 } });
    expect(r.captures[0].flow).toMatchObject({ limitHit: false, listed: 3001, aggregated: 0, evicted: 0 });
    expect(r.conversations.every((c) => c.aggregate === null)).toBe(true);
    expect(r.conversations.map((c) => c.stream)).toEqual(Array.from({ length: 3001 }, (_, i) => i));
  });
});

describe("table: never more than maxConversations held; retirement frees kept bytes", () => {
  async function feed(bytes: Uint8Array, flow: Partial<typeof DEFAULT_FLOW_OPTIONS>): Promise<{ ca: CaptureAnalysis; maxHeld: number }> {
    const ca = new CaptureAnalysis(0, 0, { ...DEFAULT_FLOW_OPTIONS, ...flow });
    let maxHeld = 0;
    async function* one(): AsyncGenerator<Uint8Array> {
      yield bytes;
    }
    const summary = await readCaptureFrom(one(), "t", (p) => {
      ca.packet(p);
      maxHeld = Math.max(maxHeld, ca.table.size);
    });
    ca.finish(summary);
    return { ca, maxHeld };
  }

  it("holds at most maxConversations at once, evicting the least recently active", async () => {
    const { ca, maxHeld } = await feed(scan(2000, 1000), { maxConversations: 100 });
    expect(maxHeld).toBe(100);
    expect(ca.table.stats.evicted).toBe(1900);
  });

  /** Client sends 1,000 bytes on a fresh connection, both sides FIN, then (60 s later) one ACK. */
  function session(sport: number, t0: number): { t: number; f: Uint8Array }[] {
    const A = [192, 0, 2, 1];
    const B = [192, 0, 2, 2];
    const c = (o: Parameters<typeof tcp>[0]) => eth(0x0800, ipv4({ src: A, dst: B, proto: 6, payload: tcp({ sport, dport: 8080, ...o }) }));
    const s = (o: Parameters<typeof tcp>[0]) => eth(0x0800, ipv4({ src: B, dst: A, proto: 6, payload: tcp({ sport: 8080, dport: sport, ...o }) }));
    return [
      { t: t0, f: c({ seq: 100, flags: 0x02 }) }, // SYN
      { t: t0, f: s({ seq: 900, ack: 101, flags: 0x12 }) }, // SYN-ACK
      { t: t0, f: c({ seq: 101, ack: 901, flags: 0x10 }) }, // ACK
      { t: t0, f: c({ seq: 101, ack: 901, flags: 0x18, payload: new Uint8Array(1000).fill(0x41) }) }, // data
      { t: t0 + 1, f: c({ seq: 1101, ack: 901, flags: 0x11 }) }, // FIN
      { t: t0 + 1, f: s({ seq: 901, ack: 1102, flags: 0x11 }) }, // FIN
      { t: t0 + 60, f: c({ seq: 1102, ack: 902, flags: 0x10 }) }, // a late last ACK
    ];
  }

  it("a finished conversation quiet past finishedTimeout is detected, its bytes freed (budget 0), and a late packet still joins it", async () => {
    // The second session starts after the first has been quiet for 29 s (retiring it) and before the
    // first one's late ACK, which must still join the retired conversation; and the other way round.
    const frames = [...session(50000, 1000), ...session(50001, 1030)].sort((a, b) => a.t - b.t);
    const bytes = cat(pcapHeader({ le: true, snaplen: 65535, linkType: 1 }), ...frames.map((x) => pcapRecord(true, 1_700_000_000 + x.t, 0, x.f)));
    const { ca } = await feed(bytes, { finishedTimeout: 5, retainedBytes: 0 });
    const convs = ca.table.conversations;
    expect(convs).toHaveLength(2);
    expect(ca.table.stats.retiredEarly).toBe(2);
    for (const [i, c] of convs.entries()) {
      expect(c.packetsClient + c.packetsServer).toBe(7);
      expect(c.tcp!.client.length).toBe(1000); // the prefix length stays…
      expect(c.tcp!.client.bytes().length).toBe(0); // …its bytes were freed
      expect(ca.conversations[i].facts?.protocol).toBe("plaintext");
    }
  });

  it("with a retention budget, small captures keep every conversation's bytes", async () => {
    const frames = session(50000, 1000);
    const bytes = cat(pcapHeader({ le: true, snaplen: 65535, linkType: 1 }), ...frames.map((x) => pcapRecord(true, 1_700_000_000 + x.t, 0, x.f)));
    const { ca } = await feed(bytes, { retainedBytes: 32 * 1024 * 1024 });
    expect(ca.table.conversations[0].tcp!.client.bytes().length).toBe(1000);
    expect(ca.table.stats.retainedReleased).toBe(0);
  });

  it("by default nothing is retained after detection, and nothing is counted as released", async () => {
    const frames = session(50000, 1000);
    const bytes = cat(pcapHeader({ le: true, snaplen: 65535, linkType: 1 }), ...frames.map((x) => pcapRecord(true, 1_700_000_000 + x.t, 0, x.f)));
    const { ca } = await feed(bytes, {});
    expect(ca.table.conversations[0].tcp!.client.bytes().length).toBe(0);
    expect(ca.table.conversations[0].tcp!.client.length).toBe(1000);
    expect(ca.conversations[0].facts?.protocol).toBe("plaintext");
    expect(ca.table.stats.retainedReleased).toBe(0);
  });
});

describe("recycling: a reset conversation and tracker equal fresh ones", () => {
  it("after a full TCP session with payload, holes and FINs, reset() gives back the initial state", async () => {
    const A = [192, 0, 2, 1];
    const B = [192, 0, 2, 2];
    const c = (o: Parameters<typeof tcp>[0]) => eth(0x0800, ipv4({ src: A, dst: B, proto: 6, payload: tcp({ sport: 50000, dport: 443, ...o }) }));
    const s = (o: Parameters<typeof tcp>[0]) => eth(0x0800, ipv4({ src: B, dst: A, proto: 6, payload: tcp({ sport: 443, dport: 50000, ...o }) }));
    const frames = [
      c({ seq: 100, flags: 0x02 }), // SYN
      s({ seq: 900, ack: 101, flags: 0x12, window: 0 }), // SYN-ACK, zero window
      c({ seq: 101, ack: 901, flags: 0x18, payload: new Uint8Array(300).fill(0x16) }), // data
      c({ seq: 701, ack: 901, flags: 0x18, payload: new Uint8Array(100).fill(0x17) }), // data after a hole
      c({ seq: 101, ack: 901, flags: 0x18, payload: new Uint8Array(300).fill(0x16) }), // retransmission
      s({ seq: 901, ack: 401, flags: 0x18, payload: new Uint8Array(50).fill(0x15) }), // server data
      c({ seq: 801, ack: 951, flags: 0x11 }), // FIN
      s({ seq: 951, ack: 802, flags: 0x14 }), // RST
    ];
    const bytes = cat(pcapHeader({ le: true, snaplen: 65535, linkType: 1 }), ...frames.map((f, i) => pcapRecord(true, 1_700_000_000 + i, 0, f)));
    const ca = new CaptureAnalysis(0, 0, DEFAULT_FLOW_OPTIONS);
    async function* one(): AsyncGenerator<Uint8Array> {
      yield bytes;
    }
    ca.finish(await readCaptureFrom(one(), "t", (p) => ca.packet(p)));
    const conv = ca.table.conversations[0];
    const t = conv.tcp!;
    expect(t.history.length).toBeGreaterThan(3);
    expect(t.counters.retransmissions + t.counters.gaps).toBeGreaterThan(0);
    t.reset();
    expect(JSON.stringify(t)).toBe(JSON.stringify(new TcpTracker(DEFAULT_FLOW_OPTIONS.reassemblyCap)));
    conv.reset();
    expect(JSON.stringify(conv)).toBe(JSON.stringify(new Conversation()));
  });
});

describe("no payload either way: detection is 'none' on every port (the fast path in detectFacts)", () => {
  it("the registry agrees for all 65,536 ports, TCP and UDP, any gap/done flags", () => {
    let other = 0;
    for (const transport of ["tcp", "udp"] as const) {
      for (let port = 0; port < 65536; port++) {
        const s: StreamSample = {
          transport, clientPort: 50000, serverPort: port, client: new Uint8Array(0), server: new Uint8Array(0),
          clientDone: port % 7 !== 0, serverDone: true, clientGap: port % 2 === 0, serverGap: port % 3 === 0,
          clientStartMissing: port % 5 === 0, serverStartMissing: port % 11 === 0, firstSpeaker: null, datagrams: [],
        };
        const f = detect(s);
        if (f.protocol !== "none" || f.anomalies.length > 0) other++;
      }
    }
    expect(other).toBe(0);
  });
});

describe("the table hands conversations to its sink, and reads nothing back", () => {
  /** Decode `bytes` (one pcap) into a bare FlowTable whose sink records what it is handed. */
  async function table(bytes: Uint8Array, maxConversations: number) {
    const retired: Conversation[] = [];
    const unlisted: { conv: Conversation; wasRetired: boolean; id: number }[] = [];
    const sink: FlowSink = {
      retire: (c) => {
        // The tracker is finished before the sink reads the bytes.
        expect(c.retired).toBe(false);
        retired.push(c);
      },
      unlisted: (c) => unlisted.push({ conv: c, wasRetired: retired.includes(c), id: c.id }),
    };
    const opts = { ...DEFAULT_FLOW_OPTIONS, maxConversations };
    const t = new FlowTable(0, opts, 0, sink, new FlowBudget(opts));
    const p = new DecodedPacket();
    const ctx = new DecodeContext(new FragmentReassembler());
    async function* one(): AsyncGenerator<Uint8Array> {
      yield bytes;
    }
    await readCaptureFrom(one(), "t", (pkt) => {
      if (decodePacket(pkt, p, ctx) === Status.OK) t.packet(p, pkt.frame, pkt.origLen, pkt.tsSec, pkt.tsNsec);
    });
    t.finish();
    return { t, retired, unlisted };
  }

  it("below the limit: every conversation is retired exactly once, at the end, none unlisted", async () => {
    const { t, retired, unlisted } = await table(scan(50, 1000), 100);
    expect(t.conversations).toHaveLength(50);
    expect(retired).toHaveLength(50);
    expect(new Set(retired).size).toBe(50);
    expect(unlisted).toHaveLength(0);
    expect(t.conversations.every((c) => c.retired)).toBe(true);
  });

  it("past the limit: the unlisted ones are retired, then handed over once (id 0), and the table is back to its limit", async () => {
    const { t, retired, unlisted } = await table(scan(300, 1000), 100);
    expect(t.conversations).toHaveLength(100);
    expect(t.stats).toMatchObject({ conversations: 300, listed: 100, limitHit: true, aggregated: 0, aggregates: 0 });
    expect(unlisted).toHaveLength(200);
    expect(unlisted.every((u) => u.wasRetired && u.id === 0)).toBe(true);
    // 300 retirements, but objects are reused: the table recycles what it handed over.
    expect(retired).toHaveLength(300);
    expect(t.size).toBeLessThanOrEqual(100);
  });
});

describe("the last conversation looked up (FlowBuckets.recent) answers only for its own packets", () => {
  const A = [10, 9, 0, 1];
  const B = [10, 9, 1, 1];
  const C = [10, 9, 0, 2];
  const pkt = (src: number[], dst: number[], sport: number, dport: number, flags: number, seq: number) =>
    eth(0x0800, ipv4({ src, dst, proto: 6, payload: tcp({ sport, dport, seq, flags }) }));
  const file = (frames: Uint8Array[]) => cat(pcapHeader({ le: true, snaplen: 65535, linkType: 1 }), ...frames.map((f, i) => pcapRecord(true, 1_700_000_000, i, f)));

  it("same ports from another address, and the reverse direction, in turns", async () => {
    // A:40000 → B:443 and C:40000 → B:443 alternate, each answered by B: every packet follows one
    // of the other conversation, so the cached one must be checked by address, not by ports.
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 5; i++) {
      frames.push(pkt(A, B, 40000, 443, 0x10, 100 + i), pkt(C, B, 40000, 443, 0x10, 200 + i), pkt(B, A, 443, 40000, 0x10, 300 + i), pkt(B, C, 443, 40000, 0x10, 400 + i));
    }
    const r = await analyzeBytes(file(frames));
    expect(r.conversations.map((c) => [c.client.ip, c.packets.client, c.packets.server])).toEqual([
      ["10.9.0.1", 5, 5],
      ["10.9.0.2", 5, 5],
    ]);
  });

  it("a conversation that left the table (a new SYN on its finished 4-tuple, an eviction) is not found again", async () => {
    const frames = [
      // Stream 0: SYN, SYN-ACK, RST from A:40001 — finished.
      pkt(A, B, 40001, 443, 0x02, 1000), pkt(B, A, 443, 40001, 0x12, 5000), pkt(A, B, 40001, 443, 0x04, 1001),
      // A new SYN with another ISN on the same 4-tuple right after: stream 1, and its ACK with it.
      pkt(A, B, 40001, 443, 0x02, 9000), pkt(B, A, 443, 40001, 0x12, 7000), pkt(A, B, 40001, 443, 0x10, 9001),
    ];
    const r = await analyzeBytes(file(frames));
    expect(r.conversations.map((c) => [c.stream, c.packets.client, c.packets.server, c.firstFrame])).toEqual([
      [0, 2, 1, 1],
      [1, 2, 1, 4],
    ]);
    // With room for one conversation in the table, the last one looked up is evicted by the next
    // new one; its next packet starts a conversation again instead of counting in the evicted one.
    // (Every way out of the table is followed by a new link, which replaces the cached one; unlink
    // clears it too, so no path can leave a conversation that left the table cached.)
    const evicting = [pkt(A, B, 40002, 443, 0x10, 1), pkt(C, B, 40002, 443, 0x10, 1), pkt(A, B, 40002, 443, 0x10, 2)];
    const small = await analyzeBytes(file(evicting), { flow: { maxConversations: 1 } });
    expect(small.captures[0].flow!.evicted).toBe(2);
    // A, C, then A again: three conversations (two had it counted in the evicted A).
    expect(small.captures[0].flow!.conversations).toBe(3);
    expect(small.conversations.reduce((s, c) => s + c.packets.client, 0)).toBe(3);
  });
});
