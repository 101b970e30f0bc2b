import type { Report } from "./record.js";

/** The JSON report: the record as is, two-space indented, with a final newline. */
export function renderJson(r: Report): string {
  return JSON.stringify(r, null, 2) + "\n";
}
