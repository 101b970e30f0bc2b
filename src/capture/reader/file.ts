/**
 * Reading a whole capture from a file, stdin or any byte stream: sniff the magic, undo gzip,
 * feed 1 MiB chunks to the reader and hand every packet to a callback as soon as it is complete.
 *
 * Two kinds of failure, kept apart on purpose:
 * - the source is not a capture at all (missing, a directory, empty, wrong magic, unreadable
 *   before the first bytes, broken gzip header): the promise rejects with a CaptureOpenError
 *   whose message is one line naming the file and what was found;
 * - the capture is damaged inside (corrupt length, cut-off record, gzip stream ending early,
 *   read error halfway): the promise resolves, the problem is in `errors` with frame and offset,
 *   and the summary reports what was read before it.
 */
import { constants, openSync } from "node:fs";
import { open, stat, type FileHandle } from "node:fs/promises";
import { Socket } from "node:net";
import type { CaptureError, CaptureSummary, CaptureTimestamp, RawPacket } from "../types.js";
import { ChunkPool, fileChunks, orAbort, prepend, streamChunks, takeHead, type Head, type OnProgress } from "./chunks.js";
import { gunzipChunks, gunzipFile } from "./gunzip.js";
import { SNIFF_BYTES, createReader, hexBytes, sniff } from "./sniff.js";

/** 1 MiB reads measured twice as fast as 64 KiB ones on this reader. */
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;

export interface ReadCaptureOptions {
  /** Bytes per read; default DEFAULT_CHUNK_SIZE. */
  chunkSize?: number;
  /** Called after every read with the bytes read from the source so far (compressed, for gzip). */
  onProgress?: (bytesRead: number, fileSize: number | null) => void;
  /** The stream read for source "-"; default process.stdin. */
  stdin?: AsyncIterable<Uint8Array | string>;
  /** Read on after a corrupt length instead of stopping (ReaderOptions.resync); default false, as tshark. */
  resync?: boolean;
  /**
   * Aborting stops the reading after the chunk in hand (or at once while waiting for input): the
   * summary covers what was read and says `interrupted` (Ctrl-C / SIGTERM in the CLI).
   */
  signal?: AbortSignal;
}

export type CaptureOpenFailure =
  | "not-found"
  | "permission"
  | "directory"
  | "unreadable"
  | "empty"
  | "not-capture"
  | "bad-gzip"
  /** ReadCaptureOptions.signal aborted before the first bytes came: the input was not read at all. */
  | "stopped";

/** The source is not a readable capture file. The message is one line naming it. */
export class CaptureOpenError extends Error {
  readonly file: string;
  readonly reason: CaptureOpenFailure;
  constructor(file: string, reason: CaptureOpenFailure, message: string) {
    super(message);
    this.name = "CaptureOpenError";
    this.file = file;
    this.reason = reason;
  }
}

/**
 * Reads the capture at `source` (a path, or "-" for stdin), calling `onPacket` synchronously for
 * every packet. The packet object and its `data` are reused: copy what you keep.
 */
export async function readCapture(
  source: string,
  onPacket: (p: RawPacket) => void,
  opts: ReadCaptureOptions = {},
): Promise<CaptureSummary> {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (source === "-") {
    return readCaptureFrom(opts.stdin ?? process.stdin, "-", onPacket, { ...opts, fileSize: null });
  }
  // A FIFO is read as a pipe, not as a file: a blocking open() or read() on it would hold one of
  // libuv's pool threads until a writer comes, and the process cannot exit while one is held (its
  // pool is joined at exit), so Ctrl-C could never end the run. Opened non-blocking, the open
  // returns at once and the reads wait in the event loop, where a signal can end them.
  const kind = await stat(source).catch(() => null);
  if (kind?.isFIFO()) return readFifo(source, onPacket, opts);
  let fh: FileHandle;
  let closing: Promise<void> | null = null;
  try {
    fh = await open(source, "r");
  } catch (e) {
    throw openFailure(source, e);
  }
  try {
    let size: number | null;
    try {
      const st = await fh.stat();
      if (st.isDirectory()) throw new CaptureOpenError(source, "directory", `${source}: is a directory, not a capture file`);
      size = st.isFile() ? st.size : null;
    } catch (e) {
      if (e instanceof CaptureOpenError) throw e;
      throw openFailure(source, e);
    }
    const pool = new ChunkPool(chunkSize);
    // A regular file that turns out to be gzip is read again by the worker that inflates it (gunzip.ts).
    const gzipFile = size !== null ? { fd: fh.fd, onProgress: opts.onProgress } : null;
    const summary = await readChunks(fileChunks(fh, pool, size, opts.onProgress), source, source, size, onPacket, chunkSize, pool, opts.resync ?? false, opts.signal, gzipFile);
    // After an abort a read may still wait on a FIFO, and close() would wait for it: let it go.
    if (summary.interrupted) {
      closing = fh.close().catch(() => undefined);
      return summary;
    }
    return summary;
  } finally {
    if (closing === null) await fh.close();
  }
}

