/**
 * readCapture: sniffing by magic, gzip, stdin, progress, the summary, and the open errors.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough, Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { CaptureOpenError, readCapture, readCaptureFrom } from "../../src/capture/reader/file.js";
import { createReader } from "../../src/capture/reader/sniff.js";
import type { CaptureSummary, RawPacket } from "../../src/capture/types.js";
import { cat, epb, idb, payload, pcapHeader, pcapRecord, readAll, shb, snap, spb, type PacketSnap } from "./build.js";
import { variants } from "./variants.js";

const tmp = mkdtempSync(path.join(tmpdir(), "capture-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
function write(bytes: Uint8Array | string, name = `f${n++}.bin`): string {
  const p = path.join(tmp, name);
  writeFileSync(p, bytes);
  return p;
}

async function read(source: string, opts: Parameters<typeof readCapture>[2] = {}): Promise<{ s: CaptureSummary; packets: PacketSnap[] }> {
  const packets: PacketSnap[] = [];
  const s = await readCapture(source, (p: RawPacket) => packets.push(snap(p)), opts);
  return { s, packets };
}

async function openError(source: string): Promise<CaptureOpenError> {
  try {
    await readCapture(source, () => undefined);
  } catch (e) {
    expect(e).toBeInstanceOf(CaptureOpenError);
    return e as CaptureOpenError;
  }
  throw new Error(`${source} was read without error`);
}

describe("readCapture summary", () => {
  it("classic pcap: counts, byte sums, first and last timestamp, file size", async () => {
    const file = cat(
      pcapHeader({ le: true, snaplen: 100, linkType: 1 }),
      pcapRecord(true, 1600000000, 250000, payload(60, 1)), // 0.25 s
      pcapRecord(true, 1600000005, 1, payload(100, 2), 1500), // cut to 100 of 1500
      pcapRecord(true, 1599999999, 0, payload(42, 3)), // earlier than the first: "last" is file order
    );
    const p = write(file, "a.cap");
    const { s, packets } = await read(p);
    expect(s).toEqual({
      file: p,
      format: "pcap",
      compressed: false,
      linkTypes: [1],
      packets: 3,
      frames: 3,
      bytes: 60 + 1500 + 42,
      capturedBytes: 60 + 100 + 42,
      firstTimestamp: { sec: 1600000000, nsec: 250000000 },
      lastTimestamp: { sec: 1599999999, nsec: 0 },
      errors: [],
      fileSize: file.length,
    });
    expect(packets.map((x) => x.frame)).toEqual([1, 2, 3]);
    expect(packets[1].data).toEqual(Array.from(payload(100, 2)));
  });

  it("pcapng content with a .pcap name is read as pcapng; an SPB has no timestamp for the summary", async () => {
    const le = true;
    const file = cat(shb(le), idb(le, 1, 0), spb(le, 10, payload(10, 1)), epb(le, 0, 7000001n, payload(20, 2)), spb(le, 5, payload(5, 3)));
    const { s, packets } = await read(write(file, "looks-like.pcap"));
    expect(s.format).toBe("pcapng");
    expect(s.packets).toBe(3);
    expect(s.firstTimestamp).toEqual({ sec: 7, nsec: 1000 });
    expect(s.lastTimestamp).toEqual({ sec: 7, nsec: 1000 });
    expect(packets.map((x) => x.caplen)).toEqual([10, 20, 5]);
  });

  it("a damaged capture resolves: errors in the summary, packets before the damage delivered", async () => {
    const v = variants().find((x) => x.name === "pcap corrupt record length")!;
    const { s, packets } = await read(write(v.bytes));
    expect(packets).toHaveLength(1);
    expect(s.errors).toHaveLength(1);
    expect(s.errors[0]).toMatchObject({ frame: 2, offset: 24 + 16 + 30, fatal: true });
  });

  it("small chunk sizes give the same result and progress reaches the file size", async () => {
    const v = variants().find((x) => x.name.startsWith("pcapng multi-section"))!;
    const p = write(v.bytes);
    const big = await read(p);
    const progress: Array<[number, number | null]> = [];
    const small = await read(p, { chunkSize: 7, onProgress: (r, size) => progress.push([r, size]) });
    expect(small).toEqual(big);
    expect(progress.length).toBe(Math.ceil(v.bytes.length / 7));
    expect(progress[progress.length - 1]).toEqual([v.bytes.length, v.bytes.length]);
    for (let i = 1; i < progress.length; i++) expect(progress[i][0]).toBeGreaterThan(progress[i - 1][0]);
  });
});

describe("gzip", () => {
  for (const v of variants()) {
    it(`gzip of: ${v.name}`, async () => {
      const plain = await read(write(v.bytes));
      const gz = gzipSync(v.bytes);
      const zipped = await read(write(gz, `g${n++}.pcap.gz`), { chunkSize: 64 });
      expect(zipped.packets).toEqual(plain.packets);
      expect(zipped.s).toEqual({ ...plain.s, file: zipped.s.file, compressed: true, fileSize: gz.length });
      // And against the reader fed directly: offsets are in the decompressed bytes.
      expect(zipped.packets).toEqual(readAll(() => createReader(v.format), v.bytes).packets);
    });
  }

  // A regular gzip file is read and inflated on a worker thread (src/capture/reader/gunzip.ts),
  // in buffers of the read size that come back to it once the reader lets go of them.
  it("a gzip file: progress counts the compressed bytes read, up to the file size", async () => {
    const recs = Array.from({ length: 400 }, (_, i) => pcapRecord(true, i, 0, payload(1200, i)));
    const file = cat(pcapHeader({ le: true, snaplen: 65535, linkType: 1 }), ...recs);
    const gz = gzipSync(file);
    const progress: [number, number | null][] = [];
    const { s, packets } = await read(write(gz, `p${n++}.pcap.gz`), { chunkSize: 4096, onProgress: (r, size) => progress.push([r, size]) });
    expect(packets).toHaveLength(400);
    expect(s.compressed).toBe(true);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress[progress.length - 1]).toEqual([gz.length, gz.length]);
    for (let i = 1; i < progress.length; i++) expect(progress[i][0]).toBeGreaterThanOrEqual(progress[i - 1][0]);
  });

  it("a gzip file of records larger than the read size, and of two members: the same packets as the plain file", async () => {
    // 9 KB records read in 1 KiB buffers: each record spans many buffers the reader holds while
    // it waits for the rest; a buffer passed back too early would be detached (empty) here.
    const recs = Array.from({ length: 120 }, (_, i) => pcapRecord(true, i, 0, payload(9000 + i, i)));
    const file = cat(pcapHeader({ le: true, snaplen: 65535, linkType: 1 }), ...recs);
    const plain = await read(write(file));
    const half = file.length >> 1;
    const twoMembers = cat(gzipSync(file.subarray(0, half)), gzipSync(file.subarray(half)));
    for (const gz of [gzipSync(file), twoMembers]) {
      const zipped = await read(write(gz, `m${n++}.pcap.gz`), { chunkSize: 1024 });
      expect(zipped.packets).toEqual(plain.packets);
      expect(zipped.s.errors).toEqual([]);
    }
  });

  it("a gzip file whose read is stopped midway: resolves at once as interrupted, the worker gone", async () => {
    const recs = Array.from({ length: 2000 }, (_, i) => pcapRecord(true, i, 0, payload(1400, i)));
    const gz = gzipSync(cat(pcapHeader({ le: true, snaplen: 65535, linkType: 1 }), ...recs));
    const stop = new AbortController();
    let seen = 0;
    const s = await readCapture(write(gz, `a${n++}.pcap.gz`), () => {
      if (++seen === 50) stop.abort();
    }, { chunkSize: 4096, signal: stop.signal });
    expect(s.interrupted).toBe(true);
    expect(seen).toBeGreaterThanOrEqual(50);
    expect(seen).toBeLessThan(2000);
  });

  it("a gzip stream cut short: resolves with a fatal error after what could be decompressed", async () => {
    const recs = Array.from({ length: 200 }, (_, i) => pcapRecord(true, i, 0, payload(300, i)));
    const file = cat(pcapHeader({ le: true, snaplen: 65535, linkType: 1 }), ...recs);
    const gz = gzipSync(file);
    const { s, packets } = await read(write(gz.subarray(0, Math.floor(gz.length / 2))), { chunkSize: 1024 });
    expect(packets.length).toBeGreaterThan(0);
    expect(packets.length).toBeLessThan(200);
    const fatal = s.errors.filter((e) => e.fatal);
    expect(fatal).toHaveLength(1);
    expect(fatal[0].message).toMatch(/^frame \d+ at offset \d+: gzip data is damaged or cut short \(unexpected end of file\)$/);
    // The reader's own note about the record the stream stopped in comes first (file order).
    expect(s.errors[s.errors.length - 1]).toBe(fatal[0]);
    expect(fatal[0].frame).toBe(packets.length + 1);
    expect(s.compressed).toBe(true);
  });
});

describe("stdin and streams", () => {
  it('"-" reads the stdin stream', async () => {
    const v = variants()[1];
    const stdin = new PassThrough();
    const done = read("-", { stdin });
    // Dribble the bytes in small writes, as a pipe would.
    for (let i = 0; i < v.bytes.length; i += 5) stdin.write(Buffer.from(v.bytes.subarray(i, i + 5)));
    stdin.end();
    const { s, packets } = await done;
    expect(s.file).toBe("-");
    expect(s.fileSize).toBeNull();
    expect(packets).toEqual(readAll(() => createReader(v.format), v.bytes).packets);
  });

  it('"-" with gzip data on stdin', async () => {
    const v = variants().find((x) => x.format === "pcapng")!;
    const stdin = Readable.from([Buffer.from(gzipSync(v.bytes))]);
    const { s, packets } = await read("-", { stdin });
    expect(s.compressed).toBe(true);
    expect(packets).toEqual(readAll(() => createReader(v.format), v.bytes).packets);
  });

  it("readCaptureFrom names the source in errors", async () => {
    await expect(readCaptureFrom(Readable.from([Buffer.from("HTTP/1.1 200 OK")]), "tcpdump", () => undefined)).rejects.toThrow(
      "tcpdump: not a capture file (starts with 48 54 54 50; expected a pcap, pcapng or gzip magic)",
    );
  });

  it("empty stdin is an open error naming stdin", async () => {
    const stdin = new PassThrough();
    stdin.end();
    await expect(readCapture("-", () => undefined, { stdin })).rejects.toThrow("stdin: empty (0 bytes), not a capture file");
  });
});

describe("CaptureOpenError", () => {
  it("a text file", async () => {
    const p = write("HTTP/1.1 200 OK\r\n", "x.txt");
    const e = await openError(p);
    expect(e.message).toBe(`${p}: not a capture file (starts with 48 54 54 50; expected a pcap, pcapng or gzip magic)`);
    expect(e.reason).toBe("not-capture");
    expect(e.file).toBe(p);
  });

  it("an empty file", async () => {
    const p = write(new Uint8Array(0), "empty.pcap");
    expect((await openError(p)).message).toBe(`${p}: empty (0 bytes), not a capture file`);
  });

  it("a file shorter than a magic", async () => {
    const p = write(Uint8Array.of(0xd4, 0xc3, 0xb2), "short.pcap");
    expect((await openError(p)).message).toBe(`${p}: not a capture file (only 3 bytes: d4 c3 b2; expected a pcap, pcapng or gzip magic)`);
  });

  it("a directory", async () => {
    const d = path.join(tmp, "dir.pcap");
    mkdirSync(d);
    const e = await openError(d);
    expect(e.message).toBe(`${d}: is a directory, not a capture file`);
    expect(e.reason).toBe("directory");
  });

  it("a missing file", async () => {
    const p = path.join(tmp, "nope.pcap");
    expect((await openError(p)).message).toBe(`${p}: no such file`);
  });

  it.skipIf(process.getuid?.() === 0)("an unreadable file", async () => {
    const p = write(cat(pcapHeader({ le: true, snaplen: 1, linkType: 1 })), "locked.pcap");
    chmodSync(p, 0o000);
    const e = await openError(p);
    expect(e.message).toBe(`${p}: permission denied`);
    expect(e.reason).toBe("permission");
  });

  it("gzip of something that is not a capture", async () => {
    const p = write(gzipSync(Buffer.from("<html></html>")), "page.gz");
    expect((await openError(p)).message).toBe(
      `${p}: not a capture file after gzip decompression (starts with 3c 68 74 6d; expected a pcap or pcapng magic)`,
    );
  });

  it("gzip magic followed by garbage", async () => {
    const p = write(Uint8Array.of(0x1f, 0x8b, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10), "bad.gz");
    const e = await openError(p);
    expect(e.reason).toBe("bad-gzip");
    expect(e.message).toMatch(new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: gzip data is damaged \\(.+\\)$`));
    expect(e.message).not.toContain("\n");
  });
});
