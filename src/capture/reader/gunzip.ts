/**
 * Gzip input (RFC 1952; concatenated members too), decompressed by node:zlib, and for a regular
 * file on a worker thread that reads the file itself.
 *
 * Why a thread: zlib inflates on libuv's pool, but a zlib stream on this thread needs this
 * thread's event loop between its 128 KiB pieces, and so does reading the compressed file: both
 * waited while the packets were decoded, so inflating and analysing took turns (the 604 MB bench
 * file's gzip copy: 1.58× the pcap's time, the main thread idle 0.93 s of 3.1; handing the
 * compressed chunks to a worker still left it idle 0.6 s: docs/performance.md). A worker that
 * reads the file (by the same descriptor, at its own offsets) and inflates it needs nothing from
 * this thread but "send more", so it keeps a few buffers ahead.
 *
 * The worker reads at explicit offsets (pread(2)): a read still in flight when a stopped run has
 * closed the descriptor (readCapture closes it without waiting then) can neither move another
 * reader's offset nor take bytes from a pipe that got the same number (pread on a pipe: ESPIPE).
 *
 * The decompressed bytes come in buffers of the read size, moved to this thread and back
 * (transferred, not copied) once the reader no longer holds them, so no new buffer is made for
 * every piece here. The worker's code is a string (`eval`), so it runs the same from the sources
 * under the tests and from dist/.
 *
 * Input that is not a regular file (standard input, a pipe) is inflated on this thread
 * (`gunzipChunks`): it arrives through this thread anyway.
 */
import { Readable, pipeline } from "node:stream";
import { Worker } from "node:worker_threads";
import { createGunzip } from "node:zlib";
import type { OnProgress } from "./chunks.js";

/** Pieces zlib inflates at a time (its chunkSize). */
const GUNZIP_PIECE = 128 * 1024;
/** Decompressed buffers the worker may have sent that this thread has not passed back. */
const IN_FLIGHT = 4;

/** Decompresses a gzip byte stream on this thread, chunk by chunk (standard input, pipes). */
export async function* gunzipChunks(src: AsyncGenerator<Uint8Array>, chunkSize: number): AsyncGenerator<Uint8Array> {
  // 128 KiB output pieces: zlib allocates a new buffer per piece, and 1 MiB ones (above glibc's
  // mmap threshold once it adapts) left more freed memory in RSS (docs/performance.md).
  const gunzip = createGunzip({ chunkSize: Math.max(64, Math.min(chunkSize, GUNZIP_PIECE)) });
  // One compressed chunk read ahead at most (objectMode counts chunks, not bytes).
  const input = Readable.from(src, { objectMode: true, highWaterMark: 1 });
  const out = pipeline(input, gunzip, () => {
    /* errors surface through the iteration below */
  });
  try {
    for await (const c of out as AsyncIterable<Buffer>) yield c;
  } finally {
    out.destroy();
    input.destroy();
  }
}

// To the worker: {t:"back", b} a decompressed buffer returned (b null: kept by the reader, make
// another). From it: {t:"out", b, n, read} n bytes in b, `read` compressed bytes read so far;
// {t:"done", read}; {t:"err", m} (everything decompressed before the error was sent first).
const WORKER = `
const { parentPort, workerData: w } = require("node:worker_threads");
const { read } = require("node:fs");
const { createGunzip } = require("node:zlib");
const g = createGunzip({ chunkSize: w.piece });
const spare = [];
const input = Buffer.allocUnsafe(w.readBytes);
let pos = 0, cur = null, used = 0, lent = 0, failed = false;
function send() {
  if (used === 0) return;
  parentPort.postMessage({ t: "out", b: cur.buffer, n: used, read: pos }, [cur.buffer]);
  cur = null;
  used = 0;
  if (++lent >= w.inFlight) g.pause();
}
function fail(e) {
  if (failed) return;
  failed = true;
  send();
  parentPort.postMessage({ t: "err", m: String((e && e.message) || e) });
}
g.on("data", (piece) => {
  for (let off = 0; off < piece.length; ) {
    if (cur === null) { cur = new Uint8Array(spare.pop() || new ArrayBuffer(w.outBytes)); used = 0; }
    const n = Math.min(piece.length - off, cur.length - used);
    cur.set(piece.subarray(off, off + n), used);
    used += n;
    off += n;
    if (used === cur.length) send();
  }
});
g.on("end", () => { send(); parentPort.postMessage({ t: "done", read: pos }); });
g.on("error", fail);
// One compressed chunk in zlib at a time; the next read once it has taken it (the input buffer is
// reused). While four decompressed buffers are out, zlib is paused and the write waits.
function next() {
  read(w.fd, input, 0, w.readBytes, pos, (err, n) => {
    if (err) return fail(err);
    if (n === 0) return g.end();
    pos += n;
    g.write(input.subarray(0, n), (e) => { if (!e) next(); });
  });
}
parentPort.on("message", (m) => {
  if (m.b) spare.push(m.b);
  if (--lent < w.inFlight && g.isPaused()) g.resume();
});
next();
`;

type FromWorker = { t: "out"; b: ArrayBuffer; n: number; read: number } | { t: "done"; read: number } | { t: "err"; m: string };

/**
 * Decompresses the gzip file open as `fd` (a regular file of `size` bytes) on a worker thread,
 * chunk by chunk, in buffers of `chunkSize` bytes. `onProgress` is told the compressed bytes read.
 * `holds()`: the reader's test of whether it still needs a buffer it was given (null until the
 * reader exists: no buffer is passed back while the format sniff holds the first ones).
 */
export async function* gunzipFile(
  fd: number,
  size: number | null,
  chunkSize: number,
  onProgress: OnProgress,
  holds: () => ((ab: ArrayBufferLike) => boolean) | null,
): AsyncGenerator<Uint8Array> {
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { fd, piece: Math.max(64, Math.min(chunkSize, GUNZIP_PIECE)), readBytes: Math.max(64, chunkSize), outBytes: Math.max(64, chunkSize), inFlight: IN_FLIGHT },
  });
  const events: FromWorker[] = [];
  let wake: (() => void) | null = null;
  const push = (e: FromWorker): void => {
    events.push(e);
    const w = wake;
    wake = null;
    w?.();
  };
  worker.on("message", (m: FromWorker) => push(m));
  worker.on("error", (e) => push({ t: "err", m: e instanceof Error ? e.message : String(e) }));
  // Never left waiting on a worker that is gone (after "done" or "err" nobody reads this).
  worker.on("exit", (code) => push({ t: "err", m: `the gzip worker stopped (exit code ${code})` }));
  /** Buffers given to the reader and not passed back yet, oldest first. */
  let lent: ArrayBuffer[] = [];
  try {
    for (;;) {
      while (events.length === 0) await new Promise<void>((r) => (wake = r));
      const e = events.shift()!;
      if (e.t === "err") throw new Error(e.m);
      onProgress?.(e.read, size);
      if (e.t === "done") return;
      lent.push(e.b);
      yield new Uint8Array(e.b, 0, e.n);
      const h = holds();
      if (h !== null) {
        const still: ArrayBuffer[] = [];
        for (const b of lent) {
          if (h(b)) still.push(b);
          else worker.postMessage({ b }, [b]);
        }
        lent = still;
      }
      // Buffers the reader still holds (a record across several, or the sniff's) are not waited
      // for: past IN_FLIGHT the oldest is left to the collector and the worker makes another.
      if (lent.length >= IN_FLIGHT) {
        lent.shift();
        worker.postMessage({ b: null });
      }
    }
  } finally {
    await worker.terminate();
  }
}
