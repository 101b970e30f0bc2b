/**
 * IP fragment reassembly for IPv4 (RFC 791 §3.2, "Fragmentation and Reassembly") and IPv6
 * (RFC 8200 §4.5).
 *
 * Datagrams in progress are keyed as the RFCs say: IPv4 by (source, destination, identification,
 * protocol), IPv6 by (source, destination, identification). Each datagram has one buffer for its
 * payload (the bytes after the IP header, or after the IPv6 fragment header) and a coverage bitmap
 * with one bit per payload byte. Bytes already received are never written again, so a fragment
 * costs time proportional to its own length no matter how many holes the datagram has: 65,535
 * fragments of one datagram take linear time, where RFC 815's hole list could go quadratic.
 *
 * Memory is bounded four ways (see FragmentLimits): datagrams in progress, bytes held in total,
 * one datagram's size, and a timeout in capture time. Whatever is dropped is counted, never
 * thrown. The reassembler allocates only while it holds fragments (a key string per fragment,
 * one buffer and bitmap per datagram); packets that are not fragments never reach it.
 */
import { Datagram, DATAGRAM_OVERHEAD, INITIAL_CAPACITY, roundUpPow2 } from "./datagram.js";
import { Reason } from "./reason.js";

/** Dropped datagrams kept for reuse at most. */
const SPARE_MAX = 64;

/** What `addV4` / `addV6` did with a fragment. */
export const FragResult = {
  /** Stored; the datagram is not complete yet. */
  Held: 0,
  /** This fragment completed the datagram: `buf[0, length)` holds its payload. */
  Complete: 1,
  /** Refused (too large, contradicts the datagram's end, or no memory); `message` says why. */
  Rejected: 2,
} as const;
export type FragResult = (typeof FragResult)[keyof typeof FragResult];

export interface FragmentLimits {
  /** Datagrams in progress at once; the oldest is dropped to make room for a new one. */
  maxDatagrams: number;
  /** Bytes held in total (reassembly buffers, coverage bitmaps, DATAGRAM_OVERHEAD each); oldest datagrams are dropped first. */
  maxBytes: number;
  /**
   * Largest reassembled payload, in bytes after the IP header. IPv4's Total Length and IPv6's
   * Payload Length are 16-bit fields, so no real datagram is longer than 65,535 bytes.
   */
  maxDatagramSize: number;
  /**
   * Seconds of capture time (the packet timestamps, not the wall clock) after a datagram's first
   * fragment at which it is dropped as incomplete. Linux's ipfrag_time and RFC 8200 §4.5 use 60 s
   * as the upper bound; 30 s is Linux's default for IPv4.
   */
  timeoutSec: number;
}

export const DEFAULT_FRAGMENT_LIMITS: Readonly<FragmentLimits> = Object.freeze({
  maxDatagrams: 1024,
  maxBytes: 4 * 1024 * 1024,
  maxDatagramSize: 65535,
  timeoutSec: 30,
});

export class FragmentReassembler {
  readonly limits: Readonly<FragmentLimits>;

  // ---- counters (cumulative since construction or clear()) ----
  /** Datagrams completed and handed to the transport layer. */
  datagramsReassembled = 0;
  /** Fragments accepted and stored (each was held until its datagram completed or was dropped). */
  fragmentsHeld = 0;
  /** Datagrams dropped incomplete because `timeoutSec` of capture time passed. */
  timedOut = 0;
  /** Datagrams dropped to respect maxDatagrams / maxBytes / maxDatagramSize. */
  dropped = 0;
  /** Fragments that overlapped bytes already received (duplicates included); the first copy was kept. */
  overlaps = 0;
  /** Fragments refused: past the size limit, or contradicting the datagram's end. */
  rejected = 0;
  /** Datagrams still incomplete when flush() was called (end of capture). */
  incomplete = 0;

  // ---- result of the last Complete / Rejected ----
  /** The completed datagram's payload is buf[0, length). Valid until the next add. */
  buf: Uint8Array = new Uint8Array(0);
  length = 0;
  /** IPv6: the Next Header that starts the reassembled fragmentable part; -1 for IPv4. */
  nextHeader = -1;
  /** Why the last fragment was Rejected. */
  reason: Reason = Reason.None;

  /** Insertion order = order of first fragment, which is what timeout and eviction walk. */
  private readonly inProgress = new Map<string, Datagram>();
  private held = 0;
  /**
   * Dropped datagrams whose buffers are still the first, smallest size, kept for reuse (at most
   * SPARE_MAX): a flood of first fragments that never complete would otherwise allocate two
   * buffers per fragment, and the garbage collector spent most of its time on them.
   */
  private readonly spare: Datagram[] = [];
  /** Earliest capture time at which some datagram may have timed out (lazy; may be early). */
  private nextExpiry = Infinity;

