/**
 * The report's first lines and last line, as every format words them: the verdict, what to fix
 * first, what the capture could not show, the roles, the evidence file and the generator.
 */
import type { Report, RoleRecord } from "../record.js";
import { duration, num, plural } from "./format.js";

export type VerdictWord = "PASS" | "WARN" | "FAIL" | "INCONCLUSIVE";

export interface VerdictView {
  word: VerdictWord;
  verdict: Report["summary"]["verdict"];
  /** What follows the word: "1 error, 2 warnings, 0 info · 3 conversations · 1 capture, 0.009 s". */
  detail: string;
}

export function verdictView(r: Report): VerdictView {
  const s = r.summary;
  const word: VerdictWord = s.verdict === "fail" ? "FAIL" : s.verdict === "warn" ? "WARN" : s.verdict === "inconclusive" ? "INCONCLUSIVE" : "PASS";
  const counts = `${plural(s.findings.error, "error")}, ${plural(s.findings.warning, "warning")}, ${num(s.findings.info)} info`;
  const convs = plural(s.conversations, "conversation");
  const caps = `${plural(r.captures.length, "capture")}, ${duration(s.captureSeconds)}`;
  // The first line says why a verdict could not be given, or which limits it has.
  const coverage = s.coverage ?? [];
  const blocking = coverage.filter((c) => c.inconclusive);
  const why = blocking.length ? `${blocking.map((c) => c.message).join(" ")} · ` : "";
  const limited = !blocking.length && coverage.length ? ` · limited: ${coverage.map((c) => c.code).join(", ")} (below)` : "";
  return { word, verdict: s.verdict, detail: `${why}${counts} · ${convs} · ${caps}${limited}` };
}

/** "What to fix first": one line per host and action, most damaging first. */
export function fixFirstLines(r: Report): string[] {
  return (r.summary.fixFirst ?? []).map((x) => x.text);
}

/** "What the capture could not show": each limit with what to do. */
export function coverageLines(r: Report): { message: string; action: string | null }[] {
  return (r.summary.coverage ?? []).map((c) => ({ message: c.message, action: c.action }));
}

// ---------------------------------------------------------------------------------------------
// Roles.

export interface RoleView {
  host: string;
  role: string;
  /** "explicit" or "inferred". */
  source: string;
  reason: string;
}

export function roleViews(r: Report): RoleView[] {
  return r.roles.map((x: RoleRecord) => ({ host: x.ip, role: x.role, source: x.source, reason: x.reason }));
}

export const NO_ROLES = "No host has a role: none was given (--role, --roles) and none could be inferred from the traffic.";

/**
 * The evidence file (--evidence) under the captures, or null without one, in parts a renderer
 * joins with " · " or puts one a line (so the sha256 can be copied whole):
 * "Evidence: ev.pcapng", "114 packets, 37,636 bytes", "sha256 8a55…", "conforming examples: …".
 */
export function evidenceParts(r: Report): string[] | null {
  const e = r.evidence;
  if (!e) return null;
  const parts = [`Evidence: ${e.file}`, `${plural(e.packets, "packet")}, ${plural(e.bytes, "byte")}`, `sha256 ${e.sha256}`];
  if (e.examples.length > 0) parts.push(`conforming examples: ${e.examples.map((x) => `${x.rule} (conversation ${x.conversation})`).join(", ")}`);
  if (e.conversationsLeftOut > 0) {
    parts.push(`${plural(e.conversationsLeftOut, "conversation")} of findings left out (at most ${e.limits.conversationsPerFinding} per finding)`);
  }
  return parts;
}

/** evidenceParts as one line. */
export function evidenceLine(r: Report): string | null {
  return evidenceParts(r)?.join(" · ") ?? null;
}

/** The last line: which tool and matrix wrote the report. */
export function generatorLine(r: Report): string {
  return `${r.generator.name} ${r.generator.version} · ${r.matrix.product}, matrix version ${r.matrix.version}`;
}
