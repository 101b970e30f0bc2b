/**
 * Detection on leave: the flow table hands each conversation over before its kept bytes are
 * freed (FlowSink.retire); the detectors read flow's sample of it, and anomaly byte offsets are
 * mapped back to frame numbers so a finding can point at a frame. The facts are kept here, by
 * conversation, until the conversation is frozen into its view or folded into an aggregate.
 */
import { hasNoPayload } from "../detect/fallback.js";
import { detect } from "../detect/registry.js";
import { CertificateCache } from "../detect/tls-certificate.js";
import { emptyFacts, type ConversationFacts, type StreamSample } from "../detect/types.js";
import type { Conversation } from "../flow/conversation.js";
import { frameAt, sampleOf } from "../flow/sample.js";
import type { TcpTracker } from "../flow/index.js";

export class DetectStage {
  /** Parsed certificates and chain verdicts, shared by one capture's conversations (docs/detectors/tls.md). */
  private readonly certificates = new CertificateCache();
  private readonly found = new Map<Conversation, ConversationFacts>();
  /**
   * An unlisted conversation detected as it leaves the table is folded right after (FlowSink:
   * retire, then unlisted): its facts wait here instead of in the map, so a scan's million
   * conversations past the limit cost no map entry each.
   */
  private leaving: Conversation | null = null;
  private leavingFacts: ConversationFacts | null = null;

  /** Run the detectors on `conv` (its tracker finished by the table) and keep what they found. */
  detect(conv: Conversation): ConversationFacts {
    const sample: StreamSample = sampleOf(conv);
    sample.certificates = this.certificates;
    // No payload either way: every detector says no and the registry ends at "none" (checked for
    // every port, both transports, in test/flow/table.test.ts). A scan's million SYN-only
    // conversations skip the registry walk.
    const facts = hasNoPayload(sample) ? emptyFacts() : detect(sample);
    const t = conv.tcp;
    if (t !== null) streamAnomalies(t, facts);
    for (const a of facts.anomalies) {
      if (a.frame === undefined && a.direction !== undefined && a.offset !== undefined) {
        const f = frameAt(conv, a.direction, a.offset);
        if (f > 0) a.frame = f;
      }
    }
    if (!conv.listed && !conv.inTable) {
      this.leaving = conv;
      this.leavingFacts = facts;
    } else this.found.set(conv, facts);
    return facts;
  }

  /** What was found in `conv` (listed, or unlisted and still in the table), or null when it has not been detected (yet). */
  factsOf(conv: Conversation): ConversationFacts | null {
    return this.found.get(conv) ?? null;
  }

  /** Forget `conv` (folded into an aggregate: the table reuses its object) and return its facts. */
  take(conv: Conversation): ConversationFacts | null {
    if (this.leaving === conv) {
      const lf = this.leavingFacts;
      this.leaving = this.leavingFacts = null;
      return lf;
    }
    const f = this.found.get(conv) ?? null;
    this.found.delete(conv);
    return f;
  }
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
