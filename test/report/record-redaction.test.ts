/**
 * The redaction field table (src/report/record-redaction.ts) against the record it redacts
 * (src/report/record.ts): every string field of `Report` has a rule, and every rule names a field.
 *
 * Two checks, because a field can be added in two ways. The type-level one is exact: `StringPaths`
 * walks the `Report` type to every string leaf, so a string field added to the record (or to the
 * facts it carries) without a rule here, or a rule left behind for a field that went, makes
 * `tsc -p test/tsconfig.json` fail (npm test runs it) and names the path. The run-time one walks
 * real reports — the recorded fixtures, the sample, the hostile capture, each also under
 * --redact's marking namer — and fails on any string path the table has no entry for, so a field
 * filled in at run time but typed loosely (an index signature, `unknown`) is caught too.
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { reportFor } from "../../src/pipeline/index.js";
import type { Report } from "../../src/report/record.js";
import { REDACTION_FIELDS, redactionOf } from "../../src/report/record-redaction.js";
import { REPO_ROOT } from "../support/corpus.js";

// ---------------------------------------------------------------------------------------------
// Type level.

/** Every path from T to a string leaf, property names joined with "." (arrays stepped through). */
type StringPaths<T, P extends string = ""> = T extends string
  ? P
  : T extends readonly (infer E)[]
    ? StringPaths<E, P>
    : T extends object
      ? { [K in keyof T & string]-?: StringPaths<NonNullable<T[K]>, P extends "" ? K : `${P}.${K}`> }[keyof T & string]
      : never;

type Fields = keyof typeof REDACTION_FIELDS;
/** String fields of the record with no rule: must be none. */
type Unruled = Exclude<StringPaths<Report>, Fields>;
/** Rules that name no string field of the record: must be none. */
type Stale = Exclude<Fields, StringPaths<Report>>;

// Each line fails to compile, naming the paths, when its set is not empty.
const noUnruled: [Unruled] extends [never] ? true : Unruled = true;
const noStale: [Stale] extends [never] ? true : Stale = true;

// ---------------------------------------------------------------------------------------------
// Run time.

/** Every string path of a value, as record-redaction.ts writes them. */
function stringPaths(v: unknown, at: string[] = [], out = new Set<string>()): Set<string> {
  if (typeof v === "string") out.add(at.join("."));
  else if (Array.isArray(v)) for (const x of v) stringPaths(x, at, out);
  else if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) stringPaths(x, [...at, k], out);
  return out;
}

const RECORDED = path.join(REPO_ROOT, "fixtures/recorded");
const CAPTURES = [
  ...readdirSync(RECORDED).filter((f) => /\.(pcap|pcapng|pcap\.gz)$/.test(f)).sort().map((f) => path.join(RECORDED, f)),
  path.join(REPO_ROOT, "fixtures/sample.pcapng"),
  path.join(REPO_ROOT, "fixtures/hostile/hostile.pcap"),
];

describe("the redaction field table covers the record", () => {
  it("type level: no string field without a rule, no rule without a field", () => {
    // The real check is the compiler's (above); this keeps the two constants in use.
    expect([noUnruled, noStale]).toEqual([true, true]);
  });

  it("run time: every string path of real reports has an entry", async () => {
    const seen = new Set<string>();
    for (const f of CAPTURES) {
      for (const redact of [false, true]) {
        const r = await reportFor([f], { redact });
        for (const p of stringPaths(r)) seen.add(p);
      }
    }
    const unruled = [...seen].filter((p) => !(p in REDACTION_FIELDS)).sort();
    expect(unruled, "string fields with no rule in src/report/record-redaction.ts").toEqual([]);
    // The walk reached the record's strings (a report of nothing would pass vacuously).
    for (const p of ["conversations.client.ip", "conversations.tls.sni", "captures.file", "findings.message"]) expect(seen.has(p), p).toBe(true);
  });

  it("a path with no entry is redacted as text off the wire", () => {
    expect(redactionOf("conversations.somethingNew")).toBe("data");
    expect(redactionOf("conversations.client.ip")).toBe("ip");
  });
});
