/**
 * QUIC detector: IETF QUIC v1 (RFC 9000) and v2 (RFC 9369), drafts 29–32, and Google QUIC's
 * versions Q0xx (recognised by their public header, not decrypted).
 *
 * What an observer can read of a QUIC handshake is in the Initial packets, protected with keys
 * derived from the client's first Destination Connection ID (quic-crypto.ts, RFC 9001 §5). For
 * each UDP datagram of the sample we walk its coalesced long header packets (RFC 9000 §12.2,
 * §17.2), open the Initial ones, collect their CRYPTO frames (§19.6) per direction, reassemble
 * each direction's CRYPTO stream from offset 0 (frames arrive in any order, split over packets),
 * and hand the TLS handshake messages found there (RFC 9001 §4: TLS handshake messages without the
 * record layer) to the TLS hello parser. The rest of the handshake (Handshake packets: the
 * certificate) is encrypted with keys an observer does not have.
 */
import { Cursor } from "../bytes/cursor.js";
import { initialKeys, openLongHeaderPacket, quicVersionInfo, type InitialKeys, type QuicVersionInfo } from "./quic-crypto.js";
import { alertDescriptionName, emptyTlsFacts, fillHelloFacts, parseClientHello, parseServerHello, truncation, unreadableFacts, type ParsedClientHello, type ParsedServerHello } from "./tls/index.js";
import type { ConversationFacts, Datagram, Detector, Direction, ProbeResult, QuicFacts, StreamSample, TlsTruncation } from "./types.js";
import { gquicSni, gquicVersion, hex, MAX_CID, probeQuicDatagram, quicVersionName, readLongHeader } from "./quic-wire.js";

/** CRYPTO bytes kept per direction (a ClientHello with post-quantum key shares is ~2 KB; a HelloRetryRequest round adds one more). */
const MAX_CRYPTO = 64 * 1024;
/** CRYPTO frames kept per direction. */
const MAX_SEGMENTS = 256;
/** Distinct (version, DCID) key sets derived per conversation. */
const MAX_KEY_SETS = 4;
/** Anomalies the QUIC analysis adds at most. */
const MAX_ANOMALIES = 16;
/** Bytes a datagram is kept with at most by the flow table (FlowTableOptions.udpSampleBytes default): a packet cut exactly there may be our cut, not the capture's. */
const SAMPLE_CAP = 2048;

// ---------------------------------------------------------------------------------------------
// Analysis
// ---------------------------------------------------------------------------------------------

interface CryptoStream {
  segments: { offset: number; data: Uint8Array }[];
  bytes: number;
}

/** The CRYPTO stream's contiguous prefix from offset 0 (first copy of a byte wins), bounded by MAX_CRYPTO. */
function assemble(cs: CryptoStream): Uint8Array {
  const segs = [...cs.segments].sort((a, b) => a.offset - b.offset);
  let end = 0;
  for (const s of segs) {
    if (s.offset > end) break;
    end = Math.max(end, Math.min(s.offset + s.data.length, MAX_CRYPTO));
  }
  const out = new Uint8Array(end);
  let filled = 0;
  for (const s of segs) {
    if (s.offset > filled) break;
    const from = filled - s.offset;
    const n = Math.min(s.data.length - from, end - filled);
    if (n > 0) {
      out.set(s.data.subarray(from, from + n), filled);
      filled += n;
    }
  }
  return out;
}

/** Handshake messages (type(1) length(3) body) from the start of a CRYPTO stream (RFC 9001 §4.1.3). */
function readMessages(stream: Uint8Array, dir: Direction, hellos: { clients: ParsedClientHello[]; servers: ParsedServerHello[] }, out: ConversationFacts): ReturnType<typeof truncation> | null {
  const c = new Cursor(stream);
  while (c.left >= 4) {
    const type = c.u8();
    const len = c.u24();
    const body = c.view(len);
    if (body === null) {
      const name = type === 1 ? "ClientHello" : type === 2 ? "ServerHello" : null;
      return name === null ? null : truncation(dir, name, len, stream.length, "the CRYPTO frames captured in the Initial packets end there (a packet not captured, cut, or not opened)");
    }
    if (dir === "client" && type === 1 && hellos.clients.length < 2) {
      const h = parseClientHello(body, out.anomalies);
      if (h !== null) hellos.clients.push(h);
    } else if (dir === "server" && type === 2 && hellos.servers.length < 2) {
      const h = parseServerHello(body, out.anomalies);
      if (h !== null) hellos.servers.push(h);
    } else {
      return null; // the rest of the Initial CRYPTO stream holds nothing we read
    }
  }
  return null;
}

