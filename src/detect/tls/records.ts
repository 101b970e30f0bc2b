/**
 * The record layer of one side (RFC 8446 §5.1, RFC 5246 §6.2.1, RFC 6101 §5.2.1): records walked
 * in order, handshake messages reassembled across records, alerts in clear (RFC 5246 §7.2), the
 * server Certificate (RFC 5246 §7.4.2). Parsing stops where that side's records become encrypted
 * (after its ChangeCipherSpec in TLS ≤ 1.2; after the ServerHello in TLS 1.3).
 */
import { Cursor } from "../../bytes/cursor.js";
import type { Direction, TlsTruncation } from "../types.js";
import { readCertificates, type CertificateCache, type Certificates } from "./certificate.js";
import { parseCertificateMessage } from "./certificate-message.js";
import { readClientHello, readServerHello } from "./hello.js";
import { Reassembler, truncation } from "./reassembly.js";
import { parseSslv2ClientHello, parseSslv2ServerHello, sslv2Length } from "./sslv2.js";
import { emptyServerHello, CT_ALERT, CT_APPLICATION_DATA, CT_CHANGE_CIPHER_SPEC, CT_HANDSHAKE, CT_HEARTBEAT, ENCRYPTED_ALERT, HT_CERTIFICATE, HT_CLIENT_HELLO, HT_HELLO_RETRY_REQUEST_DRAFT, HT_SERVER_HELLO, MAX_ALERTS, MAX_HANDSHAKE_MESSAGE, MAX_RECORDS, MAX_RECORD_LENGTH, type ParsedClientHello, type ParsedServerHello, Sink, alertDescriptionName } from "./messages.js";

export { truncation, unreadableFacts } from "./reassembly.js";

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

/**
 * The record walk of one side as a small state machine (as Zeek's ssl analyzer is a grammar):
 *
 *   Start ──SSL 2.0 hello──▶ (SSL 2.0 server: Done) ─┐
 *     └──────────────────────────────────────────────┴▶ RecordHeader
 *   RecordHeader ─handshake▶ Fragment ─▶ MessageHeader ─whole message▶ MessageBody ─▶ MessageHeader
 *                                        MessageHeader ─needs the next record / stopped▶ RecordHeader
 *   RecordHeader ─change_cipher_spec▶ ChangeCipherSpec ─▶ RecordHeader   (may make the side Encrypted)
 *   RecordHeader ─alert▶ Alert ─▶ RecordHeader
 *   RecordHeader ─application_data, heartbeat▶ RecordHeader              (nothing in them is read)
 *   RecordHeader ─end of the bytes, a bad header, MAX_RECORDS▶ End ─▶ Done
 *
 * `encrypted` and `hsStopped` are the side's phase, not states: once encrypted, records are still
 * walked (their headers are clear) but nothing in them is read. End reports a message cut by the
 * end of the captured bytes.
 */
const START = 0;
const RECORD_HEADER = 1;
const FRAGMENT = 2;
const MESSAGE_HEADER = 3;
const MESSAGE_BODY = 4;
const CHANGE_CIPHER_SPEC = 5;
const ALERT = 6;
const END = 7;
const DONE = 8;
type State = typeof START | typeof RECORD_HEADER | typeof FRAGMENT | typeof MESSAGE_HEADER | typeof MESSAGE_BODY | typeof CHANGE_CIPHER_SPEC | typeof ALERT | typeof END | typeof DONE;

export function walkSide(b: Uint8Array, start: number, opt: SideOptions, sink: Sink): SideResult {
  return new SideWalker(b, start, opt, sink).run();
}

class SideWalker {
  readonly res: SideResult;
  private readonly dir: Direction;
  /** The side's stream: the next record header. */
  private readonly rec: Cursor;
  /** The current record's fragment. */
  private readonly frag = new Cursor();
  /** The reassembled handshake bytes: the next message header, then its body. */
  private readonly msg = new Cursor();
  private hs: Reassembler | null = null;
  /** Stream offset of the current record's header. */
  private recordAt = 0;
  private recordType = 0;
  private recordLength = 0;
  private messageType = 0;
  private messageLength = 0;
  private records = 0;
  /** No more cleartext handshake messages will be parsed on this side. */
  private hsStopped = false;
  /** This side's records are encrypted from here on. */
  private encrypted = false;
  private hrrCount = 0;
  private interleaveReported = false;
  /**
   * Client side with no ServerHello captured: a client that offered TLS 1.3 and sends a
   * ChangeCipherSpec followed by a cleartext ClientHello is answering a HelloRetryRequest we did
   * not see (RFC 8446 §4.1.2, §D.4). In TLS ≤ 1.2 the record after CCS is the encrypted Finished.
   */
  private compatCcsPending = false;
  private unseenHrr = false;

