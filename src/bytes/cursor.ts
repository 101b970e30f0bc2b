/**
 * One bounds-checked byte cursor for every parser (as mcap's TypeScript `Reader.ts`): reads move
 * forward through `buf[start, end)` and never read past `end`. A read that does not fit returns
 * -1 (numbers), null (bytes) or false and sets `short`, leaving the position where it was, so a
 * parser can read a whole fixed header and check `ok` once. Never throws.
 *
 * Nested structures (a TLS extension's data, a certificate list, a record's fragment, a DER or BER
 * element) are read through a second cursor bounded to them: `sub(n, into)` points a caller-owned
 * cursor at the next `n` bytes and steps over them, so a reader of the inner part cannot run into
 * the outer one. (No length-prefixed `vec`: every parser reports the declared length when it does
 * not fit, so it reads the prefix itself and then calls `sub`.)
 *
 * A leaf: imports nothing, and every folder may import it. Hot paths keep their cursors and
 * `reset(buf, start, end)` them per message, so reading a field allocates nothing (only `bytes`,
 * a copy the caller keeps, does).
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

  /** No read has failed since the last reset. */
  get ok(): boolean {
    return !this.short;
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

  /** Little-endian unsigned 16-bit (the MS-RDPBCGR structures, MS-RDPEUDP's are big-endian). */
  u16le(): number {
    if (!this.has(2)) return -1;
    const b = this.buf;
    const p = this.pos;
    this.pos += 2;
    return b[p] | (b[p + 1] << 8);
  }

  /** Little-endian unsigned 32-bit. */
  u32le(): number {
    if (!this.has(4)) return -1;
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
  }

  /**
   * A QUIC variable-length integer (RFC 9000 §16): the two high bits of the first byte say 1, 2, 4
   * or 8 bytes, the rest is the value, big-endian (exact up to 2^53). -1 when cut.
   */
  varint(): number {
    if (!this.has(1)) return -1;
    const b = this.buf;
    const p = this.pos;
    const len = 1 << (b[p] >> 6);
    if (!this.has(len)) return -1;
    let v = b[p] & 0x3f;
    for (let i = 1; i < len; i++) v = v * 256 + b[p + i];
    this.pos += len;
    return v;
  }

  /** Unsigned big-endian integer of `n` bytes (1 to 4): a length prefix or a field whose width is a parameter. */
  uint(n: 1 | 2 | 3 | 4): number {
    return n === 1 ? this.u8() : n === 2 ? this.u16() : n === 3 ? this.u24() : this.u32();
  }

  /** A copy of the next `n` bytes (the caller keeps it), or null. */
  bytes(n: number): Uint8Array | null {
    if (!this.has(n)) return null;
    const p = this.pos;
    this.pos += n;
    return this.buf.slice(p, p + n);
  }

  /** The next `n` bytes as a view into the buffer (no copy: read it before the buffer changes), or null. */
  view(n: number): Uint8Array | null {
    if (!this.has(n)) return null;
    const p = this.pos;
    this.pos += n;
    return this.buf.subarray(p, p + n);
  }

  /**
   * Points `into` at the next `n` bytes and moves past them. When they are not there, `into` is
   * left empty (every read of it fails), this cursor is marked short and does not move.
   */
  sub(n: number, into: Cursor): boolean {
    if (!this.has(n)) {
      into.reset(this.buf, this.pos, this.pos);
      return false;
    }
    into.reset(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return true;
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
