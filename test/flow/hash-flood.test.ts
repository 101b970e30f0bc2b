/**
 * Hash flooding (issue 19): endpoints that share one value of the old, unkeyed FNV-1a conversation
 * hash are found by a meet-in-the-middle search run here (test/bench/collide.mjs, not a committed
 * list), and the keyed hash (src/flow/key.ts) spreads their flows over the table's buckets. The
 * time such a capture takes is measured by `npm run bench` (its hash-flood case), never here.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { collidingV6Endpoints, oldFlowHash } from "../bench/collide.mjs";
import { pcapHeader, pcapRecord } from "../capture/build.js";
import { cat, eth, ipv4, ipv6, tcp, udp } from "../decode/build.js";
import { CaptureAnalysis } from "../../src/pipeline/index.js";
import { readCaptureFrom } from "../../src/capture/file.js";
import { FlowHasher } from "../../src/flow/key.js";
import { DEFAULT_FLOW_OPTIONS } from "../../src/flow/index.js";
import { analyzeBytes } from "../fuzz/harness.js";

const SERVER = new Uint8Array(16);
SERVER[0] = 0xfd;
SERVER[15] = 1; // fd00::1
const CLIENT_PORT = 40000;

// 2^20 prefixes forwards, 2^20 suffixes backwards: about 2^8 endpoints with one old hash.
const endpoints = collidingV6Endpoints(20, CLIENT_PORT);

/** Per colliding endpoint: SYN, SYN-ACK, ACK and 100 bytes from the client to fd00::1 port 443. */
function floodCapture(): Uint8Array {
  const frames: Uint8Array[] = [];
  endpoints.forEach((ip, i) => {
    const c = (o: Parameters<typeof tcp>[0]) => eth(0x86dd, ipv6({ src: ip, dst: SERVER, next: 6, payload: tcp({ sport: CLIENT_PORT, dport: 443, ...o }) }));
    const s = (o: Parameters<typeof tcp>[0]) => eth(0x86dd, ipv6({ src: SERVER, dst: ip, next: 6, payload: tcp({ sport: 443, dport: CLIENT_PORT, ...o }) }));
    frames.push(c({ seq: 1000 + i, flags: 0x02 })); // SYN
    frames.push(s({ seq: 5000, ack: 1001 + i, flags: 0x12 })); // SYN-ACK
    frames.push(c({ seq: 1001 + i, ack: 5001, flags: 0x10 })); // ACK
    frames.push(c({ seq: 1001 + i, ack: 5001, flags: 0x18, payload: new Uint8Array(100).fill(0x41 + (i % 26)) })); // data
  });
  // An ICMPv4 port unreachable quoting a UDP datagram, so the quoted-tuple hash is exercised too.
  const A = [192, 0, 2, 1];
  const B = [192, 0, 2, 2];
  const dgram = ipv4({ src: A, dst: B, proto: 17, payload: udp({ sport: 5353, dport: 9999, payload: [1, 2, 3, 4] }) });
  frames.push(eth(0x0800, dgram));
  frames.push(eth(0x0800, ipv4({ src: B, dst: A, proto: 1, payload: cat([3, 3, 0, 0, 0, 0, 0, 0], dgram) }))); // type 3 code 3, checksum, unused, quoted datagram
  return cat(pcapHeader({ le: true, snaplen: 65535, linkType: 1 }), ...frames.map((f, i) => pcapRecord(true, 1_700_000_000 + Math.floor(i / 1000), (i % 1000) * 1000, f)));
}

describe("hash flooding: colliding endpoints of the old hash", () => {
  it("the search finds endpoints that all share one old flow hash (the attack works on the old hash)", () => {
    expect(endpoints.length).toBeGreaterThanOrEqual(128);
    expect(new Set(endpoints.map((ip) => Array.from(ip).join("."))).size).toBe(endpoints.length);
    const old = new Set(endpoints.map((ip) => oldFlowHash(6, 6, ip, CLIENT_PORT, SERVER, 443)));
    expect(old.size).toBe(1);
  });

  it("spreads them over distinct buckets under the keyed hash, both directions alike", () => {
    for (const key of [undefined, [1, 2], [0xdeadbeef, 0x01234567]]) {
      const h = new FlowHasher(key);
      const fwd = endpoints.map((ip) => h.tuple(6, 6, ip, CLIENT_PORT, SERVER, 443));
      const rev = endpoints.map((ip) => h.tuple(6, 6, SERVER, 443, ip, CLIENT_PORT));
      expect(rev).toEqual(fwd);
      // ~256 flows into 1,024 buckets: a random function leaves ~226 distinct; one bucket for all
      // was the old hash.
      expect(new Set(fwd.map((x) => x & 1023)).size).toBeGreaterThan(endpoints.length * 0.75);
    }
    // Another key, other values.
    const a = new FlowHasher([1, 2]).tuple(6, 6, endpoints[0], CLIENT_PORT, SERVER, 443);
    const b = new FlowHasher([1, 3]).tuple(6, 6, endpoints[0], CLIENT_PORT, SERVER, 443);
    expect(a).not.toBe(b);
  });

  it("the table's longest chain stays short, and every flow is its own conversation", async () => {
    const bytes = floodCapture();
    const ca = new CaptureAnalysis(0, 0, DEFAULT_FLOW_OPTIONS);
    async function* one(): AsyncGenerator<Uint8Array> {
      yield bytes;
    }
    const summary = await readCaptureFrom(one(), "flood", (p) => ca.packet(p));
    const r = ca.finish(summary);
    expect(r.flow!.conversations).toBe(endpoints.length + 1);
    expect(ca.table.conversations.filter((c) => c.transport === "tcp" && c.packetsClient === 3 && c.packetsServer === 1)).toHaveLength(endpoints.length);
    expect(ca.table.conversations.find((c) => c.transport === "udp")!.icmpCount).toBe(1);
    // Load factor ≤ 1 with a random function: chains of a handful; the old hash made one of ~256.
    expect(ca.table.longestChain).toBeGreaterThanOrEqual(1);
    expect(ca.table.longestChain).toBeLessThanOrEqual(8);
  });
});

describe("reports do not depend on the hash key", () => {
  const inputs: [string, Uint8Array][] = [
    ["hash flood", floodCapture()],
    ["fixtures/sample.pcapng", new Uint8Array(readFileSync(new URL("../../fixtures/sample.pcapng", import.meta.url)))],
  ];
  for (const [name, bytes] of inputs) {
    for (const maxConversations of [20_000, 40]) {
      it(`${name}, maxConversations ${maxConversations}: identical JSON under three keys`, async () => {
        const reports = [];
        for (const hashKey of [[1, 2], [0xffffffff, 0], undefined]) {
          reports.push(JSON.stringify(await analyzeBytes(bytes, { flow: { maxConversations, hashKey } })));
        }
        expect(reports[1]).toBe(reports[0]);
        expect(reports[2]).toBe(reports[0]);
      });
    }
  }
});
