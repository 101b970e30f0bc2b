import type { Report } from "./record.js";
import { jsonSafe } from "./sanitize.js";

/**
 * The JSON report: the record as is, two-space indented, with a final newline. Strings off the
 * wire keep their value, but bidi, zero-width and C1 characters are written as `\u` escapes
 * (sanitize.ts, jsonSafe), so the file shows the same in a terminal as the other formats do.
 */
export function renderJson(r: Report): string {
  return jsonSafe(JSON.stringify(r, null, 2)) + "\n";
}
