/**
 * The record layer of one side (RFC 8446 §5.1, RFC 5246 §6.2.1, RFC 6101 §5.2.1): records walked
 * in order, handshake messages reassembled across records, alerts in clear (RFC 5246 §7.2), the
 * server Certificate (RFC 5246 §7.4.2). Parsing stops where that side's records become encrypted
 * (after its ChangeCipherSpec in TLS ≤ 1.2; after the ServerHello in TLS 1.3).
 */
import { Cursor } from "../../bytes/cursor.js";
import type { Direction, TlsTruncation } from "../types.js";
import { readCertificates, type CertificateCache, type Certificates } from "./certificate.js";
import { readClientHello, readServerHello } from "./hello.js";
import { parseSslv2ClientHello, parseSslv2ServerHello, sslv2Length } from "./sslv2.js";
import { emptyServerHello, CT_ALERT, CT_APPLICATION_DATA, CT_CHANGE_CIPHER_SPEC, CT_HANDSHAKE, CT_HEARTBEAT, ENCRYPTED_ALERT, HT_CERTIFICATE, HT_CLIENT_HELLO, HT_HELLO_RETRY_REQUEST_DRAFT, HT_SERVER_HELLO, MAX_ALERTS, MAX_CHAIN, MAX_HANDSHAKE_MESSAGE, MAX_RECORDS, MAX_RECORD_LENGTH, type OffsetMap, type ParsedClientHello, type ParsedServerHello, Sink, alertDescriptionName, u16, u24 } from "./messages.js";

// ---------------------------------------------------------------------------------------------
// Record walking and handshake reassembly (one side)
// ---------------------------------------------------------------------------------------------

interface SideResult {
  clientHellos: ParsedClientHello[];
  serverHellos: ParsedServerHello[];
  certificates: Certificates | null;
  alerts: { level: string; description: string }[];
  /** The server picked TLS 1.3 (in a HelloRetryRequest or ServerHello). */
  tls13: boolean;
  sslv2ServerHello: boolean;
  /** A hello or Certificate cut by the end of this side's captured bytes. */
  truncated: TlsTruncation | null;
}

interface SideOptions {
  dir: Direction;
  /** Client side: the server selected TLS 1.3, so ChangeCipherSpec is the compatibility no-op (RFC 8446 §D.4). */
  tls13?: boolean;
  /** Client side: the server sent a HelloRetryRequest, so a second ClientHello follows. */
  hrr?: boolean;
  /** Client side: the server answered in SSL 2.0, so nothing after the CLIENT-HELLO is a TLS record. */
  sslv2Server?: boolean;
  /** Client side: no ServerHello was captured, so the server's version choice is unknown. */
  noServerHello?: boolean;
  /** Server side: the analysis's certificate cache. */
  certificates?: CertificateCache;
}

/** Reassembles handshake messages from consecutive handshake records (RFC 8446 §5.1). */
class Reassembler {
  buf: Uint8Array;
  len = 0;
  pos = 0;
  /** Pairs (buffer offset, stream offset), one per appended fragment, for mapping offsets back. */
  private readonly map: number[] = [];
  overflow = false;

  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity);
  }

  append(src: Uint8Array, from: number, to: number): void {
    const n = Math.min(to - from, this.buf.length - this.len);
    if (n < to - from) this.overflow = true;
    if (n <= 0) return;
    this.map.push(this.len, from);
    this.buf.set(src.subarray(from, from + n), this.len);
    this.len += n;
  }

  /** Stream offset of buffer offset x (binary search over fragments), as an OffsetMap. */
  readonly at: OffsetMap = (x) => this.streamOffset(x);

  streamOffset(x: number): number {
    let lo = 0;
    let hi = this.map.length / 2 - 1;
    if (hi < 0) return 0;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.map[mid * 2] <= x) lo = mid;
      else hi = mid - 1;
    }
    return this.map[lo * 2 + 1] + (x - this.map[lo * 2]);
  }
}

/** Facts a cut message leaves unreadable (null in TlsFacts), for the reason text. */
const UNREADABLE: Record<string, string> = {
  ClientHello: "clientVersion, sni, alpn, ja3 and ja4 are unknown",
  ServerHello: "version, cipher, alpnSelected and ja3s are unknown",
  Certificate: "certificates after the last whole one are not read",
};

/** The sentence naming the facts a cut `message` leaves null. */
export function unreadableFacts(message: string): string {
  return UNREADABLE[message] ?? "it is not read";
}

