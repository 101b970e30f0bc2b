/**
 * Our readers against tshark 4.0.17 on the public corpus (../shared/captures/public): every file's
 * frame count, and for every frame its number, epoch, caplen, len and interface id. The oracle's
 * `frames` rows are [number, epoch, cap_len, len, interface_id]; rows with no interface and no
 * timestamp in a pcapng file are non-packet records (custom blocks) that tshark counts as frames.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readCapture } from "../../src/capture/reader/file.js";
import { createReader, sniff, type FileReader } from "../../src/capture/reader/sniff.js";
import type { CaptureFormat, RawPacket } from "../../src/capture/types.js";
import { epoch } from "./build.js";

const dir = path.resolve(__dirname, "../../../shared/captures/public");
const files = existsSync(dir)
  ? readdirSync(dir)
      .filter((f) => /\.pcap(ng)?$/.test(f) && existsSync(path.join(dir, `${f}.tshark.json`)))
      .sort()
  : [];

interface Oracle {
  frame_count: number;
  frames: Array<[number, string, number, number, number | null]>;
  read: { error: string | null; tshark_exit_code: number };
  file_header: { format: CaptureFormat };
}

interface Got {
  frame: number;
  epoch: string;
  caplen: number;
  len: number;
  ifId: number;
}

describe.skipIf(!existsSync(dir))("capture readers vs tshark on the public corpus", () => {
  it("finds the corpus", () => {
    expect(files.length).toBeGreaterThan(40);
  });

  for (const f of files) {
    for (const chunkSize of [1024 * 1024, 1000]) {
      it(`${f} (chunks of ${chunkSize} bytes)`, async () => {
        const oracle = JSON.parse(readFileSync(path.join(dir, `${f}.tshark.json`), "utf8")) as Oracle;
        const got: Got[] = [];
        let reader: FileReader | null = null;
        // The reader is reached through readCapture's callback to see `timestamped` (an SPB has
        // no timestamp; tshark prints an empty epoch for it).
        const bytes = readFileSync(path.join(dir, f));
        const fmt = sniff(bytes);
        if (fmt === "pcap" || fmt === "pcapng") reader = createReader(fmt);
        const summary = await readCapture(path.join(dir, f), () => undefined, { chunkSize });
        expect(reader).not.toBeNull();
        const r = reader!;
        for (let at = 0; at < bytes.length; at += chunkSize) {
          r.append(bytes.subarray(at, at + chunkSize));
          drain(r, got);
        }
        r.end();
        drain(r, got);

        expect(summary.format).toBe(oracle.file_header.format);
        expect(summary.frames).toBe(oracle.frame_count);
        expect(r.frames).toBe(oracle.frame_count);

        const byFrame = new Map(got.map((g) => [g.frame, g]));
        let packetRows = 0;
        for (const [num, ep, capLen, len, ifId] of oracle.frames) {
          const g = byFrame.get(num);
          const nonPacket = ifId === null && ep === "" && summary.format === "pcapng";
          if (nonPacket) {
            expect(g, `frame ${num} is a non-packet record`).toBeUndefined();
            continue;
          }
          packetRows++;
          expect(g, `frame ${num}`).toBeDefined();
          expect({ frame: g!.frame, caplen: g!.caplen, len: g!.len, epoch: g!.epoch }).toEqual({ frame: num, caplen: capLen, len, epoch: ep });
          if (ifId !== null) expect(g!.ifId, `frame ${num} interface`).toBe(ifId);
        }
        expect(summary.packets).toBe(packetRows);
        expect(got.length).toBe(packetRows);
        expect(summary.errors).toEqual(r.errors);

        if (oracle.read.error === null) {
          expect(summary.errors).toEqual([]);
        } else {
          // Damaged file: the same frames as tshark read before its error, plus our own error
          // with an offset inside the file.
          expect(summary.errors.length).toBeGreaterThan(0);
          const e = summary.errors[summary.errors.length - 1];
          expect(e.offset).toBeGreaterThan(0);
          expect(e.offset).toBeLessThan(bytes.length);
          expect(e.frame).toBe(oracle.frame_count + 1);
          // The numbers tshark names (e.g. "4325376-byte packet, bigger than maximum of 262144")
          // are named by our message too.
          for (const n of oracle.read.error.match(/\d{3,}/g) ?? []) expect(e.message).toContain(n);
        }
      });
    }
  }
});

function drain(r: FileReader, got: Got[]): void {
  let p: RawPacket | undefined;
  while ((p = r.next()) !== undefined) {
    got.push({ frame: p.frame, epoch: r.timestamped ? epoch(p.tsSec, p.tsNsec) : "", caplen: p.caplen, len: p.origLen, ifId: p.interfaceId });
  }
}
