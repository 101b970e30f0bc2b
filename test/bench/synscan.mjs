// Builds the benchmark's SYN scan: N distinct TCP conversations, each a single SYN (Zeek S0),
// from one scanner to 16 targets over many ports, as a classic pcap (Ethernet, microseconds).
// One target in 16 answers port 443 and 902 with RST-ACK (REJ), so findings of two kinds exist.
//   node test/bench/synscan.mjs OUT.pcap [N=1000000]
import { openSync, writeSync, closeSync } from "node:fs";
import { tcp } from "./frames.mjs";

const [out, nArg] = process.argv.slice(2);
const N = Number(nArg ?? 1_000_000);
const fd = openSync(out, "w");
const buf = Buffer.alloc(1 << 20);
let at = 0;
const flush = () => {
  writeSync(fd, buf, 0, at);
  at = 0;
};
// pcap file header (draft-ietf-opsawg-pcap §4), little endian.
buf.writeUInt32LE(0xa1b2c3d4, 0); // magic: microseconds
buf.writeUInt16LE(2, 4); // major
buf.writeUInt16LE(4, 6); // minor
buf.writeUInt32LE(0, 8); // reserved
buf.writeUInt32LE(0, 12); // reserved
buf.writeUInt32LE(262144, 16); // snaplen
buf.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
at = 24;

const FRAME = 54; // Ethernet 14 + IPv4 20 + TCP 20
function packet(t, src, dst, sport, dport, flags, seq, ack) {
  if (at + 16 + FRAME > buf.length) flush();
  const sec = 1_700_000_000 + Math.floor(t / 1e6);
  buf.writeUInt32LE(sec, at); // ts seconds
  buf.writeUInt32LE(t % 1e6, at + 4); // ts microseconds
  buf.writeUInt32LE(FRAME, at + 8); // caplen
  buf.writeUInt32LE(60, at + 12); // original length (padded to Ethernet's minimum)
  let o = at + 16;
  buf.fill(0, o, o + FRAME);
  buf[o + 5] = src & 0xff; // dst MAC 00..:src? any: MACs do not matter
  buf[o + 11] = dst & 0xff;
  buf.writeUInt16BE(0x0800, o + 12); // EtherType IPv4
  o += 14;
  buf[o] = 0x45; // version 4, IHL 5
  buf.writeUInt16BE(40, o + 2); // total length
  buf[o + 8] = 64; // TTL
  buf[o + 9] = 6; // TCP
  buf.writeUInt32BE(src, o + 12); // source address
  buf.writeUInt32BE(dst, o + 16); // destination address
  o += 20;
  tcp(buf, o, sport, dport, seq, ack, flags, 0, 0, flags & 0x04 ? 0 : 1024); // TCP header; a RST advertises window 0
  at += 16 + FRAME;
}

const scanner = (10 << 24) | (9 << 16) | 1; // 10.9.0.1
let t = 0;
for (let i = 0; i < N; i++) {
  const target = (10 << 24) | (9 << 16) | (1 << 8) | (1 + (i % 16)); // 10.9.1.1 … 10.9.1.16
  const dport = 1 + Math.floor(i / 16) % 65535;
  const sport = 40000 + (Math.floor(i / 16 / 65535) % 20000);
  const seq = (i * 2654435761) >>> 0;
  packet(t, scanner, target, sport, dport, 0x02, seq, 0); // SYN
  t += 20;
  if ((dport === 443 || dport === 902) && i % 16 === 0) {
    packet(t, target, scanner, dport, sport, 0x14, 0, seq + 1); // RST+ACK: refused
    t += 20;
  }
}
flush();
closeSync(fd);
