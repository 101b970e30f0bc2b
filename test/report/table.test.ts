/**
 * The terminal table: every line fits the width (measured here, ANSI stripped), long cells wrap
 * rather than vanish, sections come in the documented order, colour is plain SGR and only on
 * request, and the verdict line is first.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { builtinMatrix } from "../../src/policy/matrix.js";
import type { Report } from "../../src/report/record.js";
import { columnWidths, renderTable } from "../../src/report/table.js";
import { CASES, available, caseReport } from "../tools/update-goldens.js";
import { SGR, visibleWidth } from "./measure.js";
import { LONG, poison } from "./poison.js";

const ROWS = builtinMatrix().rows;
const WIDTHS = [40, 63, 80, 139, 140, 200, 257];

const reports = new Map<string, Report>();
beforeAll(async () => {
  for (const c of CASES) if (available(c)) reports.set(c.name, await caseReport(c));
});

function hostile(): Report {
  const r = reports.get("hostile");
  if (!r) throw new Error("fixtures/hostile/hostile.pcap is missing: run npm run test:update");
  return r;
}

/** Table text without box-drawing borders and padding, as one string: what a reader can read. */
function content(text: string): string {
  return text.replace(/[│┌┐└┘├┤┬┴┼─]/g, "").replace(/\s+/g, "");
}

/**
 * The text of each column of each table, read down the column across the lines of one entry
 * (entries end at a rule line), spaces removed: what a reader reads in one cell.
 */
function cellTexts(text: string): string[] {
  const out: string[] = [];
  let open: string[] | null = null;
  for (const line of text.split("\n")) {
    if (line.startsWith("│")) {
      const cells = line.split("│").slice(1, -1);
      if (!open) open = cells.map(() => "");
      cells.forEach((c, i) => (open![i] += c.replace(/\s+/g, "")));
    } else if (open) {
      out.push(...open);
      open = null;
    }
  }
  return out;
}

/** The lines that must fit the width: all but the Wireshark filters, which stand alone on a line, unwrapped, to be copied. */
function laidOut(text: string): string[] {
  const lines = text.split("\n");
  return lines.filter((_, i) => i === 0 || !lines[i - 1].endsWith(" filter:"));
}

describe("renderTable widths", () => {
  it("every line of every report fits each width, with and without colour", () => {
    const all = [...reports.entries(), ["poisoned", poison(hostile())] as const];
    expect(all.length).toBeGreaterThan(2);
    for (const [name, r] of all) {
      for (const width of WIDTHS) {
        for (const color of width === 80 ? [false, true] : [false]) {
          const text = renderTable(r, { width, color }, ROWS);
          const over = laidOut(text).filter((l) => visibleWidth(l) > width);
          expect(over, `${name} at ${width}${color ? " (colour)" : ""}`).toEqual([]);
        }
      }
    }
  });

  it("fits wide characters: CJK and emoji in wire strings", () => {
    const r = structuredClone(hostile());
    for (const c of r.conversations) c.banner = "中文の名前😀".repeat(30) + " 한국어 ❤️ e\u0301";
    for (const width of WIDTHS) {
      const text = renderTable(r, { width, color: false }, ROWS);
      for (const l of laidOut(text)) expect(visibleWidth(l), l).toBeLessThanOrEqual(width);
      expect(content(text)).toContain("中文の名前😀中文の名前😀");
    }
  });

  it("wraps a long unbreakable SNI instead of cutting it: all of it is there", () => {
    const r = poison(hostile());
    for (const width of [40, 80, 200]) {
      const text = renderTable(r, { width, color: false }, ROWS);
      expect(cellTexts(text).some((c) => c.includes(LONG))).toBe(true);
    }
  });

  it("a width below 40 is laid out as 40", () => {
    const text = renderTable(hostile(), { width: 10, color: false }, ROWS);
    expect(text).toBe(renderTable(hostile(), { width: 40, color: false }, ROWS));
    expect(Math.max(...laidOut(text).map(visibleWidth))).toBe(40);
  });

  it("columnWidths fills the width exactly when columns can grow, and respects max", () => {
    const cols = [
      { min: 5, max: 8, weight: 1 },
      { min: 10, weight: 3 },
      { min: 4, weight: 0 },
    ];
    for (const width of [40, 80, 200]) {
      const w = columnWidths(cols, width);
      // Line = borders (n + 1) + padding (2n) + contents.
      expect(w.reduce((a, b) => a + b, 0) + 3 * cols.length + 1).toBe(width);
      expect(w[0]).toBeLessThanOrEqual(8);
      expect(w[2]).toBe(4);
    }
    // Minimums that do not fit are shrunk to fit.
    const tight = columnWidths([{ min: 30, weight: 1 }, { min: 30, weight: 1 }], 40);
    expect(tight.reduce((a, b) => a + b, 0) + 7).toBeLessThanOrEqual(40);
  });
});

