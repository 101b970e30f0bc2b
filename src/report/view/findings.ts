/**
 * Findings as every format shows them: grouped by severity (errors first), each with its rule,
 * fix, where (frames, conversations, attempts) and its Wireshark filter.
 */
import type { Severity } from "../../policy/index.js";
import type { Report, ReportFinding } from "../record.js";
import { compactNumbers, duration, framesText, num, plural } from "./format.js";

export interface FindingView {
  /** Its place in the report's `findings` (0-based): HTML's anchor is finding-(index + 1). */
  index: number;
  code: string;
  severity: Severity;
  /** "rule esxi-902", or null. */
  rule: string | null;
  message: string;
  /** "Fix: …", or null. */
  fix: string | null;
  /** "frames 1–8 · conversations 1, 2 · 3 attempts over 12.0 s", or null when there is nothing. */
  where: string | null;
  /** The Wireshark display filter, as is (a renderer shows it verbatim). */
  filter: string;
}

export interface FindingGroup {
  severity: Severity;
  /** "Errors", "Warnings", "Info". */
  name: string;
  /** "Errors (2)". */
  title: string;
  items: FindingView[];
}

const GROUPS: { severity: Severity; name: string }[] = [
  { severity: "error", name: "Errors" },
  { severity: "warning", name: "Warnings" },
  { severity: "info", name: "Info" },
];

export function findingView(f: ReportFinding, files: readonly string[] = [], index = -1): FindingView {
  const where: string[] = [];
  // With several captures, frame numbers are only meaningful with the file they are in.
  const byCapture = f.framesIn ?? [];
  const frames =
    files.length > 1 && byCapture.length > 0
      ? byCapture.map((x) => `${framesText(x.frames)} of ${files[x.capture] ?? `capture ${x.capture}`}`).join("; ")
      : framesText(f.frames);
  if (frames) where.push(frames);
  const ev = evidenceFramesText(f);
  if (ev) where.push(ev);
  if (f.conversations.length > 0) {
    where.push(`${f.conversations.length === 1 ? "conversation" : "conversations"} ${compactNumbers(f.conversations)}`);
  }
  if (f.attempts !== undefined && f.attempts > 1) {
    where.push(`${plural(f.attempts, "attempt")} over ${duration(f.durationSeconds ?? 0)}`);
  }
  return {
    index,
    code: f.code,
    severity: f.severity,
    rule: f.rule ? `rule ${f.rule}` : null,
    message: f.message,
    fix: f.fix ? `Fix: ${f.fix}` : null,
    where: where.length > 0 ? where.join(" · ") : null,
    filter: f.wiresharkFilter,
  };
}

/** What a Wireshark filter is introduced with: a redacted report's filters say they use pseudonyms (docs/redaction.md). */
export function wiresharkLabel(r: Report): string {
  return r.redaction ? "Wireshark (uses pseudonyms: put the addresses back before running it)" : "Wireshark";
}

/** Non-empty groups only, errors first; findings keep their report order inside a group. */
export function findingGroups(r: Report): FindingGroup[] {
  return GROUPS.map(({ severity, name }) => {
    const files = r.captures.map((c) => c.file.split(/[\\/]/).pop() || c.file);
    const items = r.findings.map((f, i) => ({ f, i })).filter(({ f }) => f.severity === severity).map(({ f, i }) => findingView(f, files, i));
    return { severity, name, title: `${name} (${num(items.length)})`, items };
  }).filter((g) => g.items.length > 0);
}

export const NO_FINDINGS = "No findings: no conversation breaks the matrix, and nothing it requires is missing.";

/** "evidence frames 1–8" (frames in the --evidence file), or null without one. */
export function evidenceFramesText(f: ReportFinding): string | null {
  if (f.evidenceFrames === undefined) return null;
  return f.evidenceFrames.length === 0 ? "no evidence frames" : `evidence ${framesText(f.evidenceFrames)}`;
}
