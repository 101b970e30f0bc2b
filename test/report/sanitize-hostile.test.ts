/**
 * A hostile capture (fixtures/hostile/hostile.pcap: SNI `<script>…`, ALPN with `|`, backticks and
 * `](javascript:…)`, banners with ESC sequences and `<img onerror>`, an HTTP Host with `|` and
 * ESC, DNS, SSH and RDP strings likewise) and a report poisoned with raw control characters,
 * through every renderer of this folder and through escapeHtml for the HTML report's helpers.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { builtinMatrix } from "../../src/policy/matrix.js";
import { renderMarkdown } from "../../src/report/markdown.js";
import type { Report } from "../../src/report/record.js";
import { escapeHtml } from "../../src/report/sanitize.js";
import { renderTable } from "../../src/report/table.js";
import { HOSTILE as WIRE } from "../tools/make-hostile.js";
import { CASES, caseReport } from "../tools/update-goldens.js";
import { markdownTables, SGR, tableCells } from "./measure.js";
import { poison } from "./poison.js";

const ROWS = builtinMatrix().rows;
/** Raw bytes no output may carry: ESC, BEL, 8-bit CSI, bidi overrides and isolates. */
const RAW_CONTROL = /[\x1b\x07\x9b\u202a-\u202e\u2066-\u2069]/;

let real: Report;
let poisoned: Report;
beforeAll(async () => {
  real = await caseReport(CASES.find((c) => c.name === "hostile")!);
  poisoned = poison(real);
});

/** Every string value in a report, with its path. */
function strings(v: unknown, at = "report"): [string, string][] {
  if (typeof v === "string") return [[at, v]];
  if (Array.isArray(v)) return v.flatMap((x, i) => strings(x, `${at}[${i}]`));
  if (v && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => strings(x, `${at}.${k}`));
  return [];
}

describe("hostile capture", () => {
  it("carries the hostile strings into the report (so the checks below check something)", () => {
    const all = strings(real).map(([, s]) => s).join("\n");
    expect(all).toContain(WIRE.sni);
    expect(all).toContain("](javascript:alert(1))");
    expect(all).toContain("<img src=x onerror=alert(1)>");
    expect(all).toContain("evil|host");
    expect(all).toContain("Evil_<img/src=x>|`id`");
    expect(all).toContain("<i>|x"); // the RDP cookie
    expect(all).toContain("<b>x</b>|y");
    // The detectors already show control bytes as \xNN; the renderers must not undo that.
    expect(all).toContain("\\x1b[2J");
  });

  it("terminal table: no ESC, BEL, C1 or bidi control; wire text shown as printed characters", () => {
    for (const r of [real, poisoned]) {
      for (const width of [80, 200]) {
        for (const color of [false, true]) {
          const text = renderTable(r, { width, color }, ROWS);
          expect(RAW_CONTROL.test(color ? text.replace(SGR, "") : text)).toBe(false);
        }
      }
    }
    // In a terminal `<script>` is inert text: it is shown as sent, so the reader sees the real SNI.
    expect(renderTable(real, { width: 200, color: false }, ROWS)).toContain(WIRE.sni);
    // The poisoned ESC shows as the four characters \x1b.
    expect(renderTable(poisoned, { width: 200, color: false }, ROWS)).toContain("\\x1b[2J\\x1b]0;pwned\\x07\\x9b31m\\u202eevil\\u202c");
  });

  it("Markdown: no <script, <img, ESC, BEL, or unescaped | inside a table cell", () => {
    for (const r of [real, poisoned]) {
      const md = renderMarkdown(r, ROWS);
      expect(md).not.toMatch(/<script|<img|<iframe|<b>|<i>/i);
      expect(RAW_CONTROL.test(md)).toBe(false);
      for (const t of markdownTables(md)) {
        const n = tableCells(t[0])!.length;
        for (const row of t) expect(tableCells(row)!.length, row).toBe(n);
      }
      // The capture's SNI is there, escaped.
      if (r === real) expect(md).toContain("&lt;script&gt;alert(1)&lt;/script&gt;.example");
    }
  });

  it("escapeHtml on every string of the report leaves no tag, quote or control", () => {
    for (const r of [real, poisoned]) {
      for (const [at, s] of strings(r)) {
        const h = escapeHtml(s);
        expect(h, at).not.toMatch(/<|>|"|'/);
        expect(RAW_CONTROL.test(h), at).toBe(false);
      }
    }
    expect(escapeHtml(WIRE.sni)).toBe("&lt;script&gt;alert(1)&lt;/script&gt;.example");
  });
});
