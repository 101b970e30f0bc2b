/**
 * Runs the detectors on one finished conversation: builds the StreamSample the detectors read
 * (the first bytes each way for TCP, the first datagrams for UDP), calls the registry, and maps
 * anomaly byte offsets back to frame numbers so a finding can point at a frame.
 */
import type { Conversation } from "../flow/conversation.js";
import type { TcpTracker } from "../flow/tcp-state.js";
import { hasNoPayload } from "./text.js";
import { detect } from "./registry.js";
import type { CertificateCache } from "./tls/certificate.js";
import { emptyFacts, type ConversationFacts, type StreamSample } from "./types.js";

const EMPTY = new Uint8Array(0);

/**
 * `final` false: the conversation is retired early and stays in the flow table (idle, or finished
 * and quiet), so it must not count as finished for port reuse (TcpTracker.finish).
 */
export function sampleOf(conv: Conversation, final = true, certificates?: CertificateCache): StreamSample {
  const t = conv.tcp;
  if (t !== null) {
    t.finish(final);
    return {
      transport: "tcp",
      clientPort: conv.clientPort,
      serverPort: conv.serverPort,
      client: t.client.bytes(),
      server: t.server.bytes(),
      clientDone: t.client.done,
      serverDone: t.server.done,
      clientGap: t.client.gap,
      serverGap: t.server.gap,
      clientStartMissing: t.clientStartMissing,
      serverStartMissing: t.serverStartMissing,
      firstSpeaker: t.firstSpeaker,
      datagrams: [],
      certificates,
    };
  }
  const first = conv.datagrams.length > 0 ? (conv.datagrams[0].fromClient ? "client" : "server") : null;
  return {
    transport: "udp",
    clientPort: conv.clientPort,
    serverPort: conv.serverPort,
    client: EMPTY,
    server: EMPTY,
    clientDone: true,
    serverDone: true,
    clientGap: false,
    serverGap: false,
    clientStartMissing: false,
    serverStartMissing: false,
    firstSpeaker: first,
    datagrams: conv.datagrams,
    certificates,
  };
}

/** `certificates`: the analysis's certificate cache (one per CaptureAnalysis). */
export function detectConversation(conv: Conversation, final = true, certificates?: CertificateCache): ConversationFacts {
  const sample = sampleOf(conv, final, certificates);
  // No payload either way: every detector says no and the registry ends at "none" (checked for
  // every port, both transports, in test/fuzz/limits.test.ts). A scan's million SYN-only
  // conversations skip the registry walk.
  const facts = hasNoPayload(sample) ? emptyFacts() : detect(sample);
  const t = conv.tcp;
  if (t !== null) streamAnomalies(t, facts);
  for (const a of facts.anomalies) {
    if (a.frame === undefined && t !== null && a.direction !== undefined && a.offset !== undefined) {
      const f = (a.direction === "client" ? t.client : t.server).frameAt(a.offset);
      if (f > 0) a.frame = f;
    }
  }
  conv.facts = facts;
  return facts;
}

/**
 * What the TCP layer saw wrong with the streams themselves (issue 18): a side the capture never
 * saw although the peer acknowledged its data (Zeek's possible_split_routing), and overlapping
 * copies of the same bytes that disagree (Zeek's rexmit_inconsistency).
 */
function streamAnomalies(t: TcpTracker, facts: ConversationFacts): void {
  for (const dir of ["client", "server"] as const) {
    const unseen = dir === "client" ? t.clientUnseenBytes : t.serverUnseenBytes;
    if (unseen > 0) {
      const peer = dir === "client" ? "server" : "client";
      facts.anomalies.push({
        name: "possible_split_routing",
        message: `the ${peer} acknowledged ${unseen} bytes from the ${dir} that the capture never saw: the ${dir}'s side of this conversation was not captured (asymmetric routing or a one-way SPAN)`,
        direction: dir,
      });
    }
    const b = dir === "client" ? t.client : t.server;
    if (b.inconsistent > 0) {
      facts.anomalies.push({
        name: "tcp_inconsistent_overlap",
        message: `${b.inconsistent} ${dir} segment${b.inconsistent === 1 ? "" : "s"} carried bytes that disagree with an earlier copy of the same stream offsets (first at byte ${b.inconsistentAt}); the longer consistent stream was kept`,
        direction: dir,
        offset: b.inconsistentAt,
        frame: b.inconsistentFrame,
      });
    }
  }
}
