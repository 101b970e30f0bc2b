/**
 * Conversation keys without strings: a 32-bit hash of the 5-tuple that is the same both ways,
 * computed straight from the decoded packet's address bytes and ports, and an exact comparison to
 * resolve collisions. No per-packet allocation.
 *
 * The hash is keyed with a random secret drawn once per run (HalfSipHash-1-3, the construction the
 * Linux kernel uses as `hsiphash` for its hash tables). An unkeyed hash (the FNV-1a this replaced)
 * lets a capture's author pick thousands of endpoints that share one value by a meet-in-the-middle
 * search in seconds, so every packet of those flows walks one long bucket chain (issue 19: 171 s
 * for a 68 MB capture). With a secret key the bucket of a tuple cannot be predicted from the
 * capture. Nothing in a report depends on the hash: ids, stream numbers and order come from the
 * order of first packets, so reports are identical whatever the key.
 *
 * Symmetry: the two endpoints are put in a canonical order (the smaller address, then port,
 * first) before hashing, so A→B and B→A give the same value and the whole tuple is mixed, not
 * each endpoint alone.
 */
import { randomFillSync } from "node:crypto";
import type { DecodedPacket } from "../decode/index.js";

/** HalfSipHash initialisation constants ("somepseudorandomlygeneratedbytes", 32-bit halves). */
const C2 = 0x6c796765;
const C3 = 0x74656462;

export class FlowHasher {
  private readonly k0: number;
  private readonly k1: number;
  /** Message words of the tuple being hashed (at most 4 + 4 + 1 + 1 for IPv6), reused. */
  private readonly w = new Uint32Array(10);

  /** `key`: two 32-bit words; random (crypto) when not given. Tests pass one to compare keys. */
  constructor(key?: readonly number[]) {
    let k: readonly number[] | Uint32Array | undefined = key;
    if (k === undefined || k.length < 2) {
      const r = new Uint32Array(2);
      randomFillSync(r);
      k = r;
    }
    this.k0 = k[0] >>> 0;
    this.k1 = k[1] >>> 0;
  }

  /** Hash of the packet's (version, protocol, src, sport, dst, dport), the same both ways. */
  flow(p: DecodedPacket): number {
    return this.tuple(p.ipVersion, p.ipProto, p.srcIp, p.srcPort, p.dstIp, p.dstPort);
  }

  /** Hash of the 5-tuple an ICMP error quotes (same value as `flow` of the quoted packet). */
  quoted(p: DecodedPacket): number {
    return this.tuple(p.quotedIpVersion, p.quotedProto, p.quotedSrcIp, p.quotedSrcPort, p.quotedDstIp, p.quotedDstPort);
  }

  tuple(version: number, proto: number, aIp: Uint8Array, aPort: number, bIp: Uint8Array, bPort: number): number {
    const len = version === 4 ? 4 : 16;
    // Canonical order: compare addresses byte by byte, then ports.
    let cmp = 0;
    for (let i = 0; i < len && cmp === 0; i++) cmp = aIp[i] - bIp[i];
    if (cmp === 0) cmp = aPort - bPort;
    const lo = cmp <= 0 ? aIp : bIp;
    const hi = cmp <= 0 ? bIp : aIp;
    const w = this.w;
    let n = 0;
    for (let i = 0; i < len; i += 4) w[n++] = (lo[i] << 24) | (lo[i + 1] << 16) | (lo[i + 2] << 8) | lo[i + 3];
    for (let i = 0; i < len; i += 4) w[n++] = (hi[i] << 24) | (hi[i + 1] << 16) | (hi[i + 2] << 8) | hi[i + 3];
    w[n++] = cmp <= 0 ? ((aPort & 0xffff) << 16) | (bPort & 0xffff) : ((bPort & 0xffff) << 16) | (aPort & 0xffff);
    w[n++] = ((proto & 0xff) << 8) | (version & 0xff);

    // HalfSipHash-1-3 (Aumasson & Bernstein's SipHash on 32-bit words): one round per message
    // word, three to finalise. Locals only: no allocation, no 64-bit arithmetic.
    let v0 = this.k0;
    let v1 = this.k1;
    let v2 = C2 ^ this.k0;
    let v3 = C3 ^ this.k1;
    for (let i = 0; i <= n; i++) {
      // The last block carries the message length in bytes in its top byte, as SipHash's does.
      const m = i < n ? w[i] : ((n * 4) & 0xff) << 24;
      v3 ^= m;
      v0 = (v0 + v1) | 0; v1 = (v1 << 5) | (v1 >>> 27); v1 ^= v0; v0 = (v0 << 16) | (v0 >>> 16);
      v2 = (v2 + v3) | 0; v3 = (v3 << 8) | (v3 >>> 24); v3 ^= v2;
      v0 = (v0 + v3) | 0; v3 = (v3 << 7) | (v3 >>> 25); v3 ^= v0;
      v2 = (v2 + v1) | 0; v1 = (v1 << 13) | (v1 >>> 19); v1 ^= v2; v2 = (v2 << 16) | (v2 >>> 16);
      v0 ^= m;
    }
    v2 ^= 0xff;
    for (let r = 0; r < 3; r++) {
      v0 = (v0 + v1) | 0; v1 = (v1 << 5) | (v1 >>> 27); v1 ^= v0; v0 = (v0 << 16) | (v0 >>> 16);
      v2 = (v2 + v3) | 0; v3 = (v3 << 8) | (v3 >>> 24); v3 ^= v2;
      v0 = (v0 + v3) | 0; v3 = (v3 << 7) | (v3 >>> 25); v3 ^= v0;
      v2 = (v2 + v1) | 0; v1 = (v1 << 13) | (v1 >>> 19); v1 ^= v2; v2 = (v2 << 16) | (v2 >>> 16);
    }
    return (v1 ^ v3) >>> 0;
  }
}

export function sameAddr(a: Uint8Array, b: Uint8Array, len: number): boolean {
  for (let i = 0; i < len; i++) if (a[i] !== b[i]) return false;
  return true;
}
