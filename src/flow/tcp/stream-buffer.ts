/**
 * Bounded in-order reassembly of one direction of a TCP stream.
 *
 * We keep only the first `cap` bytes of each direction: that is all protocol detection needs
 * (banners, TLS ClientHello/ServerHello, HTTP request lines), and it bounds memory per
 * conversation no matter how long the connection runs.
 *
 * Offsets are stream offsets: 0 is the first payload byte (ISN + 1 after a SYN, or the first
 * segment's sequence number for a connection picked up midstream). The caller (TcpTracker) does
 * the 32-bit sequence arithmetic (RFC 9293 §3.4 "modulo 2^32") and hands us plain offsets.
 *
 * Overlap policy: the first copy of a byte wins while the copies agree. When an overlapping
 * segment disagrees with the bytes held (`inconsistent`, Zeek's rexmit_inconsistency; the flow
 * layer reports `tcp_inconsistent_overlap`), we keep what makes the longer consistent stream:
 * a segment that starts inside the in-order prefix and runs past its end replaces the bytes it
 * disagrees with — its own bytes are consistent with each other and with what follows, while the
 * old copy ends where the stream goes on in the new one (two bytes of frame padding carried as
 * "payload" by a pure ACK, then the real first segment over them). A segment that ends inside
 * what we hold adds nothing and the first copy stays.
 *
 * Memory, per direction, never more than:
 *   - the byte buffer: grows geometrically from 256 bytes and never past `cap`;
 *   - a bitmap of cap/8 bytes, allocated only once a segment lands beyond a hole, freed when the
 *     stream is done (bytes held beyond the hole live in the byte buffer itself, so held data is
 *     bounded by the cap window: never more than `cap` bytes in all);
 *   - a frame map of at most MAX_FRAME_RUNS runs (12 bytes each).
 * Nothing grows with the length of the connection, and nothing is allocated before the first
 * payload byte (a SYN-only conversation allocates no buffer).
 */

/** Smallest byte buffer allocated on the first payload. */
const MIN_ALLOC = 256;
/** At most this many (start, end, frame) runs are remembered for frameAt(). */
export const MAX_FRAME_RUNS = 256;
const MIN_FRAME_RUNS = 8;

const EMPTY = new Uint8Array(0);

export class StreamBuffer {
  /** The most bytes of in-order payload kept. */
  readonly cap: number;
  /** True when no more bytes will be added: cap reached, FIN/RST seen and all before it in, or a gap declared. */
  done: boolean;
  /** True when the kept prefix stops at a hole that was never filled (capture loss). */
  gap = false;
  /** Payload bytes offered again inside the cap window and not kept (first copy wins). */
  duplicateBytes = 0;
  /** Segments whose bytes disagreed with the bytes held for the same offsets. */
  inconsistent = 0;
  /** Offset of the first byte that disagreed (-1: none), and the frame of the segment that disagreed. */
  inconsistentAt = -1;
  inconsistentFrame = 0;

  private buf: Uint8Array = EMPTY;
  /** Length of the in-order prefix (bytes [0, len) are all present). */
  private len = 0;
  /** One past the highest offset any segment covered, captured or not, window or not. */
  private reach = 0;
  /** One past the highest offset of a byte placed in the buffer (≤ cap). */
  private heldEnd = 0;
  /** Bit i set ⇔ byte i is present; only meaningful for i ≥ len. Null until a hole appears. */
  private placed: Uint8Array | null = null;
  /** Stream end (FIN / RST offset), or -1 when not known. */
  private end = -1;

  // Frame map: sorted, disjoint runs [runStart, runEnd) of bytes that came in frame runFrame.
  private runStart: Int32Array | null = null;
  private runEnd: Int32Array | null = null;
  private runFrame: Int32Array | null = null;
  private runCount = 0;

  constructor(cap: number) {
    this.cap = Number.isFinite(cap) && cap > 0 ? Math.floor(cap) : 0;
    this.done = this.cap === 0;
  }

