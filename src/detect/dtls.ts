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
import { Cursor } from "../bytes/cursor.js";
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

/**
 * The DTLS record header at the cursor (RFC 6347 §4.1: type(1) version(2) epoch(2)
 * sequence_number(6) length(2)) when it is one of a version we know, its fragment pointed at by
 * `frag`; the epoch, or -1 (cut, not DTLS, longer than `maxLength`, or the fragment runs past the
 * datagram).
 */
function readRecord(c: Cursor, frag: Cursor, maxLength = 0xffff): number {
  if (c.left < HEADER) return -1;
  const type = c.u8();
  if (type < CT_CCS || type > CT_CID || !isRecordVersion(c.u16())) return -1;
  const epoch = c.u16();
  c.skip(6); // sequence_number
  const len = c.u16();
  if (len > maxLength || !c.sub(len, frag)) return -1;
  return epoch;
}

/**
 * True when `d` is made of whole DTLS records, back to back, the first one of a handshake
 * (22) or — for a conversation picked up midstream — any record type. Tiling the datagram
 * exactly is what keeps this strong: random bytes almost never do, and an NTP mode-6 packet
 * (`16 02 …`, `16 82 …`) has no DTLS version.
 */
export function isDtlsDatagram(d: Uint8Array): boolean {
  const c = new Cursor(d);
  const frag = new Cursor();
  let n = 0;
  while (c.left > 0 && n < MAX_RECORDS) {
    if (readRecord(c, frag, MAX_RECORD_LENGTH) < 0) return false;
    n++;
  }
  return n > 0 && c.left === 0;
}

function probe(s: StreamSample): ProbeResult {
  const f = s.transport === "udp" ? firstBytes(s) : null; // the first datagram with data
  return f !== null && isDtlsDatagram(f.bytes) ? "match" : "no";
}

/** The DTLS ClientHello body with the cookie taken out: a TLS ClientHello body for parseClientHello. */
function withoutCookie(body: Uint8Array): Uint8Array | null {
  // RFC 6347 §4.2.1: client_version(2) random(32) session_id<0..32> cookie<0..2^8-1> cipher_suites …
  const c = new Cursor(body);
  if (!c.skip(2 + 32)) return null;
  const sid = c.u8();
  if (sid < 0 || !c.skip(sid) || c.left < 1) return null;
  const cookieAt = c.pos;
  if (!c.skip(c.u8())) return null;
  const rest = c.pos;
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

function handshake(t: TlsFacts, d: Datagram, frag: Cursor, out: ConversationFacts): void {
  // RFC 6347 §4.2.2: msg_type(1) length(3) message_seq(2) fragment_offset(3) fragment_length(3).
  if (frag.left < HS_HEADER) return;
  const type = frag.u8();
  const length = frag.u24();
  frag.skip(2); // message_seq
  const fragOffset = frag.u24();
  const fragLength = frag.u24();
  // Only a message whole in this fragment is read (RFC 6347 §4.2.3: fragments may be spread
  // over datagrams; reassembling them is not worth it for these facts).
  if (fragOffset !== 0 || fragLength !== length) return;
  const body = frag.view(length);
  if (body === null) return;
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
  const c = new Cursor();
  const frag = new Cursor();
  let seen = 0;
  for (const d of s.datagrams) {
    if (seen++ >= MAX_DATAGRAMS) break;
    c.reset(d.data);
    for (let n = 0; n < MAX_RECORDS && c.left >= HEADER; n++) {
      const type = c.peek();
      const epoch = readRecord(c, frag);
      if (epoch < 0) break;
      const from = d.fromClient ? "client" : "server";
      if (type === CT_HANDSHAKE && epoch === 0) handshake(t, d, frag, out);
      else if (type === CT_ALERT && t.alerts.length < 16) {
        // An alert in clear (RFC 6347 §4.1, RFC 5246 §7.2): level(1) description(1).
        if (epoch === 0 && frag.left === 2) {
          const level = frag.u8();
          t.alerts.push({ from, level: level === 1 ? "warning" : level === 2 ? "fatal" : "0x" + level.toString(16).padStart(2, "0"), description: alertDescriptionName(frag.u8()) });
        } else t.alerts.push({ from, level: "encrypted", description: ENCRYPTED_ALERT });
      }
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
