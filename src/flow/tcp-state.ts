/**
 * TCP connection state the way Zeek reports it (conn.log `conn_state` and `history`), plus
 * per-connection counters and bounded stream reassembly.
 *
 * The model follows Zeek's TCP analyzer (src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc,
 * src/analyzer/protocol/tcp/TCP_Endpoint.cc, TCP_Reassembler.cc and the conn_state() function in
 * scripts/base/protocols/conn/main.zeek): each endpoint has an explicit state (inactive, SYN sent,
 * SYN-ACK sent, partial, established, closed, reset) that every segment moves along, and the log
 * fields are derived from the two endpoint states by small pure functions. Facts carry over, the
 * code is our own. docs/tcp-state.md has the tables.
 *
 * Sequence numbers are 32-bit and wrap (RFC 9293 §3.4); we turn them into 64-bit-safe relative
 * numbers (JS numbers, exact to 2^53) by unwrapping each one against a recent reference, so
 * comparisons never break at 2^32.
 *
 * The client is Zeek's originator. The conversation table decides who that is; we never flip
 * roles ourselves, but when the first segment we see comes from the server we print Zeek's '^'
 * (Zeek would have flipped to agree with us).
 */
import type { DecodedPacket } from "../decode/packet.js";
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from "../decode/packet.js";
import { StreamBuffer } from "./reassembly.js";

export interface TcpCounters {
  /** Payload segments that brought no byte we had not already seen (pure duplicates). */
  retransmissions: number;
  /** Payload segments that filled (part of) a hole: they arrived after later bytes. */
  outOfOrder: number;
  /** Payload segments that repeated some seen bytes and also brought new ones. */
  overlaps: number;
  /** Holes declared lost: ACKed by the peer but never captured, or still open at finish(). */
  gaps: number;
  /** Bytes in those holes (Zeek's missed_bytes). */
  gapBytes: number;
  /** Zero-window advertisements (window 0 on a non-RST segment, as Zeek counts them). */
  zeroWindows: number;
}

/** Zeek's per-endpoint TCP states (TCP_ENDPOINT_*), in Zeek's order. */
export const EndpointState = {
  Inactive: 0,
  SynSent: 1,
  SynAckSent: 2,
  Partial: 3,
  Established: 4,
  Closed: 5,
  Reset: 6,
} as const;
export type EndpointState = (typeof EndpointState)[keyof typeof EndpointState];

const INACTIVE = EndpointState.Inactive;
const SYN_SENT = EndpointState.SynSent;
const SYN_ACK_SENT = EndpointState.SynAckSent;
const PARTIAL = EndpointState.Partial;
const ESTABLISHED = EndpointState.Established;
const CLOSED = EndpointState.Closed;
const RESET = EndpointState.Reset;

const STATE_NAMES = ["inactive", "syn-sent", "syn-ack-sent", "partial", "established", "closed", "reset"];

/** Lower-case name of an endpoint state ("established", …), for reports and debugging. */
export function endpointStateName(s: EndpointState): string {
  return STATE_NAMES[s] ?? "unknown";
}

/** Zeek's RSTOS0 test on the history: optional flip mark, the originator's SYN, no reply, then its RST. */
const RSTOS0_HISTORY = /^\^?S[^HAFGIQ]*R/;

/**
 * Zeek's conn_state for TCP from the two endpoint states (main.zeek conn_state()). `origSize` /
 * `respSize` are the payload sizes from sequence numbers (Zeek's c$orig$size), used to tell a
 * rejection (REJ) from a reset of a connection that carried data.
 */
export function tcpConnState(
  orig: EndpointState,
  resp: EndpointState,
  origSize: number,
  respSize: number,
  history: string,
): string {
  const oInactive = orig === INACTIVE || orig === PARTIAL;
  const rInactive = resp === INACTIVE || resp === PARTIAL;
  if (resp === RESET) {
    if (orig === SYN_SENT || orig === SYN_ACK_SENT || (orig === RESET && origSize === 0 && respSize === 0)) return "REJ";
    return oInactive ? "RSTRH" : "RSTR";
  }
  if (orig === RESET) {
    if (rInactive) return RSTOS0_HISTORY.test(history) ? "RSTOS0" : "OTH";
    return "RSTO";
  }
  if (resp === CLOSED && orig === CLOSED) return "SF";
  if (orig === CLOSED) return rInactive ? "SH" : "S2";
  if (resp === CLOSED) return oInactive ? "SHR" : "S3";
  if (orig === SYN_SENT && resp === INACTIVE) return "S0";
  if (orig === ESTABLISHED && resp === ESTABLISHED) return "S1";
  return "OTH";
}

