/**
 * Conversation keys without strings: a 32-bit hash that is the same both ways (gopacket's
 * FastHash idea), computed straight from the decoded packet's address bytes and ports, and an
 * exact comparison to resolve collisions. No per-packet allocation.
 */
import type { DecodedPacket } from "../decode/packet.js";

/** FNV-1a over one endpoint (address bytes then port). */
function endpointHash(ip: Uint8Array, len: number, port: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < len; i++) h = Math.imul(h ^ ip[i], 0x01000193);
  h = Math.imul(h ^ (port & 0xff), 0x01000193);
  h = Math.imul(h ^ (port >>> 8), 0x01000193);
  return h >>> 0;
}

/**
 * Symmetric hash of (protocol, src, sport, dst, dport): combining the two endpoint hashes with
 * + and ^ gives the same value whichever side is the source.
 */
export function flowHash(p: DecodedPacket): number {
  const len = p.ipVersion === 4 ? 4 : 16;
  const a = endpointHash(p.srcIp, len, p.srcPort);
  const b = endpointHash(p.dstIp, len, p.dstPort);
  return (((a + b) ^ (a ^ b) ^ (p.ipProto * 0x9e3779b1)) >>> 0) ^ p.ipVersion;
}

/** Hash of the 5-tuple an ICMP error quotes (same value as flowHash of the quoted packet). */
export function quotedFlowHash(p: DecodedPacket): number {
  const len = p.quotedIpVersion === 4 ? 4 : 16;
  const a = endpointHash(p.quotedSrcIp, len, p.quotedSrcPort);
  const b = endpointHash(p.quotedDstIp, len, p.quotedDstPort);
  return (((a + b) ^ (a ^ b) ^ (p.quotedProto * 0x9e3779b1)) >>> 0) ^ p.quotedIpVersion;
}

export function sameAddr(a: Uint8Array, b: Uint8Array, len: number): boolean {
  for (let i = 0; i < len; i++) if (a[i] !== b[i]) return false;
  return true;
}
