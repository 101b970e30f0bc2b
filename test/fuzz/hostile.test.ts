/**
 * Hostile inputs, one test each: every one yields a named anomaly or a capture error with its byte
 * offset, and the analysis goes on — a good conversation placed *after* the bad bytes is still
 * reported. Files are built byte by byte (test/capture/build.ts and test/decode/build.ts comment
 * every field).
 */
import { describe, expect, it } from "vitest";
import { block, epb, idb, pcapHeader, pcapRecord, shb } from "../capture/build.js";
import { cat, eth, extHeader, ipv4, ipv6, tcp, u16, u32 } from "../decode/build.js";
import type { Report } from "../../src/report/record.js";
import { analyzeBytes } from "./harness.js";

const LE = true;
const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const A = [10, 0, 0, 1];
const B = [10, 0, 0, 2];
const SYN = 0x02;
const SYN_ACK = 0x12;
const ACK = 0x10;
const PSH_ACK = 0x18;

/** A three-way handshake between A:sport and B:dport, as Ethernet frames. */
function handshake(sport: number, dport: number): Uint8Array[] {
  return [
    eth(ETH_IPV4, ipv4({ src: A, dst: B, proto: 6, payload: tcp({ sport, dport, seq: 100, flags: SYN }) })),
    eth(ETH_IPV4, ipv4({ src: B, dst: A, proto: 6, payload: tcp({ sport: dport, dport: sport, seq: 500, ack: 101, flags: SYN_ACK }) })),
    eth(ETH_IPV4, ipv4({ src: A, dst: B, proto: 6, payload: tcp({ sport, dport, seq: 101, ack: 501, flags: ACK }) })),
  ];
}

/** The "good conversation before" (port 1111) and "after" (port 2222) every hostile part. */
const BEFORE = handshake(41111, 1111);
const AFTER = handshake(42222, 2222);

/** A classic pcap (LE, µs, Ethernet) of the frames, one second apart from t0. */
function pcap(frames: Uint8Array[], snaplen = 262144): Uint8Array {
  return cat(pcapHeader({ le: LE, snaplen, linkType: 1 }), ...frames.map((f, i) => pcapRecord(LE, 1_700_000_000 + i, 0, f)));
}

function after(r: Report): boolean {
  return r.conversations.some((c) => c.server.port === 2222 && c.client.port === 42222 && c.packets.client === 2 && c.packets.server === 1 && c.state === "S1");
}
function before(r: Report): boolean {
  return r.conversations.some((c) => c.server.port === 1111 && c.state === "S1");
}
function anomalyNames(r: Report): string[] {
  return r.conversations.flatMap((c) => c.anomalies.map((a) => a.name));
}