/** Zeek's conn_state for UDP: who sent at least one datagram. */
export function udpState(clientPackets: number, serverPackets: number): string {
  if (clientPackets > 0) return serverPackets > 0 ? "SF" : "S0";
  return serverPackets > 0 ? "SHR" : "OTH";
}

/**
 * Zeek's UDP history: 'D' once the originator sent a datagram, 'd' once the responder did, in
 * the order they happened; '^' first when the first datagram came from the server (Zeek flipped).
 * Zeek records D/d for every datagram, empty ones included, so pass "sent at least one datagram"
 * to match Zeek exactly. Checksums are not verified, so there is no 'C'/'c'.
 */
export function udpHistory(clientPayloadSeen: boolean, serverPayloadSeen: boolean, firstFromServer = false): string {
  if (firstFromServer) return "^" + (serverPayloadSeen ? "d" : "") + (clientPayloadSeen ? "D" : "");
  return (clientPayloadSeen ? "D" : "") + (serverPayloadSeen ? "d" : "");
}

// History bit masks, one set per endpoint (Zeek shifts the responder's by 16 into one word).
const H_SYN = 0x1;
const H_FIN = 0x2;
const H_RST = 0x4;
const H_FIN_RST = 0x8;
const H_DATA = 0x10;
const H_ACK = 0x20;
const H_MULTI = 0x40;

/** Zeek ignores SYN/RST sequence jumps larger than this (TOO_LARGE_SEQ_DELTA). */
const TOO_LARGE_SEQ_DELTA = 1048576;
/**
 * Holes tracked per direction; past this the two closest are merged into one (whose bytes in
 * between were seen), so a late segment is still known to fill a hole, never written off.
 */
export const MAX_HOLES = 16;
/** Bytes counted for one endpoint's hole lists once allocated: three arrays of up to MAX_HOLES + 1 doubles and their headers. */
export const HOLE_LIST_BYTES = 3 * (16 + 8 * (MAX_HOLES + 1));
/** History letters kept; SYN/FIN/RST letters repeat on new sequence numbers, so bound it. */
export const MAX_HISTORY = 128;

/** One side of the connection: Zeek's TCP_Endpoint, plus our hole list and stream buffer. */
class Endpoint {
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
  /** Holes below seenEnd whose bytes were never captured, ascending, ≤ MAX_HOLES. */
  holeStart: number[] | null = null;
  holeEnd: number[] | null = null;
  /**
   * Bytes of each hole not received yet: its length, or less for a hole merged from two (the
   * bytes seen between them are inside it, and where they are is no longer known).
   */
  holeMiss: number[] | null = null;

  constructor(
    readonly isOrig: boolean,
    readonly stream: StreamBuffer,
  ) {}

