/**
 * One side of a TCP connection: Zeek's TCP_Endpoint (src/analyzer/protocol/tcp/TCP_Endpoint.cc:
 * state, start/last/ack sequence numbers, FIN and RST counts, the history thresholds), plus our
 * hole list and the stream buffer of the bytes it sent. The tracker (tracker.ts) moves it.
 */
import { CLOSED, ESTABLISHED, INACTIVE, RESET, SYN_SENT, type EndpointState } from "./conn-state.js";
import { HOLE_LIST_BYTES, type HoleList } from "./holes.js";
import type { StreamBuffer } from "./stream-buffer.js";

/** One side of the connection: Zeek's TCP_Endpoint, plus our hole list and stream buffer. */
export class Endpoint {
  state: EndpointState = INACTIVE;
  prevState: EndpointState = INACTIVE;
  /** Zeek's start_seq (ISN, or first seq − 1 midstream) as a uint32. */
  startSeq = 0;
  /** Zeek's last_seq and ack_seq, relative to startSeq (so SYN = 0, first data byte = 1). */
  lastRel = 0;
  ackRel = 0;
  finCnt = 0;
  /** Relative sequence number one past the FIN octet (Zeek's FIN_seq). */
  finRel = 0;
  rstCnt = 0;
  /** Sequence number of this side's first SYN (for port reuse), or -1. */
  synSeq = -1;

  histSeen = 0;
  histLastSyn = 0;
  histLastFin = 0;
  histLastRst = 0;
  rxmtCnt = 0;
  rxmtThresh = 1;
  win0Cnt = 0;
  win0Thresh = 1;
  gapCnt = 0;
  gapThresh = 1;

  /** Stream offset one past the highest byte any payload segment covered. */
  seenEnd = 0;
  /** Stream offset below which the peer's ACKs have already been checked for gaps. */
  ackedTo = 0;
  /** Holes below seenEnd whose bytes were never captured; allocated on the first one. */
  holes: HoleList | null = null;
  /** The capture saw a segment of this side carrying data (its bytes captured or cut by the snap length). */
  payloadSeen = false;
  /** One past the highest offset of this side's data the peer acknowledged while none of it was captured. */
  unseenAcked = 0;
  /**
   * Stream offset of the first kept byte. 0, except for a side whose SYN was not captured: its
   * kept bytes start at the first payload byte the capture saw, wherever its numbering began (a
   * zero-length keep-alive at seq − 1 must not leave a one-byte hole before the stream).
   */
  streamBase = 0;
  /** While this side has sent nothing: the first acknowledgment number the peer sent it (uint32), or -1. */
  firstAck = -1;

  constructor(
    readonly isOrig: boolean,
    readonly stream: StreamBuffer,
  ) {}

  /** Back to a new endpoint's state (the table reuses trackers; test/flow/table.test.ts compares with a fresh one). */
  reset(): void {
    this.state = INACTIVE;
    this.prevState = INACTIVE;
    this.startSeq = 0;
    this.lastRel = 0;
    this.ackRel = 0;
    this.finCnt = 0;
    this.finRel = 0;
    this.rstCnt = 0;
    this.synSeq = -1;
    this.histSeen = 0;
    this.histLastSyn = 0;
    this.histLastFin = 0;
    this.histLastRst = 0;
    this.rxmtCnt = 0;
    this.rxmtThresh = 1;
    this.win0Cnt = 0;
    this.win0Thresh = 1;
    this.gapCnt = 0;
    this.gapThresh = 1;
    this.seenEnd = 0;
    this.ackedTo = 0;
    this.holes = null;
    this.payloadSeen = false;
    this.unseenAcked = 0;
    this.streamBase = 0;
    this.firstAck = -1;
  }

  /** Memory of the hole lists: allocated on the first hole, each at most MAX_HOLES + 1 numbers. */
  get holeListBytes(): number {
    return this.holes === null ? 0 : HOLE_LIST_BYTES;
  }

  setState(s: EndpointState): void {
    if (s !== this.state) {
      this.prevState = this.state;
      this.state = s;
    }
  }

  /** Unwrap 32-bit `seq` to a relative number, choosing the value nearest `ref` (±2^31). */
  rel(seq: number, ref: number): number {
    return ref + ((seq - this.startSeq - ref) | 0);
  }

  /** Re-base sequence numbering at `start` (Zeek's InitStartSeq/InitAckSeq/InitLastSeq). */
  init(start: number, lastRel: number): void {
    this.startSeq = start >>> 0;
    this.ackRel = 0;
    this.lastRel = lastRel;
  }

  /** Zeek's Size(): payload bytes per sequence numbers (SYN and FIN octets not counted). */
  size(peer: Endpoint): number {
    if (this.prevState === SYN_SENT && this.state === RESET && peer.state === INACTIVE && this.ackRel > 1) return 0;
    let size = this.lastRel > this.ackRel ? this.lastRel : this.ackRel;
    if (size > 0) size--;
    if (this.finCnt > 0 && size > 0) size--;
    return size < 0 ? 0 : size;
  }
}

export function isClean(e: Endpoint): boolean {
  return e.state === ESTABLISHED || (e.state === CLOSED && e.prevState === ESTABLISHED);
}