/** readCapture for a named pipe (mkfifo): the fd as a net.Socket, which libuv polls (fifo(7), O_NONBLOCK). */
async function readFifo(source: string, onPacket: (p: RawPacket) => void, opts: ReadCaptureOptions): Promise<CaptureSummary> {
  let fd: number;
  try {
    // O_NONBLOCK: open(2) of a FIFO for reading returns at once instead of waiting for a writer.
    fd = openSync(source, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw openFailure(source, e);
  }
  const pipe = new Socket({ fd, readable: true, writable: false });
  try {
    return await readCaptureFrom(pipe, source, onPacket, { ...opts, fileSize: null });
  } finally {
    pipe.destroy();
  }
}

/**
 * Same as readCapture for any byte stream (a PassThrough, a child process's stdout…). `name`
 * is used in the summary and in error messages.
 */
export async function readCaptureFrom(
  input: AsyncIterable<Uint8Array | string>,
  name: string,
  onPacket: (p: RawPacket) => void,
  opts: ReadCaptureOptions & { fileSize?: number | null } = {},
): Promise<CaptureSummary> {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const size = opts.fileSize ?? null;
  const display = name === "-" ? "stdin" : name;
  return readChunks(streamChunks(input, size, opts.onProgress), name, display, size, onPacket, chunkSize, null, opts.resync ?? false, opts.signal);
}

async function readChunks(
  raw: AsyncGenerator<Uint8Array>,
  file: string,
  display: string,
  fileSize: number | null,
  onPacket: (p: RawPacket) => void,
  chunkSize: number,
  pool: ChunkPool | null = null,
  resync = false,
  signal?: AbortSignal,
  gzipFile: { fd: number; onProgress: OnProgress } | null = null,
): Promise<CaptureSummary> {
  let opened: Head | null;
  try {
    opened = await takeHead(raw, SNIFF_BYTES, signal);
  } catch (e) {
    throw openFailure(display, e, file);
  }
  // Stopped before the first bytes came (a pipe or FIFO whose writer has sent nothing yet): the
  // input was not read at all, which the run reports as not read, not as an empty file.
  if (opened === null) throw stoppedBeforeBytes(file, display);
  let head: Head = opened;
  if (head.total === 0) throw new CaptureOpenError(file, "empty", `${display}: empty (0 bytes), not a capture file`);
  let fmt = sniff(head.bytes);
  if (fmt === null) throw notCapture(file, display, head, "");
  let source: AsyncGenerator<Uint8Array> = prepend(head.chunks, raw);
  let compressed = false;
  // Set once the reader exists: which decompressed buffers it still needs (gunzip.ts passes the others back).
  let readerHolds: ((ab: ArrayBufferLike) => boolean) | null = null;
  if (fmt === "gzip") {
    compressed = true;
    pool?.untrack();
    if (gzipFile !== null) {
      // The worker reads the file from its start, by the same descriptor: stop reading it here.
      await raw.return(undefined);
      source = gunzipFile(gzipFile.fd, fileSize, chunkSize, gzipFile.onProgress, () => readerHolds);
    } else source = gunzipChunks(source, chunkSize);
    let unzipped: Head | null;
    try {
      unzipped = await takeHead(source, SNIFF_BYTES, signal);
    } catch (e) {
      await source.return(undefined);
      throw new CaptureOpenError(file, "bad-gzip", `${display}: gzip data is damaged (${errText(e)})`);
    }
    if (unzipped === null) throw stoppedBeforeBytes(file, display);
    head = unzipped;
    if (head.total === 0) throw new CaptureOpenError(file, "empty", `${display}: gzip data decompresses to 0 bytes, not a capture file`);
    fmt = sniff(head.bytes);
    if (fmt === null || fmt === "gzip") {
      await source.return(undefined);
      throw notCapture(file, display, head, " after gzip decompression");
    }
    source = prepend(head.chunks, source);
  }

  const reader = createReader(fmt, { resync });
  if (compressed) readerHolds = (ab) => reader.holds(ab);
  let packets = 0;
  let bytes = 0;
  let capturedBytes = 0;
  let first: CaptureTimestamp | null = null;
  let last: CaptureTimestamp | null = null;
  let lastSec = 0;
  let lastNsec = 0;
  let haveTs = false;
  let appended = 0;
  const drain = (): void => {
    let p: RawPacket | undefined;
    while ((p = reader.next()) !== undefined) {
      packets++;
      bytes += p.origLen;
      capturedBytes += p.caplen;
      if (reader.timestamped) {
        if (!haveTs) first = { sec: p.tsSec, nsec: p.tsNsec };
        haveTs = true;
        lastSec = p.tsSec;
        lastNsec = p.tsNsec;
      }
      onPacket(p);
    }
  };

  let ioError: CaptureError | null = null;
  let interrupted = false;
  let pendingRead: Promise<IteratorResult<Uint8Array>> | null = null;
  try {
    for (;;) {
      if (signal?.aborted) {
        interrupted = true;
        break;
      }
      pendingRead = source.next();
      const r = await orAbort(pendingRead, signal);
      if (r === null) {
        interrupted = true;
        break;
      }
      pendingRead = null;
      if (r.done) break;
      appended += r.value.length;
      reader.append(r.value);
      drain();
      // Chunks the reader has read past go back to the pool (only for plain files: gzip output
      // comes from zlib). Their packets' views are dead by now: onPacket copied what it kept.
      if (pool !== null && !compressed) pool.recycle((ab) => reader.holds(ab));
      if (reader.stopped) break;
    }
  } catch (e) {
    const frame = reader.frames + 1;
    ioError = {
      frame,
      offset: appended,
      message: `frame ${frame} at offset ${appended}: ${compressed ? "gzip data is damaged or cut short" : "read error"} (${errText(e)})`,
      fatal: true,
    };
  } finally {
    // Stops a gunzip pipeline and the file reads behind it when we leave early. A generator still
    // waiting for input (a pipe, after an abort) cannot be returned until that read ends: it is
    // left to finish (or not) on its own.
    if (pendingRead === null) await source.return(undefined);
    else {
      pendingRead.then(() => source.return(undefined)).catch(() => undefined);
    }
  }
  // Stopped on purpose: a record the stop cut in two is not damage in the file, so the reader is
  // not told the input ended (it would report "file ends inside a record").
  if (!interrupted) {
    reader.end();
    drain();
  }
  if (haveTs) last = { sec: lastSec, nsec: lastNsec };

  const errors = reader.errors.slice();
  if (ioError !== null) {
    // Keep file order: the reader may report a record cut off before the point the input broke.
    let i = errors.length;
    while (i > 0 && errors[i - 1].offset > ioError.offset) i--;
    errors.splice(i, 0, ioError);
  }
  return {
    file,
    format: fmt,
    compressed,
    linkTypes: reader.linkTypes.slice(),
    packets,
    bytes,
    capturedBytes,
    frames: reader.frames,
    firstTimestamp: first,
    lastTimestamp: last,
    errors,
    fileSize,
    ...(interrupted ? { interrupted: true } : {}),
  };
}


function notCapture(file: string, display: string, head: Head, where: string): CaptureOpenError {
  const what =
    head.total < SNIFF_BYTES
      ? `only ${head.total} byte${head.total === 1 ? "" : "s"}: ${hexBytes(head.bytes)}`
      : `starts with ${hexBytes(head.bytes)}`;
  const expected = where === "" ? "a pcap, pcapng or gzip magic" : "a pcap or pcapng magic";
  return new CaptureOpenError(file, "not-capture", `${display}: not a capture file${where} (${what}; expected ${expected})`);
}

function stoppedBeforeBytes(file: string, display: string): CaptureOpenError {
  return new CaptureOpenError(file, "stopped", `${display}: not read: the analysis was stopped before its first bytes came`);
}

function openFailure(display: string, e: unknown, file = display): CaptureOpenError {
  const code = (e as { code?: string } | null)?.code;
  if (code === "ENOENT") return new CaptureOpenError(file, "not-found", `${display}: no such file`);
  if (code === "EACCES" || code === "EPERM") return new CaptureOpenError(file, "permission", `${display}: permission denied`);
  if (code === "EISDIR") return new CaptureOpenError(file, "directory", `${display}: is a directory, not a capture file`);
  return new CaptureOpenError(file, "unreadable", `${display}: cannot read (${errText(e)})`);
}

function errText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split("\n")[0];
}
