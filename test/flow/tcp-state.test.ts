import { describe, it, expect } from "vitest";
import { DecodedPacket, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from "../../src/decode/packet.js";
import { rng } from "../support/random.js";
import { TcpTracker, tcpConnState, EndpointState, udpState, udpHistory } from "../../src/flow/tcp/index.js";

/*
 * The expected conn_state / history values below come from Zeek's rules (conn.log docs, main.zeek
 * conn_state(), TCPSessionAdapter update_history/UpdateStateMachine), worked out by hand for each
 * packet sequence — not copied from our own output.
 */

const SYN = TCP_SYN;
const SA = TCP_SYN | TCP_ACK;
const A = TCP_ACK;
const PA = TCP_PSH | TCP_ACK;
const FA = TCP_FIN | TCP_ACK;
const RA = TCP_RST | TCP_ACK;
const R = TCP_RST;

const C_ISN = 1000; // client initial sequence number
const S_ISN = 5000; // server initial sequence number

/**
 * Drives a TcpTracker the way the conversation table does: one DecodedPacket reused for every
 * segment, payload in one scratch buffer that is overwritten each time (so the tracker must copy
 * what it keeps), frames numbered from 1.
 */
class Conv {
  readonly t: TcpTracker;
  readonly pkt = new DecodedPacket();
  readonly scratch = new Uint8Array(70000);
  frame = 0;
  constructor(cap = 16384) {
    this.t = new TcpTracker(cap);
  }
  /** Send one segment; returns its frame number. */
  send(
    fromClient: boolean,
    flags: number,
    seq: number,
    ack: number,
    payload: Uint8Array | string = "",
    opts: { window?: number; missing?: number } = {},
  ): number {
    const p = this.pkt;
    p.reset();
    p.ipProto = 6; // TCP
    p.tcpFlags = flags; // FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10
    p.seq = seq >>> 0; // sequence number, modulo 2^32
    p.ack = flags & TCP_ACK ? ack >>> 0 : 0; // acknowledgment number, only meaningful with ACK
    p.window = opts.window ?? 65535; // advertised window (unscaled)
    const bytes = typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
    // Payload lies at offset 7 of the scratch buffer, after junk, like a view into a frame.
    this.scratch.fill(0xee);
    this.scratch.set(bytes, 7);
    p.payloadBuf = this.scratch;
    p.payloadOffset = 7;
    p.payloadLength = bytes.length;
    p.payloadMissing = opts.missing ?? 0; // bytes the snap length cut
    const f = ++this.frame;
    this.t.segment(fromClient, p, f);
    // Poison the reused buffer, as the next decoded packet would.
    this.scratch.fill(0xdd);
    return f;
  }
  c(flags: number, seq: number, ack: number, payload: Uint8Array | string = "", opts = {}): number {
    return this.send(true, flags, seq, ack, payload, opts);
  }
  s(flags: number, seq: number, ack: number, payload: Uint8Array | string = "", opts = {}): number {
    return this.send(false, flags, seq, ack, payload, opts);
  }
  /** SYN, SYN-ACK, ACK with the default ISNs. */
  handshake(): this {
    this.c(SYN, C_ISN, 0);
    this.s(SA, S_ISN, C_ISN + 1);
    this.c(A, C_ISN + 1, S_ISN + 1);
    return this;
  }
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);
function pattern(n: number, seed = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >>> 8)) & 0xff;
  return b;
}