  constructor(limits: Partial<FragmentLimits> = {}) {
    this.limits = Object.freeze({ ...DEFAULT_FRAGMENT_LIMITS, ...limits });
  }

  /** Datagrams currently incomplete. */
  get datagramsInProgress(): number {
    return this.inProgress.size;
  }

  /** Bytes currently held (buffers plus bitmaps). */
  get bytesHeld(): number {
    return this.held;
  }

  /**
   * Add an IPv4 fragment. `offset` is in bytes (the header's 8-octet units × 8), `more` the MF
   * flag, and data[start, end) the fragment's payload.
   */
  addV4(
    src: Uint8Array,
    dst: Uint8Array,
    id: number,
    protocol: number,
    offset: number,
    more: boolean,
    data: Uint8Array,
    start: number,
    end: number,
    tsSec: number,
  ): FragResult {
    // RFC 791 §3.2: "the identification field … together with the source, destination and
    // protocol" identifies the datagram's fragments. 16-bit code units keep the key short.
    const key = String.fromCharCode(
      4,
      (src[0] << 8) | src[1],
      (src[2] << 8) | src[3],
      (dst[0] << 8) | dst[1],
      (dst[2] << 8) | dst[3],
      id & 0xffff,
      protocol & 0xff,
    );
    return this.add(key, offset, more, data, start, end, tsSec, -1);
  }

  /**
   * Add an IPv6 fragment (RFC 8200 §4.5): `nextHeader` is the fragment header's Next Header,
   * `offset` in bytes, `more` the M flag, data[start, end) the fragmentable part it carries.
   */
  addV6(
    src: Uint8Array,
    dst: Uint8Array,
    id: number,
    nextHeader: number,
    offset: number,
    more: boolean,
    data: Uint8Array,
    start: number,
    end: number,
    tsSec: number,
  ): FragResult {
    // RFC 8200 §4.5: fragments are matched by source, destination and Fragment Identification.
    const key = String.fromCharCode(
      6,
      (src[0] << 8) | src[1], (src[2] << 8) | src[3], (src[4] << 8) | src[5], (src[6] << 8) | src[7],
      (src[8] << 8) | src[9], (src[10] << 8) | src[11], (src[12] << 8) | src[13], (src[14] << 8) | src[15],
      (dst[0] << 8) | dst[1], (dst[2] << 8) | dst[3], (dst[4] << 8) | dst[5], (dst[6] << 8) | dst[7],
      (dst[8] << 8) | dst[9], (dst[10] << 8) | dst[11], (dst[12] << 8) | dst[13], (dst[14] << 8) | dst[15],
      (id >>> 16) & 0xffff,
      id & 0xffff,
    );
    return this.add(key, offset, more, data, start, end, tsSec, nextHeader);
  }

  /** Drop datagrams whose first fragment is more than timeoutSec older than `tsSec`. */
  expire(tsSec: number): void {
    if (tsSec < this.nextExpiry) return;
    const timeout = this.limits.timeoutSec;
    this.nextExpiry = Infinity;
    for (const [key, d] of this.inProgress) {
      if (tsSec - d.firstTs > timeout) {
        this.remove(key, d);
        this.keepSpare(d);
        this.timedOut++;
      } else {
        // Later entries arrived later; a capture whose clock steps back only delays their expiry.
        this.nextExpiry = d.firstTs + timeout;
        break;
      }
    }
  }

  /** End of capture: drop what is still incomplete, counting it in `incomplete`. */
  flush(): void {
    this.incomplete += this.inProgress.size;
    this.inProgress.clear();
    this.held = 0;
    this.nextExpiry = Infinity;
  }

  /** Forget everything, counters included. */
  clear(): void {
    this.inProgress.clear();
    this.held = 0;
    this.nextExpiry = Infinity;
    this.datagramsReassembled = 0;
    this.fragmentsHeld = 0;
    this.timedOut = 0;
    this.dropped = 0;
    this.overlaps = 0;
    this.rejected = 0;
    this.incomplete = 0;
    this.buf = new Uint8Array(0);
    this.length = 0;
    this.nextHeader = -1;
    this.reason = Reason.None;
  }

