// Builds the benchmark's hostile inputs (issue 19), each a capture written byte by byte:
//   node test/bench/hostile.mjs DIR [NAME…]
//   hashflood.pcap          19,000 IPv6 TCP flows whose endpoints all share one value of the old
//                           unkeyed FNV-1a hash (meet-in-the-middle, test/bench/collide.mjs), all
//                           live at once: 7 packets each, interleaved
//   hashflood-control.pcap  the same traffic from ordinary addresses
//   manyidb.pcapng          1,000,000 IDBs whose link types keep changing, then 1,000 packets
//   holes.pcap              20,000 TCP flows, each side with a hole before a segment at offset
//                           15,000, so every stream buffer grows to its 16 KiB cap
//   udp20k.pcap             20,000 UDP flows, 8 datagrams of 2,048 bytes from each client and one
//                           reply, all live at once
//   frags.pcap              1,000,000 first fragments of IPv4 datagrams that never complete
import { closeSync, openSync, writeSync } from "node:fs";
import path from "node:path";
import { collidingV6Endpoints } from "./collide.mjs";
import { Pcap, ipv4, ipv6, tcp, udp } from "./frames.mjs";

const [dir, ...only] = process.argv.slice(2);
if (!dir) throw new Error("usage: hostile.mjs DIR [NAME…]");
const want = (name) => only.length === 0 || only.includes(name);

const SYN = 0x02;
const ACK = 0x10;
const PSH_ACK = 0x18;
const FIN_ACK = 0x11;
const SYN_ACK = 0x12;

/** 7 packets per flow (handshake, two 400-byte segments, FINs), phase by phase over all flows. */
function tcpFlows(file, clients, server) {
  const w = new Pcap(file);
  const phases = [
    (i) => [true, 1000, 0, SYN, 0],
    (i) => [false, 5000, 1001, SYN_ACK, 0],
    (i) => [true, 1001, 5001, ACK, 0],
    (i) => [true, 1001, 5001, PSH_ACK, 400],
    (i) => [true, 1401, 5001, PSH_ACK, 400],
    (i) => [true, 1801, 5001, FIN_ACK, 0],
    (i) => [false, 5001, 1802, FIN_ACK, 0],
  ];
  for (const phase of phases) {
    for (let i = 0; i < clients.length; i++) {
      const [fromClient, seq, ack, flags, len] = phase(i);
      const o = w.record(14 + 40 + 20 + len);
      const p = fromClient ? ipv6(w.buf, o, clients[i], server, 6, 20 + len) : ipv6(w.buf, o, server, clients[i], 6, 20 + len);
      if (fromClient) tcp(w.buf, p, 40000, 443, seq, ack, flags, len);
      else tcp(w.buf, p, 443, 40000, seq, ack, flags, len);
    }
  }
  w.close();
}

const SERVER6 = new Uint8Array(16);
SERVER6[0] = 0xfd;
SERVER6[15] = 1; // fd00::1

if (want("hashflood.pcap")) {
  const clients = collidingV6Endpoints(24, 40000).slice(0, 19_000);
  if (clients.length < 19_000) throw new Error(`only ${clients.length} colliding endpoints found`);
  tcpFlows(path.join(dir, "hashflood.pcap"), clients, SERVER6);
}
if (want("hashflood-control.pcap")) {
  const clients = Array.from({ length: 19_000 }, (_, i) => {
    const ip = new Uint8Array(16);
    ip[0] = 0xfd;
    ip[13] = 0x80;
    ip[14] = i >>> 8;
    ip[15] = i & 0xff; // fd00::80:i — ordinary, consecutive addresses
    return ip;
  });
  tcpFlows(path.join(dir, "hashflood-control.pcap"), clients, SERVER6);
}

