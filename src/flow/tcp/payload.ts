/**
 * What one TCP connection's payload segments and ACKs say about its bytes: new, duplicate or
 * hole-filling data (Zeek's TCP_Reassembler), gaps when an ACK passes bytes never captured
 * (AckReceived → Undelivered → Gap), and the counters the report shows. The tracker (tracker.ts)
 * calls it for each segment after the state machine.
 */
import type { DecodedPacket } from "../../decode/index.js";
import { isClean, type Endpoint } from "./endpoint.js";
import type { TcpHistory } from "./history.js";
import { HoleList } from "./holes.js";

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
  /** Payload segments whose bytes disagreed with bytes already seen at the same offsets (Zeek's rexmit_inconsistency). */
  inconsistentOverlaps: number;
}

export class PayloadAccounting {
  readonly counters: TcpCounters = {
    retransmissions: 0,
    outOfOrder: 0,
    overlaps: 0,
    gaps: 0,
    gapBytes: 0,
    zeroWindows: 0,
    inconsistentOverlaps: 0,
  };
  /** Payload bytes seen more than once (retransmitted or overlapping) and not kept twice. */
  duplicateBytes = 0;

  constructor(private readonly history: TcpHistory) {}

  reset(): void {
    const k = this.counters;
    k.retransmissions = k.outOfOrder = k.overlaps = k.gaps = k.gapBytes = k.zeroWindows = k.inconsistentOverlaps = 0;
    this.duplicateBytes = 0;
  }

  /**
   * The peer acknowledged `sender`'s data up to relative `relAck`: bytes below it that we never
   * captured are a gap (Zeek's AckReceived → Undelivered → Gap).
   */
  ackReceived(sender: Endpoint, acker: Endpoint, relAck: number, partial: boolean): void {
    let r = relAck;
    if (sender.finCnt > 0 && r >= sender.finRel) r = sender.finRel - 1; // the FIN octet is not data
    const upTo = r - 1; // stream offset one past the last acknowledged byte
    if (upTo <= sender.ackedTo) return;
    // Midstream, the first ACKs may point one byte below/at our invented start (keep-alives): ignore.
    if (partial && r <= 2) return;
    sender.ackedTo = upTo;
    const clean = isClean(sender) && isClean(acker);
    const h = sender.holes;
    // Contiguous holes below the ACK make one gap of their missing bytes.
    let pendingStart = -1;
    let pendingEnd = -1;
    let pendingBytes = 0;
    if (h !== null) {
      const hs = h.start;
      const he = h.end;
      const hm = h.miss;
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
      h.dropFirst(k);
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
    if (!sender.payloadSeen) {
      if (upTo > sender.unseenAcked) sender.unseenAcked = upTo;
      // A side picked up midstream has no kept stream yet: it starts at its first captured byte.
      if (sender.synSeq < 0) return;
    }
    sender.stream.gapUpTo(upTo - sender.streamBase);
  }

  private declareGap(ep: Endpoint, bytes: number, history: boolean): void {
    if (bytes <= 0) return;
    this.counters.gaps++;
    this.counters.gapBytes += bytes;
    // Zeek only puts 'g' in the history while both sides are established or closing cleanly.
    if (history && ++ep.gapCnt === ep.gapThresh) {
      this.history.addLetter(ep, "G");
      ep.gapThresh *= 10;
    }
  }

  /**
   * Payload at stream offset `off`: classify it against what this side already sent (new,
   * duplicate, hole-filling), keep the hole list, and hand the bytes to the stream buffer.
   */
  dataSent(
    ep: Endpoint,
    off: number,
    p: DecodedPacket,
    captured: number,
    missing: number,
    frame: number,
  ): void {
    const s = off;
    const c = off + captured; // end of captured bytes
    const e = c + missing; // end of the sequence range
    if (!ep.payloadSeen && ep.synSeq < 0 && ep.stream.length === 0) {
      // Picked up midstream: this side's stream starts at its first captured byte. Whatever its
      // numbering made of the bytes before (a zero-length keep-alive at seq − 1 puts the first
      // data byte at offset 1) is before the capture, not a hole in it.
      ep.streamBase = off;
      if (off > ep.seenEnd && (ep.holes === null || ep.holes.length === 0)) {
        ep.seenEnd = off;
        if (ep.ackedTo < off) ep.ackedTo = off;
      }
    }
    const seen0 = ep.seenEnd;
    // Captured bytes below what we had seen: either fill holes or repeat old bytes.
    let filled = 0;
    let dup = 0;
    const lowEnd = c < seen0 ? c : seen0;
    if (s < lowEnd) {
      const lo = s > 0 ? s : 0;
      filled = ep.holes !== null ? ep.holes.fill(lo, lowEnd) : 0;
      dup = lowEnd - s - filled;
    }
    const advanced = e > seen0;
    if (advanced) {
      const from = s > seen0 ? s : seen0;
      if (from > seen0) (ep.holes ??= new HoleList()).add(seen0, from); // bytes skipped: not captured (yet)
      const capEnd = c > from ? c : from;
      if (capEnd < e) (ep.holes ??= new HoleList()).add(capEnd, e); // snap length cut the tail
      ep.seenEnd = e;
    }
    if (!advanced && filled === 0) this.counters.retransmissions++;
    if (filled > 0) this.counters.outOfOrder++;
    if (dup > 0 && (advanced || filled > 0)) this.counters.overlaps++;
    if (dup > 0) this.duplicateBytes += dup;
    // A keep-alive (RFC 9293 §3.8.4: one byte at the last acknowledged sequence number, seq =
    // next − 1, usually garbage) is not stream data: it neither ends the kept prefix nor counts
    // as a copy that disagrees.
    if (captured + missing === 1 && s === seen0 - 1) return;
    // The capture saw this side send data, even when the snap length cut all of its bytes.
    ep.payloadSeen = true;
    const before = ep.stream.inconsistent;
    ep.stream.add(off - ep.streamBase, p.payloadBuf, p.payloadOffset, captured, missing, frame);
    this.counters.inconsistentOverlaps += ep.stream.inconsistent - before;
  }
}
