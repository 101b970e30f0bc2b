/**
 * Runs a list of checks with bounded concurrency and a per-check timeout, in the order given, and
 * numbers their conversations as a capture would (1, 2, … in plan order). Ctrl-C (the signal)
 * stops starting checks and cuts the running ones short; what was checked is returned, marked.
 */
import { CertificateCache } from "../detect/index.js";
import { runChecks, type CheckOutcome, type CheckTarget, type ProbeRecord } from "./checks.js";
import type { Probed } from "./exchange.js";

/** Concurrency when --concurrency is not given. */
export const DEFAULT_CONCURRENCY = 8;

export interface PlannedCheck extends CheckTarget {
  kind: "tcp" | "tls" | "vmware-authd" | "rdp" | "ssh" | "ntp";
}

export interface ProbeRunOptions {
  timeoutMs: number;
  concurrency: number;
  signal?: AbortSignal;
  /** After each planned check: how many are done of how many. */
  onProgress?: (done: number, total: number, last: PlannedCheck) => void;
}

export interface ProbeRun {
  /** Every check made, in plan order, with its conversation id. */
  records: ProbeRecord[];
  /** The conversations, ids 1… in plan order. */
  conversations: Probed[];
  /** Conversation → its record. */
  byConversation: Map<Probed, ProbeRecord>;
  /** Planned checks not made (Ctrl-C came first). */
  notRun: number;
  startMs: number;
  endMs: number;
}

export async function runProbe(plan: readonly PlannedCheck[], o: ProbeRunOptions): Promise<ProbeRun> {
  const startMs = Date.now();
  const certificates = new CertificateCache();
  const results: (CheckOutcome[] | null)[] = plan.map(() => null);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < plan.length && !o.signal?.aborted) {
      const i = next++;
      results[i] = await runChecks(plan[i].kind, plan[i], { timeoutMs: o.timeoutMs, signal: o.signal, certificates });
      o.onProgress?.(++done, plan.length, plan[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency, plan.length)) }, worker));
  const records: ProbeRecord[] = [];
  const conversations: Probed[] = [];
  const byConversation = new Map<Probed, ProbeRecord>();
  for (const r of results) {
    for (const out of r ?? []) {
      const conv = out.build?.(conversations.length + 1) ?? null;
      const rec: ProbeRecord = { ...out.record, conversation: conv?.conv.id ?? null };
      records.push(rec);
      if (conv !== null) {
        conversations.push(conv);
        byConversation.set(conv, rec);
      }
    }
  }
  return { records, conversations, byConversation, notRun: results.filter((r) => r === null).length, startMs, endMs: Date.now() };
}