describe("TcpTracker conn_state and history (one test per Zeek conn_state)", () => {
  it("S0: SYN, no reply (a retransmitted SYN with the same ISN adds no letter)", () => {
    const v = new Conv();
    v.c(SYN, C_ISN, 0);
    v.c(SYN, C_ISN, 0);
    expect(v.t.state).toBe("S0");
    expect(v.t.history).toBe("S");
    expect(v.t.finished).toBe(false);
    expect(v.t.synSeen).toBe(true);
    expect(v.t.synAckSeen).toBe(false);
  });

  it("S1: established, not terminated", () => {
    const v = new Conv().handshake();
    v.c(PA, C_ISN + 1, S_ISN + 1, "GET /");
    expect(v.t.state).toBe("S1");
    expect(v.t.history).toBe("ShAD");
    expect(v.t.synAckSeen).toBe(true);
  });

  it("SF: normal establishment and termination, with stream bytes and sizes", () => {
    const v = new Conv().handshake();
    const fHello = v.c(PA, C_ISN + 1, S_ISN + 1, "hello");
    v.s(A, S_ISN + 1, C_ISN + 6);
    const fHey = v.s(PA, S_ISN + 1, C_ISN + 6, "hey");
    v.c(A, C_ISN + 6, S_ISN + 4);
    v.c(FA, C_ISN + 6, S_ISN + 4);
    expect(v.t.finished).toBe(false); // only one FIN so far
    v.s(FA, S_ISN + 4, C_ISN + 7);
    v.c(A, C_ISN + 7, S_ISN + 5);
    expect(v.t.state).toBe("SF");
    expect(v.t.history).toBe("ShADadFf");
    expect(v.t.finished).toBe(true);
    expect(text(v.t.client.bytes())).toBe("hello");
    expect(text(v.t.server.bytes())).toBe("hey");
    expect(v.t.client.done).toBe(true); // FIN seen and everything before it in
    expect(v.t.server.done).toBe(true);
    expect(v.t.client.gap).toBe(false);
    expect(v.t.firstSpeaker).toBe("client");
    expect(v.t.clientBytes).toBe(5);
    expect(v.t.serverBytes).toBe(3);
    expect(v.t.client.frameAt(0)).toBe(fHello);
    expect(v.t.client.frameAt(4)).toBe(fHello);
    expect(v.t.client.frameAt(5)).toBe(0);
    expect(v.t.server.frameAt(2)).toBe(fHey);
    expect(v.t.counters).toEqual({
      retransmissions: 0,
      outOfOrder: 0,
      overlaps: 0,
      gaps: 0,
      gapBytes: 0,
      zeroWindows: 0,
      inconsistentOverlaps: 0,
    });
  });

  it("REJ: SYN answered by RST-ACK", () => {
    const v = new Conv();
    v.c(SYN, C_ISN, 0);
    v.s(RA, 0, C_ISN + 1);
    expect(v.t.state).toBe("REJ");
    expect(v.t.history).toBe("Sr");
    expect(v.t.finished).toBe(true);
    expect(v.t.server.done).toBe(true);
    expect(v.t.server.bytes().length).toBe(0);
  });

  it("S2: established, client FIN, no reply", () => {
    const v = new Conv().handshake();
    v.c(FA, C_ISN + 1, S_ISN + 1);
    expect(v.t.state).toBe("S2");
    expect(v.t.history).toBe("ShAF");
    expect(v.t.finished).toBe(false);
  });

  it("S3: established, server FIN, no reply", () => {
    const v = new Conv().handshake();
    v.s(FA, S_ISN + 1, C_ISN + 1);
    expect(v.t.state).toBe("S3");
    expect(v.t.history).toBe("ShAf");
  });

  it("RSTO: established, client aborts", () => {
    const v = new Conv().handshake();
    v.c(PA, C_ISN + 1, S_ISN + 1, "abc");
    v.c(RA, C_ISN + 4, S_ISN + 1);
    expect(v.t.state).toBe("RSTO");
    expect(v.t.history).toBe("ShADR");
    expect(v.t.finished).toBe(true);
  });

  it("RSTR: established, server resets", () => {
    const v = new Conv().handshake();
    v.s(RA, S_ISN + 1, C_ISN + 1);
    expect(v.t.state).toBe("RSTR");
    expect(v.t.history).toBe("ShAr");
  });

  it("RSTOS0: client SYN then client RST, no SYN-ACK", () => {
    const v = new Conv();
    v.c(SYN, C_ISN, 0);
    v.c(R, C_ISN + 1, 0);
    expect(v.t.state).toBe("RSTOS0");
    expect(v.t.history).toBe("SR");
  });

  it("RSTRH: server SYN-ACK then server RST, no SYN seen ('^': first packet came from the server)", () => {
    const v = new Conv();
    v.s(SA, S_ISN, C_ISN + 1);
    v.s(R, S_ISN + 1, 0);
    expect(v.t.state).toBe("RSTRH");
    expect(v.t.history).toBe("^hr");
    expect(v.t.synSeen).toBe(false);
    expect(v.t.synAckSeen).toBe(true);
  });

  it("SH: client SYN then client FIN, no SYN-ACK", () => {
    const v = new Conv();
    v.c(SYN, C_ISN, 0);
    v.c(TCP_FIN, C_ISN + 1, 0);
    expect(v.t.state).toBe("SH");
    expect(v.t.history).toBe("SF");
  });

  it("SHR: server SYN-ACK then server FIN, no SYN", () => {
    const v = new Conv();
    v.s(SA, S_ISN, C_ISN + 1);
    v.s(FA, S_ISN + 1, C_ISN + 1);
    expect(v.t.state).toBe("SHR");
    expect(v.t.history).toBe("^hf");
  });

  it("OTH: midstream traffic, no SYN", () => {
    const v = new Conv();
    v.c(PA, 77777, 88888, "data");
    v.s(A, 88888, 77781);
    expect(v.t.state).toBe("OTH");
    expect(v.t.history).toBe("Da");
    expect(text(v.t.client.bytes())).toBe("data"); // offset 0 = first segment's seq
  });

  it("OTH: midstream, server first ('^'), then client RST does not look like RSTOS0", () => {
    const v = new Conv();
    v.s(PA, 88888, 77777, "SSH-2.0-x\r\n");
    v.c(RA, 77777, 88899);
    expect(v.t.history).toBe("^dR");
    expect(v.t.state).toBe("OTH");
    expect(v.t.firstSpeaker).toBe("server");
  });

  it("a SYN carrying data (TCP Fast Open) keeps the data at offset 0; Zeek marks it 'S' then 'T'", () => {
    const v = new Conv();
    v.c(SYN, C_ISN, 0, "early");
    v.s(SA, S_ISN, C_ISN + 6);
    expect(text(v.t.client.bytes())).toBe("early");
    expect(v.t.history).toBe("STh");
    expect(v.t.counters.retransmissions).toBe(0);
  });

  it("SYN+FIN is a multi-flag packet 'Q'", () => {
    const v = new Conv();
    v.c(TCP_SYN | TCP_FIN, C_ISN, 0);
    expect(v.t.history).toBe("Q");
    expect(v.t.state).toBe("SH");
  });

  it("FIN+RST is an inconsistent packet 'I'", () => {
    const v = new Conv().handshake();
    v.c(TCP_FIN | TCP_RST | TCP_ACK, C_ISN + 1, S_ISN + 1);
    expect(v.t.history).toBe("ShAI");
    expect(v.t.state).toBe("RSTO");
  });
});