  /** The in-order prefix of the stream kept so far (≤ cap bytes). A borrowed view: valid until the next add(). */
  bytes(): Uint8Array {
    // No view made for an empty stream (a scan's million SYN-only conversations).
    return this.len === 0 ? EMPTY : this.buf.subarray(0, this.len);
  }

  /** Length of the in-order prefix kept so far. */
  get length(): number {
    return this.len;
  }

  /** Bytes held ahead of a hole, waiting for it to fill (0 when the stream is in order). */
  get heldBytes(): number {
    if (this.heldEnd <= this.len || this.placed === null) return 0;
    let n = 0;
    for (let i = this.len; i < this.heldEnd; i++) if (this.bit(i)) n++;
    return n;
  }

  /**
   * Bytes of memory this buffer holds right now (buffer + bitmap + frame map). Kept up to date
   * where they are allocated and dropped (`recount`): the flow table reads it after every
   * segment, and three byteLength reads a packet showed in the profile.
   */
  get allocatedBytes(): number {
    return this.allocated;
  }

  private allocated = 0;

  private recount(): void {
    this.allocated = this.buf.byteLength + (this.placed !== null ? this.placed.byteLength : 0) + (this.runStart !== null ? this.runStart.byteLength * 3 : 0);
  }

  /**
   * Offer payload at stream offset `offset`: `length` captured bytes from src[srcOffset…], then
   * `missing` bytes the capture cut (snap length) that still occupy sequence space. Bytes past the
   * cap window are dropped; bytes before a hole are held; bytes already present are ignored.
   * Per-call work is O(length) and bounded by the window; no allocation except geometric growth.
   */
  add(offset: number, src: Uint8Array, srcOffset: number, length: number, missing: number, frame: number): void {
    const segEnd = offset + Math.max(0, length) + Math.max(0, missing);
    if (segEnd > this.reach) this.reach = segEnd;
    if (this.done || length <= 0) {
      this.checkDone();
      return;
    }
    // Never read past what the caller says is there.
    if (srcOffset < 0 || srcOffset + length > src.length) length = Math.max(0, src.length - srcOffset);
    let s = offset;
    let e = offset + length;
    let from = srcOffset;
    if (s < 0) {
      from -= s;
      s = 0;
    }
    if (e > this.cap) e = this.cap;
    if (e <= s) return;
    if (e <= this.len) {
      this.duplicateBytes += e - s;
      this.compare(s, e, src, from, frame);
      return;
    }
    this.ensure(e);
    const buf = this.buf;
    if (s <= this.len && this.heldEnd <= this.len) {
      // Fast path: in order (possibly overlapping the tail we have), nothing held beyond.
      let start = this.len;
      if (s < start && this.compare(s, start, src, from, frame)) {
        // The longer consistent stream: this segment's bytes replace the ones they disagree with.
        this.trimRuns(s);
        start = s;
      }
      this.duplicateBytes += start - s;
      for (let i = start, j = from + (start - s); i < e; i++, j++) buf[i] = src[j];
      this.noteRun(start, e, frame);
      this.len = e;
      this.heldEnd = e;
    } else {
      this.placeAroundHoles(s, e, src, from, frame);
    }
    this.checkDone();
  }

  /**
   * The stream ends at `offset` (FIN or RST): once everything before it is in, the buffer is done.
   * A FIN's sequence number is trusted to mean "bytes up to here were sent" (`sent` = true), so a
   * hole before it is a gap at finish(); a RST's is not (stacks put odd numbers in RSTs).
   */
  setEnd(offset: number, sent = true): void {
    if (offset < 0) return;
    if (this.end < 0 || offset < this.end) this.end = offset;
    if (sent && offset > this.reach) this.reach = offset;
    this.checkDone();
  }

  /**
   * The receiver acknowledged everything below `offset`: bytes we still lack below it will never
   * be captured, so a hole there is a gap and the kept prefix stops at it.
   */
  gapUpTo(offset: number): void {
    if (this.done) return;
    if (offset > this.reach) this.reach = offset;
    if (this.len < offset && this.len < this.cap) this.declareGap();
  }

