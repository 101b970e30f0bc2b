/**
 * DTLS over UDP (RFC 6347 DTLS 1.2, RFC 4347 DTLS 1.0, RFC 9147 DTLS 1.3), as its own protocol
 * `dtls` — not TLS (it is not a byte stream) and never NTP (issue 18: `16 fe fd` on UDP 443 read
 * as an NTP control message).
 *
 *   record (RFC 6347 §4.1): type(1) version(2) epoch(2) sequence_number(6) length(2) fragment
 *     types 20 CCS, 21 alert, 22 handshake, 23 application data, 24 heartbeat, 25 tls12_cid;
 *     versions 0xfeff DTLS 1.0, 0xfefd DTLS 1.2 (RFC 9147 keeps 0xfefd as legacy_record_version),
 *     and 0x0100, OpenSSL's pre-standard DTLS1_BAD_VER (Cisco AnyConnect);
 *   handshake (§4.2.2): msg_type(1) length(3) message_seq(2) fragment_offset(3) fragment_length(3) body
 *   ClientHello (§4.2.1): client_version(2) random(32) session_id<0..32> cookie<0..2^8-1>
 *     cipher_suites<2..2^16-2> compression_methods<1..2^8-1> extensions — TLS's ClientHello with a
 *     cookie after the session id; ServerHello is TLS's.
 *
 * Facts go in `tls` (TlsFacts): the version the client offered, the SNI and ALPN (when the
 * ClientHello is whole in one fragment), the version and cipher the server chose. No JA3/JA4:
 * they are defined on TLS. RFC 9147's encrypted records with the unified header (first byte
 * 001xxxxx) are counted as DTLS once a DTLS record was seen, never parsed.
 */
import { firstBytes } from "./text.js";
import { alertDescriptionName, cipherName, emptyTlsFacts, ENCRYPTED_ALERT, parseClientHello, parseServerHello } from "./tls/index.js";
import type { ConversationFacts, Datagram, Detector, ProbeResult, StreamSample, TlsFacts } from "./types.js";

const HEADER = 13;
const HS_HEADER = 12;
const CT_CCS = 20;
const CT_ALERT = 21;
const CT_HANDSHAKE = 22;
const CT_CID = 25;
const HT_CLIENT_HELLO = 1;
const HT_SERVER_HELLO = 2;
/** Records read per datagram, datagrams per conversation. */
const MAX_RECORDS = 16;
const MAX_DATAGRAMS = 32;
/** RFC 6347 §4.1: a record's length must not exceed 2^14 (+ 2048 for the ciphertext's overhead). */
const MAX_RECORD_LENGTH = 16384 + 2048;

const DTLS_VERSIONS: ReadonlyMap<number, string> = new Map([
  [0xfeff, "DTLS 1.0"],
  [0xfefd, "DTLS 1.2"],
  [0xfefc, "DTLS 1.3"],
  [0x0100, "DTLS 1.0 (OpenSSL pre-standard)"],
]);

/** 0xfefd → "DTLS 1.2"; unknown → "0x1234". */
export function dtlsVersionName(v: number): string {
  return DTLS_VERSIONS.get(v) ?? "0x" + (v & 0xffff).toString(16).padStart(4, "0");
}

function isRecordVersion(v: number): boolean {
  return v === 0xfeff || v === 0xfefd || v === 0x0100;
}

function u16(b: Uint8Array, p: number): number {
  return (b[p] << 8) | b[p + 1];
}
function u24(b: Uint8Array, p: number): number {
  return (b[p] << 16) | (b[p + 1] << 8) | b[p + 2];
}

/**
 * True when `d` is made of whole DTLS records, back to back, the first one of a handshake
 * (22) or — for a conversation picked up midstream — any record type. Tiling the datagram
 * exactly is what keeps this strong: random bytes almost never do, and an NTP mode-6 packet
 * (`16 02 …`, `16 82 …`) has no DTLS version.
 */
export function isDtlsDatagram(d: Uint8Array): boolean {
  let off = 0;
  let n = 0;
  while (off < d.length && n < MAX_RECORDS) {
    if (d.length - off < HEADER) return false;
    const type = d[off];
    if (type < CT_CCS || type > CT_CID || !isRecordVersion(u16(d, off + 1))) return false;
    const len = u16(d, off + 11);
    if (len > MAX_RECORD_LENGTH || off + HEADER + len > d.length) return false;
    off += HEADER + len;
    n++;
  }
  return n > 0 && off === d.length;
}

function probe(s: StreamSample): ProbeResult {
  const f = s.transport === "udp" ? firstBytes(s) : null; // the first datagram with data
  return f !== null && isDtlsDatagram(f.bytes) ? "match" : "no";
}