/**
 * Frames of an opened Initial packet (RFC 9000 §12.4: Initial packets carry only PADDING, PING,
 * ACK, CRYPTO and CONNECTION_CLOSE of type 0x1c). CRYPTO data goes to `cs`. Returns false when a
 * frame is malformed or of a type an Initial must not carry (PROTOCOL_VIOLATION, §12.4).
 */
function readFrames(p: Uint8Array, cs: CryptoStream, dir: Direction, q: QuicFacts): boolean {
  const c = new Cursor(p);
  while (c.left > 0) {
    const type = c.varint();
    if (type < 0) return false;
    if (type === 0x00 || type === 0x01) continue; // PADDING, PING
    if (type === 0x02 || type === 0x03) {
      // ACK (§19.3): largest, delay, range count, first range, then count × (gap, length), ECN counts for 0x03.
      c.varint();
      c.varint();
      const ranges = c.varint();
      c.varint();
      if (!c.ok) return false;
      const more = ranges * 2 + (type === 0x03 ? 3 : 0);
      if (more > c.left) return false;
      for (let k = 0; k < more; k++) if (c.varint() < 0) return false;
      continue;
    }
    if (type === 0x06) {
      // CRYPTO (§19.6): offset, length, data.
      const off = c.varint();
      if (off < 0) return false;
      const len = c.varint();
      if (len < 0 || len > c.left) return false;
      if (cs.segments.length < MAX_SEGMENTS && off < MAX_CRYPTO && cs.bytes < 2 * MAX_CRYPTO) {
        cs.segments.push({ offset: off, data: c.bytes(len)! });
        cs.bytes += len;
      } else c.skip(len);
      continue;
    }
    if (type === 0x1c) {
      // CONNECTION_CLOSE (§19.19): error code, frame type, reason phrase length, reason phrase.
      const code = c.varint();
      if (code < 0) return false;
      if (c.varint() < 0) return false; // frame type
      const rl = c.varint();
      if (rl < 0 || rl > c.left) return false;
      const reason = Buffer.from(c.buf.subarray(c.pos, c.pos + Math.min(rl, 256))).toString("latin1").replace(/[^\x20-\x7e]/g, "?");
      c.skip(rl);
      // §20.1: 0x0100–0x01ff is CRYPTO_ERROR, the low byte a TLS alert description.
      const alert = code >= 0x100 && code <= 0x1ff ? alertDescriptionName(code & 0xff) : null;
      if (q.close === null) q.close = { from: dir, error: "0x" + code.toString(16), tlsAlert: alert, reason };
      continue;
    }
    return false;
  }
  return true;
}

function emptyQuicFacts(): QuicFacts {
  return { version: null, offeredVersions: [], dcid: null, clientInitials: 0, serverInitials: 0, unopened: 0, retry: false, truncated: [], close: null, sni: null };
}

/** Analysis state of one conversation. */
class QuicAnalysis {
  readonly q = emptyQuicFacts();
  readonly crypto: Record<Direction, CryptoStream> = { client: { segments: [], bytes: 0 }, server: { segments: [], bytes: 0 } };
  /** Client Initial DCIDs in order of first appearance: keys are tried from each (the first, then after a Retry). */
  readonly dcids: Uint8Array[] = [];
  private readonly keys = new Map<string, { client: InitialKeys; server: InitialKeys }>();
  readonly largest: Record<Direction, number> = { client: -1, server: -1 };
  /** Version of the first long header packet read (the client's when it was captured). */
  version: number | null = null;
  private anomalies = 0;

  constructor(readonly out: ConversationFacts) {}

  anomaly(name: string, message: string, d: Datagram): void {
    if (this.anomalies >= MAX_ANOMALIES) return;
    this.anomalies++;
    this.out.anomalies.push({ name, message, direction: d.fromClient ? "client" : "server", frame: d.frame });
  }

