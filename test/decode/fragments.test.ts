import { describe, expect, it } from "vitest";
import { DecodeContext, decodePacket, hasTransport } from "../../src/decode/decode.js";
import { DATAGRAM_OVERHEAD } from "../../src/decode/datagram.js";
import { DEFAULT_FRAGMENT_LIMITS, FragmentReassembler, FragResult } from "../../src/decode/fragments.js";
import { DecodedPacket } from "../../src/decode/packet.js";
import { Status } from "../../src/decode/status.js";
import { cat, eth, extHeader, fill, fragHeader, IP6_A, IP6_B, ipv4, ipv6, payloadOf, ramp, record, tcp, udp } from "./build.js";

const T0 = 1_700_000_000;

/** Split an IP payload into IPv4 fragments of `size` bytes (a multiple of 8) each. */
function v4Fragments(payload: Uint8Array, size: number, proto = 17, id = 0x4242): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < payload.length; off += size) {
    const part = payload.subarray(off, Math.min(off + size, payload.length));
    out.push(eth(0x0800, ipv4({ proto, id, fragOffset: off, more: off + size < payload.length, payload: part })));
  }
  return out;
}

/** Split a fragmentable part into IPv6 fragments; `unfrag` headers go before the fragment header. */
function v6Fragments(fragmentable: Uint8Array, size: number, firstNext: number, id = 0xabcdef01): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < fragmentable.length; off += size) {
    const part = fragmentable.subarray(off, Math.min(off + size, fragmentable.length));
    out.push(eth(0x86dd, ipv6({ next: 44, payload: cat(fragHeader(firstNext, off, off + size < fragmentable.length, id), part) })));
  }
  return out;
}

class Run {
  readonly p = new DecodedPacket();
  readonly ctx: DecodeContext;
  constructor(readonly frags = new FragmentReassembler()) {
    this.ctx = new DecodeContext(frags);
  }
  decode(frame: Uint8Array, ts = T0, caplen = frame.length): number {
    return decodePacket(record(frame, caplen, frame.length, 1, ts), this.p, this.ctx);
  }
}

const dnsAnswer = udp({ sport: 53, dport: 33333, payload: ramp(3000, 7) }); // 3008 bytes, like a big DNS answer