  /** Call at end of capture / eviction: a hole still open becomes a gap, done becomes true. */
  finish(): void {
    if (this.done) return;
    const missingAfter = this.reach > this.len || this.heldEnd > this.len;
    if (missingAfter && this.len < this.cap) this.gap = true;
    this.markDone();
  }

  /** Back to the state of `new StreamBuffer(cap)` (see TcpTracker.reset). */
  reset(): void {
    this.done = this.cap === 0;
    this.gap = false;
    this.duplicateBytes = 0;
    this.inconsistent = 0;
    this.inconsistentAt = -1;
    this.inconsistentFrame = 0;
    this.buf = EMPTY;
    this.len = 0;
    this.reach = 0;
    this.heldEnd = 0;
    this.placed = null;
    this.end = -1;
    this.runStart = this.runEnd = this.runFrame = null;
    this.runCount = 0;
    this.allocated = 0;
  }

  /**
   * Drop the kept bytes, the bitmap and the frame map once detection has read them (a retired
   * conversation keeps only its counters). `length` still says how long the prefix was; `bytes()`
   * is then empty and nothing more is ever kept.
   */
  release(): void {
    this.markDone();
    this.buf = EMPTY;
    this.placed = null;
    this.runStart = this.runEnd = this.runFrame = null;
    this.runCount = 0;
    this.allocated = 0;
  }

  /**
   * Compare held bytes [s, e) with the segment's copy src[from…]; true (and counted) when they
   * differ. Only bytes that are present are compared.
   */
  private compare(s: number, e: number, src: Uint8Array, from: number, frame: number): boolean {
    const buf = this.buf;
    const placed = this.placed;
    for (let i = s; i < e; i++) {
      if (i >= this.len && (placed === null || (placed[i >>> 3] & (1 << (i & 7))) === 0)) continue;
      if (buf[i] !== src[from + (i - s)]) {
        this.inconsistent++;
        if (this.inconsistentAt < 0) {
          this.inconsistentAt = i;
          this.inconsistentFrame = frame;
        }
        return true;
      }
    }
    return false;
  }

  /** Forget which frames carried bytes from `offset` on (they are about to be replaced). */
  private trimRuns(offset: number): void {
    while (this.runCount > 0 && this.runStart![this.runCount - 1] >= offset) this.runCount--;
    if (this.runCount > 0 && this.runEnd![this.runCount - 1] > offset) this.runEnd![this.runCount - 1] = offset;
  }

  /** Frame number of the segment that carried stream byte `offset`, or 0 if unknown. */
  frameAt(offset: number): number {
    const starts = this.runStart;
    if (starts === null || this.runCount === 0 || offset < 0) return 0;
    // Binary search: last run whose start ≤ offset.
    let lo = 0;
    let hi = this.runCount - 1;
    if (offset < starts[0]) return 0;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return offset < this.runEnd![lo] ? this.runFrame![lo] : 0;
  }

  // ---- internals ----

  private bit(i: number): boolean {
    return (this.placed![i >>> 3] & (1 << (i & 7))) !== 0;
  }