  constructor(
    b: Uint8Array,
    private readonly start: number,
    private readonly opt: SideOptions,
    private readonly sink: Sink,
  ) {
    this.dir = opt.dir;
    this.rec = new Cursor(b, start);
    this.res = { clientHellos: [], serverHellos: [], certificates: null, alerts: [], tls13: opt.tls13 === true, sslv2ServerHello: false, truncated: null };
  }

  run(): SideResult {
    let state: State = START;
    while (state !== DONE) state = this.step(state);
    return this.res;
  }

  private step(state: State): State {
    switch (state) {
      case START:
        return this.first();
      case RECORD_HEADER:
        return this.recordHeader();
      case FRAGMENT:
        return this.fragment();
      case MESSAGE_HEADER:
        return this.messageHeader();
      case MESSAGE_BODY:
        return this.messageBody();
      case CHANGE_CIPHER_SPEC:
        return this.changeCipherSpec();
      case ALERT:
        return this.alert();
      case END:
        this.end();
        return DONE;
      default:
        return DONE;
    }
  }

  private needClientHello(): boolean {
    const n = this.res.clientHellos.length;
    return n === 0 || ((this.opt.hrr === true || this.unseenHrr) && n === 1);
  }

  /** An SSL 2.0 first record: a 2-byte header with the high bit set (a TLS record starts with 20..24). */
  private first(): State {
    const c = this.rec;
    const { dir, res } = this;
    if (c.left >= 3 && (c.peek() & 0x80) !== 0) {
      const len = sslv2Length(c);
      const msgType = c.peek(2);
      if (dir === "client" && msgType === 1) {
        const h = parseSslv2ClientHello(new Cursor(c.buf, c.pos, c.end), this.sink, dir);
        if (h !== null) res.clientHellos.push(h);
      } else if (dir === "server" && msgType === 4) {
        const s = parseSslv2ServerHello(new Cursor(c.buf, c.pos, c.end), this.sink, dir);
        if (s !== null) {
          res.serverHellos.push(s.hello);
          res.sslv2ServerHello = true;
          if (s.certTo > s.certFrom) res.certificates = readCertificates([c.buf.subarray(s.certFrom, s.certTo)], 1, this.sink, dir, s.certFrom, this.opt.certificates);
        }
        return DONE; // the rest of an SSL 2.0 conversation is SSL 2.0 records, mostly encrypted
      } else {
        return DONE;
      }
      // After an SSL 2.0 CLIENT-HELLO, a TLS server's answer makes the client go on in TLS records.
      if (!c.skip(2 + len) || this.opt.sslv2Server || c.left < 3) return DONE;
      const type = c.peek();
      if (type < CT_CHANGE_CIPHER_SPEC || type > CT_APPLICATION_DATA || c.peek(1) !== 3) return DONE;
    }
    this.hs = new Reassembler(Math.min(c.left, MAX_HANDSHAKE_MESSAGE + 4));
    return RECORD_HEADER;
  }

  /** TLSPlaintext header (RFC 8446 §5.1): ContentType type(1) ProtocolVersion legacy_record_version(2) uint16 length. */
  private recordHeader(): State {
    const c = this.rec;
    const { dir, sink } = this;
    if (this.records >= MAX_RECORDS) return END;
    if (c.left < 5) return END; // a record header cut by the end of the captured stream
    const at = c.pos;
    const type = c.u8();
    const major = c.u8();
    const minor = c.u8();
    const len = c.u16();
    if (type < CT_CHANGE_CIPHER_SPEC || type > CT_HEARTBEAT) {
      sink.add("tls_bad_record_type", `record content type ${type} is not a TLS content type (20-24); the stream is not TLS records from here`, dir, at);
      return END;
    }
    if (major !== 3) {
      sink.add("tls_bad_record_version", `record version 0x${major.toString(16).padStart(2, "0")}${minor.toString(16).padStart(2, "0")} is not 3.x`, dir, at);
      return END;
    }
    if (len > MAX_RECORD_LENGTH) {
      sink.add("tls_record_too_long", `record length ${len} exceeds 2^14+2048 (${MAX_RECORD_LENGTH})`, dir, at);
      return END;
    }
    this.records++;
    this.recordAt = at;
    this.recordType = type;
    this.recordLength = len;
    // The fragment, as far as it was captured; a record cut by the end leaves nothing after it.
    if (!c.sub(len, this.frag)) c.sub(c.left, this.frag);
    if (len === 0 && type !== CT_APPLICATION_DATA) {
      // RFC 8446 §5.1 / RFC 5246 §6.2.1: zero-length fragments of handshake, alert or CCS must not be sent.
      sink.add("tls_empty_record", `zero-length record of content type ${type}`, dir, at);
    }
    const hs = this.hs!;
    if (type !== CT_HANDSHAKE && hs.pos < hs.len && !this.hsStopped && !this.encrypted && !this.interleaveReported) {
      // RFC 8446 §5.1: handshake messages must not be interleaved with other record types.
      sink.add("tls_handshake_interleaved", `record of content type ${type} arrives in the middle of a handshake message`, dir, at);
      this.interleaveReported = true;
    }
    if (this.compatCcsPending) this.afterCompatCcs();
    if (type === CT_HANDSHAKE) return FRAGMENT;
    if (type === CT_CHANGE_CIPHER_SPEC) return CHANGE_CIPHER_SPEC;
    if (type === CT_ALERT) return ALERT;
    return RECORD_HEADER; // CT_APPLICATION_DATA and CT_HEARTBEAT carry nothing we read.
  }