/** The truncation fact for a message cut at stream offset `at` (one past the last captured byte). */
export function truncation(from: Direction, message: string, declared: number, at: number, cause = "the captured bytes of this side end there (snap length, a segment not captured, or the end of the kept prefix)"): TlsTruncation {
  const what = declared >= 0 ? `${message} of ${declared} bytes is cut at byte ${at}` : `${message} header is cut at byte ${at}`;
  return { from, message, declared: declared >= 0 ? declared : null, truncatedAt: at, reason: `${what}: ${cause}; ${unreadableFacts(message)}` };
}

export function walkSide(b: Uint8Array, start: number, opt: SideOptions, sink: Sink): SideResult {
  const dir = opt.dir;
  const res: SideResult = { clientHellos: [], serverHellos: [], certificates: null, alerts: [], tls13: opt.tls13 === true, sslv2ServerHello: false, truncated: null };
  const end = b.length;
  let off = start;

  // SSL 2.0 first record: 2-byte header with the high bit set (a TLS record starts with 20..24).
  if (end - off >= 3 && (b[off] & 0x80) !== 0) {
    const len = sslv2Length(b, off);
    if (dir === "client" && b[off + 2] === 1) {
      const h = parseSslv2ClientHello(b, off, end, sink, dir);
      if (h !== null) res.clientHellos.push(h);
    } else if (dir === "server" && b[off + 2] === 4) {
      const s = parseSslv2ServerHello(b, off, end, sink, dir);
      if (s !== null) {
        res.serverHellos.push(s.hello);
        res.sslv2ServerHello = true;
        if (s.certTo > s.certFrom) res.certificates = readCertificates([b.subarray(s.certFrom, s.certTo)], 1, sink, dir, s.certFrom, opt.certificates);
      }
      return res; // the rest of an SSL 2.0 conversation is SSL 2.0 records, mostly encrypted
    } else {
      return res;
    }
    // After an SSL 2.0 CLIENT-HELLO, a TLS server's answer makes the client go on in TLS records.
    off += 2 + len;
    if (opt.sslv2Server || end - off < 3 || b[off] < CT_CHANGE_CIPHER_SPEC || b[off] > CT_APPLICATION_DATA || b[off + 1] !== 3) return res;
  }

  const hs = new Reassembler(Math.min(Math.max(end - off, 0), MAX_HANDSHAKE_MESSAGE + 4));
  let hsStopped = false; // no more cleartext handshake messages will be parsed on this side
  let encrypted = false; // this side's records are encrypted from here on
  let hrrCount = 0;
  let interleaveReported = false;
  let records = 0;

  // Client side with no ServerHello captured: a client that offered TLS 1.3 and sends a
  // ChangeCipherSpec followed by a cleartext ClientHello is answering a HelloRetryRequest we did
  // not see (RFC 8446 §4.1.2, §D.4). In TLS ≤ 1.2 the record after CCS is the encrypted Finished.
  let compatCcsPending = false;
  let unseenHrr = false;
  const needClientHello = (): boolean =>
    res.clientHellos.length === 0 || ((opt.hrr === true || unseenHrr) && res.clientHellos.length === 1);

  const handleMessage = (type: number, from: number, to: number, complete: boolean): void => {
    const at = hs.at;
    const buf = hs.buf;
    if (dir === "client") {
      if (type === HT_CLIENT_HELLO && needClientHello() && complete) {
        const h = readClientHello(new Cursor(buf, from, to), at, sink, dir);
        if (h !== null) res.clientHellos.push(h);
      }
      return;
    }
    if (type === HT_SERVER_HELLO && complete) {
      const h = readServerHello(new Cursor(buf, from, to), at, sink, dir);
      if (h === null) return;
      res.serverHellos.push(h);
      const v = h.supportedVersion ?? h.legacyVersion;
      const is13 = v === 0x0304 || v >> 8 === 0x7f;
      if (h.helloRetryRequest) {
        hrrCount++;
        // RFC 8446 §4.1.4: a client receiving a second HelloRetryRequest must abort.
        if (hrrCount === 2) sink.add("tls_second_hello_retry_request", "server sent a second HelloRetryRequest", dir, h.offset);
        res.tls13 = true;
      } else if (is13) {
        // Everything the server sends after a TLS 1.3 ServerHello is encrypted (RFC 8446 §2).
        res.tls13 = true;
        hsStopped = true;
      }
      return;
    }
    if (type === HT_HELLO_RETRY_REQUEST_DRAFT && complete && to - from >= 2) {
      const h = parseServerHelloDraftHrr(buf, from, to, hs.streamOffset(from - 4));
      res.serverHellos.push(h);
      res.tls13 = true;
      hrrCount++;
      return;
    }
    if (type === HT_CERTIFICATE && !res.tls13 && res.certificates === null) {
      res.certificates = parseCertificateMessage(buf, from, to, complete, at, sink, dir, opt.certificates);
    }
  };

  const drain = (): void => {
    while (!hsStopped && hs.len - hs.pos >= 4) {
      const type = hs.buf[hs.pos];
      const mlen = u24(hs.buf, hs.pos + 1);
      if (mlen > MAX_HANDSHAKE_MESSAGE) {
        sink.add("tls_handshake_too_long", `handshake message type ${type} declares ${mlen} bytes, over the ${MAX_HANDSHAKE_MESSAGE}-byte limit`, dir, hs.streamOffset(hs.pos));
        hsStopped = true;
        return;
      }
      if (hs.len - hs.pos - 4 < mlen) return; // wait for the next record
      handleMessage(type, hs.pos + 4, hs.pos + 4 + mlen, true);
      hs.pos += 4 + mlen;
      if (dir === "client" && !needClientHello()) hsStopped = true;
    }
  };

  while (off < end) {
    if (records >= MAX_RECORDS) break;
    if (end - off < 5) break; // a record header cut by the end of the captured stream
    const type = b[off];
    const major = b[off + 1];
    const len = u16(b, off + 3);
    if (type < CT_CHANGE_CIPHER_SPEC || type > CT_HEARTBEAT) {
      sink.add("tls_bad_record_type", `record content type ${type} is not a TLS content type (20-24); the stream is not TLS records from here`, dir, off);
      break;
    }
    if (major !== 3) {
      sink.add("tls_bad_record_version", `record version 0x${major.toString(16).padStart(2, "0")}${b[off + 2].toString(16).padStart(2, "0")} is not 3.x`, dir, off);
      break;
    }
    if (len > MAX_RECORD_LENGTH) {
      sink.add("tls_record_too_long", `record length ${len} exceeds 2^14+2048 (${MAX_RECORD_LENGTH})`, dir, off);
      break;
    }
    records++;
    const fragFrom = off + 5;
    const fragTo = Math.min(fragFrom + len, end);
    if (len === 0 && type !== CT_APPLICATION_DATA) {
      // RFC 8446 §5.1 / RFC 5246 §6.2.1: zero-length fragments of handshake, alert or CCS must not be sent.
      sink.add("tls_empty_record", `zero-length record of content type ${type}`, dir, off);
    }
    if (type !== CT_HANDSHAKE && hs.pos < hs.len && !hsStopped && !encrypted && !interleaveReported) {
      // RFC 8446 §5.1: handshake messages must not be interleaved with other record types.
      sink.add("tls_handshake_interleaved", `record of content type ${type} arrives in the middle of a handshake message`, dir, off);
      interleaveReported = true;
    }
    if (compatCcsPending) {
      compatCcsPending = false;
      const first = res.clientHellos[0];
      if (type === CT_HANDSHAKE && len >= 4 && fragTo - fragFrom >= 4 && b[fragFrom] === HT_CLIENT_HELLO && u24(b, fragFrom + 1) >= len - 4 && first !== undefined && first.supportedVersions.includes(0x0304)) {
        unseenHrr = true;
        hsStopped = false;
      } else {
        encrypted = true;
        hsStopped = true;
      }
    }
    if (type === CT_HANDSHAKE) {
      if (!hsStopped && !encrypted) {
        hs.append(b, fragFrom, fragTo);
        drain();
      }
    } else if (type === CT_CHANGE_CIPHER_SPEC) {
      // TLS ≤ 1.2: this side encrypts from the next record on (RFC 5246 §7.1). TLS 1.3: a no-op
      // for middleboxes (RFC 8446 §D.4); the second ClientHello after an HRR may follow it.
      if (opt.noServerHello === true && dir === "client" && res.clientHellos.length === 1 && !res.clientHellos[0].sslv2) {
        compatCcsPending = true;
      } else if (!res.tls13) {
        encrypted = true;
        hsStopped = true;
      }
    } else if (type === CT_ALERT && len > 0 && res.alerts.length < MAX_ALERTS) {
      // An alert in clear is one 2-byte message (RFC 5246 §7.2, RFC 8446 §6). A longer alert
      // record carries an IV, a MAC or an AEAD tag (a GCM alert is 26 bytes, ChaCha20 18, CBC
      // 48+): it is encrypted, whatever we saw before it — a capture that began mid-stream shows
      // such a record with no handshake at all. So is any alert after this side's
      // ChangeCipherSpec (TLS ≤ 1.2). Its bytes are ciphertext: never read a level or a
      // description from them (issue 18); say "encrypted".
      if (encrypted || len !== 2) {
        res.alerts.push({ level: "encrypted", description: ENCRYPTED_ALERT });
      } else if (fragTo - fragFrom === 2) {
        const level = b[fragFrom];
        res.alerts.push({ level: level === 1 ? "warning" : level === 2 ? "fatal" : "0x" + level.toString(16).padStart(2, "0"), description: alertDescriptionName(b[fragFrom + 1]) });
      }
    }
    // CT_APPLICATION_DATA and CT_HEARTBEAT carry nothing we read.
    off = fragFrom + len;
  }

  // A message cut by the end of the captured bytes: say so for the messages we read, and read a
  // cut Certificate as far as it goes (the leaf usually comes first and whole).
  if (!hsStopped && hs.len - hs.pos >= 1) {
    const type = hs.buf[hs.pos];
    const have = hs.len - hs.pos;
    const declared = have >= 4 ? u24(hs.buf, hs.pos + 1) : -1;
    const relevant =
      dir === "client" ? type === HT_CLIENT_HELLO && needClientHello() : type === HT_SERVER_HELLO || (type === HT_CERTIFICATE && !res.tls13 && res.certificates === null);
    if (relevant) {
      const name = type === HT_CLIENT_HELLO ? "ClientHello" : type === HT_SERVER_HELLO ? "ServerHello" : "Certificate";
      sink.add(
        "tls_handshake_truncated",
        declared >= 0 ? `${name} of ${declared} bytes is cut after ${have - 4} bytes by the end of the captured stream` : `${name} header is cut by the end of the captured stream`,
        dir,
        hs.streamOffset(hs.pos),
      );
      res.truncated = truncation(dir, name, declared, hs.streamOffset(hs.len - 1) + 1);
      // ServerHello body: legacy_version first (RFC 8446 §4.1.3, RFC 5246 §7.4.1.3).
      if (type === HT_SERVER_HELLO && have >= 6) res.truncated.legacyVersion = (hs.buf[hs.pos + 4] << 8) | hs.buf[hs.pos + 5];
      if (type === HT_CERTIFICATE && have >= 4) handleMessage(type, hs.pos + 4, hs.len, false);
    }
  }
  if (hs.overflow && !hsStopped) {
    sink.add("tls_handshake_too_long", `more than ${MAX_HANDSHAKE_MESSAGE} bytes of handshake data on one side; the rest was not read`, dir, start);
  }
  return res;
}