describe("IPv4 fragments through decodePacket", () => {
  it("in order: earlier fragments are FragmentPending, the last one carries UDP from the reassembled datagram", () => {
    const frames = v4Fragments(dnsAnswer, 1480);
    expect(frames.length).toBe(3);
    const r = new Run();
    for (const f of frames.slice(0, 2)) {
      expect(r.decode(f)).toBe(Status.FragmentPending);
      expect(r.p.wasFragment).toBe(true);
      expect(r.p.reassembled).toBe(false);
      expect(r.p.srcPort).toBe(0);
      expect(hasTransport(r.p)).toBe(false);
    }
    expect(r.decode(frames[2])).toBe(Status.OK);
    expect(r.p.wasFragment).toBe(true);
    expect(r.p.reassembled).toBe(true);
    expect(r.p.srcPort).toBe(53);
    expect(r.p.dstPort).toBe(33333);
    expect(payloadOf(r.p)).toEqual(ramp(3000, 7));
    expect(hasTransport(r.p)).toBe(true);
    expect(r.frags.datagramsReassembled).toBe(1);
    expect(r.frags.fragmentsHeld).toBe(3);
    expect(r.frags.datagramsInProgress).toBe(0);
    expect(r.frags.bytesHeld).toBe(0);
  });

  it("out of order: the frame that fills the last hole completes it", () => {
    const [a, b, c] = v4Fragments(dnsAnswer, 1024);
    const r = new Run();
    expect(r.decode(c)).toBe(Status.FragmentPending);
    expect(r.decode(a)).toBe(Status.FragmentPending);
    expect(r.decode(b)).toBe(Status.OK);
    expect(r.p.reassembled).toBe(true);
    expect(payloadOf(r.p)).toEqual(ramp(3000, 7));
  });

  it("TCP in fragments (as in Zeek's fragmented-4 trace): the completing frame carries the segment", () => {
    const seg = tcp({ sport: 7790, dport: 80, flags: 0x18, seq: 5, payload: Array.from(Buffer.from("GET /msadc/ HTTP/1.0\r\n\r\n")) });
    const frames = v4Fragments(seg, 16, 6);
    const r = new Run();
    expect(frames.length).toBe(3); // 44 bytes in 16-byte fragments
    const statuses = [2, 0, 1].map((i) => r.decode(frames[i]));
    expect(statuses).toEqual([Status.FragmentPending, Status.FragmentPending, Status.OK]);
    expect(r.p.ipProto).toBe(6);
    expect(r.p.dstPort).toBe(80);
    expect(r.p.seq).toBe(5);
    expect(Buffer.from(payloadOf(r.p)).toString()).toBe("GET /msadc/ HTTP/1.0\r\n\r\n");
  });

  it("an exact duplicate fragment is counted as an overlap and changes nothing", () => {
    const [a, b, c] = v4Fragments(dnsAnswer, 1480);
    const r = new Run();
    r.decode(a);
    r.decode(a);
    r.decode(b);
    expect(r.decode(c)).toBe(Status.OK);
    expect(r.frags.overlaps).toBe(1);
    expect(payloadOf(r.p)).toEqual(ramp(3000, 7));
  });

  it("overlapping fragments with different bytes: the first copy wins", () => {
    const payload = cat(udp({ payload: fill(40, 0x11) }));
    // Fragment 1: bytes [0, 24) original. Fragment 2: bytes [16, 48) of 0x22 — overlaps [16, 24).
    const f1 = eth(0x0800, ipv4({ proto: 17, id: 9, more: true, payload: payload.subarray(0, 24) }));
    const f2 = eth(0x0800, ipv4({ proto: 17, id: 9, fragOffset: 16, more: false, payload: fill(32, 0x22) }));
    const r = new Run();
    expect(r.decode(f1)).toBe(Status.FragmentPending);
    expect(r.decode(f2)).toBe(Status.OK);
    expect(r.frags.overlaps).toBe(1);
    // UDP payload = bytes [8, 48): [8, 24) from f1 (0x11), [24, 48) from f2 (0x22).
    expect(payloadOf(r.p)).toEqual([...fill(16, 0x11), ...fill(24, 0x22)]);
  });

  it("a missing fragment: the datagram times out in capture time and is counted", () => {
    const [a, b, c] = v4Fragments(dnsAnswer, 1480);
    const r = new Run();
    r.decode(a, T0);
    r.decode(c, T0 + 1);
    expect(r.frags.datagramsInProgress).toBe(1);
    // Any later packet past the timeout expires it.
    r.decode(eth(0x0800, ipv4({ proto: 17, payload: udp() })), T0 + DEFAULT_FRAGMENT_LIMITS.timeoutSec + 1);
    expect(r.frags.timedOut).toBe(1);
    expect(r.frags.datagramsInProgress).toBe(0);
    expect(r.frags.bytesHeld).toBe(0);
    // The late fragment now starts a new datagram rather than completing the old one.
    expect(r.decode(b, T0 + 40)).toBe(Status.FragmentPending);
    expect(r.frags.datagramsReassembled).toBe(0);
  });

  it("within the timeout it still completes", () => {
    const [a, b, c] = v4Fragments(dnsAnswer, 1480);
    const r = new Run();
    r.decode(a, T0);
    r.decode(c, T0 + 10);
    expect(r.decode(b, T0 + DEFAULT_FRAGMENT_LIMITS.timeoutSec)).toBe(Status.OK);
  });

  it("the same id with another protocol, source or destination is another datagram", () => {
    const [a, b] = v4Fragments(udp({ payload: ramp(20) }), 16, 17, 77);
    const tcpSame = eth(0x0800, ipv4({ proto: 6, id: 77, fragOffset: 16, payload: fill(12) }));
    const r = new Run();
    r.decode(a);
    expect(r.decode(tcpSame)).toBe(Status.FragmentPending);
    expect(r.frags.datagramsInProgress).toBe(2);
    expect(r.decode(b)).toBe(Status.OK);
    expect(r.frags.datagramsInProgress).toBe(1);
  });

  it("interleaved datagrams complete independently", () => {
    const x = v4Fragments(udp({ sport: 1, payload: ramp(100) }), 64, 17, 1);
    const y = v4Fragments(udp({ sport: 2, payload: ramp(100, 50) }), 64, 17, 2);
    const r = new Run();
    r.decode(x[0]);
    r.decode(y[0]);
    expect(r.decode(y[1])).toBe(Status.OK);
    expect(r.p.srcPort).toBe(2);
    expect(payloadOf(r.p)).toEqual(ramp(100, 50));
    expect(r.decode(x[1])).toBe(Status.OK);
    expect(r.p.srcPort).toBe(1);
  });

  it("a fragment cut by the snaplen is Truncated and not held", () => {
    const [a] = v4Fragments(dnsAnswer, 1480);
    const r = new Run();
    expect(r.decode(a, T0, 200)).toBe(Status.Truncated);
    expect(r.p.wasFragment).toBe(true);
    expect(r.frags.datagramsInProgress).toBe(0);
  });

  it("a fragment reaching past 65,535 bytes is Malformed and its datagram dropped", () => {
    const r = new Run();
    r.decode(eth(0x0800, ipv4({ proto: 17, id: 5, more: true, payload: fill(16) })));
    const bad = eth(0x0800, ipv4({ proto: 17, id: 5, more: true, fragOffset: 8191 * 8, payload: fill(16) }));
    expect(r.decode(bad)).toBe(Status.Malformed);
    expect(r.p.failedLayer).toBe("ipv4");
    expect(r.frags.dropped).toBe(1);
    expect(r.frags.datagramsInProgress).toBe(0);
  });

  it("a reassembled datagram stays valid for the packet that completed it even as new fragments arrive later", () => {
    const frames = v4Fragments(dnsAnswer, 1480);
    const r = new Run();
    frames.forEach((f) => r.decode(f));
    const view = r.p.payloadBuf;
    const copy = payloadOf(r.p);
    r.decode(v4Fragments(dnsAnswer, 1480, 17, 999)[0]);
    expect(Array.from(view.subarray(8, 8 + copy.length))).toEqual(copy);
  });
});