  /** The record after a client's ChangeCipherSpec with no ServerHello seen: a second ClientHello (TLS 1.3 after an unseen HRR), or encrypted. */
  private afterCompatCcs(): void {
    this.compatCcsPending = false;
    const first = this.res.clientHellos[0];
    const len = this.recordLength;
    const f = new Cursor(this.frag.buf, this.frag.pos, this.frag.end);
    // Handshake header (RFC 8446 §4): msg_type(1) uint24 length; a ClientHello as long as the record allows.
    if (this.recordType === CT_HANDSHAKE && len >= 4 && f.u8() === HT_CLIENT_HELLO && f.u24() >= len - 4 && first !== undefined && first.supportedVersions.includes(0x0304)) {
      this.unseenHrr = true;
      this.hsStopped = false;
    } else {
      this.encrypted = true;
      this.hsStopped = true;
    }
  }

  /** A handshake record's fragment joins the reassembled messages (RFC 8446 §5.1: a message may span records). */
  private fragment(): State {
    if (this.hsStopped || this.encrypted) return RECORD_HEADER;
    const f = this.frag;
    this.hs!.append(f.buf, f.pos, f.end);
    return MESSAGE_HEADER;
  }

  /** Handshake header (RFC 8446 §4): HandshakeType msg_type(1) uint24 length. */
  private messageHeader(): State {
    const hs = this.hs!;
    if (this.hsStopped) return RECORD_HEADER;
    const m = this.msg.reset(hs.buf, hs.pos, hs.len);
    if (m.left < 4) return RECORD_HEADER;
    const type = m.u8();
    const mlen = m.u24();
    if (mlen > MAX_HANDSHAKE_MESSAGE) {
      this.sink.add("tls_handshake_too_long", `handshake message type ${type} declares ${mlen} bytes, over the ${MAX_HANDSHAKE_MESSAGE}-byte limit`, this.dir, hs.streamOffset(hs.pos));
      this.hsStopped = true;
      return RECORD_HEADER;
    }
    if (m.left < mlen) return RECORD_HEADER; // wait for the next record
    this.messageType = type;
    this.messageLength = mlen;
    return MESSAGE_BODY;
  }

  private messageBody(): State {
    const hs = this.hs!;
    const from = hs.pos + 4;
    this.handleMessage(this.messageType, this.msg.reset(hs.buf, from, from + this.messageLength), true);
    hs.pos = from + this.messageLength;
    if (this.dir === "client" && !this.needClientHello()) this.hsStopped = true;
    return MESSAGE_HEADER;
  }

  /**
   * TLS ≤ 1.2: this side encrypts from the next record on (RFC 5246 §7.1). TLS 1.3: a no-op for
   * middleboxes (RFC 8446 §D.4); the second ClientHello after an HRR may follow it.
   */
  private changeCipherSpec(): State {
    const { opt, res } = this;
    if (opt.noServerHello === true && this.dir === "client" && res.clientHellos.length === 1 && !res.clientHellos[0].sslv2) {
      this.compatCcsPending = true;
    } else if (!res.tls13) {
      this.encrypted = true;
      this.hsStopped = true;
    }
    return RECORD_HEADER;
  }

