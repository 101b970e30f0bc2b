/**
 * The Markdown report: valid GFM tables (every row has as many cells as its header), the same
 * sections and order as the table, filters in code spans that show them exactly.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { builtinMatrix } from "../../src/policy/matrix.js";
import { renderMarkdown } from "../../src/report/markdown.js";
import type { Report } from "../../src/report/record.js";
import { CASES, available, caseReport } from "../tools/update-goldens.js";
import { markdownTables, tableCells } from "./measure.js";
import { MARKUP, poison } from "./poison.js";

const ROWS = builtinMatrix().rows;
const reports = new Map<string, Report>();
beforeAll(async () => {
  for (const c of CASES) if (available(c)) reports.set(c.name, await caseReport(c));
});

function hostile(): Report {
  const r = reports.get("hostile");
  if (!r) throw new Error("fixtures/hostile/hostile.pcap is missing: run npm run test:update");
  return r;
}

/** Every report we have, plus the poisoned one, with and without the matrix rows. */
function renders(): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, r] of [...reports.entries(), ["poisoned", poison(hostile())] as const]) {
    out.push([name, renderMarkdown(r, ROWS)], [`${name} (no matrix)`, renderMarkdown(r)]);
  }
  return out;
}

describe("renderMarkdown tables", () => {
  it("every table is valid GFM: a delimiter row, and each row as many cells as the header", () => {
    let tables = 0;
    for (const [name, md] of renders()) {
      for (const t of markdownTables(md)) {
        tables++;
        const head = tableCells(t[0])!;
        expect(head.length, `${name}: ${t[0]}`).toBeGreaterThan(1);
        expect(tableCells(t[1]), `${name}: delimiter row`).toEqual(head.map(() => "---"));
        for (const row of t.slice(2)) expect(tableCells(row)!.length, `${name}: ${row}`).toBe(head.length);
      }
    }
    expect(tables).toBeGreaterThan(20);
  });

  it("a table is preceded by a blank line (so it is not read as part of a paragraph)", () => {
    for (const [name, md] of renders()) {
      const lines = md.split("\n");
      lines.forEach((l, i) => {
        if (l.startsWith("|") && !lines[i - 1].startsWith("|")) expect(lines[i - 1], `${name} line ${i}`).toBe("");
      });
    }
  });
});

