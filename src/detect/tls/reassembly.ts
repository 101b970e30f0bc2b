/**
 * Handshake message reassembly (RFC 8446 §5.1: a handshake message may span records, and a record
 * may hold several) with the map from reassembled offsets back to stream offsets, and the
 * truncation fact of a message cut by the end of the captured bytes.
 */
import type { Direction, TlsTruncation } from "../types.js";
import type { OffsetMap } from "./messages.js";

/** Reassembles handshake messages from consecutive handshake records (RFC 8446 §5.1). */
export class Reassembler {
  buf: Uint8Array;
  len = 0;
  pos = 0;
  /** Pairs (buffer offset, stream offset), one per appended fragment, for mapping offsets back. */
  private readonly map: number[] = [];
  overflow = false;

  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity);
  }

  append(src: Uint8Array, from: number, to: number): void {
    const n = Math.min(to - from, this.buf.length - this.len);
    if (n < to - from) this.overflow = true;
    if (n <= 0) return;
    this.map.push(this.len, from);
    this.buf.set(src.subarray(from, from + n), this.len);
    this.len += n;
  }

  /** Stream offset of buffer offset x (binary search over fragments), as an OffsetMap. */
  readonly at: OffsetMap = (x) => this.streamOffset(x);

  streamOffset(x: number): number {
    let lo = 0;
    let hi = this.map.length / 2 - 1;
    if (hi < 0) return 0;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.map[mid * 2] <= x) lo = mid;
      else hi = mid - 1;
    }
    return this.map[lo * 2 + 1] + (x - this.map[lo * 2]);
  }
}

/** Facts a cut message leaves unreadable (null in TlsFacts), for the reason text. */
const UNREADABLE: Record<string, string> = {
  ClientHello: "clientVersion, sni, alpn, ja3 and ja4 are unknown",
  ServerHello: "version, cipher, alpnSelected and ja3s are unknown",
  Certificate: "certificates after the last whole one are not read",
};

/** The sentence naming the facts a cut `message` leaves null. */
export function unreadableFacts(message: string): string {
  return UNREADABLE[message] ?? "it is not read";
}

/** The truncation fact for a message cut at stream offset `at` (one past the last captured byte). */
export function truncation(from: Direction, message: string, declared: number, at: number, cause = "the captured bytes of this side end there (snap length, a segment not captured, or the end of the kept prefix)"): TlsTruncation {
  const what = declared >= 0 ? `${message} of ${declared} bytes is cut at byte ${at}` : `${message} header is cut at byte ${at}`;
  return { from, message, declared: declared >= 0 ? declared : null, truncatedAt: at, reason: `${what}: ${cause}; ${unreadableFacts(message)}` };
}
