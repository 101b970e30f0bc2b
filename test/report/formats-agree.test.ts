/**
 * One view layer for every renderer: for the same report, the terminal table, Markdown and HTML
 * show the same "What to fix first" lines, the same coverage limits, the same findings and the
 * same matrix rows with what was seen on each, in the same order (src/report/view/). Each format is searched for each item as that format escapes it
 * (terminalSafe, escapeMarkdown, escapeHtml), one item after the other from the start of its
 * section, so an item left out, added elsewhere or reordered by one renderer fails the test.
 * Over the recorded fixtures, the sample and the hostile capture, plain and redacted.
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { reportFor } from "../../src/pipeline/index.js";
import { builtinMatrix } from "../../src/policy/matrix.js";
import {
  escapeHtml,
  escapeMarkdown,
  redactReport,
  renderHtml,
  renderMarkdown,
  renderTable,
  REPORT_SECTIONS,
  terminalSafe,
  type Report,
} from "../../src/report/index.js";
import { coverageLines, findingGroups, fixFirstLines, matrixView, NOT_SEEN, SECTION } from "../../src/report/view/index.js";
import { REPO_ROOT } from "../support/corpus.js";

const RECORDED = path.join(REPO_ROOT, "fixtures/recorded");
const CAPTURES = [
  ...readdirSync(RECORDED).filter((f) => /\.(pcap|pcapng|pcap\.gz)$/.test(f)).sort().map((f) => path.join(RECORDED, f)),
  path.join(REPO_ROOT, "fixtures/sample.pcapng"),
  path.join(REPO_ROOT, "fixtures/hostile/hostile.pcap"),
];

interface Format {
  name: string;
  text: string;
  escape: (s: string) => string;
  /** Where each section starts in this format. */
  at: { fixFirst: string; coverage: string; findings: string; matrix: string };
}

function formats(r: Report): Format[] {
  const rows = builtinMatrix().rows;
  const titles = { fixFirst: SECTION.fixFirst, coverage: SECTION.coverage, findings: SECTION.findings, matrix: SECTION.matrix };
  // The table writes its section titles in capitals.
  const upper = { fixFirst: titles.fixFirst.toUpperCase(), coverage: titles.coverage.toUpperCase(), findings: titles.findings.toUpperCase(), matrix: titles.matrix.toUpperCase() };
  return [
    // Wide enough that no message is wrapped (they are at most a few hundred characters): the test compares words, not layout.
    { name: "table", text: renderTable(r, { width: 2_000, color: false, sections: REPORT_SECTIONS }, rows), escape: terminalSafe, at: upper },
    { name: "markdown", text: renderMarkdown(r, rows), escape: escapeMarkdown, at: titles },
    { name: "html", text: renderHtml(r, { matrixRows: rows }), escape: escapeHtml, at: { fixFirst: 'id="fix-first"', coverage: 'id="coverage"', findings: 'id="findings"', matrix: 'id="matrix"' } },
  ];
}

/** Each item found after the previous one, starting at the section's marker; the items not found, in order. */
function missingInOrder(f: Format, marker: string, items: readonly string[]): string[] {
  if (items.length === 0) return [];
  let pos = f.text.indexOf(marker);
  if (pos < 0) return [`(no section "${marker}")`, ...items];
  const missing: string[] = [];
  for (const item of items) {
    const i = f.text.indexOf(f.escape(item), pos);
    if (i < 0) missing.push(item);
    else pos = i + 1;
  }
  return missing;
}

describe("table, Markdown and HTML show the same items", () => {
  const shown = { fixFirst: 0, coverage: 0, findings: new Set<string>(), rowsSeen: 0, seenLines: 0, notSeen: 0 };
  for (const file of CAPTURES) {
    for (const redact of [false, true]) {
      it(`${path.basename(file)}${redact ? " (redacted)" : ""}: fix-first lines, coverage limits, findings and matrix rows, in the same order`, async () => {
        const plain = await reportFor([file], { redact });
        const r = redact ? redactReport(plain) : plain;
        const fix = fixFirstLines(r);
        const limits = coverageLines(r).map((c) => c.message);
        const groups = findingGroups(r);
        const messages = groups.flatMap((g) => g.items.map((v) => v.message));
        // Every finding is in exactly one group.
        expect(groups.reduce((n, g) => n + g.items.length, 0)).toBe(r.findings.length);
        shown.fixFirst += fix.length;
        shown.coverage += limits.length;
        for (const g of groups) shown.findings.add(g.severity);
        // The matrix section: its heading, then each row's id, path, port, what it must carry,
        // whether it is required and what was seen on it, line by line (or "not seen").
        const m = matrixView(r, builtinMatrix().rows);
        const matrixItems = [m.heading, ...m.rows.flatMap((x) => [x.id, x.path, x.port, x.expects, x.required, ...(x.seen ?? [NOT_SEEN])].filter((t) => t !== ""))];
        shown.rowsSeen += m.rows.filter((x) => x.seen !== null).length;
        shown.seenLines += m.rows.reduce((n, x) => n + (x.seen?.length ?? 0), 0);
        shown.notSeen += m.rows.filter((x) => x.seen === null).length;
        for (const f of formats(r)) {
          expect(missingInOrder(f, f.at.fixFirst, fix), `${f.name}: fix-first`).toEqual([]);
          expect(missingInOrder(f, f.at.coverage, limits), `${f.name}: coverage`).toEqual([]);
          expect(missingInOrder(f, f.at.findings, messages), `${f.name}: findings`).toEqual([]);
          expect(missingInOrder(f, f.at.matrix, matrixItems), `${f.name}: matrix`).toEqual([]);
        }
      });
    }
  }
  // Runs after the cases above (vitest runs a file's tests in order): they exercised every part
  // compared, else they would pass on nothing.
  it("the captures have fix-first lines, coverage limits, findings of every severity, and matrix rows seen and not", () => {
    expect(shown.fixFirst).toBeGreaterThan(0);
    expect(shown.coverage).toBeGreaterThan(0);
    expect(shown.rowsSeen).toBeGreaterThan(0);
    expect(shown.seenLines).toBeGreaterThan(shown.rowsSeen);
    expect(shown.notSeen).toBeGreaterThan(0);
    expect([...shown.findings].sort()).toEqual(["error", "info", "warning"]);
  });
});