/** The DTLS ClientHello body with the cookie taken out: a TLS ClientHello body for parseClientHello. */
function withoutCookie(body: Uint8Array): Uint8Array | null {
  const sidAt = 2 + 32;
  if (body.length < sidAt + 1) return null;
  const cookieAt = sidAt + 1 + body[sidAt];
  if (cookieAt >= body.length) return null;
  const rest = cookieAt + 1 + body[cookieAt];
  if (rest > body.length) return null;
  const out = new Uint8Array(body.length - (rest - cookieAt));
  out.set(body.subarray(0, cookieAt), 0);
  out.set(body.subarray(rest), cookieAt);
  return out;
}

/** The DTLS version a ClientHello offers: the newest (numerically lowest) DTLS supported_versions entry, else client_version. */
function offeredVersion(legacy: number, supported: readonly number[]): number {
  let best = -1;
  for (const v of supported) if (DTLS_VERSIONS.has(v) && v !== 0x0100 && (best < 0 || v < best)) best = v;
  return best >= 0 ? best : legacy;
}

function emptyFacts(): TlsFacts {
  return emptyTlsFacts();
}

function handshake(t: TlsFacts, d: Datagram, frag: Uint8Array, out: ConversationFacts): void {
  if (frag.length < HS_HEADER) return;
  const type = frag[0];
  const length = u24(frag, 1);
  const fragOffset = u24(frag, 6);
  const fragLength = u24(frag, 9);
  // Only a message whole in this fragment is read (RFC 6347 §4.2.3: fragments may be spread
  // over datagrams; reassembling them is not worth it for these facts).
  if (fragOffset !== 0 || fragLength !== length || HS_HEADER + length > frag.length) return;
  const body = frag.subarray(HS_HEADER, HS_HEADER + length);
  if (type === HT_CLIENT_HELLO && d.fromClient && !t.clientHelloSeen) {
    const tlsBody = withoutCookie(body);
    const h = tlsBody !== null ? parseClientHello(tlsBody) : null;
    if (h === null) {
      out.anomalies.push({ name: "dtls_bad_client_hello", message: `the ClientHello in frame ${d.frame} does not parse`, direction: "client", frame: d.frame });
      return;
    }
    t.clientHelloSeen = true;
    t.clientVersionCode = offeredVersion(h.legacyVersion, h.supportedVersions);
    t.clientVersion = dtlsVersionName(t.clientVersionCode);
    t.sni = h.serverName;
    for (const p of h.alpn) t.alpn.push(String.fromCharCode(...p));
  } else if (type === HT_SERVER_HELLO && !d.fromClient && !t.serverHelloSeen) {
    const h = parseServerHello(body);
    if (h === null) return;
    t.serverHelloSeen = true;
    t.versionCode = h.supportedVersion ?? h.legacyVersion;
    t.version = dtlsVersionName(t.versionCode);
    if (h.cipher !== null) t.cipher = cipherName(h.cipher);
    if (h.alpn !== null) t.alpnSelected = String.fromCharCode(...h.alpn);
  }
}

function analyze(s: StreamSample, out: ConversationFacts): void {
  const t = emptyFacts();
  out.tls = t;
  // Epoch > 0 means the record is protected (RFC 6347 §4.1): its alerts are never read.
  let seen = 0;
  for (const d of s.datagrams) {
    if (seen++ >= MAX_DATAGRAMS) break;
    const b = d.data;
    let off = 0;
    for (let n = 0; n < MAX_RECORDS && b.length - off >= HEADER; n++) {
      const type = b[off];
      if (type < CT_CCS || type > CT_CID || !isRecordVersion(u16(b, off + 1))) break;
      const epoch = u16(b, off + 3);
      const len = u16(b, off + 11);
      const end = off + HEADER + len;
      if (end > b.length) break;
      const frag = b.subarray(off + HEADER, end);
      const from = d.fromClient ? "client" : "server";
      if (type === CT_HANDSHAKE && epoch === 0) handshake(t, d, frag, out);
      else if (type === CT_ALERT && t.alerts.length < 16) {
        if (epoch === 0 && len === 2) {
          t.alerts.push({ from, level: frag[0] === 1 ? "warning" : frag[0] === 2 ? "fatal" : "0x" + frag[0].toString(16).padStart(2, "0"), description: alertDescriptionName(frag[1]) });
        } else t.alerts.push({ from, level: "encrypted", description: ENCRYPTED_ALERT });
      }
      off = end;
    }
  }
}

export const dtlsDetector: Detector = {
  protocol: "dtls",
  transports: ["udp"],
  ports: [443, 4433, 5061, 3391, 5349],
  byContent: true,
  probe,
  analyze,
};
