/**
 * Where readCapture's chunks come from: file reads into reused buffers (one read ahead) and any
 * byte stream (gzip decompression: gunzip.ts); plus taking the first bytes off for the format
 * sniff and putting them back in front.
 */
import type { FileHandle } from "node:fs/promises";

/** Told the bytes read from the source so far (compressed, for gzip) after every read. */
export type OnProgress = ((bytesRead: number, fileSize: number | null) => void) | undefined;

export interface Head {
  chunks: Uint8Array[];
  /** The first bytes (up to the number asked for), contiguous. */
  bytes: Uint8Array;
  total: number;
}

/**
 * `read`, or null as soon as `signal` aborts (a read waiting on a pipe that never ends is given up
 * too); `read` itself without a signal. The abort listener is removed when the read settles: racing every read against one
 * long-lived "aborted" promise (Promise.race) left a reaction on it per read, each holding that
 * read's chunk, so a gzip or piped input stayed in memory whole (920 MiB peak on the 604 MB
 * bench file's gzip copy: fresh buffers per chunk there, where plain files reuse theirs).
 */
export function orAbort<T>(read: Promise<T>, signal: AbortSignal | undefined): Promise<T | null> {
  if (signal === undefined) return read;
  if (signal.aborted) {
    // Given up unread: a failure it ends with later (the source closed under it) is nobody's.
    read.catch(() => undefined);
    return Promise.resolve(null);
  }
  return new Promise<T | null>((resolve, reject) => {
    const onAbort = (): void => resolve(null);
    signal.addEventListener("abort", onAbort, { once: true });
    read.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** Pulls chunks until at least `n` bytes are in hand or the input ends; null when `signal` aborts first. */
export async function takeHead(it: AsyncGenerator<Uint8Array>, n: number, signal?: AbortSignal): Promise<Head | null> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (total < n) {
    const r = await orAbort(it.next(), signal);
    if (r === null) return null;
    if (r.done) break;
    if (r.value.length === 0) continue;
    chunks.push(r.value);
    total += r.value.length;
  }
  const bytes = new Uint8Array(Math.min(n, total));
  let at = 0;
  for (const c of chunks) {
    if (at >= bytes.length) break;
    const take = Math.min(c.length, bytes.length - at);
    bytes.set(c.subarray(0, take), at);
    at += take;
  }
  return { chunks, bytes, total };
}

export async function* prepend(first: Uint8Array[], rest: AsyncGenerator<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    for (const c of first) yield c;
    for (;;) {
      const r = await rest.next();
      if (r.done) return;
      yield r.value;
    }
  } finally {
    await rest.return(undefined);
  }
}

/**
 * Read buffers, reused. A fresh 1 MiB buffer per read made 600 short-lived 1 MiB allocations per
 * 600 MB file: glibc keeps such freed blocks, and RSS grew far past what was live. A buffer goes
 * back to the free list once the reader no longer holds it (a record spanning chunks keeps them).
 */
export class ChunkPool {
  private readonly free: Uint8Array[] = [];
  private out: Uint8Array[] = [];
  constructor(readonly size: number) {}

  // Plain Uint8Arrays, not Buffers: the reader takes a subarray per packet, and a Buffer's
  // subarray (a FastBuffer) cost twice as much in the profile.
  take(): Uint8Array {
    const b = this.free.pop() ?? new Uint8Array(this.size);
    if (this.tracking) this.out.push(b);
    return b;
  }

  private tracking = true;

  /**
   * Gzip input: the chunks go to zlib, not to the reader, so nobody can say when they are free.
   * Stop tracking them (each read gets a fresh buffer, as before the pool), or `out` would keep
   * the whole compressed file alive (it did: 559 MiB peak on the 252 MB .gz bench file).
   */
  untrack(): void {
    this.tracking = false;
    this.out = [];
    this.free.length = 0;
  }

  /** Return every handed-out buffer the reader does not hold, except the one being read into. */
  recycle(held: (ab: ArrayBufferLike) => boolean, reading: Uint8Array | null = this.reading): void {
    const still: Uint8Array[] = [];
    for (const b of this.out) {
      if (b === reading || held(b.buffer)) still.push(b);
      else this.free.push(b);
    }
    this.out = still;
  }

  /** The buffer a read is filling right now (never recycled). */
  reading: Uint8Array | null = null;
}

export async function* fileChunks(
  fh: FileHandle,
  pool: ChunkPool,
  size: number | null,
  onProgress: OnProgress,
): AsyncGenerator<Uint8Array> {
  const chunkSize = pool.size;
  let read = 0;
  // One read ahead: the next chunk is read (in libuv's thread pool) while the current one is
  // decoded, so the disk and the decoder work at the same time.
  let buf = pool.take();
  pool.reading = buf;
  let pending = fh.read(buf, 0, chunkSize, null);
  try {
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) return;
      const cur = buf;
      read += bytesRead;
      buf = pool.take();
      pool.reading = buf;
      pending = fh.read(buf, 0, chunkSize, null);
      onProgress?.(read, size);
      yield bytesRead < chunkSize ? cur.subarray(0, bytesRead) : cur;
    }
  } finally {
    // Never leave a read in flight on a handle that is about to be closed.
    await pending.catch(() => undefined);
    pool.reading = null;
  }
}

export async function* streamChunks(
  input: AsyncIterable<Uint8Array | string>,
  size: number | null,
  onProgress: OnProgress,
): AsyncGenerator<Uint8Array> {
  let read = 0;
  for await (const c of input) {
    const chunk = typeof c === "string" ? Buffer.from(c, "latin1") : c;
    read += chunk.length;
    onProgress?.(read, size);
    yield chunk;
  }
}
