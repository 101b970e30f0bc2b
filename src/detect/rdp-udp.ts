/**
 * RDP over UDP: the UDP transport extension (MS-RDPEUDP) a client opens to 3389/udp after the
 * TCP connection offered it (MS-RDPBCGR §2.2.15.1). Its connection starts with a SYN datagram
 * and a SYN+ACK (MS-RDPEUDP §3.1.5.1), both zero-padded to the MTU; then the reliable transport
 * carries a TLS handshake in its source payloads (the lossy one DTLS, MS-RDPEMT §1.3). When
 * protocol version 3 is negotiated, data packets use MS-RDPEUDP2 instead.
 *
 *   RDPUDP_FEC_HEADER (§2.2.2.1):        snSourceAck u32 BE | uReceiveWindowSize u16 BE | uFlags u16 BE
 *   RDPUDP_SYNDATA_PAYLOAD (§2.2.2.5):   snInitialSequenceNumber u32 | uUpStreamMtu u16 | uDownStreamMtu u16
 *   RDPUDP_CORRELATION_ID_PAYLOAD (§2.2.2.8): uCorrelationId 16 bytes | uReserved 16 bytes (flag 0x0800)
 *   RDPUDP_SYNDATAEX_PAYLOAD (§2.2.2.9): uSynExFlags u16 | uUdpVer u16 | cookieHash 32 bytes (version 3 SYN only) (flag 0x1000)
 *   data datagram: FEC header, then RDPUDP_ACK_VECTOR_HEADER when ACK (§2.2.2.7: uAckVectorSize
 *   u16, that many AckVectorElement bytes, padding to a 4-byte boundary), RDPUDP_ACK_OF_ACKVECTOR_HEADER
 *   when ACK_OF_ACKS (§2.2.2.6: 4 bytes), then RDPUDP_SOURCE_PAYLOAD_HEADER when DATA without FEC
 *   (§2.2.2.4: snCoded u32 | snSourceStart u32) and the source payload; an FEC payload (flag
 *   0x0010, §2.2.2.2) is coded data, not read.
 * All integers are big-endian (network byte order, §2.2).
 */
import { Cursor } from "../bytes/cursor.js";
import type { ConversationFacts, Datagram, Handoff, ProbeResult, RdpUdpFacts, StreamSample } from "./types.js";

const FLAG_SYN = 0x0001;
const FLAG_ACK = 0x0004;
const FLAG_DATA = 0x0008;
const FLAG_FEC = 0x0010;
const FLAG_ACK_OF_ACKS = 0x0100;
const FLAG_SYNLOSSY = 0x0200;
const FLAG_CORRELATION_ID = 0x0800;
const FLAG_SYNEX = 0x1000;
/** §2.2.2.9 RDPUDP_VERSION_INFO_VALID. */
const SYNEX_VERSION_INFO_VALID = 0x0001;
/** §2.2.2.9 RDPUDP_PROTOCOL_VERSION_3: data transfer per MS-RDPEUDP2. */
const VERSION_3 = 0x0101;
/** §2.2.2.5: MTUs are 1132–1232. */
const MTU_MIN = 1132;
const MTU_MAX = 1232;
/** Source payload bytes reassembled per direction (a TLS server flight with a chain is a few KB). */
const MAX_STREAM = 16 * 1024;

/** "1", "2", "3" (RDPEUDP2), else hex. */
function versionName(v: number): string {
  if (v === 0x0001) return "1";
  if (v === 0x0002) return "2";
  if (v === VERSION_3) return "3";
  return "0x" + v.toString(16).padStart(4, "0");
}

interface Syn {
  flags: number;
  isn: number;
  up: number;
  down: number;
  correlationId: string | null;
  version: number | null;
}

/** A SYN or SYN+ACK datagram (§3.1.5.1.1, §3.1.5.1.3), or null when `b` is not one. */
function readSyn(b: Uint8Array, synAck: boolean): Syn | null {
  const c = new Cursor(b);
  if (c.left < 16) return null;
  const sourceAck = c.u32(); // RDPUDP_FEC_HEADER
  c.skip(2); // uReceiveWindowSize
  const flags = c.u16();
  if ((flags & FLAG_SYN) === 0 || ((flags & FLAG_ACK) !== 0) !== synAck) return null;
  // §3.1.5.1.1: a SYN's snSourceAck MUST be -1.
  if (!synAck && sourceAck !== 0xffffffff) return null;
  const isn = c.u32(); // RDPUDP_SYNDATA_PAYLOAD
  const up = c.u16();
  const down = c.u16();
  if (up < MTU_MIN || up > MTU_MAX || down < MTU_MIN || down > MTU_MAX) return null;
  const s: Syn = { flags, isn, up, down, correlationId: null, version: null };
  if (flags & FLAG_CORRELATION_ID) {
    if (c.left < 32) return s;
    s.correlationId = Buffer.from(c.view(16)!).toString("hex");
    c.skip(16); // uReserved
  }
  if (flags & FLAG_SYNEX && c.left >= 4) {
    const synExFlags = c.u16();
    const version = c.u16();
    if ((synExFlags & SYNEX_VERSION_INFO_VALID) !== 0) s.version = version;
  }
  return s;
}