describe("65,535 tiny fragments through decodePacket", () => {
  it("IPv4: bounded memory, every one FragmentPending, and the datagram completes at the end", () => {
    // One frame, rewritten in place: 8 bytes of UDP-ish data at offset (i mod 8191) × 8, MF set.
    const frame = eth(0x0800, ipv4({ proto: 17, id: 3, more: true, payload: fill(8, 0x33) }));
    const r = new Run();
    const counts = new Map<number, number>();
    for (let i = 0; i < 65535; i++) {
      const units = i % 8191;
      frame[14 + 6] = 0x20 | (units >>> 8); // MF + offset high bits
      frame[14 + 7] = units & 0xff;
      const st = r.decode(frame);
      counts.set(st, (counts.get(st) ?? 0) + 1);
    }
    expect(counts).toEqual(new Map([[Status.FragmentPending, 65535]]));
    expect(r.frags.datagramsInProgress).toBe(1);
    expect(r.frags.bytesHeld).toBeLessThanOrEqual(65535 + 8192 + DATAGRAM_OVERHEAD); // buffer, bitmap, the datagram object
    // Byte 4-5 of the first copy at offset 0 is the UDP length: 0x3333 = 13107.
    const last = eth(0x0800, ipv4({ proto: 17, id: 3, fragOffset: 8191 * 8, payload: fill(7, 0x33) }));
    expect(r.decode(last)).toBe(Status.OK);
    expect(r.p.reassembled).toBe(true);
    expect(r.p.srcPort).toBe(0x3333);
    expect(r.p.payloadLength).toBe(0x3333 - 8);
  });

  it("IPv6: 65,535 fragments, each a new datagram, stay within maxDatagrams", () => {
    const frame = eth(0x86dd, ipv6({ next: 44, payload: cat(fragHeader(17, 0, true, 0), fill(8)) }));
    const r = new Run(new FragmentReassembler({ maxDatagrams: 256 }));
    let pending = 0;
    for (let i = 0; i < 65535; i++) {
      frame[14 + 40 + 6] = i >>> 8; // identification, low 16 bits
      frame[14 + 40 + 7] = i & 0xff;
      if (r.decode(frame) === Status.FragmentPending) pending++;
    }
    expect(pending).toBe(65535);
    expect(r.frags.datagramsInProgress).toBe(256);
    expect(r.frags.dropped).toBe(65535 - 256);
    expect(r.frags.bytesHeld).toBeLessThanOrEqual(r.frags.limits.maxBytes);
  });
});

