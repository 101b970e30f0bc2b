/**
 * The conversation table: TCP and UDP conversations keyed by the 5-tuple.
 *
 * Client and server: the sender of the first SYN (without ACK) is the client; a conversation first
 * seen with a SYN-ACK has the SYN-ACK's receiver as client. Without a SYN (a capture started
 * mid-connection, or UDP) the first sender is the client, unless its port is a service port and
 * the other's is not — then the roles flip, as Zeek does with its likely_server_ports.
 *
 * A TCP 4-tuple that is reused after its connection finished (FIN both ways or RST) and then sees
 * a new SYN starts a new conversation, as Wireshark's tcp.stream does.
 *
 * Lookup is by a symmetric numeric hash into a Map of bucket chains: no string keys, no
 * allocation per packet once a conversation exists.
 */
import type { DecodedPacket } from "../decode/packet.js";
import { IPPROTO_TCP, IPPROTO_UDP, TCP_ACK, TCP_SYN } from "../decode/packet.js";
import { Conversation, FIRST_FRAMES_KEPT } from "./conversation.js";
import { flowHash, quotedFlowHash, sameAddr } from "./key.js";
import { TcpTracker } from "./tcp-state.js";

/** Ports that identify a service even above 1023 (the Phoenix matrix's and common ones). */
const SERVICE_PORTS = new Set([
  902, 903, 1433, 1521, 2049, 3268, 3306, 3389, 3542, 3545, 5060, 5061, 5353, 5355, 5432, 5900, 5985, 5986, 6379,
  6443, 6667, 8000, 8080, 8443, 9418, 9440, 27017,
]);

export function isServicePort(port: number): boolean {
  return (port > 0 && port < 1024) || SERVICE_PORTS.has(port);
}

export interface FlowTableOptions {
  /** Bytes of in-order payload kept per TCP direction for detection (default 16 KiB). */
  reassemblyCap: number;
  /** UDP datagrams kept per direction for detection, and bytes kept of each. */
  udpSampleCount: number;
  udpSampleBytes: number;
}

export const DEFAULT_FLOW_OPTIONS: FlowTableOptions = {
  reassemblyCap: 16 * 1024,
  udpSampleCount: 8,
  udpSampleBytes: 2048,
};

export class FlowTable {
  private readonly buckets = new Map<number, Conversation>();
  /** Every conversation, in order of creation (first frame). */
  readonly conversations: Conversation[] = [];
  private nextTcpStream = 0;
  private nextUdpStream = 0;
  /** ICMP errors that quoted a packet of no known conversation. */
  unmatchedIcmp = 0;

  constructor(
    private readonly capture: number,
    private readonly opts: FlowTableOptions = DEFAULT_FLOW_OPTIONS,
    private idBase = 0,
  ) {}

  /** Account one decoded TCP or UDP packet. Returns the conversation, or null when not TCP/UDP. */
  packet(p: DecodedPacket, frame: number, origLen: number, tsSec: number, tsNsec: number): Conversation | null {
    const proto = p.ipProto;
    if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) return null;
    const hash = flowHash(p);
    let conv = this.find(hash, p);
    // A new SYN (another ISN) on a finished 4-tuple is a new connection, as Wireshark's
    // tcp.stream splits it; a retried SYN with the same ISN stays in the old one.
    if (conv !== null && conv.tcp !== null && conv.tcp.startsNew(this.isFromClient(conv, p), p)) {
      this.unlink(conv);
      conv = null;
    }
    if (conv === null) conv = this.create(hash, p, frame, tsSec, tsNsec);

    const fromClient = this.isFromClient(conv, p);
    if (fromClient) {
      conv.packetsClient++;
      conv.bytesClient += origLen;
    } else {
      conv.packetsServer++;
      conv.bytesServer += origLen;
    }
    conv.lastFrame = frame;
    if (conv.firstFrames.length < FIRST_FRAMES_KEPT) conv.firstFrames.push(frame);
    conv.endSec = tsSec;
    conv.endNsec = tsNsec;

