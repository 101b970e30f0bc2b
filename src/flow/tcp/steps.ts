/**
 * Zeek's per-segment steps on one endpoint (TCPSessionAdapter.cc: init_endpoint, update_last_seq,
 * UpdateStateMachine and its per-state helpers, weirds and events left out), as functions of the
 * two endpoints and the segment's flags. The tracker (tracker.ts) calls them in Zeek's order for
 * every segment; they keep no state of their own.
 */
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from "../../decode/index.js";
import { CLOSED, ESTABLISHED, INACTIVE, PARTIAL, RESET, SYN_ACK_SENT, SYN_SENT } from "./conn-state.js";
import type { Endpoint } from "./endpoint.js";
import type { TcpHistory } from "./history.js";

/** Zeek ignores SYN/RST sequence jumps larger than this (TOO_LARGE_SEQ_DELTA). */
export const TOO_LARGE_SEQ_DELTA = 1048576;

/** Zeek's init_endpoint: set up or re-base sequence numbering from this segment. */
export function initEndpoint(ep: Endpoint, syn: boolean, seq: number, segLen: number): void {
  switch (ep.state) {
    case INACTIVE:
      if (syn) ep.init(seq, segLen);
      // Midstream: pretend a SYN preceded this segment so its first byte is relative 1.
      else ep.init(seq - 1, 1);
      break;
    case SYN_SENT:
    case SYN_ACK_SENT:
      if (syn && seq !== ep.startSeq) rebase(ep, seq, segLen);
      break;
    case ESTABLISHED:
    case PARTIAL:
      if (syn) rebase(ep, seq, segLen);
      break;
    case RESET:
      if (syn && ep.prevState === INACTIVE) rebase(ep, seq, segLen);
      break;
    default:
      break;
  }
}

/** A SYN re-bases numbering. If the ISN really changed, the bytes kept so far no longer line up: close the buffer. */
function rebase(ep: Endpoint, seq: number, segLen: number): void {
  const moved = seq !== ep.startSeq;
  ep.init(seq, segLen);
  if (moved) {
    ep.seenEnd = 0;
    ep.ackedTo = 0;
    if (ep.holes !== null) ep.holes.clear();
    if (ep.stream.length > 0) ep.stream.finish();
  }
}

/** Zeek's update_last_seq: track the highest sequence sent; a payload that does not advance it is a 't'. */
export function updateLastSeq(ep: Endpoint, hist: TcpHistory, relEnd: number, syn: boolean, fin: boolean, rst: boolean, len: number): void {
  const delta = relEnd - ep.lastRel;
  if ((syn || rst) && (delta > TOO_LARGE_SEQ_DELTA || delta < -TOO_LARGE_SEQ_DELTA)) return;
  if (fin && ep.lastRel === 1) ep.lastRel = relEnd;
  else if (ep.state === RESET) return;
  else if (delta > 0) ep.lastRel = relEnd;
  else if (len > 0) {
    if (++ep.rxmtCnt === ep.rxmtThresh) {
      hist.addLetter(ep, "T");
      ep.rxmtThresh *= 10;
    }
  }
}

/**
 * Zeek's UpdateStateMachine: moves `ep` (the sender, the originator when `isOrig`) and its peer
 * along for one segment. Returns true when
 * the connection turns out not to be partial after all (this side's SYN was missed but the
 * SYN-ACK was seen), which the tracker records.
 */
export function updateStateMachine(
  ep: Endpoint,
  peer: Endpoint,
  isOrig: boolean,
  flags: number,
  seq: number,
  len: number,
): boolean {
  const syn = (flags & TCP_SYN) !== 0;
  const fin = (flags & TCP_FIN) !== 0;
  const rst = (flags & TCP_RST) !== 0;
  const ack = (flags & TCP_ACK) !== 0;
  let notPartial = false;
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
        // (When !isOrig the peer is the originator.)
        if (!isOrig && len === 0 && peer.state === SYN_SENT) {
          // Some stacks ACK a SYN before answering it: not a partial connection.
        } else if (ack && peer.state === ESTABLISHED) {
          // We missed this side's SYN but saw the SYN-ACK: treat as established.
          ep.setState(ESTABLISHED);
          notPartial = true;
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
  return notPartial;
}