describe("IPv6 fragments through decodePacket", () => {
  const fragmentable = udp({ sport: 53, dport: 40404, payload: ramp(2500, 3) });

  it("in order and out of order", () => {
    for (const order of [[0, 1], [1, 0]]) {
      const frames = v6Fragments(fragmentable, 1256, 17);
      expect(frames.length).toBe(2);
      const r = new Run();
      expect(r.decode(frames[order[0]])).toBe(Status.FragmentPending);
      expect(r.p.wasFragment).toBe(true);
      expect(r.p.ipVersion).toBe(6);
      expect(r.decode(frames[order[1]])).toBe(Status.OK);
      expect(r.p.reassembled).toBe(true);
      expect(r.p.ipProto).toBe(17);
      expect(r.p.dstPort).toBe(40404);
      expect(payloadOf(r.p)).toEqual(ramp(2500, 3));
      expect(Array.from(r.p.srcIp)).toEqual(IP6_A);
      expect(Array.from(r.p.dstIp)).toEqual(IP6_B);
    }
  });

  it("extension headers inside the fragmentable part are walked after reassembly", () => {
    const part = cat(extHeader(17, 1), fragmentable); // destination options (16 bytes), then UDP
    const frames = v6Fragments(part, 1024, 60);
    const r = new Run();
    const statuses = [2, 0, 1].map((i) => r.decode(frames[i]));
    expect(statuses).toEqual([Status.FragmentPending, Status.FragmentPending, Status.OK]);
    expect(r.p.ipProto).toBe(17);
    expect(r.p.srcPort).toBe(53);
    expect(payloadOf(r.p)).toEqual(ramp(2500, 3));
  });

  it("a hop-by-hop header before the fragment header (unfragmentable part) is fine", () => {
    const frames = v6Fragments(fragmentable, 1256, 17).map((f) => {
      // Rebuild with hop-by-hop in front of the fragment header.
      const ip = f.subarray(14);
      return eth(0x86dd, ipv6({ next: 0, payload: cat(extHeader(44), ip.subarray(40)) }));
    });
    const r = new Run();
    r.decode(frames[0]);
    expect(r.decode(frames[1])).toBe(Status.OK);
    expect(r.p.dstPort).toBe(40404);
  });

  it("overlap: the first copy wins and is counted", () => {
    const frames = v6Fragments(fragmentable, 1256, 17);
    const dup = v6Fragments(cat(fragmentable.subarray(0, 1256).map(() => 0xee), fragmentable.subarray(1256)), 1256, 17);
    const r = new Run();
    r.decode(frames[0]);
    r.decode(dup[0]);
    expect(r.decode(frames[1])).toBe(Status.OK);
    expect(r.frags.overlaps).toBe(1);
    expect(payloadOf(r.p)).toEqual(ramp(2500, 3));
  });

  it("a fragment header inside the reassembled datagram is Malformed", () => {
    const part = cat(fragHeader(17, 8, false, 1), fill(16)); // nested fragment header
    const frames = v6Fragments(part, 16, 44);
    const r = new Run();
    r.decode(frames[0]);
    expect(r.decode(frames[1])).toBe(Status.Malformed);
    expect(r.p.message).toBe("IPv6 fragment header inside a fragmented datagram");
  });

  it("IPv6 keys by (src, dst, id): same id from another source is another datagram", () => {
    const mine = v6Fragments(fragmentable, 1256, 17, 7);
    const other = eth(0x86dd, ipv6({ next: 44, src: IP6_B, dst: IP6_A, payload: cat(fragHeader(17, 1256, false, 7), fill(100)) }));
    const r = new Run();
    r.decode(mine[0]);
    expect(r.decode(other)).toBe(Status.FragmentPending);
    expect(r.decode(mine[1])).toBe(Status.OK);
  });
});