describe("renderMarkdown content", () => {
  it("starts with the verdict line in bold, then the sections in order", () => {
    const r = hostile();
    const md = renderMarkdown(r, ROWS);
    const first = md.split("\n")[0];
    expect(first).toMatch(/^\*\*(PASS|WARN|FAIL)\*\* — /);
    expect(first).toContain(`**${r.summary.verdict.toUpperCase()}**`);
    expect(first).toContain(`${r.conversations.length} conversations`);
    // Below the findings, every section folds away in a <details> block (a ticket comment opens with the findings).
    const order = ["## Findings", "### Errors", "### Warnings", "<details><summary>Roles", "<details><summary>Matrix rows", "<details><summary>Other conversations", "<details><summary>Captures"].map((h) =>
      md.indexOf(`\n${h}`),
    );
    for (const i of order) expect(i).toBeGreaterThan(0);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it("lists every matrix row with 'not seen' where nothing was", () => {
    const r = hostile();
    const md = renderMarkdown(r, ROWS);
    // A conversation of unknown role is listed under every row it could be.
    const seen = new Set(r.conversations.filter((c) => c.ruleKind === "matrix").flatMap((c) => (c.rule !== null ? [c.rule] : c.ruleAlternatives)));
    const rows = markdownTables(md).find((t) => t[0].startsWith("| Row |"))!;
    expect(rows.length - 2).toBe(ROWS.length);
    for (const line of rows.slice(2)) {
      const cells = tableCells(line)!;
      const id = cells[0].replace(/\\/g, "");
      expect(cells[5] === "*not seen*").toBe(!seen.has(id));
    }
  });

  it("shows each Wireshark filter in a code span that reads back exactly", () => {
    const r = structuredClone(hostile());
    r.findings[0].wiresharkFilter = 'http.host contains "`a``b`" || tcp.port in {443 902}';
    const md = renderMarkdown(r, ROWS);
    expect(md).toContain('  - Wireshark: ```http.host contains "`a``b`" || tcp.port in {443 902}```');
    // A filter quoting markup is written as escaped text instead: no raw "<" in the file.
    r.findings[0].wiresharkFilter = 'http.host == "<b>" && tcp.port==80';
    expect(renderMarkdown(r, ROWS)).toContain('  - Wireshark: http.host == "&lt;b&gt;" &amp;&amp; tcp.port==80');
  });

  it("writes no HTML at all, and no markup from the wire (poisoned report)", () => {
    // The only HTML is the tool's own <details>/<summary> folds; nothing from the wire.
    const md = renderMarkdown(poison(hostile()), ROWS).replace(/<\/?details>|<summary>|<\/summary>/g, "");
    expect(md).not.toContain("<");
    expect(md).not.toContain(">");
    expect(md).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
    // Links and images need "](" with an unescaped "]".
    expect(md).not.toMatch(/(^|[^\\])\]\(/m);
    // The markup is there, escaped: the reader sees it as text.
    expect(md).toContain("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;\\|a\\|b\\|\\`code\\`\\*em\\*\\_u\\_\\[x\\](javascript:alert(1))\\#h&amp;amp;");
    expect(MARKUP.length).toBeGreaterThan(0);
  });

  it("names a capture error's frame and offset", () => {
    const r = structuredClone(hostile());
    r.captures[0].errors = [{ frame: 7, offset: 5035, message: "corrupt record length", fatal: true }];
    const md = renderMarkdown(r, ROWS);
    expect(md).toContain("- frame 7, offset 5,035: corrupt record length (reading stopped here)");
  });
});

/** cmark-gfm (GitHub's own C implementation of GFM, Debian package cmark-gfm), when installed. */
const CMARK = ["/usr/bin/cmark-gfm", "/usr/local/bin/cmark-gfm"].find((p) => existsSync(p));

describe.skipIf(!CMARK)(`rendered by cmark-gfm ${CMARK ? "" : "(skipped: cmark-gfm is not installed; apt-get install cmark-gfm)"}`.trim(), () => {
  const render = (md: string) =>
    execFileSync(CMARK!, ["-e", "table", "-e", "autolink", "-e", "strikethrough", "-e", "tagfilter"], { input: md, encoding: "utf8" });

  it("every table row has as many cells as its header, and no tag, link or image comes from the wire", () => {
    for (const [name, md] of renders()) {
      const html = render(md);
      for (const t of html.match(/<table>[\s\S]*?<\/table>/g) ?? []) {
        const head = (t.match(/<th[ >]/g) ?? []).length;
        for (const row of t.split("<tbody>")[1]?.match(/<tr>[\s\S]*?<\/tr>/g) ?? []) {
          expect((row.match(/<td[ >]/g) ?? []).length, `${name}: ${row}`).toBe(head);
        }
      }
      expect(html, name).not.toMatch(/<(script|img|iframe|b|i|svg)[\s>/]/i);
      // The only links GFM may still make are bare e-mail addresses (mailto:).
      for (const a of html.match(/<a [^>]*>/g) ?? []) expect(a, name).toMatch(/^<a href="mailto:/);
    }
  });

  it("the hostile SNI and ALPN read back as sent", () => {
    const html = render(renderMarkdown(hostile(), ROWS));
    const text = html.replace(/<[^>]+>/g, "").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&amp;/g, "&");
    expect(text).toContain("SNI <script>alert(1)</script>.example");
    expect(text).toContain("ALPN h2|x, `rm -rf /`, ](javascript:alert(1))");
    expect(text).toContain("Host evil|host\\x1b[31m");
  });
});