    if (conv.tcp !== null) {
      conv.tcp.segment(fromClient, p, frame);
    } else if (p.payloadLength > 0) {
      const kept = fromClient ? conv.datagramsClient : conv.datagramsServer;
      if (kept < this.opts.udpSampleCount) {
        const n = Math.min(p.payloadLength, this.opts.udpSampleBytes);
        // Copied: the payload view is only valid until the next packet.
        const data = p.payloadBuf.slice(p.payloadOffset, p.payloadOffset + n);
        conv.datagrams.push({ fromClient, frame, data });
        if (fromClient) conv.datagramsClient++;
        else conv.datagramsServer++;
      }
    }
    return conv;
  }

  private isFromClient(conv: Conversation, p: DecodedPacket): boolean {
    return conv.clientPort === p.srcPort && sameAddr(conv.clientIp, p.srcIp, conv.ipVersion === 4 ? 4 : 16);
  }

  /** Attach an ICMP/ICMPv6 error to the conversation whose packet it quotes. */
  icmpError(p: DecodedPacket, frame: number): Conversation | null {
    if (!p.hasQuoted || (p.quotedProto !== IPPROTO_TCP && p.quotedProto !== IPPROTO_UDP)) return null;
    const hash = quotedFlowHash(p);
    const len = p.quotedIpVersion === 4 ? 4 : 16;
    for (let c = this.buckets.get(hash) ?? null; c !== null; c = c.nextInBucket) {
      if (c.ipVersion !== p.quotedIpVersion || (c.transport === "tcp") !== (p.quotedProto === IPPROTO_TCP)) continue;
      const direct =
        c.clientPort === p.quotedSrcPort && c.serverPort === p.quotedDstPort &&
        sameAddr(c.clientIp, p.quotedSrcIp, len) && sameAddr(c.serverIp, p.quotedDstIp, len);
      const reverse =
        c.clientPort === p.quotedDstPort && c.serverPort === p.quotedSrcPort &&
        sameAddr(c.clientIp, p.quotedDstIp, len) && sameAddr(c.serverIp, p.quotedSrcIp, len);
      if (direct || reverse) {
        c.icmpType = p.icmpType;
        c.icmpCode = p.icmpCode;
        c.icmpCount++;
        if (c.icmpFrames.length < 16) c.icmpFrames.push(frame);
        return c;
      }
    }
    this.unmatchedIcmp++;
    return null;
  }

  /** Last id handed out (so the next capture's table can continue the numbering). */
  get lastId(): number {
    return this.idBase;
  }

  private find(hash: number, p: DecodedPacket): Conversation | null {
    const len = p.ipVersion === 4 ? 4 : 16;
    const tcp = p.ipProto === IPPROTO_TCP;
    for (let c = this.buckets.get(hash) ?? null; c !== null; c = c.nextInBucket) {
      if (c.ipVersion !== p.ipVersion || (c.transport === "tcp") !== tcp) continue;
      if (c.clientPort === p.srcPort && c.serverPort === p.dstPort &&
          sameAddr(c.clientIp, p.srcIp, len) && sameAddr(c.serverIp, p.dstIp, len)) return c;
      if (c.clientPort === p.dstPort && c.serverPort === p.srcPort &&
          sameAddr(c.clientIp, p.dstIp, len) && sameAddr(c.serverIp, p.srcIp, len)) return c;
    }
    return null;
  }

  private unlink(conv: Conversation): void {
    let c = this.buckets.get(conv.hash) ?? null;
    let prev: Conversation | null = null;
    while (c !== null && c !== conv) {
      prev = c;
      c = c.nextInBucket;
    }
    if (c === null) return;
    if (prev === null) {
      if (conv.nextInBucket === null) this.buckets.delete(conv.hash);
      else this.buckets.set(conv.hash, conv.nextInBucket);
    } else prev.nextInBucket = conv.nextInBucket;
    conv.nextInBucket = null;
  }

  private create(hash: number, p: DecodedPacket, frame: number, tsSec: number, tsNsec: number): Conversation {
    const c = new Conversation();
    c.id = ++this.idBase;
    c.capture = this.capture;
    c.hash = hash;
    c.ipVersion = p.ipVersion === 6 ? 6 : 4;
    const tcp = p.ipProto === IPPROTO_TCP;
    c.transport = tcp ? "tcp" : "udp";
    c.stream = tcp ? this.nextTcpStream++ : this.nextUdpStream++;

    // Decide who is the client (see the file comment).
    let srcIsClient = true;
    const synFlags = p.tcpFlags & (TCP_SYN | TCP_ACK);
    if (tcp && synFlags === TCP_SYN) c.clientBy = "syn";
    else if (tcp && synFlags === (TCP_SYN | TCP_ACK)) {
      srcIsClient = false;
      c.clientBy = "syn-ack";
    } else if (isServicePort(p.srcPort) && !isServicePort(p.dstPort)) {
      srcIsClient = false;
      c.clientBy = "service-port";
    } else c.clientBy = "first-packet";

    c.firstFromServer = !srcIsClient;
    if (srcIsClient) {
      c.clientIp.set(p.srcIp);
      c.serverIp.set(p.dstIp);
      c.clientPort = p.srcPort;
      c.serverPort = p.dstPort;
    } else {
      c.clientIp.set(p.dstIp);
      c.serverIp.set(p.srcIp);
      c.clientPort = p.dstPort;
      c.serverPort = p.srcPort;
    }
    c.firstFrame = frame;
    c.startSec = tsSec;
    c.startNsec = tsNsec;
    if (tcp) c.tcp = new TcpTracker(this.opts.reassemblyCap);

    c.nextInBucket = this.buckets.get(hash) ?? null;
    this.buckets.set(hash, c);
    this.conversations.push(c);
    return c;
  }
}