  private add(
    key: string,
    offset: number,
    more: boolean,
    data: Uint8Array,
    start: number,
    end: number,
    tsSec: number,
    nextHeader: number,
  ): FragResult {
    this.expire(tsSec);
    const len = end > start ? end - start : 0;
    const fragEnd = offset + len;
    let d = this.inProgress.get(key);

    if (fragEnd > this.limits.maxDatagramSize) {
      // A datagram this long cannot exist (16-bit length fields); it is an attack or garbage.
      if (d !== undefined) {
        this.remove(key, d);
        this.dropped++;
      }
      return this.reject(Reason.FragmentPastMaximum);
    }

    if (d === undefined) {
      if (this.inProgress.size >= this.limits.maxDatagrams) this.evictOldest(undefined);
      const capacity = Math.min(this.limits.maxDatagramSize, Math.max(INITIAL_CAPACITY, roundUpPow2(fragEnd)));
      const old = capacity === INITIAL_CAPACITY ? this.spare.pop() : undefined;
      d = old !== undefined ? old.reuse(tsSec) : new Datagram(tsSec, capacity);
      if (!this.reserve(d, d.heldBytes)) return this.reject(Reason.FragmentMemoryLimit);
      if (this.inProgress.size === 0) this.nextExpiry = tsSec + this.limits.timeoutSec;
      this.inProgress.set(key, d);
    }

    // The datagram's end is fixed by the fragment with MF (IPv6: M) clear. Fragments that
    // contradict it are refused rather than trusted: data past the end, or a second, different end.
    if (!more) {
      if (d.total >= 0 && d.total !== fragEnd) return this.reject(Reason.FragmentSecondEnd);
      if (d.highest > fragEnd) return this.reject(Reason.FragmentFinalBeforeData);
      d.total = fragEnd;
    } else if (d.total >= 0 && fragEnd > d.total) {
      return this.reject(Reason.FragmentPastFinal);
    }

    if (fragEnd > d.buf.length && !this.grow(key, d, fragEnd)) {
      return this.reject(Reason.FragmentMemoryLimit);
    }

    // Copy only bytes not received before. First copy wins: it is what Wireshark shows for the
    // common case (a retransmitted duplicate), Zeek also keeps the old bytes and flags the
    // inconsistency, and it means a later overlapping fragment can never rewrite bytes an earlier
    // one already supplied (the overlap-rewriting evasion RFC 5722 warns about). RFC 5722 asks
    // IPv6 hosts to drop such datagrams; an analyzer would rather show the traffic and count it.
    const buf = d.buf;
    const bits = d.bits;
    let overlapped = false;
    let fresh = 0;
    for (let i = 0; i < len; i++) {
      const pos = offset + i;
      const mask = 1 << (pos & 7);
      const b = bits[pos >>> 3];
      if ((b & mask) !== 0) {
        overlapped = true;
      } else {
        bits[pos >>> 3] = b | mask;
        buf[pos] = data[start + i];
        fresh++;
      }
    }
    d.received += fresh;
    if (overlapped) this.overlaps++;
    if (fragEnd > d.highest) d.highest = fragEnd;
    if (offset === 0 && nextHeader >= 0) d.nextHeader = nextHeader;
    d.fragments++;
    this.fragmentsHeld++;

    if (d.total >= 0 && d.received === d.total) {
      this.remove(key, d);
      this.datagramsReassembled++;
      this.buf = d.buf;
      this.length = d.total;
      this.nextHeader = d.nextHeader;
      return FragResult.Complete;
    }
    return FragResult.Held;
  }

  private reject(reason: Reason): FragResult {
    this.rejected++;
    this.reason = reason;
    return FragResult.Rejected;
  }

  /** Grow d's buffer and bitmap to hold `needed` bytes. False (and d dropped) when memory is out. */
  private grow(key: string, d: Datagram, needed: number): boolean {
    const cap = Math.min(this.limits.maxDatagramSize, Math.max(needed, d.buf.length * 2));
    const buf = new Uint8Array(cap);
    const bits = new Uint8Array((cap + 7) >>> 3);
    // Take d's old bytes off the total first, so reserve() accounts the new size alone.
    this.held -= d.heldBytes;
    if (!this.reserve(d, buf.length + bits.length + DATAGRAM_OVERHEAD)) {
      this.inProgress.delete(key);
      this.dropped++;
      return false;
    }
    buf.set(d.buf);
    bits.set(d.bits);
    d.buf = buf;
    d.bits = bits;
    return true;
  }

  /** Account `bytes` for d, evicting older datagrams when the total would exceed maxBytes. */
  private reserve(d: Datagram, bytes: number): boolean {
    while (this.held + bytes > this.limits.maxBytes) {
      if (!this.evictOldest(d)) return false;
    }
    this.held += bytes;
    return true;
  }

  /** Drop the oldest datagram other than `keep`. False when there is none. */
  private evictOldest(keep: Datagram | undefined): boolean {
    for (const [key, d] of this.inProgress) {
      if (d === keep) continue;
      this.remove(key, d);
      this.keepSpare(d);
      this.dropped++;
      return true;
    }
    return false;
  }

  /** A dropped datagram (never one whose buffer was handed out as complete) may be reused. */
  private keepSpare(d: Datagram): void {
    if (d.buf.length === INITIAL_CAPACITY && this.spare.length < SPARE_MAX) this.spare.push(d);
  }

  private remove(key: string, d: Datagram): void {
    this.inProgress.delete(key);
    this.held -= d.heldBytes;
  }
}
