/**
 * pcap-parser 0.2.1 (node_modules/pcap-parser/lib/pcap-parser.js) as an independent check on
 * classic microsecond pcap files: same packet count, timestamps and lengths, in order.
 *
 * pcap-parser only knows the microsecond magic (a1b2c3d4 in either order), and on a corrupt
 * record length it waits for the promised bytes forever, so it is given only classic
 * microsecond files that our reader does not call corrupt.
 */
import { createReadStream, existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
// @ts-expect-error -- pcap-parser ships no type declarations
import pcapParser from "pcap-parser";
import { PcapReader } from "../../src/capture/reader/pcap.js";
import { cat, payload, pcapHeader, pcapRecord } from "./build.js";
import { variants } from "./variants.js";

interface Row {
  sec: number;
  usec: number;
  caplen: number;
  len: number;
}

const publicDir = path.resolve(__dirname, "../../../shared/captures/public");
const fixturesDir = path.resolve(__dirname, "../../fixtures");

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p));
    else if (/\.pcap(ng)?$/.test(name)) out.push(p);
  }
  return out.sort();
}

function isMicrosecondPcap(head: Uint8Array): boolean {
  const m = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
  return m === 0xa1b2c3d4 || m === 0xd4c3b2a1;
}

function ours(bytes: Uint8Array): { rows: Row[]; corrupt: boolean } {
  const r = new PcapReader();
  r.append(bytes);
  r.end();
  const rows: Row[] = [];
  let p;
  while ((p = r.next()) !== undefined) rows.push({ sec: p.tsSec, usec: p.tsNsec / 1000, caplen: p.caplen, len: p.origLen });
  return { rows, corrupt: r.errors.some((e) => e.fatal) };
}

function theirs(input: string | NodeJS.ReadableStream): Promise<Row[]> {
  return new Promise((resolve, reject) => {
    const rows: Row[] = [];
    const parser = pcapParser.parse(input);
    parser.on("packet", (pk: { header: { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number } }) =>
      rows.push({ sec: pk.header.timestampSeconds, usec: pk.header.timestampMicroseconds, caplen: pk.header.capturedLength, len: pk.header.originalLength }),
    );
    parser.on("error", reject);
    parser.on("end", () => resolve(rows));
  });
}

// pcap-parser would wait forever on a corrupt record length: leave out what our reader calls corrupt.
const corpus = [...listFiles(fixturesDir), ...listFiles(publicDir)].filter((f) => {
  const b = readFileSync(f);
  return b.length >= 4 && isMicrosecondPcap(b) && !ours(b).corrupt;
});

describe("pcap-parser agrees with our classic pcap reader", () => {
  it("on byte-built microsecond files (both byte orders, snaplen cut, truncated tail)", async () => {
    const built = variants().filter((v) => v.format === "pcap" && !/ns|corrupt/.test(v.name));
    expect(built.length).toBeGreaterThanOrEqual(3);
    built.push({
      name: "big-endian, 300 packets",
      format: "pcap",
      bytes: cat(
        pcapHeader({ le: false, snaplen: 65535, linkType: 1 }),
        ...Array.from({ length: 300 }, (_, i) => pcapRecord(false, 1500000000 + i, i * 3331, payload(40 + (i % 200), i), 40 + (i % 200) + (i % 3)))
      ),
    });
    for (const v of built) {
      const want = await theirs(Readable.from([Buffer.from(v.bytes)]));
      expect(want.length, v.name).toBeGreaterThan(0);
      expect(ours(v.bytes).rows, v.name).toEqual(want);
    }
  });

  it.skipIf(!existsSync(publicDir))("leaves out the corrupt-length file of the public corpus, keeps the truncated one", () => {
    expect(corpus.some((f) => f.endsWith("CORRUPT-bad-record-length-tls12.pcap"))).toBe(false);
    expect(corpus.some((f) => f.endsWith("TRUNCATED-file-mid-record-dns.pcap"))).toBe(true);
  });

  describe.skipIf(corpus.length === 0)("on every classic microsecond pcap in fixtures/ and the public corpus", () => {
    for (const f of corpus) {
      it(path.relative(path.resolve(__dirname, "../.."), f), async () => {
        const mine = ours(readFileSync(f));
        const want = await theirs(createReadStream(f));
        expect(mine.rows).toEqual(want);
      });
    }
  });
});
