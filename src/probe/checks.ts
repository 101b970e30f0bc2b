/**
 * The checks `probe` runs against one target and port (docs/probe.md, "What each check does").
 * Each one talks to the server with Node's net/tls/dgram (real OpenSSL), records every byte, and
 * returns the conversation the analyzer would have built from a capture of it (exchange.ts),
 * with a ProbeRecord saying what was tried and how it ended. Which of these is a finding is the
 * policy's business: nothing here judges.
 */
import dgram from "node:dgram";
import type net from "node:net";
import tls from "node:tls";
import { type CertificateCache, NTP_HEADER, readChain } from "../detect/index.js";
import { UdpExchange, type Probed, type TcpExchange } from "./exchange.js";
import { closeRecorded, connectTcp, localAddressFor, readUntil, RecordingStream, sendRecorded } from "./socket.js";

/** What a check does: `tcp` is reachability only (rows whose protocol the probe cannot speak). */
export const CHECK_KINDS = ["tcp", "tls", "tls-1.0", "tls-1.1", "vmware-authd", "rdp", "ssh", "ntp"] as const;
export type CheckKind = (typeof CHECK_KINDS)[number];

/**
 * How a check ended (conversations[].probe.result): TCP open / refused / filtered / unreachable;
 * a TLS 1.0/1.1 handshake `accepted` or `not-accepted`; NTP `answered`, `blocked` (no answer
 * within the timeout) or `refused` (ICMP port unreachable); `interrupted` when Ctrl-C cut it short
 * (no conversation: nothing was learnt).
 */
export type CheckResult = "open" | "refused" | "filtered" | "unreachable" | "accepted" | "not-accepted" | "answered" | "blocked" | "interrupted";

/** What the NTP answer said (RFC 5905 §7.3), for probe.ntp. */
export interface NtpAnswer {
  stratum: number;
  /** Leap indicator 0–3; 3 is "unsynchronised". */
  leap: number;
  /** Kiss-o'-death code (stratum 0: the reference ID as four ASCII letters, RFC 5905 §7.4), else null. */
  kissCode: string | null;
  /** Clock offset and round-trip delay, milliseconds (RFC 5905 §8). */
  offsetMs: number;
  roundTripMs: number;
}

/** One check's record (conversations[].probe and probe.checks[] in the report, docs/report-schema.md). */
export interface ProbeRecord {
  check: CheckKind;
  result: CheckResult;
  /** Milliseconds the connect (TCP) or the request (NTP) took to its outcome. */
  elapsedMs: number;
  /** The address checked. */
  address: string;
  port: number;
  transport: "tcp" | "udp";
  /** The host name the target was given as, when it was one (also the SNI sent). */
  name: string | null;
  /** The role and matrix row the check stands for. */
  role: string;
  row: string;
  /** The errno, TLS alert or OpenSSL reason of a failure, else null. */
  error: string | null;
  /** The report's conversation id, or null when the check produced no conversation (a TLS 1.0/1.1 handshake the server refused). */
  conversation: number | null;
  /** TLS as Node negotiated it ("TLSv1.3", cipher's OpenSSL name); null without a handshake. */
  tls?: { protocol: string | null; cipher: string | null } | null;
  ntp?: NtpAnswer | null;
  /** The client port used (to find the check in an --evidence capture). */
  localPort: number;
}

export interface CheckTarget {
  address: string;
  port: number;
  name: string | null;
  role: string;
  row: string;
}

export interface CheckOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  certificates?: CertificateCache;
}

/** A check's conversation before the report numbers it: `build(id)` makes the conversation and its facts. */
export interface CheckOutcome {
  record: Omit<ProbeRecord, "conversation">;
  build: ((id: number) => Probed | null) | null;
}

const OPENSSL_SECLEVEL0 = "DEFAULT:@SECLEVEL=0";
/** The errno connectTcp gives a connect that Ctrl-C cut short. */
const ABORTED = "ABORTED";