describe("tcpConnState (pure)", () => {
  const E = EndpointState;
  it("derives every state from endpoint states", () => {
    expect(tcpConnState(E.SynSent, E.Inactive, 0, 0, "S")).toBe("S0");
    expect(tcpConnState(E.Established, E.Established, 0, 0, "ShA")).toBe("S1");
    expect(tcpConnState(E.Closed, E.Closed, 1, 1, "ShADadFf")).toBe("SF");
    expect(tcpConnState(E.SynSent, E.Reset, 0, 0, "Sr")).toBe("REJ");
    expect(tcpConnState(E.Reset, E.Reset, 0, 0, "SrR")).toBe("REJ");
    expect(tcpConnState(E.Reset, E.Reset, 5, 0, "ShADRr")).toBe("RSTR");
    expect(tcpConnState(E.Closed, E.Established, 0, 0, "ShAF")).toBe("S2");
    expect(tcpConnState(E.Established, E.Closed, 0, 0, "ShAf")).toBe("S3");
    expect(tcpConnState(E.Reset, E.Established, 0, 0, "ShAR")).toBe("RSTO");
    expect(tcpConnState(E.Established, E.Reset, 0, 0, "ShAr")).toBe("RSTR");
    expect(tcpConnState(E.Reset, E.Inactive, 0, 0, "SR")).toBe("RSTOS0");
    expect(tcpConnState(E.Reset, E.Inactive, 0, 0, "^SR")).toBe("RSTOS0");
    expect(tcpConnState(E.Reset, E.Inactive, 0, 0, "SAR")).toBe("OTH");
    expect(tcpConnState(E.Inactive, E.Reset, 0, 0, "^hr")).toBe("RSTRH");
    expect(tcpConnState(E.Closed, E.Inactive, 0, 0, "SF")).toBe("SH");
    expect(tcpConnState(E.Inactive, E.Closed, 0, 0, "^hf")).toBe("SHR");
    expect(tcpConnState(E.Partial, E.Partial, 0, 0, "Da")).toBe("OTH");
  });
});

