/**
 * A named pipe (mkfifo) given as the capture: read as a pipe, not as a file. A blocking open()
 * or read() of a FIFO holds one of libuv's pool threads until a writer comes, and a process
 * cannot exit while one is held, so Ctrl-C could never end such a run. Here: a FIFO reads the
 * same as the file, and a signal before its first bytes gives a "stopped" open error (the run
 * lists it as not read). No timing: the writer is started by the test, the abort needs no wait.
 */
import { spawnSync } from "node:child_process";
import { createWriteStream, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CaptureOpenError, readCapture } from "../../src/capture/index.js";
import { cat } from "../decode/build.js";
import { pcapHeader, pcapRecord } from "./build.js";

const FRAME = new Uint8Array(60);

function fifo(): string {
  const p = path.join(mkdtempSync(path.join(tmpdir(), "pnc-fifo-")), "in.pcap");
  expect(spawnSync("mkfifo", [p]).status).toBe(0);
  return p;
}

/** A pcap of `n` 60-byte records, one microsecond apart. */
function capture(n: number): Uint8Array {
  const recs: Uint8Array[] = [pcapHeader({ le: true, snaplen: 65535, linkType: 1 })];
  for (let i = 0; i < n; i++) recs.push(pcapRecord(true, 1_700_000_000, i, FRAME));
  return cat(...recs);
}

describe.skipIf(process.platform === "win32")("a FIFO as the capture", () => {
  it("reads the same packets as the file, with no size", async () => {
    const bytes = capture(5000);
    const file = path.join(mkdtempSync(path.join(tmpdir(), "pnc-fifo-")), "in.pcap");
    writeFileSync(file, bytes);
    const fromFile = await readCapture(file, () => undefined);
    const p = fifo();
    // The writer opens after the reader (open(2) for writing blocks until a reader is there).
    const reading = readCapture(p, () => undefined);
    const w = createWriteStream(p);
    w.end(bytes);
    const fromFifo = await reading;
    expect(fromFifo.packets).toBe(5000);
    expect(fromFifo.packets).toBe(fromFile.packets);
    expect(fromFifo.bytes).toBe(fromFile.bytes);
    expect(fromFifo.lastTimestamp).toEqual(fromFile.lastTimestamp);
    expect(fromFifo.fileSize).toBeNull();
    expect(fromFifo.errors).toEqual([]);
  });

  it("stopped before a writer came: a 'stopped' open error, not an empty file", async () => {
    const p = fifo();
    const ac = new AbortController();
    const reading = readCapture(p, () => undefined, { signal: ac.signal });
    ac.abort();
    const e = await reading.then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(CaptureOpenError);
    expect((e as CaptureOpenError).reason).toBe("stopped");
    expect((e as CaptureOpenError).message).toBe(`${p}: not read: the analysis was stopped before its first bytes came`);
  });

  it("a writer that closes without a byte: empty, as an empty file", async () => {
    const p = fifo();
    const reading = readCapture(p, () => undefined);
    createWriteStream(p).end();
    const e = await reading.then(() => null, (x: unknown) => x);
    expect((e as CaptureOpenError).reason).toBe("empty");
  });
});