function recordOf(t: CheckTarget, check: CheckKind, result: CheckResult, elapsedMs: number, error: string | null, localPort: number, transport: "tcp" | "udp" = "tcp"): Omit<ProbeRecord, "conversation"> {
  return { check, result, elapsedMs, address: t.address, port: t.port, transport, name: t.name, role: t.role, row: t.row, error, localPort };
}

function tcpOutcome(t: CheckTarget, check: CheckKind, ex: TcpExchange, result: CheckResult, elapsedMs: number, error: string | null, o: CheckOptions): CheckOutcome {
  if (error === ABORTED) return { record: recordOf(t, check, "interrupted", elapsedMs, null, ex.endpoints.clientPort), build: null };
  return { record: recordOf(t, check, result, elapsedMs, error, ex.endpoints.clientPort), build: (id) => ex.conversation(id, o.certificates) };
}

/** The DER certificates of the peer's chain, leaf first, without a root of the public store Node appends that the server did not send. */
function peerChainDers(s: tls.TLSSocket): Uint8Array[] {
  const ders: Uint8Array[] = [];
  const seen = new Set<string>();
  let c: tls.DetailedPeerCertificate | undefined = s.getPeerCertificate(true);
  while (c && c.raw && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    ders.push(new Uint8Array(c.raw));
    c = c.issuerCertificate && c.issuerCertificate !== c ? c.issuerCertificate : undefined;
  }
  return ders;
}

interface Handshake {
  ok: boolean;
  protocol: string | null;
  cipher: string | null;
  chain: Uint8Array[];
  error: string | null;
}

/**
 * A TLS handshake over `socket` (already connected, its bytes recorded by RecordingStream), then a
 * close_notify and FIN. `version` limits the offer to one old version at OpenSSL security level 0
 * (OpenSSL 3 refuses to offer TLS 1.0/1.1 at the default level 1).
 */
function handshake(socket: net.Socket, ex: TcpExchange, t: CheckTarget, o: CheckOptions, version: "TLSv1" | "TLSv1.1" | null): Promise<Handshake> {
  return new Promise((resolve) => {
    const stream = new RecordingStream(socket, ex);
    const s = tls.connect({
      socket: stream,
      // RFC 6066 §3: SNI carries a host name, never an address.
      ...(t.name !== null ? { servername: t.name } : {}),
      // The certificate is read and judged by the policy, not refused here.
      rejectUnauthorized: false,
      ...(version !== null ? { minVersion: version, maxVersion: version, ciphers: OPENSSL_SECLEVEL0 } : {}),
    });
    let settled = false;
    const done = (h: Handshake): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // close_notify, then our FIN; the server's FIN (or the timeout) ends it.
      const closeTimer = setTimeout(() => {
        s.destroy();
        socket.destroy();
      }, o.timeoutMs);
      stream.once("socket-close", () => {
        clearTimeout(closeTimer);
        resolve(h);
      });
      if (socket.destroyed) {
        clearTimeout(closeTimer);
        ex.endMs = Date.now();
        resolve(h);
        return;
      }
      s.end();
    };
    const timer = setTimeout(() => done({ ok: false, protocol: null, cipher: null, chain: [], error: `no TLS handshake within ${o.timeoutMs} ms` }), o.timeoutMs);
    s.once("secureConnect", () => {
      done({ ok: true, protocol: s.getProtocol(), cipher: s.getCipher()?.name ?? null, chain: peerChainDers(s), error: null });
    });
    s.once("error", (e: NodeJS.ErrnoException) => {
      done({ ok: false, protocol: null, cipher: null, chain: [], error: (e.message.split("\n")[0] ?? String(e)).slice(0, 200) });
    });
  });
}

