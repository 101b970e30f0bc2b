/**
 * Zeek's conn_state and history for the report, as pure functions (scripts/base/protocols/conn/
 * main.zeek conn_state(); docs/tcp-state.md has the tables): the TCP rule from the two endpoint
 * states, and the UDP rule from who sent a datagram. The tracker (tracker.ts) moves the endpoint
 * states; these only map them.
 */
/** Zeek's per-endpoint TCP states (TCP_ENDPOINT_*), in Zeek's order. */
export const EndpointState = {
  Inactive: 0,
  SynSent: 1,
  SynAckSent: 2,
  Partial: 3,
  Established: 4,
  Closed: 5,
  Reset: 6,
} as const;
export type EndpointState = (typeof EndpointState)[keyof typeof EndpointState];

export const INACTIVE = EndpointState.Inactive;
export const SYN_SENT = EndpointState.SynSent;
export const SYN_ACK_SENT = EndpointState.SynAckSent;
export const PARTIAL = EndpointState.Partial;
export const ESTABLISHED = EndpointState.Established;
export const CLOSED = EndpointState.Closed;
export const RESET = EndpointState.Reset;

const STATE_NAMES = ["inactive", "syn-sent", "syn-ack-sent", "partial", "established", "closed", "reset"];

/** Lower-case name of an endpoint state ("established", …), for reports and debugging. */
export function endpointStateName(s: EndpointState): string {
  return STATE_NAMES[s] ?? "unknown";
}

/** Zeek's RSTOS0 test on the history: optional flip mark, the originator's SYN, no reply, then its RST. */
const RSTOS0_HISTORY = /^\^?S[^HAFGIQ]*R/;

/**
 * Zeek's conn_state for TCP from the two endpoint states (main.zeek conn_state()). `origSize` /
 * `respSize` are the payload sizes from sequence numbers (Zeek's c$orig$size), used to tell a
 * rejection (REJ) from a reset of a connection that carried data.
 */
export function tcpConnState(
  orig: EndpointState,
  resp: EndpointState,
  origSize: number,
  respSize: number,
  history: string,
): string {
  const oInactive = orig === INACTIVE || orig === PARTIAL;
  const rInactive = resp === INACTIVE || resp === PARTIAL;
  if (resp === RESET) {
    if (orig === SYN_SENT || orig === SYN_ACK_SENT || (orig === RESET && origSize === 0 && respSize === 0)) return "REJ";
    return oInactive ? "RSTRH" : "RSTR";
  }
  if (orig === RESET) {
    if (rInactive) return RSTOS0_HISTORY.test(history) ? "RSTOS0" : "OTH";
    return "RSTO";
  }
  if (resp === CLOSED && orig === CLOSED) return "SF";
  if (orig === CLOSED) return rInactive ? "SH" : "S2";
  if (resp === CLOSED) return oInactive ? "SHR" : "S3";
  if (orig === SYN_SENT && resp === INACTIVE) return "S0";
  if (orig === ESTABLISHED && resp === ESTABLISHED) return "S1";
  return "OTH";
}

/** Zeek's conn_state for UDP: who sent at least one datagram. */
export function udpState(clientPackets: number, serverPackets: number): string {
  if (clientPackets > 0) return serverPackets > 0 ? "SF" : "S0";
  return serverPackets > 0 ? "SHR" : "OTH";
}

/**
 * Zeek's UDP history: 'D' once the originator sent a datagram, 'd' once the responder did, in
 * the order they happened; '^' first when the first datagram came from the server (Zeek flipped).
 * Zeek records D/d for every datagram, empty ones included, so pass "sent at least one datagram"
 * to match Zeek exactly. Checksums are not verified, so there is no 'C'/'c'.
 */
export function udpHistory(clientPayloadSeen: boolean, serverPayloadSeen: boolean, firstFromServer = false): string {
  if (firstFromServer) return "^" + (serverPayloadSeen ? "d" : "") + (clientPayloadSeen ? "D" : "");
  return (clientPayloadSeen ? "D" : "") + (serverPayloadSeen ? "d" : "");
}