describe("FragmentReassembler bounds", () => {
  const src = new Uint8Array([10, 0, 0, 1]);
  const dst = new Uint8Array([10, 0, 0, 2]);
  const eight = new Uint8Array(8).fill(0x5a);

  it("65,535 tiny fragments of one datagram stay bounded and still complete", () => {
    const f = new FragmentReassembler();
    // 8-byte fragments at every offset the 13-bit field allows, cycling: 8,191 distinct, the rest overlaps.
    let held = 0;
    for (let i = 0; i < 65535; i++) {
      if (f.addV4(src, dst, 1, 17, (i % 8191) * 8, true, eight, 0, 8, T0) === FragResult.Held) held++;
    }
    expect(held).toBe(65535);
    expect(f.datagramsInProgress).toBe(1);
    expect(f.fragmentsHeld).toBe(65535);
    expect(f.overlaps).toBe(65535 - 8191);
    expect(f.bytesHeld).toBeLessThanOrEqual(65535 + 8192 + DATAGRAM_OVERHEAD); // buffer, bitmap, the datagram object
    const last = f.addV4(src, dst, 1, 17, 8191 * 8, false, eight, 0, 7, T0);
    expect(last).toBe(FragResult.Complete);
    expect(f.length).toBe(65535);
    expect(f.buf[65534]).toBe(0x5a);
    expect(f.bytesHeld).toBe(0);
  });

  it("65,535 fragments of different datagrams are capped at maxDatagrams, oldest dropped", () => {
    const f = new FragmentReassembler({ maxDatagrams: 100 });
    for (let id = 0; id < 65535; id++) f.addV4(src, dst, id, 17, 0, true, eight, 0, 8, T0);
    expect(f.datagramsInProgress).toBe(100);
    expect(f.dropped).toBe(65535 - 100);
    expect(f.bytesHeld).toBeLessThanOrEqual(f.limits.maxBytes);
    // The newest are the ones kept: id 65534 completes, id 0 does not.
    expect(f.addV4(src, dst, 65534, 17, 8, false, eight, 0, 8, T0)).toBe(FragResult.Complete);
    expect(f.addV4(src, dst, 0, 17, 8, false, eight, 0, 8, T0)).toBe(FragResult.Held);
  });

  it("total bytes are capped: growing past maxBytes drops the oldest datagrams", () => {
    const f = new FragmentReassembler({ maxBytes: 200_000 });
    const big = new Uint8Array(1480);
    for (let id = 0; id < 10; id++) {
      // Each datagram grows to ~64 KiB: its last fragment first, so the buffer is sized at once.
      f.addV4(src, dst, id, 17, 60000, true, big, 0, 1480, T0);
      expect(f.bytesHeld).toBeLessThanOrEqual(200_000);
    }
    expect(f.datagramsInProgress).toBeLessThan(10);
    expect(f.dropped).toBe(10 - f.datagramsInProgress);
  });

  it("a datagram larger than maxBytes on its own is refused", () => {
    const f = new FragmentReassembler({ maxBytes: 10_000 });
    expect(f.addV4(src, dst, 1, 17, 30000, true, eight, 0, 8, T0)).toBe(FragResult.Rejected);
    expect(f.bytesHeld).toBeLessThanOrEqual(10_000);
    expect(f.datagramsInProgress).toBe(0);
  });

  it("a second, different end is refused; so is data past the end", () => {
    const f = new FragmentReassembler();
    expect(f.addV4(src, dst, 1, 17, 16, false, eight, 0, 8, T0)).toBe(FragResult.Held); // end = 24
    expect(f.addV4(src, dst, 1, 17, 32, false, eight, 0, 8, T0)).toBe(FragResult.Rejected); // end = 40
    expect(f.addV4(src, dst, 1, 17, 24, true, eight, 0, 8, T0)).toBe(FragResult.Rejected); // past 24
    expect(f.rejected).toBe(2);
    expect(f.addV4(src, dst, 1, 17, 0, true, new Uint8Array(16), 0, 16, T0)).toBe(FragResult.Complete);
    expect(f.length).toBe(24);
  });

  it("a final fragment that ends before data already received is refused", () => {
    const f = new FragmentReassembler();
    f.addV4(src, dst, 1, 17, 64, true, eight, 0, 8, T0);
    expect(f.addV4(src, dst, 1, 17, 16, false, eight, 0, 8, T0)).toBe(FragResult.Rejected);
  });

  it("non-final fragments need not be multiples of 8 bytes to be reassembled byte-exactly", () => {
    const f = new FragmentReassembler();
    const data = new Uint8Array(ramp(20));
    f.addV4(src, dst, 1, 17, 0, true, data, 0, 5, T0);
    f.addV4(src, dst, 1, 17, 8, false, data, 8, 20, T0);
    expect(f.addV4(src, dst, 1, 17, 5, true, data, 5, 8, T0)).toBe(FragResult.Complete);
    expect(Array.from(f.buf.subarray(0, f.length))).toEqual(ramp(20));
  });

  it("timeout counts in capture time; flush counts what is left as incomplete", () => {
    const f = new FragmentReassembler({ timeoutSec: 5 });
    f.addV4(src, dst, 1, 17, 0, true, eight, 0, 8, T0);
    f.addV4(src, dst, 2, 17, 0, true, eight, 0, 8, T0 + 3);
    f.expire(T0 + 5);
    expect(f.timedOut).toBe(0);
    f.expire(T0 + 6);
    expect(f.timedOut).toBe(1);
    expect(f.datagramsInProgress).toBe(1);
    f.flush();
    expect(f.incomplete).toBe(1);
    expect(f.datagramsInProgress).toBe(0);
    expect(f.bytesHeld).toBe(0);
  });

  it("IPv6 keeps the offset-0 fragment's Next Header", () => {
    const a = new Uint8Array(16);
    const b = new Uint8Array(16);
    const f = new FragmentReassembler();
    f.addV6(a, b, 0xffffffff, 17, 8, false, eight, 0, 8, T0);
    expect(f.addV6(a, b, 0xffffffff, 60, 0, true, eight, 0, 8, T0)).toBe(FragResult.Complete);
    expect(f.nextHeader).toBe(60);
    expect(f.length).toBe(16);
  });
});
