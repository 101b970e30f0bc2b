/**
 * Detection on leave: the flow table hands each conversation over before its kept bytes are
 * freed (FlowSink.retire) and detect's `detectFacts` reads it. The facts are kept here, by
 * conversation, until the conversation is frozen into its view or folded into an aggregate.
 */
import { detectFacts } from "../detect/conversation-facts.js";
import { CertificateCache } from "../detect/tls/index.js";
import type { ConversationFacts } from "../detect/types.js";
import type { Conversation } from "../flow/conversation.js";

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
    const facts = detectFacts(conv, this.certificates);
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
