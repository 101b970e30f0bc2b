/**
 * Speed of our classic pcap reader against pcap-parser 0.2.1 on a generated file.
 * Run: npx vitest bench --run test/capture/readers.bench.ts
 * (not part of `vitest run`; numbers are quoted in docs/capture.md).
 */
import { createReadStream, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, bench, describe } from "vitest";
// @ts-expect-error -- pcap-parser ships no type declarations
import pcapParser from "pcap-parser";
import { readCapture } from "../../src/capture/reader/file.js";
import { payload, pcapHeader, pcapRecord, rng } from "./build.js";

const PACKETS = 100_000;

function generate(): string {
  const rand = rng(7);
  const parts: Uint8Array[] = [pcapHeader({ le: true, snaplen: 65535, linkType: 1 })];
  const bodies = Array.from({ length: 16 }, (_, i) => payload(1514, i));
  for (let i = 0; i < PACKETS; i++) {
    // Mix of small (ACK-sized) and full-size frames, like real TCP traffic.
    const len = rand() < 0.5 ? 54 + Math.floor(rand() * 20) : 1000 + Math.floor(rand() * 515);
    parts.push(pcapRecord(true, 1700000000 + (i >> 10), (i * 997) % 1000000, bodies[i & 15].subarray(0, len)));
  }
  const dir = mkdtempSync(path.join(tmpdir(), "capture-bench-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const p = path.join(dir, "bench.pcap");
  writeFileSync(p, Buffer.concat(parts));
  return p;
}

const file = generate();

function viaPcapParser(): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    const parser = pcapParser.parse(createReadStream(file));
    parser.on("packet", (p: { header: { originalLength: number } }) => (bytes += p.header.originalLength));
    parser.on("error", reject);
    parser.on("end", () => resolve(bytes));
  });
}

describe(`classic pcap, ${PACKETS} packets, ${(statSync(file).size / 1e6).toFixed(1)} MB`, () => {
  bench("ours, readCapture, 1 MiB chunks", async () => {
    let bytes = 0;
    await readCapture(file, (p) => (bytes += p.origLen));
  }, { iterations: 5, warmupIterations: 1 });

  bench("ours, readCapture, 64 KiB chunks", async () => {
    let bytes = 0;
    await readCapture(file, (p) => (bytes += p.origLen), { chunkSize: 64 * 1024 });
  }, { iterations: 5, warmupIterations: 1 });

  bench("pcap-parser 0.2.1", async () => {
    await viaPcapParser();
  }, { iterations: 5, warmupIterations: 1 });
});