  /** Back to a new endpoint's state (the table reuses trackers; test/fuzz/limits.test.ts compares with a fresh one). */
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
    this.holeStart = null;
    this.holeEnd = null;
    this.holeMiss = null;
  }

  /** Memory of the hole lists: allocated on the first hole, each at most MAX_HOLES + 1 numbers. */
  get holeListBytes(): number {
    return this.holeStart === null ? 0 : HOLE_LIST_BYTES;
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

function isClean(e: Endpoint): boolean {
  return e.state === ESTABLISHED || (e.state === CLOSED && e.prevState === ESTABLISHED);
}

export class TcpTracker {
  readonly counters: TcpCounters = {
    retransmissions: 0,
    outOfOrder: 0,
    overlaps: 0,
    gaps: 0,
    gapBytes: 0,
    zeroWindows: 0,
  };
  /** What the client sent. */
  readonly client: StreamBuffer;
  /** What the server sent. */
  readonly server: StreamBuffer;

  private readonly orig: Endpoint;
  private readonly resp: Endpoint;
  private hist = "";
  private speaker: "client" | "server" | null = null;
  private seenOrigPacket = false;
  private seenRespPacket = false;
  private partial = false;
  private segments = 0;
  private finishedCalled = false;
  private sawSyn = false;
  private sawSynAck = false;

  /** Payload bytes seen more than once (retransmitted or overlapping) and not kept twice. */
  duplicateBytes = 0;

  constructor(reassemblyCap = 16384) {
    this.client = new StreamBuffer(reassemblyCap);
    this.server = new StreamBuffer(reassemblyCap);
    this.orig = new Endpoint(true, this.client);
    this.resp = new Endpoint(false, this.server);
  }

  /** Zeek conn_state: S0 S1 SF REJ S2 S3 RSTO RSTR RSTOS0 RSTRH SH SHR OTH. */
  get state(): string {
    return tcpConnState(
      this.orig.state,
      this.resp.state,
      this.orig.size(this.resp),
      this.resp.size(this.orig),
      this.hist,
    );
  }

  /** Zeek history letters (uppercase = client). */
  get history(): string {
    return this.hist;
  }

  /** True once this connection is over (FIN both ways, or an RST). */
  get finished(): boolean {
    return (
      (this.orig.finCnt > 0 && this.resp.finCnt > 0) || this.orig.rstCnt > 0 || this.resp.rstCnt > 0 || this.finishedCalled
    );
  }

  /** Who sent the first payload byte. */
  get firstSpeaker(): "client" | "server" | null {
    return this.speaker;
  }

  /** A SYN (without ACK) was seen from the client. */
  get synSeen(): boolean {
    return this.sawSyn;
  }

  /** A SYN-ACK was seen from the server. */
  get synAckSeen(): boolean {
    return this.sawSynAck;
  }

  /** Zeek's endpoint states, for reports ("established", "reset", …). */
  get clientState(): string {
    return endpointStateName(this.orig.state);
  }
  get serverState(): string {
    return endpointStateName(this.resp.state);
  }

  /** Payload bytes per sequence numbers (Zeek's orig_bytes / resp_bytes). */
  get clientBytes(): number {
    return this.orig.size(this.resp);
  }
  get serverBytes(): number {
    return this.resp.size(this.orig);
  }

  /**
   * Whether segment `p` from this side should start a new conversation on the same 4-tuple:
   * this one is finished and `p` is a fresh SYN (no ACK) whose ISN differs from the SYN this side
   * already sent (a retransmitted SYN after a RST stays in the same conversation), as Wireshark
   * does for port reuse.
   */
  startsNew(fromClient: boolean, p: DecodedPacket): boolean {
    if (!this.finished || (p.tcpFlags & (TCP_SYN | TCP_ACK)) !== TCP_SYN) return false;
    const ep = fromClient ? this.orig : this.resp;
    return ep.synSeq < 0 || ep.synSeq !== p.seq >>> 0;
  }

  /** One segment of this conversation, in capture order. */
  segment(fromClient: boolean, p: DecodedPacket, frame: number): void {
    const ep = fromClient ? this.orig : this.resp;
    const peer = fromClient ? this.resp : this.orig;
    const flags = p.tcpFlags;
    const syn = (flags & TCP_SYN) !== 0;
    const fin = (flags & TCP_FIN) !== 0;
    const rst = (flags & TCP_RST) !== 0;
    const ack = (flags & TCP_ACK) !== 0;
    const captured = p.payloadLength > 0 ? p.payloadLength : 0;
    // Zeek's `len`: the payload the IP header promised, captured or not.
    const len = captured + (p.payloadMissing > 0 ? p.payloadMissing : 0);
    const seq = p.seq >>> 0;

    if (this.segments++ === 0 && !fromClient) this.addRaw("^");
    this.setPartialStatus(fromClient, syn, ack);

    // Sequence space this segment occupies (SYN and FIN take one octet each; RST data does not count).
    let segLen = len + (syn ? 1 : 0) + (fin ? 1 : 0);
    if (rst) segLen -= len;

    this.initEndpoint(ep, syn, seq, segLen);
    if (syn && ep.synSeq < 0) ep.synSeq = seq;
    if (syn && !ack && !rst && !fin && fromClient) this.sawSyn = true;
    if (syn && ack && !rst && !fin && !fromClient) this.sawSynAck = true;

    const relSeq = ep.rel(seq, ep.lastRel);
    const underflow = relSeq < 0;

    this.updateHistory(ep, syn, fin, rst, ack, relSeq, len);

    // Zero window: Zeek ignores it on a RST, after the peer's FIN and after our own RST.
    if (p.window === 0 && !rst && peer.state !== CLOSED && ep.state !== RESET) {
      this.counters.zeroWindows++;
      if (++ep.win0Cnt === ep.win0Thresh) {
        this.addLetter(ep, "W");
        ep.win0Thresh *= 10;
      }
    }

    if (fin) {
      ep.finCnt++;
      ep.finRel = relSeq + segLen;
    }
    if (rst) ep.rstCnt++;

    let relAck = 0;
    if (ack) {
      const ackSeq = p.ack >>> 0;
      if (peer.state === INACTIVE) {
        // Number the silent peer as though we had seen its SYN (Zeek's init_peer).
        relAck = 1;
        peer.init(ackSeq - 1, 0);
      } else {
        relAck = peer.rel(ackSeq, peer.ackRel);
        if (relAck < 0) relAck = 0;
        else if (!rst && relAck > peer.ackRel && !(ackSeq === 0 && relAck - peer.ackRel > TOO_LARGE_SEQ_DELTA)) {
          peer.ackRel = relAck; // ACKs in RSTs are not trusted
        }
      }
    }

    this.updateLastSeq(ep, relSeq + segLen, syn, fin, rst, len);
    this.updateStateMachine(ep, peer, fromClient, syn, fin, rst, ack, seq, len);

    // After the state update, as Zeek does: an ACK that reveals a gap in a RST or a half-open
    // connection is not trusted, and RST ACKs are ignored altogether.
    if (ack && !rst) this.ackReceived(peer, ep, relAck);

    if (len > 0 && !rst) {
      if (this.speaker === null) this.speaker = fromClient ? "client" : "server";
      if (!underflow) this.dataSent(ep, peer, (syn ? relSeq + 1 : relSeq) - 1, p, captured, len - captured, frame);
    }
    if (fin) ep.stream.setEnd(ep.finRel - 2);
    else if (rst && !underflow) ep.stream.setEnd(relSeq - 1, false);
  }

  /**
   * End of capture or eviction: holes still open become gaps (counted, not added to the history:
   * Zeek only reports a gap when an ACK reveals it) and both stream buffers finish.
   */
  finish(endOfConversation = true): void {
    // A conversation retired early (idle, or finished and quiet) stays in the table: it must not
    // count as "finished" for port reuse unless its FINs or RST say so.
    if (endOfConversation) this.finishedCalled = true;
    for (const ep of [this.orig, this.resp]) {
      const hs = ep.holeStart;
      const hm = ep.holeMiss;
      if (hs !== null && hm !== null) {
        for (let i = 0; i < hs.length; i++) {
          if (hm[i] <= 0) continue;
          this.counters.gaps++;
          this.counters.gapBytes += hm[i];
        }
        hs.length = 0;
        ep.holeEnd!.length = 0;
        hm.length = 0;
      }
      // Data a FIN says was sent but that never showed up.
      const finOffset = ep.finRel - 2;
      if (ep.finCnt > 0 && finOffset > ep.seenEnd) {
        this.counters.gaps++;
        this.counters.gapBytes += finOffset - ep.seenEnd;
        ep.seenEnd = finOffset;
      }
      ep.stream.finish();
    }
  }

  /**
   * Back to the state of `new TcpTracker(cap)` with the same cap, reusing every object: the flow
   * table recycles the trackers of conversations folded into aggregates, so a scan of a million
   * conversations does not leave a million trackers for the garbage collector.
   */
  reset(): void {
    const k = this.counters;
    k.retransmissions = k.outOfOrder = k.overlaps = k.gaps = k.gapBytes = k.zeroWindows = 0;
    this.client.reset();
    this.server.reset();
    this.orig.reset();
    this.resp.reset();
    this.hist = "";
    this.speaker = null;
    this.seenOrigPacket = false;
    this.seenRespPacket = false;
    this.partial = false;
    this.segments = 0;
    this.finishedCalled = false;
    this.sawSyn = false;
    this.sawSynAck = false;
    this.duplicateBytes = 0;
  }

  /** Free both directions' kept bytes (after detection); state, history and counters stay. */
  release(): void {
    this.client.release();
    this.server.release();
  }

  /**
   * Bytes this tracker holds for the conversation (docs/performance.md counts them against the
   * run's budget): both stream buffers with their bitmaps and frame maps, and the hole lists.
   */
  get keptBytes(): number {
    return this.client.allocatedBytes + this.server.allocatedBytes + this.orig.holeListBytes + this.resp.holeListBytes;
  }

  // ---- Zeek's per-segment steps ----

  private setPartialStatus(isOrig: boolean, syn: boolean, ack: boolean): void {
    // A connection is partial when the originator's first packet is not a bare SYN, or the
    // responder's first packet carries no SYN (Zeek's SetPartialStatus).
    if (isOrig) {
      if (!this.seenOrigPacket) this.partial = !syn || ack;
      this.seenOrigPacket = true;
    } else {
      if (!this.seenRespPacket && !this.partial) this.partial = !syn;
      this.seenRespPacket = true;
    }
  }

  /** Zeek's init_endpoint: set up or re-base sequence numbering from this segment. */
  private initEndpoint(ep: Endpoint, syn: boolean, seq: number, segLen: number): void {
    switch (ep.state) {
      case INACTIVE:
        if (syn) ep.init(seq, segLen);
        // Midstream: pretend a SYN preceded this segment so its first byte is relative 1.
        else ep.init(seq - 1, 1);
        break;
      case SYN_SENT:
      case SYN_ACK_SENT:
        if (syn && seq !== ep.startSeq) this.rebase(ep, seq, segLen);
        break;
      case ESTABLISHED:
      case PARTIAL:
        if (syn) this.rebase(ep, seq, segLen);
        break;
      case RESET:
        if (syn && ep.prevState === INACTIVE) this.rebase(ep, seq, segLen);
        break;
      default:
        break;
    }
  }

  /** A SYN re-bases numbering. If the ISN really changed, the bytes kept so far no longer line up: close the buffer. */
  private rebase(ep: Endpoint, seq: number, segLen: number): void {
    const moved = seq !== ep.startSeq;
    ep.init(seq, segLen);
    if (moved) {
      ep.seenEnd = 0;
      ep.ackedTo = 0;
      if (ep.holeStart !== null) ep.holeStart.length = ep.holeEnd!.length = ep.holeMiss!.length = 0;
      if (ep.stream.length > 0) ep.stream.finish();
    }
  }

  private addRaw(code: string): void {
    if (this.hist.length < MAX_HISTORY) this.hist += code;
  }

  private addLetter(ep: Endpoint, upper: string): void {
    this.addRaw(ep.isOrig ? upper : upper.toLowerCase());
  }

  /** Returns true when the letter was already recorded for this endpoint; else records it. */
  private checkHistory(ep: Endpoint, mask: number, upper: string): boolean {
    if ((ep.histSeen & mask) !== 0) return true;
    ep.histSeen |= mask;
    this.addLetter(ep, upper);
    return false;
  }

  /** Zeek's update_history. */
  private updateHistory(
    ep: Endpoint,
    syn: boolean,
    fin: boolean,
    rst: boolean,
    ack: boolean,
    relSeq: number,
    len: number,
  ): void {
    const bits = (syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0);
    if (bits > 1) {
      if (fin && rst) this.checkHistory(ep, H_FIN_RST, "I");
      else this.checkHistory(ep, H_MULTI, "Q");
    } else if (bits === 1) {
      if (syn) {
        const code = ack ? "H" : "S";
        if (this.checkHistory(ep, H_SYN, code) && relSeq !== ep.histLastSyn) this.addLetter(ep, code);
        ep.histLastSyn = relSeq;
      }
      if (fin) {
        // A FIN's sequence number is where its data ends.
        if (this.checkHistory(ep, H_FIN, "F") && relSeq + len !== ep.histLastFin) this.addLetter(ep, "F");
        ep.histLastFin = relSeq + len;
      }
      if (rst) {
        if (this.checkHistory(ep, H_RST, "R") && relSeq !== ep.histLastRst) this.addLetter(ep, "R");
        ep.histLastRst = relSeq;
      }
    } else if (len > 0) {
      this.checkHistory(ep, H_DATA, "D");
    } else if (ack) {
      this.checkHistory(ep, H_ACK, "A");
    }
  }

  /** Zeek's update_last_seq: track the highest sequence sent; a payload that does not advance it is a 't'. */
  private updateLastSeq(ep: Endpoint, relEnd: number, syn: boolean, fin: boolean, rst: boolean, len: number): void {
    const delta = relEnd - ep.lastRel;
    if ((syn || rst) && (delta > TOO_LARGE_SEQ_DELTA || delta < -TOO_LARGE_SEQ_DELTA)) return;
    if (fin && ep.lastRel === 1) ep.lastRel = relEnd;
    else if (ep.state === RESET) return;
    else if (delta > 0) ep.lastRel = relEnd;
    else if (len > 0) {
      if (++ep.rxmtCnt === ep.rxmtThresh) {
        this.addLetter(ep, "T");
        ep.rxmtThresh *= 10;
      }
    }
  }

  /** Zeek's UpdateStateMachine and its per-state helpers (weirds and events left out). */
  private updateStateMachine(
    ep: Endpoint,
    peer: Endpoint,
    isOrig: boolean,
    syn: boolean,
    fin: boolean,
    rst: boolean,
    ack: boolean,
    seq: number,
    len: number,
  ): void {
    switch (ep.state) {
      case INACTIVE: {
        if (syn) {
          if (isOrig) {
            ep.setState(ack ? SYN_ACK_SENT : SYN_SENT);
          } else {
            // Responder's SYN-ACK (or SYN): the originator's SYN is answered.
            if (!ack && peer.state === SYN_ACK_SENT && seq === ep.startSeq) {
              // SYN/SYN-ACK reversal: Zeek flips roles here; we keep the table's roles.
              peer.setState(ESTABLISHED);
            }
            if (peer.state === SYN_SENT) peer.setState(ESTABLISHED);
            ep.setState(ESTABLISHED);
          }
        }
        if (fin) ep.setState(CLOSED);
        if (rst) ep.setState(RESET);
        if (ep.state === INACTIVE) {
          if (!isOrig && len === 0 && this.orig.state === SYN_SENT) {
            // Some stacks ACK a SYN before answering it: not a partial connection.
          } else if (ack && peer.state === ESTABLISHED) {
            // We missed this side's SYN but saw the SYN-ACK: treat as established.
            ep.setState(ESTABLISHED);
            this.partial = false;
          } else {
            ep.setState(PARTIAL);
          }
        }
        break;
      }
      case SYN_SENT:
      case SYN_ACK_SENT:
        if (fin) ep.setState(CLOSED);
        if (rst) ep.setState(RESET);
        break;
      case ESTABLISHED:
      case PARTIAL:
        if (syn && ep.state === PARTIAL && peer.state === INACTIVE && !ack) ep.setState(SYN_SENT);
        if (fin && !rst) {
          ep.setState(CLOSED);
          // The peer sent FIN then RST: that was a normal close after all.
          if (peer.state === RESET && peer.prevState === CLOSED) peer.setState(CLOSED);
        }
        if (rst) ep.setState(RESET);
        break;
      case CLOSED:
        // After a FIN exchange a RST changes nothing.
        if (rst && peer.state !== CLOSED) ep.setState(RESET);
        break;
      default:
        break;
    }
  }

  /**
   * The peer acknowledged `sender`'s data up to relative `relAck`: bytes below it that we never
   * captured are a gap (Zeek's AckReceived → Undelivered → Gap).
   */
  private ackReceived(sender: Endpoint, acker: Endpoint, relAck: number): void {
    let r = relAck;
    if (sender.finCnt > 0 && r >= sender.finRel) r = sender.finRel - 1; // the FIN octet is not data
    const upTo = r - 1; // stream offset one past the last acknowledged byte
    if (upTo <= sender.ackedTo) return;
    // Midstream, the first ACKs may point one byte below/at our invented start (keep-alives): ignore.
    if (this.partial && r <= 2) return;
    sender.ackedTo = upTo;
    const clean = isClean(sender) && isClean(acker);
    const hs = sender.holeStart;
    const he = sender.holeEnd;
    const hm = sender.holeMiss;
    // Contiguous holes below the ACK make one gap of their missing bytes.
    let pendingStart = -1;
    let pendingEnd = -1;
    let pendingBytes = 0;
    if (hs !== null && he !== null && hm !== null) {
      let k = 0;
      while (k < hs.length && hs[k] < upTo) {
        const end = he[k] < upTo ? he[k] : upTo;
        // A hole cut by the ACK keeps as many missing bytes as its part above can hold.
        const keep = he[k] <= upTo ? 0 : Math.min(hm[k], he[k] - upTo);
        const missing = hm[k] - keep;
        if (pendingEnd === hs[k]) {
          pendingEnd = end;
          pendingBytes += missing;
        } else {
          if (pendingStart >= 0) this.declareGap(sender, pendingBytes, clean);
          pendingStart = hs[k];
          pendingEnd = end;
          pendingBytes = missing;
        }
        if (he[k] <= upTo) k++;
        else {
          hs[k] = upTo; // the part above the ACK stays open
          hm[k] = keep;
          break;
        }
      }
      if (k > 0) {
        hs.splice(0, k);
        he.splice(0, k);
        hm.splice(0, k);
      }
    }
    if (upTo > sender.seenEnd) {
      // ACKed bytes we never saw at all.
      if (pendingEnd === sender.seenEnd) {
        pendingEnd = upTo;
        pendingBytes += upTo - sender.seenEnd;
      } else {
        if (pendingStart >= 0) this.declareGap(sender, pendingBytes, clean);
        pendingStart = sender.seenEnd;
        pendingEnd = upTo;
        pendingBytes = upTo - sender.seenEnd;
      }
      sender.seenEnd = upTo;
    }
    if (pendingStart >= 0) this.declareGap(sender, pendingBytes, clean);
    sender.stream.gapUpTo(upTo);
  }

  private declareGap(ep: Endpoint, bytes: number, history: boolean): void {
    if (bytes <= 0) return;
    this.counters.gaps++;
    this.counters.gapBytes += bytes;
    // Zeek only puts 'g' in the history while both sides are established or closing cleanly.
    if (history && ++ep.gapCnt === ep.gapThresh) {
      this.addLetter(ep, "G");
      ep.gapThresh *= 10;
    }
  }

  /**
   * Payload at stream offset `off`: classify it against what this side already sent (new,
   * duplicate, hole-filling), keep the hole list, and hand the bytes to the stream buffer.
   */
  private dataSent(
    ep: Endpoint,
    peer: Endpoint,
    off: number,
    p: DecodedPacket,
    captured: number,
    missing: number,
    frame: number,
  ): void {
    const s = off;
    const c = off + captured; // end of captured bytes
    const e = c + missing; // end of the sequence range
    const seen0 = ep.seenEnd;
    // Captured bytes below what we had seen: either fill holes or repeat old bytes.
    let filled = 0;
    let dup = 0;
    const lowEnd = c < seen0 ? c : seen0;
    if (s < lowEnd) {
      const lo = s > 0 ? s : 0;
      filled = this.fillHoles(ep, lo, lowEnd);
      dup = lowEnd - s - filled;
    }
    const advanced = e > seen0;
    if (advanced) {
      const from = s > seen0 ? s : seen0;
      if (from > seen0) this.addHole(ep, seen0, from); // bytes skipped: not captured (yet)
      const capEnd = c > from ? c : from;
      if (capEnd < e) this.addHole(ep, capEnd, e); // snap length cut the tail
      ep.seenEnd = e;
    }
    if (!advanced && filled === 0) this.counters.retransmissions++;
    if (filled > 0) this.counters.outOfOrder++;
    if (dup > 0 && (advanced || filled > 0)) this.counters.overlaps++;
    if (dup > 0) this.duplicateBytes += dup;
    ep.stream.add(off, p.payloadBuf, p.payloadOffset, captured, missing, frame);
  }

  /** Remove [a, b) from the hole list; returns how many hole bytes it filled. */
  private fillHoles(ep: Endpoint, a: number, b: number): number {
    const hs = ep.holeStart;
    const he = ep.holeEnd;
    const hm = ep.holeMiss;
    if (hs === null || he === null || hm === null || b <= a) return 0;
    let filled = 0;
    for (let k = 0; k < hs.length; k++) {
      const h0 = hs[k];
      const h1 = he[k];
      if (h0 >= b) break;
      if (h1 <= a) continue;
      const lo = a > h0 ? a : h0;
      const hi = b < h1 ? b : h1;
      if (hm[k] === h1 - h0) {
        // An exact hole: every byte of it is missing.
        filled += hi - lo;
        if (lo === h0 && hi === h1) {
          hs.splice(k, 1);
          he.splice(k, 1);
          hm.splice(k, 1);
          k--;
        } else if (lo === h0) {
          hs[k] = hi;
          hm[k] = h1 - hi;
        } else if (hi === h1) {
          he[k] = lo;
          hm[k] = lo - h0;
        } else {
          // Filled the middle: split into two holes.
          he[k] = lo;
          hm[k] = lo - h0;
          hs.splice(k + 1, 0, hi);
          he.splice(k + 1, 0, h1);
          hm.splice(k + 1, 0, h1 - hi);
          k++;
        }
      } else {
        // A merged hole: which of its bytes were seen is not known, so the overlap fills as many
        // as it still misses (a late segment counts as out-of-order, never as a retransmission).
        const f = Math.min(hi - lo, hm[k]);
        filled += f;
        hm[k] -= f;
        if (lo === h0) hs[k] = hi;
        else if (hi === h1) he[k] = lo;
        if (hm[k] > he[k] - hs[k]) hm[k] = he[k] - hs[k];
        if (hm[k] <= 0) {
          hs.splice(k, 1);
          he.splice(k, 1);
          hm.splice(k, 1);
          k--;
        }
      }
    }
    // After the loop: merging shifts the list, which would upset the index above.
    if (hs.length > MAX_HOLES) this.mergeHoles(ep);
    return filled;
  }

  private addHole(ep: Endpoint, a: number, b: number): void {
    if (b <= a) return;
    if (ep.holeStart === null) {
      ep.holeStart = [];
      ep.holeEnd = [];
      ep.holeMiss = [];
    }
    const hs = ep.holeStart;
    const he = ep.holeEnd!;
    const hm = ep.holeMiss!;
    const n = hs.length;
    if (n > 0 && he[n - 1] === a) {
      he[n - 1] = b;
      hm[n - 1] += b - a;
    } else {
      hs.push(a);
      he.push(b);
      hm.push(b - a);
    }
    if (hs.length > MAX_HOLES) this.mergeHoles(ep);
  }

  /**
   * Keep at most MAX_HOLES holes: the two with the fewest seen bytes between them become one.
   * Nothing is written off (issue 19: a shuffled stream of a million segments had its late ones
   * counted as retransmissions once the lowest holes were dropped); gaps are declared only when
   * an ACK passes a hole or at finish(), with the bytes still missing.
   */
  private mergeHoles(ep: Endpoint): void {
    const hs = ep.holeStart!;
    const he = ep.holeEnd!;
    const hm = ep.holeMiss!;
    while (hs.length > MAX_HOLES) {
      let best = 0;
      for (let k = 1; k + 1 < hs.length; k++) if (hs[k + 1] - he[k] < hs[best + 1] - he[best]) best = k;
      he[best] = he[best + 1];
      hm[best] += hm[best + 1];
      hs.splice(best + 1, 1);
      he.splice(best + 1, 1);
      hm.splice(best + 1, 1);
    }
  }
}