/** Draft TLS 1.3 HelloRetryRequest (type 6, drafts ≤ 21): server_version(2) [cipher_suite(2)] extensions. */
function parseServerHelloDraftHrr(b: Uint8Array, from: number, _to: number, offset: number): ParsedServerHello {
  const h = emptyServerHello(offset, u16(b, from));
  h.helloRetryRequest = true;
  return h;
}

/** TLS ≤ 1.2 Certificate: certificate_list<0..2^24-1>, each ASN.1Cert<1..2^24-1>; leaf first. */
function parseCertificateMessage(
  b: Uint8Array,
  from: number,
  to: number,
  complete: boolean,
  at: OffsetMap,
  sink: Sink,
  dir: Direction,
  cache?: CertificateCache,
): Certificates | null {
  if (to - from < 3) {
    if (complete) sink.add("tls_bad_certificate_message", `Certificate message of ${to - from} bytes has no list length`, dir, at(from));
    return null;
  }
  const listLen = u24(b, from);
  let p = from + 3;
  if (complete && listLen !== to - p) {
    sink.add("tls_bad_certificate_message", `Certificate list length ${listLen} does not match the message's ${to - p} bytes`, dir, at(from));
  }
  const listEnd = Math.min(p + listLen, to);
  let count = 0;
  let leafAt = -1;
  const ders: Uint8Array[] = [];
  while (listEnd - p >= 3) {
    const clen = u24(b, p);
    if (clen > listEnd - p - 3) {
      if (complete) sink.add("tls_bad_certificate_message", `certificate of ${clen} bytes runs past the list (${listEnd - p - 3} left)`, dir, at(p));
      break;
    }
    if (count === 0) leafAt = p + 3;
    // Bounded: a chain longer than MAX_CHAIN is counted but not parsed (X509Certificate costs ~0.3 ms each).
    if (ders.length < MAX_CHAIN) ders.push(b.slice(p + 3, p + 3 + clen));
    count++;
    p += 3 + clen;
  }
  if (count === 0) {
    if (complete) sink.add("tls_empty_certificate_chain", "server sent a Certificate message with no certificate", dir, at(from));
    return null;
  }
  return readCertificates(ders, count, sink, dir, at(leafAt), cache);
}
