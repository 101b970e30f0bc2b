/**
 * Zeek's conn.log history letters for one TCP connection (scripts/base/protocols/conn/main.zeek
 * history field; TCPSessionAdapter.cc update_history): upper case for the originator (our
 * client), lower case for the responder, each letter once unless a new sequence number repeats a
 * SYN, FIN or RST; 'T', 'W', 'G' at growing thresholds (1, 10, 100, …). Bounded to MAX_HISTORY.
 */
import type { Endpoint } from "./endpoint.js";

// History bit masks, one set per endpoint (Zeek shifts the responder's by 16 into one word).
const H_SYN = 0x1;
const H_FIN = 0x2;
const H_RST = 0x4;
const H_FIN_RST = 0x8;
const H_DATA = 0x10;
const H_ACK = 0x20;
const H_MULTI = 0x40;

/** History letters kept; SYN/FIN/RST letters repeat on new sequence numbers, so bound it. */
export const MAX_HISTORY = 128;

export class TcpHistory {
  letters = "";

  reset(): void {
    this.letters = "";
  }

  addRaw(code: string): void {
    if (this.letters.length < MAX_HISTORY) this.letters += code;
  }

  addLetter(ep: Endpoint, upper: string): void {
    this.addRaw(ep.isOrig ? upper : upper.toLowerCase());
  }

  /** Returns true when the letter was already recorded for this endpoint; else records it. */
  check(ep: Endpoint, mask: number, upper: string): boolean {
    if ((ep.histSeen & mask) !== 0) return true;
    ep.histSeen |= mask;
    this.addLetter(ep, upper);
    return false;
  }

  /** Zeek's update_history. */
  update(
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
      if (fin && rst) this.check(ep, H_FIN_RST, "I");
      else this.check(ep, H_MULTI, "Q");
    } else if (bits === 1) {
      if (syn) {
        const code = ack ? "H" : "S";
        if (this.check(ep, H_SYN, code) && relSeq !== ep.histLastSyn) this.addLetter(ep, code);
        ep.histLastSyn = relSeq;
      }
      if (fin) {
        // A FIN's sequence number is where its data ends.
        if (this.check(ep, H_FIN, "F") && relSeq + len !== ep.histLastFin) this.addLetter(ep, "F");
        ep.histLastFin = relSeq + len;
      }
      if (rst) {
        if (this.check(ep, H_RST, "R") && relSeq !== ep.histLastRst) this.addLetter(ep, "R");
        ep.histLastRst = relSeq;
      }
    } else if (len > 0) {
      this.check(ep, H_DATA, "D");
    } else if (ack) {
      this.check(ep, H_ACK, "A");
    }
  }
}