  /** Slow path: some bytes lie beyond a hole, or fill one. Keep the first copy of every byte. */
  private placeAroundHoles(s: number, e: number, src: Uint8Array, from: number, frame: number): void {
    if (this.placed === null) {
      this.placed = new Uint8Array((this.cap + 7) >>> 3);
      this.recount();
    }
    const placed = this.placed;
    const buf = this.buf;
    const start = s > this.len ? s : this.len;
    this.duplicateBytes += start - s;
    // Bytes below the prefix's end are held: a copy that disagrees is counted (first copy kept).
    let mismatch = start > s && this.compare(s, start, src, from, frame);
    let run = -1;
    for (let i = start; i < e; i++) {
      const byte = i >>> 3;
      const mask = 1 << (i & 7);
      if ((placed[byte] & mask) !== 0) {
        this.duplicateBytes++;
        if (buf[i] !== src[from + (i - s)] && !mismatch) {
          mismatch = true;
          this.inconsistent++;
          if (this.inconsistentAt < 0) {
            this.inconsistentAt = i;
            this.inconsistentFrame = frame;
          }
        }
        if (run >= 0) {
          this.noteRun(run, i, frame);
          run = -1;
        }
        continue;
      }
      buf[i] = src[from + (i - s)];
      placed[byte] |= mask;
      if (run < 0) run = i;
    }
    if (run >= 0) this.noteRun(run, e, frame);
    if (e > this.heldEnd) this.heldEnd = e;
    // Advance the in-order prefix over whatever is now contiguous (amortised O(1) per byte).
    let len = this.len;
    while (len < this.heldEnd && (placed[len >>> 3] & (1 << (len & 7))) !== 0) len++;
    this.len = len;
  }

  /** Grow the byte buffer geometrically so that [0, need) fits, never past cap. */
  private ensure(need: number): void {
    if (this.buf.length >= need) return;
    let size = this.buf.length === 0 ? MIN_ALLOC : this.buf.length * 2;
    if (size < need) size = need;
    if (size > this.cap) size = this.cap;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, Math.max(this.len, this.heldEnd)));
    this.buf = next;
    this.recount();
  }

  /** Remember that bytes [start, end) came in `frame`. Runs stay sorted and disjoint. */
  private noteRun(start: number, end: number, frame: number): void {
    if (end <= start) return;
    const n = this.runCount;
    if (n > 0 && start >= this.runEnd![n - 1]) {
      // Common case: appending at the top.
      if (this.runEnd![n - 1] === start && this.runFrame![n - 1] === frame) {
        this.runEnd![n - 1] = end;
        return;
      }
      if (n >= MAX_FRAME_RUNS) return; // full: later bytes answer 0 ("unknown"), never a wrong frame
      this.growRuns(n + 1);
      this.runStart![n] = start;
      this.runEnd![n] = end;
      this.runFrame![n] = frame;
      this.runCount = n + 1;
      return;
    }
    if (n >= MAX_FRAME_RUNS) return;
    this.growRuns(n + 1);
    const starts = this.runStart!;
    const ends = this.runEnd!;
    const frames = this.runFrame!;
    // Out-of-order run: insert in sorted position (bounded: at most MAX_FRAME_RUNS entries move).
    let idx = n;
    while (idx > 0 && starts[idx - 1] > start) idx--;
    starts.copyWithin(idx + 1, idx, n);
    ends.copyWithin(idx + 1, idx, n);
    frames.copyWithin(idx + 1, idx, n);
    starts[idx] = start;
    ends[idx] = end;
    frames[idx] = frame;
    this.runCount = n + 1;
  }

  private growRuns(need: number): void {
    const have = this.runStart === null ? 0 : this.runStart.length;
    if (have >= need) return;
    let size = have === 0 ? MIN_FRAME_RUNS : have * 2;
    if (size > MAX_FRAME_RUNS) size = MAX_FRAME_RUNS;
    const s = new Int32Array(size);
    const e = new Int32Array(size);
    const f = new Int32Array(size);
    if (this.runStart !== null) {
      s.set(this.runStart);
      e.set(this.runEnd!);
      f.set(this.runFrame!);
    }
    this.runStart = s;
    this.runEnd = e;
    this.runFrame = f;
    this.recount();
  }

  private checkDone(): void {
    if (this.done) return;
    if (this.len >= this.cap || (this.end >= 0 && this.len >= this.end)) this.markDone();
  }

  private declareGap(): void {
    this.gap = true;
    this.markDone();
  }

  private markDone(): void {
    this.done = true;
    // Bytes held beyond a hole can no longer join the prefix: drop the bitmap.
    if (this.placed !== null) {
      this.placed = null;
      this.recount();
    }
    this.heldEnd = this.len;
  }
}