/**
 * The TLS facts the bytes could not give: a TLS 1.3 server's certificate travels encrypted, so
 * the detector saw none; the probe, the client, has it (getPeerCertificate), read into the same
 * ChainCertificate facts by the detector's own reader. Visible, then: the probe did see it.
 */
function addPeerChain(c: Probed | null, h: Handshake, cache?: CertificateCache): Probed | null {
  const t = c?.facts.tls;
  if (!t || !h.ok || h.chain.length === 0 || t.chain.length > 0) return c;
  const r = readChain(h.chain, h.chain.length, cache);
  t.chain = r.chain;
  t.chainsToPublicRoot = r.chainsToPublicRoot;
  if (r.leaf !== null && typeof r.leaf !== "string") t.certificate = r.leaf;
  t.certificateVisible = true;
  return c;
}

async function tlsCheck(t: CheckTarget, o: CheckOptions, version: "TLSv1" | "TLSv1.1" | null, banner: boolean): Promise<CheckOutcome> {
  const check: CheckKind = banner ? "vmware-authd" : version === "TLSv1" ? "tls-1.0" : version === "TLSv1.1" ? "tls-1.1" : "tls";
  const conn = await connectTcp(t.address, t.port, o.timeoutMs, o.signal);
  const ex = conn.exchange;
  if (conn.socket === null) return tcpOutcome(t, check, ex, conn.outcome, conn.elapsedMs, conn.errno, o);
  if (banner) {
    // The authd greeting is one line; TLS follows on the same connection with no command.
    await readUntil(conn.socket, ex, o.timeoutMs, (b) => b.includes(0x0a));
    if (conn.socket.destroyed || conn.socket.readableEnded) {
      await closeRecorded(conn.socket, ex, o.timeoutMs);
      return tcpOutcome(t, check, ex, "open", conn.elapsedMs, "the server closed the connection before TLS", o);
    }
  }
  const h = await handshake(conn.socket, ex, t, o, version);
  const tlsInfo = { protocol: h.protocol, cipher: h.cipher };
  if (version !== null) {
    // An old version the server refuses is what a conforming server does: no conversation to judge.
    if (!h.ok) return { record: { ...recordOf(t, check, "not-accepted", conn.elapsedMs, h.error, ex.endpoints.clientPort), tls: null }, build: null };
    return { record: { ...recordOf(t, check, "accepted", conn.elapsedMs, null, ex.endpoints.clientPort), tls: tlsInfo }, build: (id) => ex.conversation(id, o.certificates) };
  }
  return {
    record: { ...recordOf(t, check, "open", conn.elapsedMs, h.error, ex.endpoints.clientPort), tls: h.ok ? tlsInfo : null },
    build: (id) => addPeerChain(ex.conversation(id, o.certificates), h, o.certificates),
  };
}

/**
 * RDP: the X.224 Connection Request with an RDP_NEG_REQ (MS-RDPBCGR §2.2.1.1), then the server's
 * Connection Confirm, which the RDP detector reads (selected protocol or failure code).
 */
const X224_CR_WITH_NEG_REQ = Uint8Array.from([
  0x03, 0x00, 0x00, 0x13, // TPKT (RFC 1006 §6): version 3, reserved, length 19
  0x0e, // X.224 length indicator: 14 bytes follow in the header (6 fixed + 8 RDP_NEG_REQ)
  0xe0, // X.224 CR TPDU code (ITU-T X.224 §13.3), credit 0
  0x00, 0x00, // DST-REF
  0x00, 0x00, // SRC-REF
  0x00, // class 0
  0x01, // RDP_NEG_REQ type (MS-RDPBCGR §2.2.1.1.1)
  0x00, // flags
  0x08, 0x00, // length 8, little-endian
  0x03, 0x00, 0x00, 0x00, // requestedProtocols: PROTOCOL_SSL | PROTOCOL_HYBRID (what mstsc asks for)
]);

