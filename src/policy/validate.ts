/**
 * The small toolkit the matrix and roles files are validated with: reading a file as JSON or
 * YAML, walking a parsed value with a path ("rows[3].port"), and wording every mistake the same
 * way — `PATH: expected WHAT, got VALUE` — so a user can fix a whole file in one go. The schemas
 * themselves are plain code in matrix.ts and roles.ts; no schema library.
 */
import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";

/** A file (or command-line argument) that failed validation: one line per mistake in `problems`. */
export class ValidationError extends Error {
  readonly problems: string[];
  constructor(what: string, problems: string[]) {
    const n = problems.length;
    super(`${what}: ${n} problem${n === 1 ? "" : "s"}:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    this.name = "ValidationError";
    this.problems = problems;
  }
}

/** Collects mistakes; `path` is where in the document ("" for the top level). */
export class Problems {
  readonly list: string[] = [];
  /** `path: message` — the message starts with "expected …", "missing, …" or "unknown key…". */
  add(path: string, message: string): void {
    this.list.push(`${path === "" ? "top level" : path}: ${message}`);
  }
  /** `path: expected WHAT, got VALUE` with an optional "did you mean" appended. */
  expected(path: string, what: string, got: unknown, hint?: string | null): void {
    this.add(path, `expected ${what}, got ${describeValue(got)}${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ""}`);
  }
  get ok(): boolean {
    return this.list.length === 0;
  }
}

/** "rows" + 3 → "rows[3]"; "rows[3]" + "port" → "rows[3].port"; "" + "rows" → "rows". */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === "number") return `${base}[${key}]`;
  return base === "" ? key : `${base}.${key}`;
}

/** How a value is shown after "got": strings and numbers as JSON, containers by kind. */
export function describeValue(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return JSON.stringify(v) ?? String(v);
  if (Array.isArray(v)) return v.length === 0 ? "an empty list" : "a list";
  if (v instanceof Uint8Array) return "binary data";
  if (v instanceof Date) return `a date (${v.toISOString()})`;
  if (typeof v === "object") return "an object";
  return typeof v;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Edit distance counting a swap of two neighbours as one edit (optimal string alignment). */
function distance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) d.push([i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidate a mistyped word was most likely meant to be, or null: equal ignoring case, or
 * within edit distance 2 (1 for words of 4 letters or fewer, so "tcp" does not suggest "udp").
 */
export function suggest(word: string, candidates: readonly string[]): string | null {
  const w = word.toLowerCase();
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = c.toLowerCase() === w ? 0 : distance(w, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  const limit = word.length <= 4 ? 1 : 2;
  return best !== null && bestD <= limit ? best : null;
}

/** Report every key of `obj` that is not in `allowed`, with a "did you mean" when one is close. */
export function checkKeys(obj: Record<string, unknown>, path: string, allowed: readonly string[], problems: Problems): void {
  for (const key of Object.keys(obj)) {
    if (allowed.includes(key)) continue;
    const hint = suggest(key, allowed);
    problems.add(
      joinPath(path, key),
      hint ? `unknown key; did you mean ${JSON.stringify(hint)}?` : `unknown key; expected one of ${allowed.join(", ")}`,
    );
  }
}

/** "a", "a or b", "a, b or c" — each quoted. */
export function oneOf(values: readonly string[]): string {
  const q = values.map((v) => JSON.stringify(v));
  return q.length <= 1 ? q.join("") : `${q.slice(0, -1).join(", ")} or ${q[q.length - 1]}`;
}

/** The outcome of reading a structured document: its value, or the one syntax problem found. */
export type ParsedDocument = { ok: true; value: unknown; format: "json" | "yaml" } | { ok: false; problem: string };

/**
 * Parse text as JSON if it is JSON, else as YAML (YAML 1.2, core schema). Only the first YAML
 * syntax error is reported: after one, the parser's later positions are guesses.
 */
export function parseStructured(text: string): ParsedDocument {
  // A UTF-8 BOM is allowed at the start of a JSON text by neither RFC 8259 §8.1 nor JSON.parse.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return { ok: true, value: JSON.parse(body), format: "json" };
  } catch {
    // Not JSON: fall through to YAML.
  }
  const doc = parseDocument(body, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const msg = e.message.split(/ at line \d+, column \d+/)[0].split("\n")[0];
    const pos = e.linePos?.[0];
    return { ok: false, problem: `${pos ? `line ${pos.line}, column ${pos.col}: ` : ""}YAML syntax error: ${msg}` };
  }
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount: 100 }), format: "yaml" };
  } catch (err) {
    // toJS throws on an alias without its anchor and on alias bombs.
    return { ok: false, problem: `YAML error: ${(err as Error).message}` };
  }
}

/** Read a file as text; a read failure becomes a one-problem result instead of an exception. */
export function readStructuredFile(path: string): ParsedDocument {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, problem: `cannot read the file${code ? ` (${code})` : ""}: ${(err as Error).message}` };
  }
  return parseStructured(text);
}
