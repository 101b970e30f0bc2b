import type { Report } from "./record.js";
import { jsonSafe } from "./sanitize.js";

/**
 * The JSON report: the record as is, two-space indented, with a final newline. Strings off the
 * wire keep their value, but bidi, zero-width and C1 characters are written as `\u` escapes
 * (sanitize.ts, jsonSafe), so the file shows the same in a terminal as the other formats do.
 */
export function renderJson(r: Report): string {
  let out = "";
  for (const piece of jsonPieces(r)) out += piece;
  return out;
}

/**
 * The same text as renderJson, in pieces of about `size` characters, for writing as it is made:
 * a report of many conversations is never one string (each conversation is stringified on its
 * own and indented into place, which is what JSON.stringify(r, null, 2) writes). 64 KiB: V8
 * puts a string over ~128 KiB straight into its old generation, where only a full collection
 * frees it, so 1 MiB pieces (and the slices they were cut from) piled up as garbage until one
 * came: 18 MiB of peak RSS on mixed.pcap's 31 MB report (docs/performance.md); strings this size
 * die young.
 */
export function* jsonPieces(r: Report, size = 1 << 16): Generator<string> {
  let buf = "{";
  let first = true;
  for (const [k, v] of Object.entries(r)) {
    if (v === undefined || typeof v === "function") continue;
    buf += first ? "\n" : ",\n";
    first = false;
    if (!Array.isArray(v) || v.length === 0) {
      buf += inner({ [k]: v });
      continue;
    }
    // Stringified in slices, each as the member of an object it is in the report, so the
    // indentation is JSON.stringify's own; the slices' text is cut out of the wrapper.
    buf += `  ${JSON.stringify(k)}: [\n`;
    const step = Math.max(1, Math.min(v.length, Math.ceil(size / 2048)));
    for (let j = 0; j < v.length; j += step) {
      const part = JSON.stringify({ [k]: v.slice(j, j + step).map((e) => e ?? null) }, null, 2);
      // '{\n  "k": [\n' … '\n  ]\n}'
      buf += part.slice(part.indexOf("[\n") + 2, part.length - 6) + (j + step < v.length ? ",\n" : "\n");
      if (buf.length >= size) {
        yield jsonSafe(buf);
        buf = "";
      }
    }
    buf += "  ]";
  }
  yield jsonSafe(buf + (first ? "}\n" : "\n}\n"));
}

/** The one member of `o` as JSON.stringify(…, null, 2) writes it inside the report's top-level object. */
function inner(o: object): string {
  const t = JSON.stringify(o, null, 2);
  return t.slice(2, t.length - 2);
}
