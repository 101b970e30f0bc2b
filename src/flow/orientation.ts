/**
 * Who is the client of a new conversation, decided from its first packet.
 *
 * In order, the first rule that applies:
 *  1. TCP SYN (without ACK): its sender is the client ("syn"); a SYN-ACK: its receiver ("syn-ack").
 *  2. UDP whose first datagram states its own role ("protocol"): the protocol's roles beat
 *     "first packet seen", so a capture that starts with the answer still names the right
 *     client (issue 18):
 *       - NTP (either port 123, RFC 5905 §7.3 / §9): mode 3 is a client, mode 4 a server (also
 *         symmetric 123 ↔ 123), mode 5 a broadcast server; modes 6/7 carry a response bit
 *         (RFC 9327 §2 "R", ntpd's ntp_request.h "R") — set on the server's answer;
 *       - DHCP (RFC 2131 §4.1): 67 is the server's port, 68 the client's; DHCPv6 (RFC 8415
 *         §7.2): 547 server, 546 client;
 *       - DNS, mDNS, LLMNR and NetBIOS name service (53, 5353, 5355, 137): the QR/R bit in the
 *         flags (RFC 1035 §4.1.1, RFC 1002 §4.2.1.1) is 1 on a response, whose sender is the server.
 *  3. Without that: the first sender is the client, unless only the other's port is a service
 *     port — then the roles flip, as Zeek does with its likely_server_ports ("service-port"). A
 *     service port is a well-known one (below 1024, RFC 6335 §6) or one of the set the caller
 *     passes in (FlowTableOptions.likelyServerPorts; the pipeline's, src/pipeline/server-ports.ts).
 *  4. Neither is a service port, and only the first receiver's port is in the dynamic range
 *     (49152–65535, RFC 6335 §6: never assigned to a service, where clients' ephemeral ports
 *     come from): the first sender is the server ("service-port"). A capture that starts with a
 *     server's segment on 5228 or 8009 to a client's 60142 still names the client (issue 18).
 *  5. Else the first sender ("first-packet").
 *
 * Kept apart from the conversation table (src/flow/table.ts) so that the table's hashing and
 * limits and these rules change independently (ARCHITECTURE-REVIEW).
 */
import { type DecodedPacket, IPPROTO_TCP, IPPROTO_UDP, TCP_ACK, TCP_SYN } from "../decode/index.js";

/** How the client was chosen (the report's `clientBy`). */
export type ClientBy = "syn" | "syn-ack" | "protocol" | "service-port" | "first-packet";

/** No service ports above 1023: the default when the caller passes none. */
export const NO_SERVER_PORTS: ReadonlySet<number> = new Set<number>();

/** A well-known port (1–1023), or one of `likely` (ports that identify a service above 1023). */
export function isServicePort(port: number, likely: ReadonlySet<number> = NO_SERVER_PORTS): boolean {
  return (port > 0 && port < 1024) || likely.has(port);
}

/** RFC 6335 §6: the Dynamic Ports, 49152–65535, never assigned to a service. */
export function isDynamicPort(port: number): boolean {
  return port >= 49152 && port <= 65535;
}

const NTP_PORT = 123;
/** RFC 5905 §7.3: modes 1–5 have a 48-byte header. */
const NTP_HEADER = 48;
/** Ports whose messages start with a DNS-style 12-byte header whose third byte's top bit is QR/R. */
const QR_PORTS = new Set([53, 137, 5353, 5355]);
const DNS_HEADER = 12;

/** The decision: does the first packet's sender play the client, and by which rule. */
export interface Orientation {
  readonly srcIsClient: boolean;
  readonly by: ClientBy;
}

// One object per outcome, shared: orient() runs for every new conversation (a scan makes millions).
const BY_SYN: Orientation = Object.freeze({ srcIsClient: true, by: "syn" });
const BY_SYN_ACK: Orientation = Object.freeze({ srcIsClient: false, by: "syn-ack" });
const PROTOCOL_CLIENT: Orientation = Object.freeze({ srcIsClient: true, by: "protocol" });
const PROTOCOL_SERVER: Orientation = Object.freeze({ srcIsClient: false, by: "protocol" });
const BY_SERVICE_PORT: Orientation = Object.freeze({ srcIsClient: false, by: "service-port" });
const BY_FIRST_PACKET: Orientation = Object.freeze({ srcIsClient: true, by: "first-packet" });

/**
 * What a UDP payload says of its sender's role: true = it is the client, false = the server,
 * null = the payload does not say (or is not one of the protocols above).
 */
export function udpSenderIsClient(srcPort: number, dstPort: number, b: Uint8Array, off: number, len: number): boolean | null {
  // DHCP / DHCPv6: the well-known ports are fixed per role (RFC 2131 §4.1, RFC 8415 §7.2).
  if ((srcPort === 67 && dstPort === 68) || (srcPort === 547 && dstPort === 546)) return false;
  if ((srcPort === 68 && dstPort === 67) || (srcPort === 546 && dstPort === 547)) return true;
  if (len <= 0 || off < 0 || off + len > b.length) return null;
  if (srcPort === NTP_PORT || dstPort === NTP_PORT) {
    const vn = (b[off] >> 3) & 7;
    const mode = b[off] & 7;
    if (vn >= 1 && vn <= 4) {
      if (mode === 3 && len >= NTP_HEADER) return true;
      if ((mode === 4 || mode === 5) && len >= NTP_HEADER) return false;
      // Mode 6 (12-byte header) and mode 7 (8-byte header): byte 1 bit 7 (6) / byte 0 bit 7 (7) is "response".
      if (mode === 6 && len >= 12) return (b[off + 1] & 0x80) === 0;
      if (mode === 7 && len >= 8) return (b[off] & 0x80) === 0;
    }
    return null;
  }
  if ((QR_PORTS.has(srcPort) || QR_PORTS.has(dstPort)) && len >= DNS_HEADER) {
    return (b[off + 2] & 0x80) === 0;
  }
  return null;
}

/**
 * Decide who is the client from the first packet of a conversation (see the file comment).
 * `likely`: the service ports above 1023 for rule 3.
 */
export function orient(p: DecodedPacket, likely: ReadonlySet<number> = NO_SERVER_PORTS): Orientation {
  if (p.ipProto === IPPROTO_TCP) {
    const synFlags = p.tcpFlags & (TCP_SYN | TCP_ACK);
    if (synFlags === TCP_SYN) return BY_SYN;
    if (synFlags === (TCP_SYN | TCP_ACK)) return BY_SYN_ACK;
  } else if (p.ipProto === IPPROTO_UDP) {
    const role = udpSenderIsClient(p.srcPort, p.dstPort, p.payloadBuf, p.payloadOffset, p.payloadLength);
    if (role !== null) return role ? PROTOCOL_CLIENT : PROTOCOL_SERVER;
  }
  const srcService = isServicePort(p.srcPort, likely);
  const dstService = isServicePort(p.dstPort, likely);
  if (srcService && !dstService) return BY_SERVICE_PORT;
  if (!srcService && !dstService && isDynamicPort(p.dstPort) && !isDynamicPort(p.srcPort)) return BY_SERVICE_PORT;
  return BY_FIRST_PACKET;
}
