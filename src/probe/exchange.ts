/**
 * One check's traffic as the conversation the analyzer would have rebuilt from a capture of it
 * (docs/probe.md, "One verdict engine"). The probe does not capture: it knows what the kernel
 * did (the connect's outcome) and every byte each side sent, in order, at the socket. Those
 * events are replayed here as the TCP segments they were — SYN, SYN-ACK, ACK, one segment per
 * chunk of data, FINs or a RST — into the flow layer's own TcpTracker, so the Zeek state and
 * history (SF, REJ, S0…) are the tracker's, and the detectors then read the kept bytes through
 * the same `detectFacts` that `analyze` calls. No verdict is made here.
 */
import { DecodedPacket, parseIp } from "../decode/index.js";
import { type CertificateCache, type ConversationFacts, detectFacts } from "../detect/index.js";
import { Conversation, TcpTracker } from "../flow/index.js";

/** A check's conversation and what the detectors found in it (the policy makes its view of the two). */
export interface Probed {
  conv: Conversation;
  facts: ConversationFacts;
}

/** RFC 9293 §3.1 flag bits. */
const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;
/** IPv4 (20) + TCP (20) header bytes: a conversation's byte counts are those a raw-IP capture would show. */
const HEADERS_V4 = 40;
const HEADERS_V6 = 60;
/** RFC 792 type 3 (destination unreachable) codes, RFC 4443 §3.1 type 1 codes. */
const ICMP4_UNREACH = 3;
const ICMP6_UNREACH = 1;

/** How a TCP connect ended (docs/probe.md "TCP reachability"). */
export type ConnectOutcome = "open" | "refused" | "filtered" | "unreachable";

/** One event at the socket, in the order it happened. */
type TcpEvent = { kind: "data"; fromClient: boolean; bytes: Uint8Array } | { kind: "fin"; fromClient: boolean } | { kind: "rst"; fromClient: boolean };

export interface Endpoints {
  clientAddress: string;
  clientPort: number;
  serverAddress: string;
  serverPort: number;
}

/** Wall-clock time as the conversation's start/end (sec, nsec): the check's time stands for the capture time. */
function setTime(c: Conversation, startMs: number, endMs: number): void {
  c.startSec = Math.floor(startMs / 1000);
  c.startNsec = Math.round((startMs - c.startSec * 1000) * 1e6);
  c.endSec = Math.floor(endMs / 1000);
  c.endNsec = Math.round((endMs - c.endSec * 1000) * 1e6);
}

function baseConversation(e: Endpoints, transport: "tcp" | "udp"): Conversation | null {
  const client = parseIp(e.clientAddress);
  const server = parseIp(e.serverAddress);
  if (client === null || server === null || client.version !== server.version) return null;
  const c = new Conversation();
  c.transport = transport;
  c.ipVersion = server.version;
  c.clientIp.set(client.bytes);
  c.serverIp.set(server.bytes);
  c.clientPort = e.clientPort;
  c.serverPort = e.serverPort;
  // The probe opened it: that is what a SYN (or, for UDP, the client's request) shows.
  c.clientBy = transport === "tcp" ? "syn" : "protocol";
  return c;
}

/**
 * The events of one TCP check. `outcome` is set by the connect; data, FIN and RST events are
 * added as they happen at the socket.
 */
export class TcpExchange {
  private readonly events: TcpEvent[] = [];
  outcome: ConnectOutcome = "filtered";
  /** The ICMP error the kernel reported (errno EHOSTUNREACH/ENETUNREACH), as an ICMP code. */
  icmpCode = -1;
  readonly startMs = Date.now();
  endMs = this.startMs;

  constructor(public endpoints: Endpoints) {}

  data(fromClient: boolean, bytes: Uint8Array): void {
    if (bytes.length > 0) this.events.push({ kind: "data", fromClient, bytes: Uint8Array.from(bytes) });
  }

  fin(fromClient: boolean): void {
    if (!this.events.some((e) => e.kind === "fin" && e.fromClient === fromClient)) this.events.push({ kind: "fin", fromClient });
  }

  rst(fromClient: boolean): void {
    this.events.push({ kind: "rst", fromClient });
  }

  /** Payload bytes each way, so far. */
  bytes(fromClient: boolean): number {
    let n = 0;
    for (const e of this.events) if (e.kind === "data" && e.fromClient === fromClient) n += e.bytes.length;
    return n;
  }

