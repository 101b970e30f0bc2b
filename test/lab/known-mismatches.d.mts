// Types for known-mismatches.mjs.
export interface KnownMismatch {
  id: string;
  scenario: string;
  mode: "explicit" | "inferred";
  match: RegExp[];
  why: string;
}
export const KNOWN_MISMATCHES: KnownMismatch[];
export function splitKnown(
  scenario: string,
  mode: "explicit" | "inferred",
  lines: string[],
): { known: { id: string; line: string }[]; unknown: string[]; stale: string[] };
