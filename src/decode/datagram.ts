/**
 * One IP datagram being reassembled (fragments.ts): its buffer, a bitmap of the bytes received,
 * and what is known of its end (RFC 791 §3.2 and RFC 8200 §4.5: the final fragment gives the
 * length).
 */

/** Bytes counted per datagram in progress beyond its buffer and bitmap: the Datagram object, its Map entry and key string. */
export const DATAGRAM_OVERHEAD = 128;

/** Smallest first allocation for a datagram's buffer; it doubles as fragments arrive, up to maxDatagramSize. Small, so a flood of one-fragment datagrams costs little. */
export const INITIAL_CAPACITY = 256;

export class Datagram {
  /** Capture time (seconds) of the first fragment. */
  firstTs: number;
  buf: Uint8Array;
  /** One bit per byte of `buf`: set when that byte has been received. */
  bits: Uint8Array;
  /** Distinct payload bytes received so far. */
  received = 0;
  /** End of the furthest byte received so far. */
  highest = 0;
  /** Payload length, known once the final fragment (MF / M flag clear) has arrived; else -1. */
  total = -1;
  /** IPv6: Next Header of the offset-0 fragment's fragment header (RFC 8200 §4.5); else -1. */
  nextHeader = -1;
  /** Fragments stored for this datagram. */
  fragments = 0;

  constructor(firstTs: number, capacity: number) {
    this.firstTs = firstTs;
    this.buf = new Uint8Array(capacity);
    this.bits = new Uint8Array((capacity + 7) >>> 3);
  }

  /** Back to a new datagram's state, keeping its (smallest-size) buffer: see `spare`. */
  reuse(firstTs: number): this {
    this.firstTs = firstTs;
    this.bits.fill(0);
    this.received = 0;
    this.highest = 0;
    this.total = -1;
    this.nextHeader = -1;
    this.fragments = 0;
    return this;
  }

  /** Buffer, bitmap, and the object with its key string (DATAGRAM_OVERHEAD). */
  get heldBytes(): number {
    return this.buf.length + this.bits.length + DATAGRAM_OVERHEAD;
  }
}

/** The smallest power of two >= n (buffer sizes double). */
export function roundUpPow2(n: number): number {
  let c = 1;
  while (c < n) c *= 2;
  return c;
}