  keysFor(v: QuicVersionInfo, dcid: Uint8Array): { client: InitialKeys; server: InitialKeys } | null {
    const k = v.name + ":" + hex(dcid);
    let ks = this.keys.get(k);
    if (ks === undefined) {
      if (this.keys.size >= MAX_KEY_SETS) return null;
      ks = initialKeys(v, dcid);
      this.keys.set(k, ks);
    }
    return ks;
  }

  datagram(d: Datagram): void {
    const b = d.data;
    const dir: Direction = d.fromClient ? "client" : "server";
    const c = new Cursor(b);
    while (c.left > 0) {
      const p = c.pos;
      if ((c.peek() & 0x80) === 0) return; // a short header packet takes the rest of the datagram (§12.2)
      const h = readLongHeader(c);
      if (h === null) {
        this.anomaly("quic_long_header_truncated", `long header packet at byte ${p} of the datagram ends inside its connection IDs`, d);
        return;
      }
      if (this.version === null && (d.fromClient || h.version !== 0)) {
        this.version = h.version;
        this.q.version = quicVersionName(h.version);
      }
      if (h.version === 0) {
        // Version Negotiation (§17.2.1): the rest is a list of 32-bit versions.
        while (c.left >= 4 && this.q.offeredVersions.length < 16) this.q.offeredVersions.push(quicVersionName(c.u32()));
        return;
      }
      const v = quicVersionInfo(h.version);
      if (v === null) return; // a version whose packets we cannot read (Google QUIC, unknown)
      if (h.type === v.retryType) {
        this.q.retry = true;
        return; // a Retry takes the rest of the datagram (§17.2.5)
      }
      if (h.type === v.initialType && d.fromClient) this.noteDcid(h.dcid);
      if (h.type === v.initialType) {
        // Initial (§17.2.2): Token Length (varint), Token.
        const tok = c.varint();
        if (tok < 0 || !c.skip(tok)) {
          this.cut(d, dir, b.length - p, b.length - p + 1);
          return;
        }
      }
      // Length (varint): of the packet number and the payload.
      const len = c.varint();
      if (len < 0) {
        this.cut(d, dir, b.length - p, b.length - p + 1);
        return;
      }
      const pnOffset = c.pos;
      if (!c.skip(len)) {
        // The packet's Length runs past the captured datagram: the capture cut it (snap length).
        if (h.type === v.initialType) this.cut(d, dir, b.length - p, pnOffset + len - p);
        return;
      }
      if (h.type === v.initialType) this.initial(d, dir, v, b.subarray(p, c.pos), pnOffset - p);
    }
  }

  private cut(d: Datagram, dir: Direction, captured: number, declared: number): void {
    if (this.q.truncated.length < 16) this.q.truncated.push({ from: dir, frame: d.frame, captured, declared });
    this.q.unopened++;
  }

  /**
   * A client Initial's DCID is a key candidate even when the packet itself was cut: the header is
   * enough, and the server's Initials are protected with keys from it (RFC 9001 §5.2).
   */
  private noteDcid(dcid: Uint8Array): void {
    if (this.dcids.length >= MAX_KEY_SETS || this.dcids.some((x) => hex(x) === hex(dcid))) return;
    this.dcids.push(dcid.slice());
    if (this.q.dcid === null) this.q.dcid = hex(dcid);
  }

  private initial(d: Datagram, dir: Direction, v: QuicVersionInfo, pkt: Uint8Array, pnOffset: number): void {
    // RFC 9001 §5.2: both directions use keys from the client's first DCID (after a Retry, from the
    // DCID the client then chose): try each candidate until the AEAD tag verifies.
    for (const dcid of this.dcids) {
      const ks = this.keysFor(v, dcid);
      if (ks === null) break;
      const opened = openLongHeaderPacket(pkt, pnOffset, dir === "client" ? ks.client : ks.server, this.largest[dir]);
      if (opened !== null) {
        if (opened.packetNumber > this.largest[dir]) this.largest[dir] = opened.packetNumber;
        if (dir === "client") this.q.clientInitials++;
        else this.q.serverInitials++;
        if (!readFrames(opened.payload, this.crypto[dir], dir, this.q)) {
          this.anomaly("quic_bad_initial_frame", `Initial packet ${opened.packetNumber} holds a malformed frame or one an Initial must not carry (RFC 9000 §12.4)`, d);
        }
        return;
      }
    }
    this.q.unopened++;
  }
}