async function rdpCheck(t: CheckTarget, o: CheckOptions): Promise<CheckOutcome> {
  const conn = await connectTcp(t.address, t.port, o.timeoutMs, o.signal);
  const ex = conn.exchange;
  if (conn.socket === null) return tcpOutcome(t, "rdp", ex, conn.outcome, conn.elapsedMs, conn.errno, o);
  sendRecorded(conn.socket, ex, X224_CR_WITH_NEG_REQ);
  // The Confirm is one TPKT packet: its length is in bytes 2–3.
  await readUntil(conn.socket, ex, o.timeoutMs, (b) => b.length >= 4 && b.length >= ((b[2] << 8) | b[3]));
  await closeRecorded(conn.socket, ex, o.timeoutMs);
  return tcpOutcome(t, "rdp", ex, "open", conn.elapsedMs, null, o);
}

/** RFC 4253 §4.2: our identification string, CR LF terminated. */
const SSH_IDENT = new TextEncoder().encode("SSH-2.0-phoenix_netcheck_probe\r\n");

async function sshCheck(t: CheckTarget, o: CheckOptions): Promise<CheckOutcome> {
  const conn = await connectTcp(t.address, t.port, o.timeoutMs, o.signal);
  const ex = conn.exchange;
  if (conn.socket === null) return tcpOutcome(t, "ssh", ex, conn.outcome, conn.elapsedMs, conn.errno, o);
  // The server's identification line comes first (servers may send other lines before it, §4.2).
  await readUntil(conn.socket, ex, o.timeoutMs, (b) => new TextDecoder().decode(b).includes("SSH-") && b.includes(0x0a));
  if (!conn.socket.destroyed) sendRecorded(conn.socket, ex, SSH_IDENT);
  await closeRecorded(conn.socket, ex, o.timeoutMs);
  return tcpOutcome(t, "ssh", ex, "open", conn.elapsedMs, null, o);
}

async function tcpOnly(t: CheckTarget, o: CheckOptions): Promise<CheckOutcome> {
  const conn = await connectTcp(t.address, t.port, o.timeoutMs, o.signal);
  if (conn.socket !== null) await closeRecorded(conn.socket, conn.exchange, o.timeoutMs);
  return tcpOutcome(t, "tcp", conn.exchange, conn.outcome, conn.elapsedMs, conn.errno, o);
}

/** Seconds between the NTP era 0 epoch (1900) and the Unix epoch (RFC 5905 §6). */
const NTP_UNIX_OFFSET = 2208988800;

function ntpTime(ms: number): [number, number] {
  const s = Math.floor(ms / 1000);
  return [s + NTP_UNIX_OFFSET, Math.floor(((ms - s * 1000) / 1000) * 2 ** 32)];
}

function readNtpTime(b: DataView, at: number): number {
  return (b.getUint32(at) - NTP_UNIX_OFFSET) * 1000 + (b.getUint32(at + 4) / 2 ** 32) * 1000;
}

/** The answer's header fields (RFC 5905 §7.3, Figure 8), null when it is not a 48-byte mode 4 answer. */
export function parseNtpAnswer(d: Uint8Array, t1Ms: number, t4Ms: number): NtpAnswer | null {
  if (d.length < NTP_HEADER || (d[0] & 0x07) !== 4) return null;
  const v = new DataView(d.buffer, d.byteOffset, d.length);
  const stratum = d[1];
  // Stratum 0 is a kiss-o'-death packet: the reference ID (bytes 12–15) is the code (§7.4).
  const kissCode = stratum === 0 ? String.fromCharCode(d[12], d[13], d[14], d[15]).replace(/[^\x20-\x7e]/g, "?") : null;
  const t2 = readNtpTime(v, 32); // receive timestamp
  const t3 = readNtpTime(v, 40); // transmit timestamp
  // §8: offset θ = ((T2 − T1) + (T3 − T4)) / 2, delay δ = (T4 − T1) − (T3 − T2).
  const offsetMs = ((t2 - t1Ms) + (t3 - t4Ms)) / 2;
  const roundTripMs = (t4Ms - t1Ms) - (t3 - t2);
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return { stratum, leap: d[0] >> 6, kissCode, offsetMs: r(offsetMs), roundTripMs: r(roundTripMs) };
}

