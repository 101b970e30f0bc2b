/**
 * Packet builders for the decoder tests. Each header is written field by field, in wire order, with
 * a comment naming the field; lengths the tests do not override are computed, so a test says only
 * what it is about. Checksums are left 0: the decoders do not check them.
 */
import { DecodedPacket } from "../../src/decode/packet.js";
import { FragmentReassembler } from "../../src/decode/fragments.js";
import { DecodeContext, decodePacket, type DecodeInput } from "../../src/decode/decode.js";
import type { Status } from "../../src/decode/status.js";

export type Bytes = number[] | Uint8Array;

export function cat(...parts: Bytes[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const u16 = (v: number): number[] => [(v >>> 8) & 0xff, v & 0xff];
export const u32 = (v: number): number[] => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
export const u32le = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
export const fill = (n: number, byte = 0xab): number[] => new Array<number>(n).fill(byte);
/** Bytes 0, 1, 2, … (mod 256) so that a wrong offset shows. */
export const ramp = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => (from + i) & 0xff);

export const MAC_DST = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];
export const MAC_SRC = [0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb];
export const IP4_A = [192, 0, 2, 1];
export const IP4_B = [198, 51, 100, 7];
/** 2001:db8::1 and 2001:db8::2 */
export const IP6_A = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
export const IP6_B = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

/** Ethernet II header + payload. */
export function eth(etherType: number, payload: Bytes, dst = MAC_DST, src = MAC_SRC): Uint8Array {
  return cat(
    dst, // destination MAC
    src, // source MAC
    u16(etherType), // EtherType (or 802.3 length when < 0x600)
    payload,
  );
}

/** One 802.1Q/802.1ad tag as it follows a TPID: TCI then the next EtherType. */
export function vlanTag(vid: number, nextType: number, pcp = 0): number[] {
  return [
    ...u16((pcp << 13) | vid), // TCI: PCP (3) DEI (1) VLAN ID (12)
    ...u16(nextType), // EtherType after this tag
  ];
}

export interface Ipv4Opts {
  src?: Bytes;
  dst?: Bytes;
  proto: number;
  payload: Bytes;
  id?: number;
  ttl?: number;
  /** Option bytes (padded by the caller to a multiple of 4). */
  options?: Bytes;
  /** IHL override (in 32-bit words). */
  ihl?: number;
  /** Total Length override. */
  totalLength?: number;
  /** MF flag. */
  more?: boolean;
  /** Fragment offset in bytes (must be a multiple of 8). */
  fragOffset?: number;
  dontFragment?: boolean;
  version?: number;
}

export function ipv4(o: Ipv4Opts): Uint8Array {
  const options = o.options ?? [];
  const ihl = o.ihl ?? 5 + options.length / 4;
  const total = o.totalLength ?? 20 + options.length + o.payload.length;
  const flags = (o.dontFragment ? 0x4000 : 0) | (o.more ? 0x2000 : 0);
  return cat(
    [((o.version ?? 4) << 4) | ihl], // version 4, IHL
    [0x00], // DSCP / ECN
    u16(total), // Total Length
    u16(o.id ?? 0x1234), // Identification
    u16(flags | ((o.fragOffset ?? 0) / 8)), // flags (R, DF, MF) + fragment offset in 8-octet units
    [o.ttl ?? 64], // TTL
    [o.proto], // Protocol
    u16(0), // header checksum (not checked)
    o.src ?? IP4_A, // source address
    o.dst ?? IP4_B, // destination address
    options, // options
    o.payload,
  );
}

export interface Ipv6Opts {
  src?: Bytes;
  dst?: Bytes;
  /** Next Header of the fixed header. */
  next: number;
  /** Everything after the fixed header: extension headers and upper layer. */
  payload: Bytes;
  hopLimit?: number;
  /** Payload Length override. */
  payloadLength?: number;
  version?: number;
}

export function ipv6(o: Ipv6Opts): Uint8Array {
  return cat(
    u32(((o.version ?? 6) << 28) | (0 << 20) | 0x12345), // version 6, traffic class 0, flow label
    u16(o.payloadLength ?? o.payload.length), // Payload Length
    [o.next], // Next Header
    [o.hopLimit ?? 64], // Hop Limit
    o.src ?? IP6_A, // source address
    o.dst ?? IP6_B, // destination address
    o.payload,
  );
}

