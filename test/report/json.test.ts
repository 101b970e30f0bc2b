/**
 * The JSON report escapes what a terminal must not get raw (issue 19, "Signals and streams"): bidi
 * overrides, zero-width characters, C1 controls (U+009B is a one-character CSI), line separators
 * and unassigned code points become `\u` escapes, and parsing the text gives back the same values.
 */
import { describe, expect, it } from "vitest";
import { renderJson } from "../../src/report/json.js";
import type { Report } from "../../src/report/record.js";
import { jsonSafe } from "../../src/report/sanitize.js";

// Each string as a certificate name or SNI could carry it.
const HOSTILE = [
  "evil\u202ecod.exe", // RIGHT-TO-LEFT OVERRIDE (Trojan Source)
  "a\u2066b\u2069c\u200fd\u061c", // isolates, RLM, Arabic letter mark
  "zero\u200bwidth\u200c\u200d\u2060\ufeff", // zero-width space / joiners / word joiner / BOM
  "csi\u009b31mred", // C1 CSI
  "c1\u0085\u0080\u009f\u007f", // NEL, PAD, APC, DEL
  "line\u2028para\u2029", // LINE / PARAGRAPH SEPARATOR
  "soft\u00adhyphen",
  "unassigned\u0378 and \u{e0001} tag and \u{10ffff}", // Cn (BMP), Cf (astral), noncharacter (astral)
  "esc\u001b[2J bell\u0007", // C0: JSON.stringify's own \u escapes
  "fine: ü ß 中文 😀 e\u0301", // printable Unicode stays as it is
];
const RAW = /[\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}\p{Cn}\u0000-\u0009\u000b-\u001f]/u;

describe("JSON report escaping", () => {
  it("escapes every unsafe character and parses back to the same strings", () => {
    const report = { schema: "x", certificates: HOSTILE, nested: { sni: HOSTILE[0], list: [HOSTILE[3]] } } as unknown as Report;
    const text = renderJson(report);
    expect(text).not.toMatch(RAW);
    expect(text).toContain("evil\\u202ecod.exe");
    expect(text).toContain("csi\\u009b31mred");
    expect(text).toContain("\\udb40\\udc01"); // U+E0001 as a surrogate pair of escapes (RFC 8259 §7)
    expect(text).toContain("fine: ü ß 中文 😀 e\u0301");
    expect(JSON.parse(text)).toEqual(report);
  });

  it("leaves JSON's own layout (newlines and indentation outside strings) alone", () => {
    const text = jsonSafe(JSON.stringify({ a: ["x\u0085"] }, null, 2));
    expect(text).toBe('{\n  "a": [\n    "x\\u0085"\n  ]\n}');
  });
});

describe("the JSON report written in pieces", () => {
  it("is, joined, exactly JSON.stringify(r, null, 2) escaped, whatever the piece size, on a real report", async () => {
    const { reportFor } = await import("../../src/pipeline/run.js");
    const { jsonPieces } = await import("../../src/report/json.js");
    const path = await import("node:path");
    const report = await reportFor([path.resolve(__dirname, "../../fixtures/sample.pcapng")]);
    // Hostile strings inside a conversation and at the top level, and an empty array, an undefined field.
    const r = { ...report, extra: HOSTILE, none: undefined, empty: [] } as unknown as Report;
    (r.conversations[0] as unknown as { note: string[] }).note = HOSTILE;
    const whole = jsonSafe(JSON.stringify(r, null, 2)) + "\n";
    for (const size of [1, 100, 4096, 1 << 20]) {
      const pieces = [...jsonPieces(r, size)];
      expect(pieces.join("")).toBe(whole);
      if (size === 1) expect(pieces.length).toBeGreaterThan(r.conversations.length);
    }
    expect(renderJson(r)).toBe(whole);
  });
});
