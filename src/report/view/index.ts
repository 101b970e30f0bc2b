/**
 * The view layer: what each section of a report says, as plain unescaped strings and small
 * records, computed from the Report alone. Every renderer (table.ts, markdown.ts, html/) reads
 * its sections from here, so the formats cannot disagree; each escapes what it takes at the point
 * of output (sanitize.ts), since wire strings are mixed into these values.
 */
export * from "./captures.js";
export * from "./conversations.js";
export * from "./findings.js";
export * from "./format.js";
export * from "./matrix.js";
export * from "./sections.js";
export * from "./status.js";
export * from "./summary.js";
