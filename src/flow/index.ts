/**
 * flow/'s public surface (docs/architecture-notes/flow.md): conversations keyed by the 5-tuple
 * (table.ts, its lookup in buckets.ts, key.ts), who is the client (orientation.ts), how long they live and what they may
 * hold (lifetime.ts, options.ts), the sample of their bytes handed on (sample.ts), and TCP state
 * and reassembly (tcp/). flow imports only capture and decode; it never reads what is found in a
 * conversation: leaving conversations go to a FlowSink.
 */
export { Conversation, FIRST_FRAMES_KEPT, connHistory, connState, snapshotOf, type ConversationData, type TcpSummary, type Transport } from "./conversation.js";
export { FlowHasher, sameAddr } from "./key.js";
export { FlowBudget, Lifetime, UDP_SAMPLE_OVERHEAD } from "./lifetime.js";
export { DEFAULT_FLOW_OPTIONS, DEFAULT_MAX_CONVERSATIONS, type FlowStats, type FlowTableOptions } from "./options.js";
export { isServicePort, NO_SERVER_PORTS, orient, udpSenderIsClient, type ClientBy, type Orientation } from "./orientation.js";
export { frameAt, sampleIsEmpty, sampleOf, type Datagram, type Direction, type StreamSample } from "./sample.js";
export { FlowTable, type FlowSink } from "./table.js";
export * from "./tcp/index.js";
