/**
 * How bad a conversation, a host or a matrix row is, the same in every format: the worst finding
 * that names it, else "ok" when it matched a rule, else "none". The diagram colours by it, the
 * HTML tables sort by it.
 */
import type { Severity } from "../../policy/index.js";
import type { ConversationRecord, Report } from "../record.js";

export type Status = Severity | "none" | "ok";

/** error > warning > info > none (unmatched, no finding) > ok (matched and clean). */
export const STATUS_RANK: Record<Status, number> = { ok: 0, none: 1, info: 2, warning: 3, error: 4 };

export function worse(a: Status, b: Status): Status {
  return STATUS_RANK[a] >= STATUS_RANK[b] ? a : b;
}

/** Worst finding severity per conversation id (absent: no finding names it). */
export function severityByConversation(r: Report): Map<number, Severity> {
  const out = new Map<number, Severity>();
  const rank: Record<Severity, number> = { info: 0, warning: 1, error: 2 };
  for (const f of r.findings) {
    for (const id of f.conversations) {
      const cur = out.get(id);
      if (cur === undefined || rank[f.severity] > rank[cur]) out.set(id, f.severity);
    }
  }
  return out;
}

/** A conversation's status: its worst finding, else ok when it matched a rule, else none. */
export function conversationStatus(c: ConversationRecord, sev: Map<number, Severity>): Status {
  return sev.get(c.id) ?? (c.rule !== null ? "ok" : "none");
}

/**
 * Conversations a record stands for: 1, or how many an aggregate entry (conversations past the
 * flow table's limit, folded together) holds.
 */
export function weight(c: ConversationRecord): number {
  return c.aggregate?.conversations ?? 1;
}