/** Does this conversation open with an RDPEUDP SYN (or, the client's side missing, a SYN+ACK)? */
export function probeRdpUdp(s: StreamSample): ProbeResult {
  const c = s.datagrams.find((d) => d.fromClient);
  if (c !== undefined) return readSyn(c.data, false) !== null ? "match" : "no";
  const sv = s.datagrams[0];
  return sv !== undefined && readSyn(sv.data, true) !== null ? "match" : "no";
}

/**
 * Source payloads of one direction in sequence order (snSourceStart), each sequence number once,
 * contiguous from the first one after the SYN's initial sequence number: the TLS bytes.
 */
function sourceStream(datagrams: readonly Datagram[], isn: number | null): Uint8Array {
  const bySeq = new Map<number, Uint8Array>();
  const c = new Cursor();
  for (const d of datagrams) {
    c.reset(d.data);
    if (c.left < 8) continue;
    c.skip(6); // snSourceAck, uReceiveWindowSize
    const flags = c.u16();
    if (flags & FLAG_SYN || (flags & FLAG_DATA) === 0 || flags & FLAG_FEC) continue;
    if (flags & FLAG_ACK) {
      const n = c.u16(); // uAckVectorSize
      if (n < 0 || !c.skip(n + ((4 - ((2 + n) % 4)) % 4))) continue; // §2.2.2.7: padded to a DWORD boundary
    }
    if (flags & FLAG_ACK_OF_ACKS && !c.skip(4)) continue;
    if (c.left < 8) continue;
    c.skip(4); // snCoded
    const seq = c.u32(); // snSourceStart
    if (!bySeq.has(seq)) bySeq.set(seq, c.view(c.left)!);
  }
  if (bySeq.size === 0) return new Uint8Array(0);
  // §3.1.5.1.1: the first source packet carries snInitialSequenceNumber + 1.
  let seq = isn !== null ? (isn + 1) >>> 0 : Math.min(...bySeq.keys());
  const parts: Uint8Array[] = [];
  let total = 0;
  while (bySeq.has(seq) && total < MAX_STREAM) {
    const part = bySeq.get(seq)!;
    parts.push(part);
    total += part.length;
    seq = (seq + 1) >>> 0;
  }
  const out = new Uint8Array(Math.min(total, MAX_STREAM));
  let o = 0;
  for (const p of parts) {
    const n = Math.min(p.length, out.length - o);
    out.set(p.subarray(0, n), o);
    o += n;
  }
  return out;
}

/** Fills out.rdp (with its `udp` part) and, for the reliable transport of versions 1 and 2, out.tls. */
export function analyzeRdpUdp(s: StreamSample, out: ConversationFacts): Handoff | null {
  const clientSyn = s.datagrams.find((d) => d.fromClient && readSyn(d.data, false) !== null);
  const serverSyn = s.datagrams.find((d) => !d.fromClient && readSyn(d.data, true) !== null);
  const cs = clientSyn !== undefined ? readSyn(clientSyn.data, false) : null;
  const ss = serverSyn !== undefined ? readSyn(serverSyn.data, true) : null;
  const udp: RdpUdpFacts = {
    syn: cs !== null,
    synAck: ss !== null,
    lossy: ((cs?.flags ?? 0) & FLAG_SYNLOSSY) !== 0 || ((ss?.flags ?? 0) & FLAG_SYNLOSSY) !== 0,
    clientVersion: cs?.version != null ? versionName(cs.version) : null,
    serverVersion: ss?.version != null ? versionName(ss.version) : null,
    correlationId: cs?.correlationId ?? null,
    mtu: cs !== null ? { up: cs.up, down: cs.down } : null,
  };
  out.rdp = { cookie: null, requestedProtocols: [], selectedProtocol: null, failure: null, udp };
  // §3.1.5.1.3: the version both use is the server's choice (version 1 when either side gave none).
  const version = ss?.version ?? 1;
  if (udp.lossy || version === VERSION_3) return null; // DTLS (lossy) or MS-RDPEUDP2 framing: not read
  const client = sourceStream(s.datagrams.filter((d) => d.fromClient), cs?.isn ?? null);
  const server = sourceStream(s.datagrams.filter((d) => !d.fromClient), ss?.isn ?? null);
  return client.length > 0 || server.length > 0 ? { child: "tls", client, server, clientStart: 0, serverStart: 0 } : null;
}