describe("renderTable content", () => {
  it("starts with the verdict line: word, counts, conversations, captures and duration", () => {
    const r = hostile();
    const first = renderTable(r, { width: 80, color: false }, ROWS).split("\n")[0];
    const s = r.summary;
    expect(first.startsWith(s.verdict.toUpperCase())).toBe(true);
    expect(first).toContain(`${s.findings.error} error`);
    expect(first).toContain(`${s.findings.warning} warning`);
    expect(first).toContain(`${s.findings.info} info`);
    expect(first).toContain(`${r.conversations.length} conversation`);
    expect(first).toContain("1 capture");
    expect(first).toMatch(/\d+\.\d+ s$/);
  });

  it("colours the verdict word (red FAIL, yellow WARN, green PASS) only when asked", () => {
    const r = structuredClone(hostile());
    const cases: [Report["summary"]["verdict"], string][] = [
      ["fail", "\x1b[1;31mFAIL\x1b[0m"],
      ["warn", "\x1b[1;33mWARN\x1b[0m"],
      ["pass", "\x1b[1;32mPASS\x1b[0m"],
    ];
    for (const [verdict, painted] of cases) {
      r.summary.verdict = verdict;
      expect(renderTable(r, { width: 80, color: true }, ROWS).startsWith(painted)).toBe(true);
      expect(renderTable(r, { width: 80, color: false }, ROWS)).not.toContain("\x1b");
    }
    // With colour, the only escapes are SGR codes.
    const coloured = renderTable(poison(hostile()), { width: 80, color: true }, ROWS);
    expect(coloured.replace(SGR, "")).not.toContain("\x1b");
  });

  it("puts the sections in order and findings errors → warnings → info", () => {
    const r = structuredClone(hostile());
    // Add an info finding, first in the list, to see it sorted last.
    r.findings.unshift({ ...r.findings[0], severity: "info", code: "unexpected-port", message: "info finding here" });
    const text = renderTable(r, { width: 120, color: false }, ROWS);
    const at = (s: string) => {
      const i = text.indexOf(s);
      expect(i, s).toBeGreaterThanOrEqual(0);
      return i;
    };
    const order = ["FINDINGS", "Errors (", "Warnings (", "Info (", "ROLES", "MATRIX ROWS", "OTHER CONVERSATIONS", "CAPTURES"].map(at);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(at("info finding here")).toBeGreaterThan(at("Info ("));
  });

  it("lists every matrix row, 'not seen' where nothing was; without the matrix only rows seen", () => {
    const r = hostile();
    // A conversation of unknown role is listed under every row it could be.
    const seen = new Set(r.conversations.filter((c) => c.ruleKind === "matrix").flatMap((c) => (c.rule !== null ? [c.rule] : c.ruleAlternatives)));
    const text = renderTable(r, { width: 200, color: false }, ROWS);
    const notSeen = text.split("\n").filter((l) => l.includes("not seen")).length;
    expect(notSeen).toBe(ROWS.filter((x) => !seen.has(x.id)).length);
    for (const row of ROWS) expect(text).toContain(row.id);
    const bare = renderTable(r, { width: 200, color: false });
    expect(bare).not.toContain("not seen");
    for (const row of ROWS) expect(bare.includes(`│ ${row.id} `)).toBe(seen.has(row.id));
    expect(bare).toContain("Rows with nothing seen are listed when the renderer is given the matrix.");
  });

  it("lists roles with how they were given, and conversations off the matrix with their facts", () => {
    const r = hostile();
    const text = content(renderTable(r, { width: 200, color: false }, ROWS));
    for (const x of r.roles) expect(text).toContain(content(`${x.ip} ${x.role} ${x.source}`));
    for (const c of r.conversations.filter((x) => x.ruleKind !== "matrix")) {
      expect(text).toContain(content(`${c.client.ip}:${c.client.port}`));
      expect(text).toContain(content(`${c.transport}.stream==${c.stream}`));
    }
  });

  it("shows each finding's frames compactly and its filter", () => {
    const r = structuredClone(hostile());
    r.findings[0].frames = [12, 15, 18, 19, 20];
    const text = renderTable(r, { width: 200, color: false }, ROWS);
    expect(text).toContain("frames 12, 15, 18–20");
    // The filter stands alone on the line after "Wireshark filter:", whole, whatever the width.
    const lines = text.split("\n");
    const at = lines.indexOf(r.findings[0].wiresharkFilter);
    expect(at).toBeGreaterThan(0);
    expect(lines[at - 1]).toMatch(/Wireshark filter:$/);
    expect(renderTable(r, { width: 40, color: false }, ROWS).split("\n")).toContain(r.findings[0].wiresharkFilter);
  });

  it("lists capture errors with frame and offset", () => {
    const r = structuredClone(hostile());
    r.captures[0].errors = [{ frame: 7, offset: 5035, message: "corrupt record length", fatal: true }];
    const text = renderTable(r, { width: 200, color: false }, ROWS);
    expect(text).toContain("frame 7, offset 5,035: corrupt record length (reading stopped here)");
  });
});

describe("entries past the conversation limit", () => {
  it("shows an aggregate entry and the capture's limit (fields read when the record has them)", () => {
    const r = structuredClone(hostile());
    const other = r.conversations.find((c) => c.ruleKind !== "matrix")!;
    Object.assign(other, { aggregate: { conversations: 1234, level: "hosts", serverPorts: { low: 1, high: 1024 } } });
    Object.assign(r.captures[0], {
      flow: { maxConversations: 10, limitHit: true, conversations: 1240, listed: 10, aggregated: 1230, aggregates: 3, evicted: 0, retiredEarly: 0 },
    });
    const text = renderTable(r, { width: 200, color: false }, ROWS);
    const cells = cellTexts(text);
    const has = (s: string) => cells.some((c) => c.includes(s.replace(/\s+/g, "")));
    expect(has("1,234 conversations past the limit, folded (same hosts; ports 1–1024)")).toBe(true);
    expect(has("conversation limit 10 reached: 1,240 seen, 10 listed, 1,230 folded into 3 aggregate entries")).toBe(true);
  });
});