/** Fills out.quic and out.tls from the sample's datagrams. Never throws. */
export function analyzeQuic(s: StreamSample, out: ConversationFacts): void {
  const a = new QuicAnalysis(out);
  out.quic = a.q;
  try {
    // Client datagrams first: the server's Initials need the client's DCID for their keys.
    for (const d of s.datagrams) if (d.fromClient) a.datagram(d);
    for (const d of s.datagrams) if (!d.fromClient) a.datagram(d);
    if (a.version === null) {
      const first = s.datagrams.find((d) => d.fromClient) ?? s.datagrams[0];
      const g = first !== undefined ? gquicVersion(first.data) : null;
      if (g !== null) {
        a.q.version = quicVersionName(g);
        a.q.sni = gquicSni(first!.data);
      }
      return; // Google QUIC (its handshake is not TLS) or nothing readable
    }
    if (quicVersionInfo(a.version) === null) return; // a version whose Initial protection we do not know: no TLS to read
    const tls = emptyTlsFacts();
    out.tls = tls;
    const hellos = { clients: [] as ParsedClientHello[], servers: [] as ParsedServerHello[] };
    const ct = readMessages(assemble(a.crypto.client), "client", hellos, out);
    const st = readMessages(assemble(a.crypto.server), "server", hellos, out);
    fillHelloFacts(tls, hellos.clients, hellos.servers, "q");
    // QUIC always runs TLS 1.3 (RFC 9001 §4.2): the certificate is in the encrypted Handshake packets.
    tls.certificateVisible = false;
    // RFC 9001 §4.8: a TLS alert is sent as a CONNECTION_CLOSE with CRYPTO_ERROR 0x0100 + the alert.
    const close = a.q.close;
    if (close !== null && close.tlsAlert !== null) tls.alerts.push({ from: close.from, level: "fatal", description: close.tlsAlert });
    if (ct !== null) tls.truncated.push(ct);
    else if (hellos.clients.length === 0) {
      const cut = a.q.truncated.find((t) => t.from === "client");
      if (cut !== undefined) tls.truncated.push(packetCut("client", "ClientHello", cut.frame, cut.captured, cut.declared));
    }
    if (st !== null) tls.truncated.push(st);
    else if (hellos.servers.length === 0) {
      const cut = a.q.truncated.find((t) => t.from === "server");
      if (cut !== undefined) tls.truncated.push(packetCut("server", "ServerHello", cut.frame, cut.captured, cut.declared));
    }
  } catch (e) {
    out.anomalies.push({ name: "quic_internal_error", message: `QUIC analysis stopped: ${e instanceof Error ? e.message : String(e)}` });
  }
}

/** The truncation fact for a hello whose Initial packet the capture cut (it cannot be opened: the AEAD tag is at its end). */
function packetCut(from: Direction, message: string, frame: number, captured: number, declared: number): TlsTruncation {
  const why = captured >= SAMPLE_CAP ? "the per-datagram sample cap" : "the snap length";
  return {
    from,
    message,
    declared: null,
    truncatedAt: 0,
    reason: `the Initial packet in frame ${frame} that carries the ${message} was captured with ${captured} of its ${declared} bytes (${why}), so it cannot be decrypted; ${unreadableFacts(message)}`,
  };
}

export const quicDetector: Detector = {
  protocol: "quic",
  transports: ["udp"],
  ports: [443, 4433, 8443, 784, 853],
  byContent: true,
  probe(s: StreamSample): ProbeResult {
    const first = s.datagrams.find((d) => d.fromClient);
    if (first !== undefined) return probeQuicDatagram(first.data) ? "match" : "no";
    // Only the server's side captured: a long header packet of a known version still says QUIC.
    const srv = s.datagrams[0];
    if (srv === undefined) return "no";
    const h = readLongHeader(new Cursor(srv.data));
    return h !== null && h.fixed && h.dcid.length <= MAX_CID && h.scid.length <= MAX_CID && quicVersionInfo(h.version) !== null ? "match" : "no";
  },
  analyze(s: StreamSample, out: ConversationFacts): void {
    analyzeQuic(s, out);
  },
};
