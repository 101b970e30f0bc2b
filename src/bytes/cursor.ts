/**
 * One bounds-checked byte cursor for every parser (as mcap's TypeScript `Reader.ts`): reads move
 * forward through `buf[start, end)` and never read past `end`. A read that does not fit returns
 * -1 (numbers) or false and sets `short`, leaving the position where it was, so a parser can read
 * a whole fixed header and check once. Never throws.
 *
 * A leaf: imports nothing, and every folder may import it. Hot paths keep one cursor and
 * `reset(buf, start, end)` it per message, so parsing allocates nothing.
 */
export class Cursor {
  buf: Uint8Array = EMPTY;
  /** Next byte to read. */
  pos = 0;
  /** One past the last byte that may be read. */
  end = 0;
  /** A read did not fit since the last reset. */
  short = false;

  constructor(buf?: Uint8Array, start = 0, end?: number) {
    if (buf !== undefined) this.reset(buf, start, end);
  }

  /** Reads `buf[start, end)` from `start` (clamped to the buffer); returns this. */
  reset(buf: Uint8Array, start = 0, end: number = buf.length): this {
    this.buf = buf;
    this.end = Math.max(0, Math.min(end, buf.length));
    this.pos = Math.max(0, Math.min(start, this.end));
    this.short = false;
    return this;
  }

  /** Bytes left. */
  get left(): number {
    return this.end - this.pos;
  }

  /** True when `n` more bytes can be read (and marks the cursor short when not). */
  has(n: number): boolean {
    if (n >= 0 && this.pos + n <= this.end) return true;
    this.short = true;
    return false;
  }

  u8(): number {
    if (!this.has(1)) return -1;
    return this.buf[this.pos++];
  }

  u16(): number {
    if (!this.has(2)) return -1;
    const b = this.buf;
    const p = this.pos;
    this.pos += 2;
    return (b[p] << 8) | b[p + 1];
  }

  u24(): number {
    if (!this.has(3)) return -1;
    const b = this.buf;
    const p = this.pos;
    this.pos += 3;
    return (b[p] << 16) | (b[p + 1] << 8) | b[p + 2];
  }

  /** Big-endian unsigned 32-bit. */
  u32(): number {
    if (!this.has(4)) return -1;
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  }

  /** The byte `k` ahead without moving, or -1. */
  peek(k = 0): number {
    const p = this.pos + k;
    return k >= 0 && p < this.end ? this.buf[p] : -1;
  }

  /** Moves `n` bytes on; false (and not moved) when they are not there. */
  skip(n: number): boolean {
    if (!this.has(n)) return false;
    this.pos += n;
    return true;
  }

  /** Offset of the next `value` byte within the next `max` bytes, or -1 (the position does not move). */
  indexOf(value: number, max = this.left): number {
    const stop = Math.min(this.end, this.pos + Math.max(0, max));
    for (let i = this.pos; i < stop; i++) if (this.buf[i] === value) return i;
    return -1;
  }
}

const EMPTY = new Uint8Array(0);
