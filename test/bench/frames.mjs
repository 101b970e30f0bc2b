// Byte writers for the benchmark's synthetic captures (test/bench/hostile.mjs, synscan.mjs): a
// classic pcap file and the Ethernet, IP, TCP and UDP headers, one comment per field.
import { closeSync, openSync, writeSync } from "node:fs";

/** A classic pcap writer (draft-ietf-opsawg-pcap §4-5), little endian, microseconds, Ethernet. */
export class Pcap {
  constructor(file) {
    this.fd = openSync(file, "w");
    this.buf = Buffer.alloc(1 << 22);
    this.at = 0;
    this.buf.writeUInt32LE(0xa1b2c3d4, 0); // magic: microseconds
    this.buf.writeUInt16LE(2, 4); // major
    this.buf.writeUInt16LE(4, 6); // minor
    this.buf.writeUInt32LE(0, 8); // reserved
    this.buf.writeUInt32LE(0, 12); // reserved
    this.buf.writeUInt32LE(262144, 16); // snaplen
    this.buf.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
    this.at = 24;
    this.t = 0;
  }
  /** Room for one record of `len` bytes; returns the offset of its frame. */
  record(len) {
    if (this.at + 16 + len > this.buf.length) this.flush();
    const b = this.buf;
    const t = this.t++;
    b.writeUInt32LE(1_700_000_000 + Math.floor(t / 1e5), this.at); // ts seconds (10 µs apart)
    b.writeUInt32LE((t % 1e5) * 10, this.at + 4); // ts microseconds
    b.writeUInt32LE(len, this.at + 8); // caplen
    b.writeUInt32LE(len, this.at + 12); // original length
    const o = this.at + 16;
    b.fill(0, o, o + len);
    this.at = o + len;
    return o;
  }
  flush() {
    writeSync(this.fd, this.buf, 0, this.at);
    this.at = 0;
  }
  close() {
    this.flush();
    closeSync(this.fd);
  }
}

/** Ethernet + IPv4 (RFC 791) header at `o`; returns the offset of the IP payload. */
export function ipv4(b, o, src, dst, proto, payloadLen, { id = 0, more = false, fragOffset = 0 } = {}) {
  b.writeUInt16BE(0x0800, o + 12); // EtherType IPv4 (MACs left zero: they do not matter)
  o += 14;
  b[o] = 0x45; // version 4, IHL 5
  b.writeUInt16BE(20 + payloadLen, o + 2); // total length
  b.writeUInt16BE(id, o + 4); // identification
  b.writeUInt16BE((more ? 0x2000 : 0) | (fragOffset >>> 3), o + 6); // flags (MF) and fragment offset in 8-byte units
  b[o + 8] = 64; // TTL
  b[o + 9] = proto; // protocol
  b.writeUInt32BE(src >>> 0, o + 12); // source address
  b.writeUInt32BE(dst >>> 0, o + 16); // destination address
  return o + 20;
}

/** Ethernet + IPv6 (RFC 8200) header at `o`; returns the offset of the payload. */
export function ipv6(b, o, src, dst, next, payloadLen) {
  b.writeUInt16BE(0x86dd, o + 12); // EtherType IPv6
  o += 14;
  b.writeUInt32BE(0x60000000, o); // version 6, traffic class 0, flow label 0
  b.writeUInt16BE(payloadLen, o + 4); // payload length
  b[o + 6] = next; // next header
  b[o + 7] = 64; // hop limit
  b.set(src, o + 8); // source address
  b.set(dst, o + 24); // destination address
  return o + 40;
}

/** TCP header (RFC 9293 §3.1) at `o` (checksum left 0), `len` payload bytes of `fill` after it. */
export function tcp(b, o, sport, dport, seq, ack, flags, len = 0, fill = 0x41, window = 65535) {
  b.writeUInt16BE(sport, o); // source port
  b.writeUInt16BE(dport, o + 2); // destination port
  b.writeUInt32BE(seq >>> 0, o + 4); // sequence number
  b.writeUInt32BE(ack >>> 0, o + 8); // acknowledgment number
  b[o + 12] = 0x50; // data offset 5
  b[o + 13] = flags; // flags
  b.writeUInt16BE(window, o + 14); // window
  if (len > 0) b.fill(fill, o + 20, o + 20 + len);
}

/** UDP header (RFC 768) at `o`, `len` payload bytes of `fill` after it. */
export function udp(b, o, sport, dport, len, fill) {
  b.writeUInt16BE(sport, o); // source port
  b.writeUInt16BE(dport, o + 2); // destination port
  b.writeUInt16BE(8 + len, o + 4); // length
  if (len > 0) b.fill(fill, o + 8, o + 8 + len);
}