  /**
   * The conversation (id and stream given by the caller), its facts filled by the detectors; null
   * when the addresses are not IP addresses of one version.
   */
  conversation(id: number, certificates?: CertificateCache): Probed | null {
    const c = baseConversation(this.endpoints, "tcp");
    if (c === null) return null;
    c.id = id;
    c.stream = id - 1;
    setTime(c, this.startMs, this.endMs);
    const t = new TcpTracker();
    c.tcp = t;
    const p = new DecodedPacket();
    const hdr = c.ipVersion === 4 ? HEADERS_V4 : HEADERS_V6;
    // Initial sequence numbers: any value works (the tracker numbers relative to them).
    let seqC = 1000;
    let seqS = 5000;
    const send = (fromClient: boolean, flags: number, payload: Uint8Array | null): void => {
      p.reset();
      p.tcpFlags = flags;
      p.seq = fromClient ? seqC : seqS;
      p.ack = flags & ACK ? (fromClient ? seqS : seqC) : 0;
      p.window = 65535;
      if (payload !== null) {
        p.payloadBuf = payload;
        p.payloadOffset = 0;
        p.payloadLength = payload.length;
      }
      t.segment(fromClient, p, 0);
      const len = (payload?.length ?? 0) + (flags & SYN ? 1 : 0) + (flags & FIN ? 1 : 0);
      if (fromClient) {
        seqC += len;
        c.packetsClient++;
        c.bytesClient += hdr + (payload?.length ?? 0);
      } else {
        seqS += len;
        c.packetsServer++;
        c.bytesServer += hdr + (payload?.length ?? 0);
      }
    };
    send(true, SYN, null);
    if (this.outcome === "refused") {
      // RFC 9293 §3.10.7.3: a SYN to a closed port is answered with RST,ACK.
      send(false, RST | ACK, null);
    } else if (this.outcome === "unreachable") {
      c.icmpType = c.ipVersion === 4 ? ICMP4_UNREACH : ICMP6_UNREACH;
      c.icmpCode = this.icmpCode;
      c.icmpCount = 1;
    } else if (this.outcome === "open") {
      send(false, SYN | ACK, null);
      send(true, ACK, null);
      for (const e of this.events) {
        if (e.kind === "data") send(e.fromClient, PSH | ACK, e.bytes);
        else if (e.kind === "fin") send(e.fromClient, FIN | ACK, null);
        else send(e.fromClient, RST | ACK, null);
      }
      // The last FIN is acknowledged by its peer (the kernel does it when the socket closes).
      const fins = this.events.filter((e) => e.kind === "fin");
      if (fins.length === 2 && !this.events.some((e) => e.kind === "rst")) send(!fins[1].fromClient, ACK, null);
    }
    // "filtered": the SYN alone (the kernel's retransmissions of it are not counted: one attempt).
    // The flow table finishes a tracker before detection; so does the replay.
    t.finish(true);
    return { conv: c, facts: detectFacts(c, certificates) };
  }
}

/** One UDP check: the datagrams each way, in order. */
export class UdpExchange {
  private readonly datagrams: { fromClient: boolean; bytes: Uint8Array }[] = [];
  readonly startMs = Date.now();
  endMs = this.startMs;
  /** An ICMP port unreachable came back (ECONNREFUSED on a connected UDP socket), as its code; -1 none. */
  icmpCode = -1;

  constructor(public endpoints: Endpoints) {}

  datagram(fromClient: boolean, bytes: Uint8Array): void {
    this.datagrams.push({ fromClient, bytes: Uint8Array.from(bytes) });
  }

  conversation(id: number): Probed | null {
    const c = baseConversation(this.endpoints, "udp");
    if (c === null) return null;
    c.id = id;
    c.stream = id - 1;
    setTime(c, this.startMs, this.endMs);
    const hdr = c.ipVersion === 4 ? 28 : 48;
    for (const d of this.datagrams) {
      c.datagrams.push({ fromClient: d.fromClient, frame: 0, data: d.bytes });
      if (d.fromClient) {
        c.packetsClient++;
        c.datagramsClient++;
        c.bytesClient += hdr + d.bytes.length;
      } else {
        c.packetsServer++;
        c.datagramsServer++;
        c.bytesServer += hdr + d.bytes.length;
      }
    }
    if (this.icmpCode >= 0) {
      c.icmpType = c.ipVersion === 4 ? ICMP4_UNREACH : ICMP6_UNREACH;
      c.icmpCode = this.icmpCode;
      c.icmpCount = 1;
    }
    return { conv: c, facts: detectFacts(c) };
  }
}

/** ICMP codes for the errno a connect reports (RFC 792: 0 net, 1 host, 3 port; RFC 4443: 0 no route, 3 address, 4 port). */
export function icmpCodeFor(errno: string, ipVersion: 4 | 6): number {
  if (errno === "ENETUNREACH") return 0;
  if (errno === "ECONNREFUSED") return ipVersion === 4 ? 3 : 4;
  return ipVersion === 4 ? 1 : 3;
}
