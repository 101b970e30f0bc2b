import { Reason, REASON_TEXT } from "./reason.js";
import { Status } from "./status.js";

/**
 * The layers of one decoded packet. One instance is reused for every packet (reset() between
 * them), so decoding allocates nothing per packet. Byte fields are views into the buffer the
 * packet came in (or into the IP reassembler's buffer for a reassembled datagram) and are valid
 * only until the next packet is decoded.
 */
export class DecodedPacket {
  /** Overall outcome: OK, or the first non-OK status a layer returned. */
  status: Status = Status.OK;
  /** Name of the layer that returned a non-OK status ("ipv4", "tcp", …), else "". */
  failedLayer = "";
  /** Why that layer failed (Reason.None when it did not): what code compares. */
  reason: Reason = Reason.None;

  /** The reason's message for people ("" when none), word for word as the reports print it. */
  get message(): string {
    return REASON_TEXT[this.reason];
  }

  // ---- link layer ----
  linkType = 0;
  /** EtherType (or SLL protocol) of the network layer after VLAN tags; 0 when none. */
  etherType = 0;
  /** VLAN IDs outermost first; vlanCount says how many of vlanIds are valid (at most 2 kept). */
  vlanCount = 0;
  readonly vlanIds = [0, 0];
  /** Source/destination MAC when the link layer has them (Ethernet), else hasMac=false. */
  hasMac = false;
  readonly srcMac = new Uint8Array(6);
  readonly dstMac = new Uint8Array(6);

  // ---- network layer ----
  /** 4, 6, or 0 when the packet has no IP layer (ARP, …). */
  ipVersion: 0 | 4 | 6 = 0;
  /** Addresses: IPv4 in the first 4 bytes, IPv6 in all 16. Copied, so they outlive the buffer. */
  readonly srcIp = new Uint8Array(16);
  readonly dstIp = new Uint8Array(16);
  /** Upper-layer protocol number after all IPv6 extension headers (6 TCP, 17 UDP, 1/58 ICMP). */
  ipProto = 0;
  ttl = 0;
  /** True when this packet was an IP fragment (whether or not reassembly completed with it). */
  wasFragment = false;
  /** True when the transport layer below comes from a datagram the reassembler completed. */
  reassembled = false;

  // ---- transport layer ----
  srcPort = 0;
  dstPort = 0;
  /** TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20, ECE 0x40, CWR 0x80). */
  tcpFlags = 0;
  seq = 0;
  ack = 0;
  window = 0;
  /** TCP options (RFC 9293 §3.2, RFC 7323, RFC 2018); -1 / false when absent. */
  mss = -1;
  windowScale = -1;
  sackPermitted = false;
  hasTimestamps = false;
  tsVal = 0;
  tsEcr = 0;

  /** The buffer the payload lies in, and where. Length 0 when no payload. */
  payloadBuf: Uint8Array = EMPTY;
  payloadOffset = 0;
  payloadLength = 0;
  /**
   * Payload bytes the transport header promised beyond what was captured (snaplen cut). For TCP
   * this is (IP total length − headers) − captured payload; the sequence space still advances.
   */
  payloadMissing = 0;

  // ---- ICMP / ICMPv6 ----
  icmpType = -1;
  icmpCode = -1;
  /** For destination-unreachable and similar errors: the quoted packet's header (RFC 792, RFC 4443 §3.1). */
  hasQuoted = false;
  quotedIpVersion: 0 | 4 | 6 = 0;
  readonly quotedSrcIp = new Uint8Array(16);
  readonly quotedDstIp = new Uint8Array(16);
  quotedProto = 0;
  quotedSrcPort = 0;
  quotedDstPort = 0;

  reset(): void {
    this.status = Status.OK;
    this.failedLayer = "";
    this.reason = Reason.None;
    this.linkType = 0;
    this.etherType = 0;
    this.vlanCount = 0;
    this.hasMac = false;
    this.ipVersion = 0;
    this.ipProto = 0;
    this.ttl = 0;
    this.wasFragment = false;
    this.reassembled = false;
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.seq = 0;
    this.ack = 0;
    this.window = 0;
    this.mss = -1;
    this.windowScale = -1;
    this.sackPermitted = false;
    this.hasTimestamps = false;
    this.tsVal = 0;
    this.tsEcr = 0;
    this.payloadBuf = EMPTY;
    this.payloadOffset = 0;
    this.payloadLength = 0;
    this.payloadMissing = 0;
    this.icmpType = -1;
    this.icmpCode = -1;
    this.hasQuoted = false;
    this.quotedIpVersion = 0;
    this.quotedProto = 0;
    this.quotedSrcPort = 0;
    this.quotedDstPort = 0;
  }

  /** Record a failure of `layer`; keeps the first failure. Returns the status for chaining. */
  fail(status: Status, layer: string, reason: Reason): Status {
    if (this.status === Status.OK) {
      this.status = status;
      this.failedLayer = layer;
      this.reason = reason;
    }
    return status;
  }
}

const EMPTY = new Uint8Array(0);

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