/**
 * A hop-by-hop / routing / destination-options header (RFC 8200 §4): next header, Hdr Ext Len in
 * 8-octet units beyond the first 8, then (units + 1) × 8 − 2 bytes of options (PadN-like filler).
 */
export function extHeader(next: number, units = 0): number[] {
  return [
    next, // Next Header
    units, // Hdr Ext Len (8-octet units, not counting the first 8)
    ...fill((units + 1) * 8 - 2, 0), // options / routing data (zeros = Pad1 options)
  ];
}

/** An Authentication Header (RFC 4302 §2): Payload Len is the length in 4-octet units minus 2. */
export function ahHeader(next: number, icvBytes = 12): number[] {
  const total = 12 + icvBytes;
  return [
    next, // Next Header
    total / 4 - 2, // Payload Len (4-octet units minus 2)
    ...u16(0), // reserved
    ...u32(0x100), // SPI
    ...u32(1), // sequence number
    ...fill(icvBytes, 0xcc), // ICV
  ];
}

/** IPv6 fragment header (RFC 8200 §4.5). `offset` in bytes (multiple of 8). */
export function fragHeader(next: number, offset: number, more: boolean, id: number): number[] {
  return [
    next, // Next Header (first header of the fragmentable part)
    0, // reserved
    ...u16(offset | (more ? 1 : 0)), // Fragment Offset (13 bits, 8-octet units) | Res (2) | M
    ...u32(id), // Identification
  ];
}

export interface TcpOpts {
  sport?: number;
  dport?: number;
  seq?: number;
  ack?: number;
  flags?: number;
  window?: number;
  options?: Bytes;
  /** Data offset override (32-bit words). */
  dataOffset?: number;
  payload?: Bytes;
}

export function tcp(o: TcpOpts = {}): Uint8Array {
  const options = o.options ?? [];
  const doff = o.dataOffset ?? 5 + options.length / 4;
  return cat(
    u16(o.sport ?? 40000), // source port
    u16(o.dport ?? 443), // destination port
    u32(o.seq ?? 1000), // sequence number
    u32(o.ack ?? 0), // acknowledgment number
    [doff << 4], // data offset (4 bits), reserved
    [o.flags ?? 0x02], // flags: CWR ECE URG ACK PSH RST SYN FIN
    u16(o.window ?? 65535), // window
    u16(0), // checksum (not checked)
    u16(0), // urgent pointer
    options, // options
    o.payload ?? [],
  );
}

export interface UdpOpts {
  sport?: number;
  dport?: number;
  payload?: Bytes;
  /** Length field override. */
  length?: number;
}

export function udp(o: UdpOpts = {}): Uint8Array {
  const payload = o.payload ?? [];
  return cat(
    u16(o.sport ?? 50000), // source port
    u16(o.dport ?? 53), // destination port
    u16(o.length ?? 8 + payload.length), // length (header included)
    u16(0), // checksum (0 = none for IPv4; not checked)
    payload,
  );
}

/** ICMP / ICMPv6 message: type, code, checksum, the 4 type-specific bytes, body. */
export function icmp(type: number, code: number, body: Bytes = [], rest: Bytes = [0, 0, 0, 0]): Uint8Array {
  return cat(
    [type], // Type
    [code], // Code
    u16(0), // checksum (not checked)
    rest, // unused / id+seq / MTU / pointer
    body, // echo data, or the quoted packet for errors
  );
}

/** Decode with fresh state; returns the packet and status. */
export function decodeOnce(
  frame: Uint8Array,
  linkType = 1,
  caplen = frame.length,
  origLen = frame.length,
  frags = new FragmentReassembler(),
  tsSec = 1_700_000_000,
): { p: DecodedPacket; status: Status; frags: FragmentReassembler } {
  const p = new DecodedPacket();
  const status = decodePacket(record(frame, caplen, origLen, linkType, tsSec), p, new DecodeContext(frags));
  return { p, status, frags };
}

/**
 * The packet record decodePacket reads, for a frame built here: its bytes at `buf[0, caplen)`
 * (as a reader hands them, borrowed), the wire length, link type and capture time.
 */
export function record(buf: Uint8Array, caplen = buf.length, origLen = buf.length, linkType = 1, tsSec = 1_700_000_000): DecodeInput {
  return { buf, start: 0, caplen, origLen, linkType, tsSec };
}

/** The payload view as an array, for comparisons. */
export function payloadOf(p: DecodedPacket): number[] {
  return Array.from(p.payloadBuf.subarray(p.payloadOffset, p.payloadOffset + p.payloadLength));
}
