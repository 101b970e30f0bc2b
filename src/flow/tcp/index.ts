/**
 * TCP as the report sees it (docs/tcp-state.md): Zeek's per-connection state machine and
 * history (tracker.ts, running Zeek's per-segment steps in steps.ts), its conn_state mapping (conn-state.ts), each side's endpoint
 * (endpoint.ts) with its hole list (holes.ts), and the bounded in-order stream buffer of what
 * each side sent (stream-buffer.ts).
 */
export { EndpointState, endpointStateName, tcpConnState, udpHistory, udpState } from "./conn-state.js";
export { HOLE_LIST_BYTES, HoleList, MAX_HOLES } from "./holes.js";
export { MAX_FRAME_RUNS, StreamBuffer } from "./stream-buffer.js";
export { MAX_HISTORY, TcpTracker, type TcpCounters } from "./tracker.js";