  /**
   * An alert in clear is one 2-byte message (RFC 5246 §7.2, RFC 8446 §6): AlertLevel level(1)
   * AlertDescription description(1). A longer alert record carries an IV, a MAC or an AEAD tag (a
   * GCM alert is 26 bytes, ChaCha20 18, CBC 48+): it is encrypted, whatever we saw before it — a
   * capture that began mid-stream shows such a record with no handshake at all. So is any alert
   * after this side's ChangeCipherSpec (TLS ≤ 1.2). Its bytes are ciphertext: never read a level
   * or a description from them (issue 18); say "encrypted".
   */
  private alert(): State {
    const { res, frag } = this;
    const len = this.recordLength;
    if (len === 0 || res.alerts.length >= MAX_ALERTS) return RECORD_HEADER;
    if (this.encrypted || len !== 2) {
      res.alerts.push({ level: "encrypted", description: ENCRYPTED_ALERT });
    } else if (frag.left === 2) {
      const level = frag.u8();
      res.alerts.push({ level: level === 1 ? "warning" : level === 2 ? "fatal" : "0x" + level.toString(16).padStart(2, "0"), description: alertDescriptionName(frag.u8()) });
    }
    return RECORD_HEADER;
  }

  private handleMessage(type: number, body: Cursor, complete: boolean): void {
    const { dir, res, sink } = this;
    const hs = this.hs!;
    const at = hs.at;
    if (dir === "client") {
      if (type === HT_CLIENT_HELLO && this.needClientHello() && complete) {
        const h = readClientHello(body, at, sink, dir);
        if (h !== null) res.clientHellos.push(h);
      }
      return;
    }
    if (type === HT_SERVER_HELLO && complete) {
      const h = readServerHello(body, at, sink, dir);
      if (h === null) return;
      res.serverHellos.push(h);
      const v = h.supportedVersion ?? h.legacyVersion;
      const is13 = v === 0x0304 || v >> 8 === 0x7f;
      if (h.helloRetryRequest) {
        this.hrrCount++;
        // RFC 8446 §4.1.4: a client receiving a second HelloRetryRequest must abort.
        if (this.hrrCount === 2) sink.add("tls_second_hello_retry_request", "server sent a second HelloRetryRequest", dir, h.offset);
        res.tls13 = true;
      } else if (is13) {
        // Everything the server sends after a TLS 1.3 ServerHello is encrypted (RFC 8446 §2).
        res.tls13 = true;
        this.hsStopped = true;
      }
      return;
    }
    if (type === HT_HELLO_RETRY_REQUEST_DRAFT && complete && body.left >= 2) {
      res.serverHellos.push(parseServerHelloDraftHrr(body, hs.streamOffset(body.pos - 4)));
      res.tls13 = true;
      this.hrrCount++;
      return;
    }
    if (type === HT_CERTIFICATE && !res.tls13 && res.certificates === null) {
      res.certificates = parseCertificateMessage(body, complete, at, sink, dir, this.opt.certificates);
    }
  }

  /**
   * A message cut by the end of the captured bytes: say so for the messages we read, and read a
   * cut Certificate as far as it goes (the leaf usually comes first and whole).
   */
  private end(): void {
    const { dir, res, sink } = this;
    const hs = this.hs!;
    if (!this.hsStopped && hs.len - hs.pos >= 1) {
      const m = this.msg.reset(hs.buf, hs.pos, hs.len);
      const have = m.left;
      const type = m.u8();
      const declared = m.u24(); // -1 when the header itself is cut
      const relevant =
        dir === "client" ? type === HT_CLIENT_HELLO && this.needClientHello() : type === HT_SERVER_HELLO || (type === HT_CERTIFICATE && !res.tls13 && res.certificates === null);
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
        const legacyVersion = type === HT_SERVER_HELLO && declared >= 0 ? m.u16() : -1;
        if (legacyVersion >= 0) res.truncated.legacyVersion = legacyVersion;
        if (type === HT_CERTIFICATE && declared >= 0) this.handleMessage(type, m, false);
      }
    }
    if (hs.overflow && !this.hsStopped) {
      sink.add("tls_handshake_too_long", `more than ${MAX_HANDSHAKE_MESSAGE} bytes of handshake data on one side; the rest was not read`, dir, this.start);
    }
  }
}

/** Draft TLS 1.3 HelloRetryRequest (type 6, drafts ≤ 21): server_version(2) [cipher_suite(2)] extensions. */
function parseServerHelloDraftHrr(c: Cursor, offset: number): ParsedServerHello {
  const h = emptyServerHello(offset, c.u16());
  h.helloRetryRequest = true;
  return h;
}
