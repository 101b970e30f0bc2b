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
import { type DecodedPacket, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from "../../decode/index.js";
import { CLOSED, INACTIVE, RESET, endpointStateName, tcpConnState } from "./conn-state.js";
import { Endpoint } from "./endpoint.js";
import { TcpHistory } from "./history.js";
import { PayloadAccounting, type TcpCounters } from "./payload.js";
import { TOO_LARGE_SEQ_DELTA, initEndpoint, updateLastSeq, updateStateMachine } from "./steps.js";
import { StreamBuffer } from "./stream-buffer.js";

export type { TcpCounters } from "./payload.js";
export { MAX_HISTORY } from "./history.js";

/** One conversation's TCP: both endpoints, the history, the payload accounting (Zeek's steps in steps.ts). */
export class TcpTracker {
  private readonly hist = new TcpHistory();
  private readonly payload = new PayloadAccounting(this.hist);
  /** The payload's counters (payload.ts). */
  readonly counters: TcpCounters = this.payload.counters;
  /** What the client sent. */
  readonly client: StreamBuffer;
  /** What the server sent. */
  readonly server: StreamBuffer;

  private readonly orig: Endpoint;
  private readonly resp: Endpoint;
  private speaker: "client" | "server" | null = null;
  private seenOrigPacket = false;
  private seenRespPacket = false;
  private partial = false;
  private segments = 0;
  private finishedCalled = false;
  private sawSyn = false;
  private sawSynAck = false;

  /** Payload bytes seen more than once (retransmitted or overlapping) and not kept twice. */
  get duplicateBytes(): number {
    return this.payload.duplicateBytes;
  }

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
      this.hist.letters,
    );
  }

  /** Zeek history letters (uppercase = client). */
  get history(): string {
    return this.hist.letters;
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

  /**
   * That side's SYN was not captured (the capture began after it): its kept bytes start at the
   * first payload byte the capture saw, which may be anywhere in its stream. Policy judges such a
   * side only on what it shows.
   */
  get clientStartMissing(): boolean {
    return this.orig.synSeq < 0;
  }
  get serverStartMissing(): boolean {
    return this.resp.synSeq < 0;
  }

  /**
   * The peer acknowledged data from this side and the capture holds none of it: this side was
   * not captured (asymmetric routing, a one-way SPAN; Zeek's possible_split_routing). Policy
   * judges nothing that needs this side's bytes.
   */
  get clientUnseen(): boolean {
    return this.orig.unseenAcked > 0 && !this.orig.payloadSeen;
  }
  get serverUnseen(): boolean {
    return this.resp.unseenAcked > 0 && !this.resp.payloadSeen;
  }
  /** How many bytes of the unseen side's data the peer acknowledged (0 when the side was seen). */
  get clientUnseenBytes(): number {
    return this.clientUnseen ? this.orig.unseenAcked : 0;
  }
  get serverUnseenBytes(): number {
    return this.serverUnseen ? this.resp.unseenAcked : 0;
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

    if (this.segments++ === 0 && !fromClient) this.hist.addRaw("^");
    this.setPartialStatus(fromClient, syn, ack);

    // Sequence space this segment occupies (SYN and FIN take one octet each; RST data does not count).
    let segLen = len + (syn ? 1 : 0) + (fin ? 1 : 0);
    if (rst) segLen -= len;

    initEndpoint(ep, syn, seq, segLen);
    if (syn && ep.synSeq < 0) ep.synSeq = seq;
    if (syn && !ack && !rst && !fin && fromClient) this.sawSyn = true;
    if (syn && ack && !rst && !fin && !fromClient) this.sawSynAck = true;

    const relSeq = ep.rel(seq, ep.lastRel);
    const underflow = relSeq < 0;

    this.hist.update(ep, syn, fin, rst, ack, relSeq, len);

    // Zero window: Zeek ignores it on a RST, after the peer's FIN and after our own RST.
    if (p.window === 0 && !rst && peer.state !== CLOSED && ep.state !== RESET) {
      this.counters.zeroWindows++;
      if (++ep.win0Cnt === ep.win0Thresh) {
        this.hist.addLetter(ep, "W");
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
        // A peer that sent nothing captured, whose data this side acknowledges all the same: by
        // how much the acknowledgments moved on is how much of its data the capture missed.
        if (peer.firstAck < 0) peer.firstAck = ackSeq;
        else if (!rst) {
          const moved = (ackSeq - peer.firstAck) | 0;
          if (moved > peer.unseenAcked && moved < TOO_LARGE_SEQ_DELTA) peer.unseenAcked = moved;
        }
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

    updateLastSeq(ep, this.hist, relSeq + segLen, syn, fin, rst, len);
    if (updateStateMachine(ep, peer, fromClient, flags, seq, len)) this.partial = false;

    // After the state update, as Zeek does: an ACK that reveals a gap in a RST or a half-open
    // connection is not trusted, and RST ACKs are ignored altogether.
    if (ack && !rst) this.payload.ackReceived(peer, ep, relAck, this.partial);

    if (len > 0 && !rst) {
      if (this.speaker === null) this.speaker = fromClient ? "client" : "server";
      if (!underflow) this.payload.dataSent(ep, (syn ? relSeq + 1 : relSeq) - 1, p, captured, len - captured, frame);
    }
    if (fin) ep.stream.setEnd(ep.finRel - 2 - ep.streamBase);
    else if (rst && !underflow) ep.stream.setEnd(relSeq - 1 - ep.streamBase, false);
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
      const h = ep.holes;
      if (h !== null) {
        const hm = h.miss;
        for (let i = 0; i < hm.length; i++) {
          if (hm[i] <= 0) continue;
          this.counters.gaps++;
          this.counters.gapBytes += hm[i];
        }
        h.clear();
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
    this.payload.reset();
    this.client.reset();
    this.server.reset();
    this.orig.reset();
    this.resp.reset();
    this.hist.reset();
    this.speaker = null;
    this.seenOrigPacket = false;
    this.seenRespPacket = false;
    this.partial = false;
    this.segments = 0;
    this.finishedCalled = false;
    this.sawSyn = false;
    this.sawSynAck = false;
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

  /**
   * A connection is partial when the originator's first packet is not a bare SYN, or the
   * responder's first packet carries no SYN (Zeek's SetPartialStatus).
   */
  private setPartialStatus(isOrig: boolean, syn: boolean, ack: boolean): void {
    if (isOrig) {
      if (!this.seenOrigPacket) this.partial = !syn || ack;
      this.seenOrigPacket = true;
    } else {
      if (!this.seenRespPacket && !this.partial) this.partial = !syn;
      this.seenRespPacket = true;
    }
  }
}