if (want("manyidb.pcapng")) {
  // pcapng (draft-ietf-opsawg-pcapng §4), little endian.
  const fd = openSync(path.join(dir, "manyidb.pcapng"), "w");
  const buf = Buffer.alloc(1 << 22);
  let at = 0;
  const flush = () => {
    writeSync(fd, buf, 0, at);
    at = 0;
  };
  buf.writeUInt32LE(0x0a0d0d0a, 0); // SHB block type
  buf.writeUInt32LE(28, 4); // block total length
  buf.writeUInt32LE(0x1a2b3c4d, 8); // byte-order magic
  buf.writeUInt16LE(1, 12); // major version
  buf.writeUInt16LE(0, 14); // minor version
  buf.writeBigInt64LE(-1n, 16); // section length: not given
  buf.writeUInt32LE(28, 24); // block total length (trailing copy)
  at = 28;
  const N = 1_000_000;
  for (let i = 0; i < N; i++) {
    if (at + 20 > buf.length) flush();
    buf.writeUInt32LE(1, at); // IDB block type
    buf.writeUInt32LE(20, at + 4); // block total length
    buf.writeUInt16LE((i * 40503) & 0xffff, at + 8); // link type: every value 0..65535, scrambled, then again
    buf.writeUInt16LE(0, at + 10); // reserved
    buf.writeUInt32LE(0, at + 12); // snaplen: no limit
    buf.writeUInt32LE(20, at + 16); // block total length (trailing copy)
    at += 20;
  }
  // 1,000 EPBs on interface 0 (link type 0: BSD loopback): 4-byte family + IPv4/UDP.
  for (let i = 0; i < 1000; i++) {
    if (at + 80 > buf.length) flush();
    const cap = 4 + 20 + 8 + 4;
    const len = 32 + cap;
    buf.writeUInt32LE(6, at); // EPB block type
    buf.writeUInt32LE(len, at + 4); // block total length
    buf.writeUInt32LE(0, at + 8); // interface id
    buf.writeUInt32LE(0, at + 12); // timestamp high
    buf.writeUInt32LE(i, at + 16); // timestamp low (µs)
    buf.writeUInt32LE(cap, at + 20); // captured length
    buf.writeUInt32LE(cap, at + 24); // original length
    const o = at + 28;
    buf.fill(0, o, o + cap);
    buf.writeUInt32LE(2, o); // AF_INET, host order
    buf[o + 4] = 0x45; // IPv4, IHL 5
    buf.writeUInt16BE(20 + 8 + 4, o + 6); // total length
    buf[o + 12] = 64; // TTL
    buf[o + 13] = 17; // UDP
    buf.writeUInt32BE(0x0a000001, o + 16); // 10.0.0.1
    buf.writeUInt32BE(0x0a000002, o + 20); // 10.0.0.2
    buf.writeUInt16BE(50000 + (i % 100), o + 24); // source port
    buf.writeUInt16BE(7000, o + 26); // destination port
    buf.writeUInt16BE(12, o + 28); // UDP length
    buf.writeUInt32LE(len, at + len - 4); // block total length (trailing copy)
    at += len;
  }
  flush();
  closeSync(fd);
}

const client4 = (i) => (10 << 24) | (1 << 16) | i; // 10.1.x.y
const SERVER4 = (10 << 24) | (2 << 16) | 1; // 10.2.0.1

if (want("holes.pcap")) {
  const w = new Pcap(path.join(dir, "holes.pcap"));
  const N = 20_000;
  // Per flow: handshake; each side 100 bytes at offset 0 and 1,000 at offset 15,000: a hole
  // between, so each stream buffer grows to the 16 KiB cap and keeps a bitmap and a frame map.
  const steps = [
    [true, 1000, 0, SYN, 0],
    [false, 5000, 1001, SYN_ACK, 0],
    [true, 1001, 5001, ACK, 0],
    [true, 1001, 5001, PSH_ACK, 100],
    [false, 5001, 1101, PSH_ACK, 100],
    [true, 1001 + 15000, 5101, PSH_ACK, 1000],
    [false, 5001 + 15000, 1101, PSH_ACK, 1000],
  ];
  for (const [fromClient, seq, ack, flags, len] of steps) {
    for (let i = 0; i < N; i++) {
      const o = w.record(14 + 20 + 20 + len);
      const p = fromClient ? ipv4(w.buf, o, client4(i), SERVER4, 6, 20 + len) : ipv4(w.buf, o, SERVER4, client4(i), 6, 20 + len);
      if (fromClient) tcp(w.buf, p, 40000, 8080, seq, ack, flags, len);
      else tcp(w.buf, p, 8080, 40000, seq, ack, flags, len);
    }
  }
  w.close();
}

if (want("udp20k.pcap")) {
  const w = new Pcap(path.join(dir, "udp20k.pcap"));
  const N = 20_000;
  for (let k = 0; k < 9; k++) {
    for (let i = 0; i < N; i++) {
      const fromClient = k < 8;
      const len = fromClient ? 2048 : 64;
      const o = w.record(14 + 20 + 8 + len);
      const p = fromClient ? ipv4(w.buf, o, client4(i), SERVER4, 17, 8 + len) : ipv4(w.buf, o, SERVER4, client4(i), 17, 8 + len);
      if (fromClient) udp(w.buf, p, 50000, 7000, len, k);
      else udp(w.buf, p, 7000, 50000, len, 0x55);
    }
  }
  w.close();
}

if (want("frags.pcap")) {
  const w = new Pcap(path.join(dir, "frags.pcap"));
  for (let i = 0; i < 1_000_000; i++) {
    const o = w.record(14 + 20 + 8);
    // A first fragment (MF set, offset 0) of datagram i: its later fragments never come.
    const p = ipv4(w.buf, o, client4(i >>> 16), SERVER4, 17, 8, { id: i & 0xffff, more: true });
    w.buf.fill(7, p, p + 8);
  }
  w.close();
}