async function ntpCheck(t: CheckTarget, o: CheckOptions): Promise<CheckOutcome> {
  const local = (await localAddressFor(t.address)) ?? "0.0.0.0";
  const ex = new UdpExchange({ clientAddress: local, clientPort: 0, serverAddress: t.address, serverPort: t.port });
  const v6 = t.address.includes(":");
  const t0 = process.hrtime.bigint();
  const elapsed = () => Math.round(Number(process.hrtime.bigint() - t0) / 1e5) / 10;
  return new Promise<CheckOutcome>((resolve) => {
    const s = dgram.createSocket(v6 ? "udp6" : "udp4");
    let done = false;
    const finish = (result: CheckResult, error: string | null, ntp: NtpAnswer | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      o.signal?.removeEventListener("abort", onAbort);
      ex.endMs = Date.now();
      s.close();
      resolve({ record: { ...recordOf(t, "ntp", result, elapsed(), error, ex.endpoints.clientPort, "udp"), ntp }, build: (id) => ex.conversation(id) });
    };
    const onAbort = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.close();
      resolve({ record: recordOf(t, "ntp", "interrupted", elapsed(), null, ex.endpoints.clientPort, "udp"), build: null });
    };
    o.signal?.addEventListener("abort", onAbort);
    const timer = setTimeout(() => finish("blocked", null, null), o.timeoutMs);
    let t1 = 0;
    s.on("message", (msg) => {
      const t4 = Date.now();
      ex.datagram(false, msg);
      finish("answered", null, parseNtpAnswer(msg, t1, t4));
    });
    s.on("error", (e: NodeJS.ErrnoException) => {
      // A connected UDP socket reports the ICMP port unreachable as ECONNREFUSED (Linux).
      if (e.code === "ECONNREFUSED") {
        ex.icmpCode = v6 ? 4 : 3;
        finish("refused", e.code, null);
      } else finish("blocked", e.code ?? e.message, null);
    });
    s.connect(t.port, t.address, () => {
      ex.endpoints = { ...ex.endpoints, clientAddress: s.address().address, clientPort: s.address().port };
      // RFC 5905 §7.3: LI 0, VN 4, Mode 3 (client); all else zero but the transmit timestamp,
      // which the server echoes as the origin timestamp.
      const req = new Uint8Array(NTP_HEADER);
      req[0] = (0 << 6) | (4 << 3) | 3;
      t1 = Date.now();
      const [sec, frac] = ntpTime(t1);
      const v = new DataView(req.buffer);
      v.setUint32(40, sec);
      v.setUint32(44, frac);
      ex.datagram(true, req);
      s.send(req);
    });
  });
}

/** Runs the checks one kind asks for: the main one, and for TLS rows the TLS 1.0 and 1.1 handshakes too. */
export async function runChecks(kind: "tcp" | "tls" | "vmware-authd" | "rdp" | "ssh" | "ntp", t: CheckTarget, o: CheckOptions): Promise<CheckOutcome[]> {
  switch (kind) {
    case "tls": {
      const main = await tlsCheck(t, o, null, false);
      if (main.record.result !== "open" || o.signal?.aborted) return [main];
      return [main, await tlsCheck(t, o, "TLSv1", false), await tlsCheck(t, o, "TLSv1.1", false)];
    }
    case "vmware-authd":
      return [await tlsCheck(t, o, null, true)];
    case "rdp":
      return [await rdpCheck(t, o)];
    case "ssh":
      return [await sshCheck(t, o)];
    case "ntp":
      return [await ntpCheck(t, o)];
    default:
      return [await tcpOnly(t, o)];
  }
}
