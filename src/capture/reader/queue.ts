/**
 * What both file readers share (pcap.ts, pcapng.ts): the chunk queue their input waits in, the
 * byte-order readers, the bounded error list and the QueuedReader base class over them.
 */
import { PacketRecord } from "../packet.js";
import type { CaptureError } from "../types.js";

/**
 * Largest caplen tshark accepts for ordinary link types (Wireshark's WTAP_MAX_PACKET_SIZE_STANDARD).
 * A caplen above it *and* above the file's snaplen can only be a corrupt length field.
 */
export const MAX_SANE_CAPLEN = 262144;
/** Hard ceiling on any record or block we will assemble in memory, whatever the header says. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;
/** Non-fatal problems kept per reader; the rest are only counted (errors must not grow unbounded). */
export const MAX_LISTED_ERRORS = 100;

/**
 * The chunks appended to a reader and not yet consumed, read as one byte sequence.
 *
 * `peek(skip, n)` makes `n` bytes starting `skip` bytes after the read position contiguous: it
 * returns the chunk itself when they lie in one chunk (zero copy) and otherwise copies them into
 * a carry-over buffer that is reused (it only grows, up to the largest record seen). The returned
 * buffer is valid until the next peek; the bytes are at `off`. `skip(n)` consumes bytes and drops
 * chunks that are fully consumed, so only the unread tail of the input is ever referenced.
 */
export class ChunkQueue {
  private chunks: Uint8Array[] = [];
  /** Index in `chunks` of the chunk holding the read position. */
  private head = 0;
  /** Read position within chunks[head]. */
  private pos = 0;
  private avail = 0;
  private carry = new Uint8Array(0);
  /** Where the bytes returned by the last peek start in the returned buffer. */
  off = 0;
  /** Bytes consumed since the start of the input. */
  consumed = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.avail += chunk.length;
  }

  /** Whether a chunk backed by `ab` may still be read (so its memory must not be reused yet). */
  holds(ab: ArrayBufferLike): boolean {
    for (let i = this.head; i < this.chunks.length; i++) if (this.chunks[i].buffer === ab) return true;
    return false;
  }

  /** Bytes appended and not yet consumed. */
  get available(): number {
    return this.avail;
  }

  /** Caller guarantees skip + n <= available. */
  peek(skip: number, n: number): Uint8Array {
    let i = this.head;
    let p = this.pos + skip;
    let c = this.chunks[i];
    while (p >= c.length) {
      p -= c.length;
      c = this.chunks[++i];
    }
    if (c.length - p >= n) {
      this.off = p;
      return c;
    }
    if (this.carry.length < n) {
      // Grow geometrically so that slowly growing records do not re-allocate every time.
      let size = Math.max(256, this.carry.length * 2);
      while (size < n) size *= 2;
      this.carry = new Uint8Array(Math.min(size, Math.max(n, MAX_RECORD_BYTES)));
    }
    let copied = 0;
    while (copied < n) {
      const take = Math.min(c.length - p, n - copied);
      this.carry.set(c.subarray(p, p + take), copied);
      copied += take;
      c = this.chunks[++i];
      p = 0;
    }
    this.off = 0;
    return this.carry;
  }

  /** Caller guarantees n <= available. */
  skip(n: number): void {
    this.avail -= n;
    this.consumed += n;
    let p = this.pos + n;
    const chunks = this.chunks;
    while (this.head < chunks.length && p >= chunks[this.head].length) {
      p -= chunks[this.head].length;
      this.head++;
    }
    this.pos = p;
    if (this.head === chunks.length) {
      // Everything consumed: drop every reference at once.
      this.chunks = [];
      this.head = 0;
    } else if (this.head >= 64) {
      // Amortised compaction (one-byte appends create many tiny chunks).
      this.chunks = chunks.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * Forget all input (after a fatal error) and release the carry-over buffer. `consumed` stays
   * where reading stopped, so it does not depend on how much input happened to be appended.
   */
  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.pos = 0;
    this.avail = 0;
    this.carry = new Uint8Array(0);
  }
}

/** Reads an unsigned 32-bit integer in the given byte order. */
export function u32(b: Uint8Array, o: number, le: boolean): number {
  return le
    ? (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0
    : ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** Reads an unsigned 16-bit integer in the given byte order. */
export function u16(b: Uint8Array, o: number, le: boolean): number {
  return le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1];
}

/**
 * Error bookkeeping shared by both readers: non-fatal problems are listed up to
 * MAX_LISTED_ERRORS and counted beyond; a fatal one is always listed.
 */
export class ErrorList {
  readonly list: CaptureError[] = [];
  private suppressed = 0;
  private suppressedFirst: CaptureError | null = null;

  add(frame: number, offset: number, message: string, fatal: boolean): void {
    if (!fatal && this.list.length >= MAX_LISTED_ERRORS) {
      if (this.suppressed === 0) this.suppressedFirst = { frame, offset, message, fatal };
      this.suppressed++;
      return;
    }
    this.list.push({ frame, offset, message, fatal });
  }

  /** At end of input: one closing entry saying how many problems were not listed. */
  flush(): void {
    if (this.suppressed > 0 && this.suppressedFirst) {
      const f = this.suppressedFirst;
      this.list.push({
        frame: f.frame,
        offset: f.offset,
        message: `${this.suppressed} more problems not listed (the first at frame ${f.frame}, offset ${f.offset}: ${f.message})`,
        fatal: false,
      });
      this.suppressed = 0;
      this.suppressedFirst = null;
    }
  }
}

/**
 * What both readers share: the chunk queue, the reused packet, the error list, the stop flags,
 * the link types and frame count, and the CaptureReader accessors over them.
 */
export abstract class QueuedReader {
  protected readonly q = new ChunkQueue();
  protected readonly pkt = new PacketRecord();
  protected readonly errs = new ErrorList();
  protected ended = false;
  protected fatal = false;
  protected readonly seenLinkTypes: number[] = [];
  protected frameCount = 0;

  append(chunk: Uint8Array): void {
    if (this.fatal || this.ended) return;
    this.q.push(chunk);
  }

  end(): void {
    this.ended = true;
  }

  get errors(): CaptureError[] {
    return this.errs.list;
  }

  get stopped(): boolean {
    return this.fatal;
  }

  get linkTypes(): number[] {
    return this.seenLinkTypes;
  }

  get bytesConsumed(): number {
    return this.q.consumed;
  }

  /** Whether an appended chunk backed by `ab` is still needed (see ChunkQueue.holds). */
  holds(ab: ArrayBufferLike): boolean {
    return this.q.holds(ab);
  }

  /** Frame numbers used so far (pcapng also counts the non-packet records Wireshark counts). */
  get frames(): number {
    return this.frameCount;
  }
}

export function hex4(b: Uint8Array, o: number): string {
  const out: string[] = [];
  for (let i = o; i < o + 4 && i < b.length; i++) out.push(b[i].toString(16).padStart(2, "0"));
  return out.join(" ");
}
