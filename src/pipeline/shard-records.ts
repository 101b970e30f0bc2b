/**
 * The records a sharded run's main thread hands its workers (docs/performance.md, "Threads"): one
 * decoded TCP/UDP packet or ICMP error each,  written into a batch that only the
 * shard's worker reads (shard-channel.ts). The main thread has already decoded the packet (and reassembled its
 * fragments, counted it, applied the filter); the worker refills a `DecodedPacket` from the record
 * and hands it to its flow table, as the one-thread path hands the packet it decoded.
 *
 * A record, 8-byte aligned, little-endian as the machine is (both ends run in one process):
 *
 *   int32 words                         float64 at byte 96 / 104     bytes from 112
 *   0 length of the record in bytes     tsSec                        srcIp 16, dstIp 16,
 *   1 kind (PACKET, ICMP_ERROR)         clock: the latest tsSec of   srcMac 6, dstMac 6,
 *   2 frame, 3 origLen, 4 tsNsec        the packets the other        quotedSrcIp 16,
 *   5 ipVersion | ipProto << 8 |        shards got since this        quotedDstIp 16,
 *     vlanCount << 16 | flags << 24     shard's last record, or      payload (payloadLength)
 *   6 srcPort | dstPort << 16           NO_CLOCK
 *   7 tcpFlags, 8 seq, 9 ack, 10 window, 11 mss, 12 windowScale, 13 tsVal, 14 tsEcr,
 *   15 payloadLength, 16 payloadMissing, 17 icmpType, 18 icmpCode, 19-20 vlanIds,
 *   21 quotedIpVersion | quotedProto << 8, 22 quotedSrcPort | quotedDstPort << 16, 23 ttl
 */
import { DecodedPacket } from "../decode/packet.js";

export const KIND_PACKET = 1;
export const KIND_ICMP_ERROR = 2;
/** `clock` when no other shard's packet came between this shard's records. */
export const NO_CLOCK = -Infinity;

const F_MAC = 1;
const F_QUOTED = 2;
const F_FRAGMENT = 4;
const F_REASSEMBLED = 8;
const F_SACK = 16;
const F_TIMESTAMPS = 32;

const TS_SEC = 96;
const CLOCK = 104;
const SRC_IP = 112;
const DST_IP = 128;
const SRC_MAC = 144;
const DST_MAC = 150;
const Q_SRC_IP = 156;
const Q_DST_IP = 172;
/** Bytes before the payload. */
export const RECORD_HEADER = 188;

/** The size of a record carrying `payloadLength` bytes of payload. */
export function recordSize(payloadLength: number): number {
  return (RECORD_HEADER + payloadLength + 7) & ~7;
}

/** Typed views of one batch (made once per batch: no allocation per record). */
export class BatchView {
  readonly bytes: Uint8Array;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  constructor(buffer: ArrayBuffer, byteOffset: number, byteLength: number) {
    this.bytes = new Uint8Array(buffer, byteOffset, byteLength);
    this.i32 = new Int32Array(buffer, byteOffset, byteLength >> 2);
    this.f64 = new Float64Array(buffer, byteOffset, byteLength >> 3);
  }
}

/** Write `p` (decoded) at byte `at` of `b`; returns the record's size. The caller checked it fits. */
export function writeRecord(
  b: BatchView,
  at: number,
  kind: number,
  p: DecodedPacket,
  frame: number,
  origLen: number,
  tsSec: number,
  tsNsec: number,
  clock: number,
): number {
  const len = kind === KIND_PACKET ? p.payloadLength : 0;
  const size = recordSize(len);
  const w = b.i32;
  const i = at >> 2;
  const flags =
    (p.hasMac ? F_MAC : 0) | (p.hasQuoted ? F_QUOTED : 0) | (p.wasFragment ? F_FRAGMENT : 0) | (p.reassembled ? F_REASSEMBLED : 0) |
    (p.sackPermitted ? F_SACK : 0) | (p.hasTimestamps ? F_TIMESTAMPS : 0);
  w[i] = size;
  w[i + 1] = kind;
  w[i + 2] = frame;
  w[i + 3] = origLen;
  w[i + 4] = tsNsec;
  w[i + 5] = p.ipVersion | (p.ipProto << 8) | (p.vlanCount << 16) | (flags << 24);
  w[i + 6] = p.srcPort | (p.dstPort << 16);
  w[i + 7] = p.tcpFlags;
  w[i + 8] = p.seq;
  w[i + 9] = p.ack;
  w[i + 10] = p.window;
  w[i + 11] = p.mss;
  w[i + 12] = p.windowScale;
  w[i + 13] = p.tsVal;
  w[i + 14] = p.tsEcr;
  w[i + 15] = len;
  w[i + 16] = p.payloadMissing;
  w[i + 17] = p.icmpType;
  w[i + 18] = p.icmpCode;
  w[i + 19] = p.vlanIds[0];
  w[i + 20] = p.vlanIds[1];
  w[i + 21] = p.quotedIpVersion | (p.quotedProto << 8);
  w[i + 22] = p.quotedSrcPort | (p.quotedDstPort << 16);
  w[i + 23] = p.ttl;
  const d = at >> 3;
  b.f64[d + TS_SEC / 8] = tsSec;
  b.f64[d + CLOCK / 8] = clock;
  const u = b.bytes;
  // Byte loops, not set(): a few bytes each, and no view allocated per packet.
  const n = p.ipVersion === 6 ? 16 : 4;
  copyIn(u, at + SRC_IP, p.srcIp, 0, n);
  copyIn(u, at + DST_IP, p.dstIp, 0, n);
  if (p.hasMac) {
    copyIn(u, at + SRC_MAC, p.srcMac, 0, 6);
    copyIn(u, at + DST_MAC, p.dstMac, 0, 6);
  }
  if (p.hasQuoted) {
    const q = p.quotedIpVersion === 6 ? 16 : 4;
    copyIn(u, at + Q_SRC_IP, p.quotedSrcIp, 0, q);
    copyIn(u, at + Q_DST_IP, p.quotedDstIp, 0, q);
  }
  const src = p.payloadBuf;
  if (len <= 64) copyIn(u, at + RECORD_HEADER, src, p.payloadOffset, len);
  // A reader's chunk is a Buffer: its copy() is a memcpy with no view made.
  else if (Buffer.isBuffer(src)) src.copy(u, at + RECORD_HEADER, p.payloadOffset, p.payloadOffset + len);
  else u.set(src.subarray(p.payloadOffset, p.payloadOffset + len), at + RECORD_HEADER);
  return size;
}

