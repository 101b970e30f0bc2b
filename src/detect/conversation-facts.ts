/**
 * Detection of one conversation as it leaves: the detectors read flow's sample of it (its TCP
 * tracker already finished), the TCP layer's own findings about the streams are added, and
 * anomaly byte offsets are mapped back to frame numbers so a finding can point at a frame. The
 * pipeline's detect stage calls it for every conversation of a capture; `probe` for the
 * conversations its checks replay (docs/probe.md): one detection for both.
 */
import { type Conversation, frameAt, sampleIsEmpty, sampleOf } from "../flow/index.js";
import type { TcpTracker } from "../flow/index.js";
import { detect } from "./registry.js";
import type { CertificateCache } from "./tls/index.js";
import { emptyFacts, type ConversationFacts, type StreamSample } from "./types.js";

/** The facts of `conv`; `certificates`: the analysis's certificate cache (one per capture or probe run). */
export function detectFacts(conv: Conversation, certificates?: CertificateCache): ConversationFacts {
  // No payload either way: every detector says no and the registry ends at "none" (checked for
  // every port, both transports, in test/flow/table.test.ts). A scan's million SYN-only
  // conversations skip the registry walk, and the sample is not even made.
  let facts: ConversationFacts;
  if (sampleIsEmpty(conv)) facts = emptyFacts();
  else {
    const sample: StreamSample = sampleOf(conv);
    if (certificates) sample.certificates = certificates;
    facts = detect(sample);
  }
  const t = conv.tcp;
  if (t !== null) streamAnomalies(t, facts);
  for (const a of facts.anomalies) {
    if (a.frame === undefined && a.direction !== undefined && a.offset !== undefined) {
      const f = frameAt(conv, a.direction, a.offset);
      if (f > 0) a.frame = f;
    }
  }
  return facts;
}

const SIDES = ["client", "server"] as const;

/**
 * What the TCP layer saw wrong with the streams themselves (issue 18): a side the capture never
 * saw although the peer acknowledged its data (Zeek's possible_split_routing), and overlapping
 * copies of the same bytes that disagree (Zeek's rexmit_inconsistency).
 */
function streamAnomalies(t: TcpTracker, facts: ConversationFacts): void {
  for (const dir of SIDES) {
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