describe("TcpTracker counters", () => {
  it("a retransmitted segment is counted once, kept once, and adds 'T'", () => {
    const v = new Conv().handshake();
    const data = pattern(100);
    v.c(PA, C_ISN + 1, S_ISN + 1, data);
    v.c(PA, C_ISN + 1, S_ISN + 1, data);
    expect(v.t.counters.retransmissions).toBe(1);
    expect(v.t.counters.outOfOrder).toBe(0);
    expect(v.t.counters.overlaps).toBe(0);
    expect(v.t.duplicateBytes).toBe(100);
    expect(v.t.history).toBe("ShADT");
    expect(v.t.client.bytes()).toEqual(data);
  });

  it("'t'/'T' repeat on Zeek's log scale: at 1, 10 and 100 occurrences", () => {
    const v = new Conv().handshake();
    v.c(PA, C_ISN + 1, S_ISN + 1, "x");
    for (let i = 0; i < 9; i++) v.c(PA, C_ISN + 1, S_ISN + 1, "x");
    expect(v.t.history).toBe("ShADT"); // 9 retransmissions
    v.c(PA, C_ISN + 1, S_ISN + 1, "x");
    expect(v.t.history).toBe("ShADTT"); // the 10th
    for (let i = 0; i < 89; i++) v.c(PA, C_ISN + 1, S_ISN + 1, "x");
    expect(v.t.history).toBe("ShADTT"); // 99
    v.c(PA, C_ISN + 1, S_ISN + 1, "x");
    expect(v.t.history).toBe("ShADTTT"); // 100
    expect(v.t.counters.retransmissions).toBe(100);
  });

  it("out-of-order arrival fills the hole; Zeek still marks it 't' (it does not advance the sequence)", () => {
    const v = new Conv().handshake();
    const all = pattern(300, 1);
    const f1 = v.c(PA, C_ISN + 1, S_ISN + 1, all.subarray(0, 100));
    const f3 = v.c(PA, C_ISN + 201, S_ISN + 1, all.subarray(200, 300));
    expect(v.t.client.bytes().length).toBe(100); // held beyond the hole
    expect(v.t.client.heldBytes).toBe(100);
    const f2 = v.c(PA, C_ISN + 101, S_ISN + 1, all.subarray(100, 200));
    expect(v.t.client.bytes()).toEqual(all);
    expect(v.t.counters.outOfOrder).toBe(1);
    expect(v.t.counters.retransmissions).toBe(0);
    expect(v.t.counters.gaps).toBe(0);
    expect(v.t.history).toBe("ShADT");
    expect(v.t.client.frameAt(0)).toBe(f1);
    expect(v.t.client.frameAt(150)).toBe(f2);
    expect(v.t.client.frameAt(299)).toBe(f3);
    // The server then ACKs everything: nothing is missing.
    v.s(A, S_ISN + 1, C_ISN + 301);
    expect(v.t.counters.gaps).toBe(0);
    expect(v.t.client.gap).toBe(false);
  });

  it("an overlapping segment that agrees keeps the first copy and counts one overlap", () => {
    const v = new Conv().handshake();
    const data = pattern(150, 2);
    v.c(PA, C_ISN + 1, S_ISN + 1, data.subarray(0, 100));
    v.c(PA, C_ISN + 51, S_ISN + 1, data.subarray(50, 150)); // offsets 50..149, the same bytes at 50..99
    expect(v.t.client.bytes()).toEqual(data);
    expect(v.t.counters.overlaps).toBe(1);
    expect(v.t.counters.inconsistentOverlaps).toBe(0);
    expect(v.t.counters.retransmissions).toBe(0);
    expect(v.t.duplicateBytes).toBe(50);
    expect(v.t.history).toBe("ShAD"); // it advanced the sequence: not a 't'
  });

  it("an overlapping segment that disagrees and runs past the end wins: the longer consistent stream (issue 18)", () => {
    const v = new Conv().handshake();
    const first = pattern(100, 2);
    const second = pattern(100, 3); // differs from `first` where they overlap
    v.c(PA, C_ISN + 1, S_ISN + 1, first);
    v.c(PA, C_ISN + 51, S_ISN + 1, second); // offsets 50..149
    const got = v.t.client.bytes();
    expect(got.length).toBe(150);
    expect(got.subarray(0, 50)).toEqual(first.subarray(0, 50));
    expect(got.subarray(50, 150)).toEqual(second);
    expect(v.t.client.frameAt(49)).toBe(v.frame - 1);
    expect(v.t.client.frameAt(50)).toBe(v.frame);
    expect(v.t.counters.overlaps).toBe(1);
    expect(v.t.counters.inconsistentOverlaps).toBe(1);
    expect(v.t.client.inconsistentAt).toBe(50);
  });

  it("a retransmission inside the kept bytes that disagrees keeps the first copy and is counted", () => {
    const v = new Conv().handshake();
    const first = pattern(100, 2);
    v.c(PA, C_ISN + 1, S_ISN + 1, first);
    v.c(PA, C_ISN + 11, S_ISN + 1, pattern(20, 9)); // offsets 10..29, other bytes
    expect(v.t.client.bytes()).toEqual(first);
    expect(v.t.counters.inconsistentOverlaps).toBe(1);
    expect(v.t.counters.retransmissions).toBe(1);
  });

  it("a hole the server ACKs past is a gap ('G'), and the kept prefix stops there", () => {
    const v = new Conv().handshake();
    v.c(PA, C_ISN + 1, S_ISN + 1, pattern(100));
    v.c(PA, C_ISN + 201, S_ISN + 1, pattern(100)); // offsets 100..199 never captured
    expect(v.t.counters.gaps).toBe(0); // not yet: it might still arrive
    v.s(A, S_ISN + 1, C_ISN + 301);
    expect(v.t.counters.gaps).toBe(1);
    expect(v.t.counters.gapBytes).toBe(100);
    expect(v.t.history).toBe("ShADaG");
    expect(v.t.client.gap).toBe(true);
    expect(v.t.client.done).toBe(true);
    expect(v.t.client.bytes().length).toBe(100);
    // The same ACK again reveals nothing new.
    v.s(A, S_ISN + 1, C_ISN + 301);
    expect(v.t.counters.gaps).toBe(1);
  });

  it("an ACK for bytes never seen at all is a gap too", () => {
    const v = new Conv().handshake();
    v.s(A, S_ISN + 1, C_ISN + 51); // server acks 50 client bytes we never captured
    expect(v.t.counters.gaps).toBe(1);
    expect(v.t.counters.gapBytes).toBe(50);
    expect(v.t.history).toBe("ShAaG");
  });

  it("an open hole at finish() is a gap (counted; no history letter, as in Zeek)", () => {
    const v = new Conv().handshake();
    v.c(PA, C_ISN + 1, S_ISN + 1, pattern(10));
    v.c(PA, C_ISN + 21, S_ISN + 1, pattern(10));
    expect(v.t.client.done).toBe(false);
    v.t.finish();
    expect(v.t.counters.gaps).toBe(1);
    expect(v.t.counters.gapBytes).toBe(10);
    expect(v.t.client.gap).toBe(true);
    expect(v.t.client.done).toBe(true);
    expect(v.t.server.gap).toBe(false);
    expect(v.t.server.done).toBe(true);
    expect(v.t.history).toBe("ShAD");
  });

  it("data before a FIN that never showed up (and was never ACKed) is a gap at finish()", () => {
    const v = new Conv().handshake();
    v.c(PA, C_ISN + 1, S_ISN + 1, pattern(10));
    v.c(FA, C_ISN + 31, S_ISN + 1); // FIN after 30 bytes: 20 never captured
    expect(v.t.counters.gaps).toBe(0);
    v.t.finish();
    expect(v.t.counters.gaps).toBe(1);
    expect(v.t.counters.gapBytes).toBe(20);
    expect(v.t.client.gap).toBe(true);
  });

  it("bytes the snap length cut are missing content: a gap once ACKed", () => {
    const v = new Conv().handshake();
    v.c(PA, C_ISN + 1, S_ISN + 1, pattern(60), { missing: 40 }); // 100-byte segment, 60 captured
    expect(v.t.client.bytes().length).toBe(60);
    v.s(A, S_ISN + 1, C_ISN + 101);
    expect(v.t.counters.gaps).toBe(1);
    expect(v.t.counters.gapBytes).toBe(40);
    expect(v.t.client.gap).toBe(true);
  });

  it("no 'g' while the connection is not cleanly established (RST ACKs are not trusted)", () => {
    const v = new Conv().handshake();
    v.c(PA, C_ISN + 1, S_ISN + 1, pattern(10));
    v.s(RA, S_ISN + 1, C_ISN + 500);
    expect(v.t.counters.gaps).toBe(0);
    expect(v.t.history).toBe("ShADr");
  });

  it("a segment filling the middle of a hole splits it; the ACK then reveals two gaps", () => {
    const v = new Conv().handshake();
    v.c(PA, C_ISN + 1, S_ISN + 1, pattern(10)); // 0..9
    v.c(PA, C_ISN + 31, S_ISN + 1, pattern(10)); // 30..39
    v.c(PA, C_ISN + 16, S_ISN + 1, pattern(5)); // 15..19, inside the hole 10..29
    expect(v.t.counters.outOfOrder).toBe(1);
    v.s(A, S_ISN + 1, C_ISN + 41);
    expect(v.t.counters.gaps).toBe(2);
    expect(v.t.counters.gapBytes).toBe(15);
    expect(v.t.history).toBe("ShADTaG"); // 'G' once: the second would come at 10
  });

  it("the hole list is bounded: past 16 holes the closest merge, nothing is written off before an ACK or the end", () => {
    const v = new Conv().handshake();
    // 20 ten-byte segments with a one-byte hole after each of the first 19.
    for (let i = 0; i < 20; i++) v.c(PA, C_ISN + 1 + i * 11, S_ISN + 1, pattern(10, i));
    expect(v.t.counters.gaps).toBe(0);
    expect(v.t.client.bytes().length).toBe(10); // the prefix stops at the first hole
    // A late byte in a merged hole fills it: out-of-order, not a retransmission.
    v.c(PA, C_ISN + 1 + 10, S_ISN + 1, "x");
    expect(v.t.counters.outOfOrder).toBe(1);
    expect(v.t.counters.retransmissions).toBe(0);
    expect(v.t.client.bytes().length).toBe(21);
    v.t.finish();
    // 18 one-byte holes still missing, in at most 16 entries (the merged ones count one gap each).
    expect(v.t.counters.gapBytes).toBe(18);
    expect(v.t.counters.gaps).toBeGreaterThanOrEqual(1);
    expect(v.t.counters.gaps).toBeLessThanOrEqual(16);
  });

  it("an ACK past merged holes declares only their missing bytes as gaps", () => {
    const v = new Conv().handshake();
    for (let i = 0; i < 20; i++) v.c(PA, C_ISN + 1 + i * 11, S_ISN + 1, pattern(10, i)); // 19 one-byte holes
    v.c(PA, C_ISN + 1 + 10, S_ISN + 1, "x"); // fills the first
    v.s(A, S_ISN + 1, C_ISN + 1 + 20 * 11 - 1); // the server ACKs everything the client sent
    expect(v.t.counters.gapBytes).toBe(18);
    expect(v.t.counters.retransmissions).toBe(0);
  });

  it("a shuffled stream of 20,000 segments: every late segment is out-of-order, none a retransmission (issue 19)", () => {
    // Before: once more than 16 holes were open the lowest was written off, and every later
    // segment landing there counted as a retransmission (1 M shuffled segments: 999,983 of them).
    const v = new Conv(1024).handshake();
    const n = 20_000;
    const order = Array.from({ length: n }, (_, i) => i);
    const rand = rng(19);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    let advanced = 0;
    let highest = -1;
    for (const i of order) {
      if (i > highest) {
        advanced++;
        highest = i;
      }
      v.c(PA, C_ISN + 1 + i * 100, S_ISN + 1, pattern(100, i)); // segment i: stream bytes [100 i, 100 i + 100)
    }
    const k = v.t.counters;
    expect(k.retransmissions).toBe(0);
    expect(k.outOfOrder).toBe(n - advanced); // each segment below the highest seen filled a hole
    expect(k.overlaps).toBe(0);
    // Everything arrived: the server's ACK of all of it reveals no gap.
    v.s(A, S_ISN + 1, C_ISN + 1 + n * 100);
    expect(k.gaps).toBe(0);
    // Now real retransmissions: 5 segments sent again.
    for (const i of [0, 7, 100, 9999, n - 1]) v.c(PA, C_ISN + 1 + i * 100, S_ISN + 1, pattern(100, i));
    expect(k.retransmissions).toBe(5);
    expect(k.outOfOrder).toBe(n - advanced);
    v.t.finish();
    expect(k.gaps).toBe(0);
    expect(v.t.client.bytes()).toEqual(Uint8Array.from({ length: 1024 }, (_, j) => pattern(100, Math.floor(j / 100))[j % 100]));
  });

  it("midstream (partial) connections count gaps but print no 'g', as Zeek", () => {
    const v = new Conv();
    v.c(PA, 77777, 88888, pattern(10)); // offsets 0..9
    v.c(PA, 77797, 88888, pattern(10)); // offsets 20..29: 10..19 missing
    v.s(A, 88888, 77807); // server ACKs all 30
    expect(v.t.counters.gaps).toBe(1);
    expect(v.t.counters.gapBytes).toBe(10);
    expect(v.t.history).toBe("Da");
    expect(v.t.state).toBe("OTH");
  });

  it("counts zero windows ('w'), but not on a RST or after the peer's FIN", () => {
    const v = new Conv().handshake();
    v.s(A, S_ISN + 1, C_ISN + 1, "", { window: 0 });
    expect(v.t.counters.zeroWindows).toBe(1);
    expect(v.t.history).toBe("ShAaw");
    v.s(A, S_ISN + 1, C_ISN + 1, "", { window: 0 });
    expect(v.t.counters.zeroWindows).toBe(2);
    expect(v.t.history).toBe("ShAaw"); // the second 'w' would come at 10
    v.c(FA, C_ISN + 1, S_ISN + 1);
    v.s(A, S_ISN + 1, C_ISN + 2, "", { window: 0 }); // peer (client) has closed
    v.s(RA, S_ISN + 1, C_ISN + 2, "", { window: 0 }); // RST
    expect(v.t.counters.zeroWindows).toBe(2);
  });

  it("sequence numbers wrap at 2^32", () => {
    const v = new Conv();
    const isn = 0xfffffffa; // data starts at 0xfffffffb and crosses 2^32
    const all = pattern(40, 4);
    v.c(SYN, isn, 0);
    v.s(SA, S_ISN, isn + 1);
    v.c(A, isn + 1, S_ISN + 1);
    v.c(PA, isn + 1, S_ISN + 1, all.subarray(0, 10)); // seq 0xfffffffb
    v.c(PA, isn + 21, S_ISN + 1, all.subarray(20, 40)); // seq 0x0000000f: after the wrap, ahead of a hole
    v.c(PA, isn + 11, S_ISN + 1, all.subarray(10, 20)); // seq 0x00000005 fills it
    v.c(PA, isn + 1, S_ISN + 1, all.subarray(0, 10)); // a retransmission from before the wrap
    v.s(A, S_ISN + 1, (isn + 41) >>> 0);
    expect(v.t.client.bytes()).toEqual(all);
    expect(v.t.counters.outOfOrder).toBe(1);
    expect(v.t.counters.retransmissions).toBe(1);
    expect(v.t.counters.gaps).toBe(0);
    expect(v.t.history).toBe("ShADTa");
    expect(v.t.clientBytes).toBe(40);
  });

  it("reassembles one-byte segments; the frame map is bounded", () => {
    const v = new Conv().handshake();
    const all = pattern(1000, 5);
    const frames: number[] = [];
    for (let i = 0; i < 1000; i++) frames.push(v.c(PA, C_ISN + 1 + i, S_ISN + 1, all.subarray(i, i + 1)));
    expect(v.t.client.bytes()).toEqual(all);
    expect(v.t.client.frameAt(0)).toBe(frames[0]);
    expect(v.t.client.frameAt(255)).toBe(frames[255]);
    expect(v.t.client.frameAt(256)).toBe(0); // past the 256 remembered runs: unknown, never wrong
    expect(v.t.counters.retransmissions).toBe(0);
  });

  it("one-byte segments in reverse order are held and placed when the hole fills", () => {
    const v = new Conv().handshake();
    const all = pattern(200, 6);
    for (let i = 199; i >= 1; i--) v.c(PA, C_ISN + 1 + i, S_ISN + 1, all.subarray(i, i + 1));
    expect(v.t.client.bytes().length).toBe(0);
    expect(v.t.client.heldBytes).toBe(199);
    const f0 = v.c(PA, C_ISN + 1, S_ISN + 1, all.subarray(0, 1));
    expect(v.t.client.bytes()).toEqual(all);
    expect(v.t.client.frameAt(0)).toBe(f0);
    expect(v.t.counters.outOfOrder).toBe(199); // every later arrival filled part of the hole
    expect(v.t.counters.gaps).toBe(0);
  });

  it("a 1 MB stream keeps exactly `cap` bytes; memory stays bounded", () => {
    const cap = 16384;
    const v = new Conv(cap);
    v.handshake();
    const mb = pattern(1 << 20, 7);
    const mss = 1460;
    let maxAlloc = 0;
    for (let off = 0; off < mb.length; off += mss) {
      const chunk = mb.subarray(off, Math.min(mb.length, off + mss));
      v.c(PA, C_ISN + 1 + off, S_ISN + 1, chunk);
      if (off % (mss * 64) === 0) v.s(A, S_ISN + 1, C_ISN + 1 + off + chunk.length);
      maxAlloc = Math.max(maxAlloc, v.t.client.allocatedBytes);
    }
    v.c(FA, C_ISN + 1 + mb.length, S_ISN + 1);
    expect(v.t.client.bytes().length).toBe(cap);
    expect(v.t.client.bytes()).toEqual(mb.subarray(0, cap));
    expect(v.t.client.done).toBe(true);
    expect(v.t.client.gap).toBe(false);
    expect(maxAlloc).toBeLessThanOrEqual(cap + cap / 8 + 256 * 12);
    expect(v.t.clientBytes).toBe(1 << 20);
    expect(v.t.counters.gaps).toBe(0);
    expect(v.t.counters.retransmissions).toBe(0);
  });

  it("a SYN-only conversation allocates no payload buffer", () => {
    const v = new Conv();
    v.c(SYN, C_ISN, 0);
    v.s(RA, 0, C_ISN + 1);
    expect(v.t.client.allocatedBytes).toBe(0);
    expect(v.t.server.allocatedBytes).toBe(0);
  });

  it("holds nothing beyond the cap window", () => {
    const v = new Conv(1000);
    v.handshake();
    v.c(PA, C_ISN + 1 + 5000, S_ISN + 1, pattern(500)); // far beyond the window
    expect(v.t.client.heldBytes).toBe(0);
    expect(v.t.client.allocatedBytes).toBe(0);
  });

  it("the server speaking first (banner protocols) is reported", () => {
    const v = new Conv().handshake();
    v.s(PA, S_ISN + 1, C_ISN + 1, "SSH-2.0-OpenSSH_9.6\r\n");
    v.c(PA, C_ISN + 1, S_ISN + 22, "SSH-2.0-client\r\n");
    expect(v.t.firstSpeaker).toBe("server");
    expect(v.t.history).toBe("ShAdD");
  });

  it("startsNew: a fresh SYN after the connection is over, not a retransmitted one", () => {
    const v = new Conv();
    v.c(SYN, C_ISN, 0);
    const p = new DecodedPacket();
    p.tcpFlags = SYN;
    p.seq = 99999;
    expect(v.t.startsNew(true, p)).toBe(false); // not finished yet
    v.s(RA, 0, C_ISN + 1);
    expect(v.t.startsNew(true, p)).toBe(true);
    p.seq = C_ISN;
    expect(v.t.startsNew(true, p)).toBe(false); // same ISN: the client retrying
  });
});

describe("UDP state and history", () => {
  it("udpState follows Zeek's conn_state for UDP", () => {
    expect(udpState(3, 0)).toBe("S0");
    expect(udpState(1, 1)).toBe("SF");
    expect(udpState(0, 2)).toBe("SHR");
    expect(udpState(0, 0)).toBe("OTH");
  });
  it("udpHistory prints D (client) and d (server), '^' when the server spoke first", () => {
    expect(udpHistory(true, true)).toBe("Dd");
    expect(udpHistory(true, false)).toBe("D");
    expect(udpHistory(false, true)).toBe("d");
    expect(udpHistory(false, false)).toBe("");
    expect(udpHistory(true, true, true)).toBe("^dD");
  });
});