/** `to[at, at + n) = from[off, off + n)`. */
function copyIn(to: Uint8Array, at: number, from: Uint8Array, off: number, n: number): void {
  for (let i = 0; i < n; i++) to[at + i] = from[off + i];
}

/** One record read back: the packet refilled in place, and what came with it. */
export class RecordReader {
  kind = 0;
  frame = 0;
  origLen = 0;
  tsSec = 0;
  tsNsec = 0;
  clock = NO_CLOCK;

  /** Refill `p` from the record at byte `at` of `b`; returns the record's size. `p`'s payload is a view of `b`. */
  read(b: BatchView, at: number, p: DecodedPacket): number {
    const w = b.i32;
    const i = at >> 2;
    const size = w[i];
    this.kind = w[i + 1];
    this.frame = w[i + 2];
    this.origLen = w[i + 3];
    this.tsNsec = w[i + 4];
    const d = at >> 3;
    this.tsSec = b.f64[d + TS_SEC / 8];
    this.clock = b.f64[d + CLOCK / 8];
    p.reset();
    const w5 = w[i + 5];
    p.ipVersion = (w5 & 0xff) as 0 | 4 | 6;
    p.ipProto = (w5 >>> 8) & 0xff;
    p.vlanCount = (w5 >>> 16) & 0xff;
    const flags = w5 >>> 24;
    p.hasMac = (flags & F_MAC) !== 0;
    p.hasQuoted = (flags & F_QUOTED) !== 0;
    p.wasFragment = (flags & F_FRAGMENT) !== 0;
    p.reassembled = (flags & F_REASSEMBLED) !== 0;
    p.sackPermitted = (flags & F_SACK) !== 0;
    p.hasTimestamps = (flags & F_TIMESTAMPS) !== 0;
    const ports = w[i + 6];
    p.srcPort = ports & 0xffff;
    p.dstPort = ports >>> 16;
    p.tcpFlags = w[i + 7];
    p.seq = w[i + 8] >>> 0;
    p.ack = w[i + 9] >>> 0;
    p.window = w[i + 10];
    p.mss = w[i + 11];
    p.windowScale = w[i + 12];
    p.tsVal = w[i + 13] >>> 0;
    p.tsEcr = w[i + 14] >>> 0;
    const len = w[i + 15];
    p.payloadMissing = w[i + 16];
    p.icmpType = w[i + 17];
    p.icmpCode = w[i + 18];
    p.vlanIds[0] = w[i + 19];
    p.vlanIds[1] = w[i + 20];
    const q = w[i + 21];
    p.quotedIpVersion = (q & 0xff) as 0 | 4 | 6;
    p.quotedProto = q >>> 8;
    const qp = w[i + 22];
    p.quotedSrcPort = qp & 0xffff;
    p.quotedDstPort = qp >>> 16;
    p.ttl = w[i + 23];
    const u = b.bytes;
    const n = p.ipVersion === 6 ? 16 : 4;
    copyIn(p.srcIp, 0, u, at + SRC_IP, n);
    copyIn(p.dstIp, 0, u, at + DST_IP, n);
    if (p.hasMac) {
      copyIn(p.srcMac, 0, u, at + SRC_MAC, 6);
      copyIn(p.dstMac, 0, u, at + DST_MAC, 6);
    }
    if (p.hasQuoted) {
      const q = p.quotedIpVersion === 6 ? 16 : 4;
      copyIn(p.quotedSrcIp, 0, u, at + Q_SRC_IP, q);
      copyIn(p.quotedDstIp, 0, u, at + Q_DST_IP, q);
    }
    p.payloadBuf = u;
    p.payloadOffset = at + RECORD_HEADER;
    p.payloadLength = len;
    return size;
  }
}