describe("hostile capture files: named problem with its offset, and the rest still analysed", () => {
  it("a pcap record claiming 4 GB: corrupt-length error at its offset; reading resumes at the next record", async () => {
    const head = pcap(BEFORE);
    const bad = cat(
      u32le(1_700_000_010), // Timestamp (Seconds)
      u32le(0), // Timestamp (Microseconds)
      u32le(0xffffffff), // Captured Packet Length: 4 GiB - 1
      u32le(0xffffffff), // Original Packet Length
      new Uint8Array(40).fill(0xee), // a few bytes of what would be its data
    );
    const tail = cat(...AFTER.map((f, i) => pcapRecord(LE, 1_700_000_020 + i, 0, f)));
    const bytes = cat(head, bad, tail);
    const r = await analyzeBytes(bytes);
    const e = r.captures[0].errors.find((x) => x.message.includes("corrupt record length"));
    expect(e).toBeDefined();
    expect(e!.offset).toBe(head.length);
    expect(e!.message).toContain("4294967295");
    expect(e!.fatal).toBe(false);
    expect(r.captures[0].errors.some((x) => x.message.includes("skipping 56 bytes"))).toBe(true);
    expect(before(r)).toBe(true);
    expect(after(r)).toBe(true);
  });

  it("caplen above the snaplen: listed with its offset, the packet and the rest are read", async () => {
    const big = eth(ETH_IPV4, ipv4({ src: A, dst: B, proto: 6, payload: tcp({ sport: 41111, dport: 1111, seq: 101, ack: 501, flags: PSH_ACK, payload: new Uint8Array(150) }) }));
    const head = pcap(BEFORE, 128);
    const bytes = cat(head, pcapRecord(LE, 1_700_000_005, 0, big), ...AFTER.map((f, i) => pcapRecord(LE, 1_700_000_006 + i, 0, f)));
    const r = await analyzeBytes(bytes);
    const e = r.captures[0].errors.find((x) => x.message.includes("above the snaplen 128"));
    expect(e?.offset).toBe(head.length);
    expect(e?.frame).toBe(4);
    expect(r.captures[0].packets).toBe(7);
    expect(after(r)).toBe(true);
  });

  /** pcapng: SHB, IDB (Ethernet), BEFORE as EPBs, the bad block, AFTER as EPBs. */
  function pcapng(bad: Uint8Array): { bytes: Uint8Array; badAt: number } {
    const head = cat(shb(LE), idb(LE, 1, 262144), ...BEFORE.map((f, i) => epb(LE, 0, BigInt(1_700_000_000 + i) * 1_000_000n, f)));
    const tail = cat(...AFTER.map((f, i) => epb(LE, 0, BigInt(1_700_000_020 + i) * 1_000_000n, f)));
    return { bytes: cat(head, bad, tail), badAt: head.length };
  }

  it("a pcapng block whose total length is not a multiple of 4", async () => {
    const good = epb(LE, 0, 1_700_000_010_000_000n, new Uint8Array(20));
    const bad = good.slice();
    bad.set(u32le(good.length + 1), 4); // Block Total Length: off by one, not a multiple of 4
    const { bytes, badAt } = pcapng(bad);
    const r = await analyzeBytes(bytes);
    const e = r.captures[0].errors.find((x) => x.message.includes("not a multiple of 4"));
    expect(e?.offset).toBe(badAt);
    expect(e?.fatal).toBe(false);
    expect(before(r)).toBe(true);
    expect(after(r)).toBe(true);
  });

  it("a pcapng block shorter than its own header", async () => {
    const bad = cat(
      u32le(6), // Block Type: EPB
      u32le(8), // Block Total Length: 8, less than the 12 of type + length + trailer
      u32le(8), // (would-be trailer)
    );
    const { bytes, badAt } = pcapng(bad);
    const r = await analyzeBytes(bytes);
    const e = r.captures[0].errors.find((x) => x.message.includes("below the minimum 12"));
    expect(e?.offset).toBe(badAt);
    expect(after(r)).toBe(true);
  });

  it("an IPv4 header with IHL < 5: a listed decode error for that frame, the rest analysed", async () => {
    const bad = eth(ETH_IPV4, ipv4({ src: A, dst: B, proto: 6, ihl: 3, payload: tcp({ sport: 43333, dport: 3333 }) }));
    const bytes = pcap([...BEFORE, bad, ...AFTER]);
    const r = await analyzeBytes(bytes);
    const e = r.captures[0].errors.find((x) => x.message.includes("IHL) below 5"));
    expect(e?.frame).toBe(4);
    expect(e?.offset).toBe(24 + BEFORE.reduce((s, f) => s + 16 + f.length, 0));
    expect(r.captures[0].decode.malformed).toBe(1);
    expect(after(r)).toBe(true);
  });

  it("a TCP data offset past the end of the packet", async () => {
    const bad = eth(ETH_IPV4, ipv4({ src: A, dst: B, proto: 6, payload: tcp({ sport: 41111, dport: 1111, seq: 101, ack: 501, flags: ACK, dataOffset: 15 }) }));
    const r = await analyzeBytes(pcap([...BEFORE, bad, ...AFTER]));
    const e = r.captures[0].errors.find((x) => x.frame === 4);
    expect(e?.message).toMatch(/tcp: .*(offset|header)/i);
    expect(after(r)).toBe(true);
  });

  it("an IPv6 extension header chain that runs on to the end of the packet", async () => {
    // 40 destination-options headers, each naming another one as next header (60), filling the
    // payload: no upper-layer header is ever reached.
    const chain = cat(...Array.from({ length: 40 }, () => extHeader(60)));
    const bad = eth(ETH_IPV6, ipv6({ next: 60, payload: chain }));
    const r = await analyzeBytes(pcap([...BEFORE, bad, ...AFTER]));
    const e = r.captures[0].errors.find((x) => x.frame === 4);
    expect(e?.message).toMatch(/ipv6: IPv6 extension header (chain too long|runs past)/);
    expect(after(r)).toBe(true);
  });

  it("65,535 fragments of one IPv4 datagram: bounded, counted, and the rest analysed", async () => {
    const frags: Uint8Array[] = [];
    for (let i = 0; i < 65535; i++) {
      // Same id, MF set, 8 bytes each at ever higher offsets (the last ones past 65,535 bytes).
      frags.push(eth(ETH_IPV4, ipv4({ src: A, dst: B, proto: 17, id: 0x4242, more: true, fragOffset: (i * 8) & 0xfff8, payload: new Uint8Array(8) })));
    }
    const r = await analyzeBytes(pcap([...BEFORE, ...frags, ...AFTER]));
    const d = r.captures[0].decode;
    expect(d.fragments).toBe(65535);
    expect(d.reassembled).toBe(0);
    expect(d.fragmentsIncomplete + d.malformed).toBeGreaterThan(0);
    expect(after(r)).toBe(true);
  }, 60_000);

  /** A TCP conversation on 443 whose client sends `payload` after the handshake, then AFTER. */
  async function tlsCase(payload: Uint8Array, reassembly?: number): Promise<Report> {
    const data = eth(ETH_IPV4, ipv4({ src: A, dst: B, proto: 6, payload: tcp({ sport: 44443, dport: 443, seq: 101, ack: 501, flags: PSH_ACK, payload }) }));
    const hs = handshake(44443, 443);
    return analyzeBytes(pcap([...hs, data, ...AFTER]), reassembly ? { flow: { reassemblyCap: reassembly } } : {});
  }

  it("a TLS handshake message claiming 2^24 - 1 bytes in a record of 2^16 - 1: named anomalies", async () => {
    const rec = cat(
      [0x16], // ContentType: handshake
      u16(0x0303), // ProtocolVersion: TLS 1.2
      u16(0xffff), // length: 65,535, above 2^14 + 2048
      [0x01], // HandshakeType: client_hello
      [0xff, 0xff, 0xff], // length (24 bits): 2^24 - 1
      new Uint8Array(200), // what there is of it
    );
    const r = await tlsCase(rec);
    const names = anomalyNames(r);
    expect(names.some((n) => n === "tls_record_too_long" || n === "tls_handshake_too_long")).toBe(true);
    expect(after(r)).toBe(true);
  });

  it("a ClientHello with 10,000 extensions: parsed within bounds, named anomaly, rest analysed", async () => {
    // 10,000 extensions of 0 bytes each, types 0x1000 + (i mod 4000): 40,000 bytes of extensions,
    // and every type from the 4,001st on repeats one (RFC 8446 §4.2 allows each type once).
    const exts = cat(...Array.from({ length: 10_000 }, (_, i) => cat(u16(0x1000 + (i % 4000)), u16(0))));
    const body = cat(
      u16(0x0303), // client_version: TLS 1.2
      new Uint8Array(32), // random
      [0], // session_id length
      u16(2), // cipher_suites length
      u16(0x002f), // TLS_RSA_WITH_AES_128_CBC_SHA
      [1, 0], // compression_methods: null
      u16(exts.length), // extensions length
      exts,
    );
    const hsMsg = cat([0x01], [(body.length >>> 16) & 0xff, (body.length >>> 8) & 0xff, body.length & 0xff], body);
    // Split into records of at most 2^14 bytes (RFC 8446 §5.1).
    const records: Uint8Array[] = [];
    for (let at = 0; at < hsMsg.length; at += 16384) {
      const frag = hsMsg.subarray(at, Math.min(hsMsg.length, at + 16384));
      records.push(cat([0x16], u16(0x0301), u16(frag.length), frag)); // handshake record header, then the fragment
    }
    const stream = cat(...records);
    // The whole hello must be kept to be parsed: 64 KiB of reassembly (the default keeps 16 KiB).
    const r = await tlsCase(stream, 65536);
    const conv = r.conversations.find((c) => c.server.port === 443)!;
    expect(conv.protocol).toBe("tls");
    expect(conv.anomalies.map((a) => a.name)).toContain("tls_duplicate_extension");
    // All 10,000 were read: the JA3 string lists every extension type.
    expect(conv.tls?.ja3).toMatch(/^[0-9a-f]{32}$/);
    expect(after(r)).toBe(true);
  });
});

function u32le(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

// Keep `block` and `u32` imported for readers extending these cases with other block types.
void block;
void u32;
