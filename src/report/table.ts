/**
 * The report as terminal tables (cli-table3): verdict, findings by severity, roles, matrix rows,
 * other conversations, captures. Every line fits `width` columns: cells are wrapped here (words at
 * spaces, a word wider than its column wherever it must) before cli-table3 sees them, and
 * cli-table3 cuts any line still too wide, so a long SNI can make a row taller but never break the
 * table. Every string passes through terminalSafe before it is laid out; colour codes are added
 * after, and only when asked (plain ANSI SGR, no dependency).
 */
import Table from "cli-table3";
import type { MatrixRow, Severity } from "../policy/index.js";
import type { Report } from "./record.js";
import { displayWidth, terminalSafe, wrapText } from "./sanitize.js";
import {
  wiresharkLabel,
  NO_FINDINGS,
  NO_OTHER_CONVERSATIONS,
  NO_ROLES,
  NOT_SEEN,
  SECTION,
  captureViews,
  evidenceParts,
  findingGroups,
  generatorLine,
  matrixView,
  otherConversations,
  roleViews,
  verdictView,
  fixFirstLines,
  coverageLines,
  type ReportSection,
} from "./view/index.js";

export interface TableOptions {
  /** Terminal width in columns; every line of the output is at most this wide (at least 40 is used). */
  width: number;
  /** The sections to show (REPORT_SECTIONS names); all when absent. The verdict line always comes first. */
  sections?: readonly ReportSection[];
  /** Colour the verdict, severity headings and table heads with ANSI SGR codes. */
  color: boolean;
}

/** Keeps an arrow on the line of what it points at (wrapping breaks only at ASCII spaces). */
const NBSP = "\u00a0";

/** Narrowest layout we lay out for; a smaller width is treated as this. */
const MIN_WIDTH = 40;
/** From this width on, tables spread their facts over more columns. */
const WIDE = 140;

// ---------------------------------------------------------------------------------------------
// ANSI SGR (ECMA-48 §8.3.117): bold 1, red 31, green 32, yellow 33, cyan 36, reset 0.

type Style = "bold" | "red" | "green" | "yellow" | "cyan";
const SGR: Record<Style, string> = { bold: "1", red: "1;31", green: "1;32", yellow: "1;33", cyan: "1;36" };

function paint(text: string, style: Style, color: boolean): string {
  return color ? `\x1b[${SGR[style]}m${text}\x1b[0m` : text;
}

const SEVERITY_STYLE: Record<Severity, Style> = { error: "red", warning: "yellow", info: "cyan" };

// ---------------------------------------------------------------------------------------------
// Layout.

/**
 * A column: its head, the narrowest and widest content it gets, and its share of spare room.
 * `fit`: reserve room for the column's longest line (up to `max`) before sharing out the rest, so
 * short facts (ports, roles, ids) are never wrapped while a long message column has room to give.
 */
interface Col {
  head: string;
  min: number;
  max?: number;
  weight: number;
  fit?: boolean;
}

/** A cell is a list of lines (each sanitized and wrapped on its own). */
type Cell = string[];

/**
 * Content widths (without the one-space padding each side) for `cols` in `width` columns. A table
 * line is: one border per column plus one, and padding + content per column.
 */
export function columnWidths(cols: readonly { min: number; max?: number; weight: number }[], width: number): number[] {
  const n = cols.length;
  const avail = Math.max(n, width - (3 * n + 1));
  const mins = cols.map((c) => c.min);
  const sumMin = mins.reduce((a, b) => a + b, 0);
  if (sumMin >= avail) {
    // Not even the minimums fit: shrink every column in proportion, one column each at least.
    const w = mins.map((m) => Math.max(1, Math.floor((m * avail) / sumMin)));
    // Rounding down leaves a few columns over: give them to the widest columns first.
    let left = avail - w.reduce((a, b) => a + b, 0);
    const order = mins.map((m, i) => [m, i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).map(([, i]) => i);
    for (let k = 0; left > 0; k = (k + 1) % n, left--) w[order[k]]++;
    return w;
  }
  const w = [...mins];
  let spare = avail - sumMin;
  // Hand out spare room by weight, never past a column's max; repeat while some is left.
  for (let round = 0; spare > 0 && round < 8; round++) {
    const open = cols.map((c, i) => (c.weight > 0 && (c.max === undefined || w[i] < c.max) ? i : -1)).filter((i) => i >= 0);
    if (open.length === 0) break;
    const total = open.reduce((a, i) => a + cols[i].weight, 0);
    let given = 0;
    for (const i of open) {
      let add = Math.floor((spare * cols[i].weight) / total);
      const cap = cols[i].max;
      if (cap !== undefined) add = Math.min(add, cap - w[i]);
      w[i] += add;
      given += add;
    }
    if (given === 0) {
      // Rounding left a few columns' worth: give them one by one.
      for (const i of open) {
        if (spare - given <= 0) break;
        const cap = cols[i].max;
        if (cap === undefined || w[i] < cap) {
          w[i]++;
          given++;
        }
      }
    }
    spare -= given;
  }
  return w;
}

function renderGrid(cols: Col[], rows: Cell[][], width: number, color: boolean): string {
  const sized = cols.map((c, i) => {
    if (!c.fit) return c;
    let longest = Math.max(...c.head.split(" ").map(displayWidth));
    for (const r of rows) for (const l of r[i] ?? []) longest = Math.max(longest, displayWidth(terminalSafe(l)));
    return { ...c, min: Math.min(c.max ?? Infinity, Math.max(c.min, longest)) };
  });
  const w = columnWidths(sized, width);
  const fit = (lines: Cell, i: number) => lines.flatMap((l) => wrapText(terminalSafe(l), w[i]));
  const table = new Table({
    head: cols.map((c, i) => fit([c.head], i).map((l) => paint(l, "bold", color)).join("\n")),
    colWidths: w.map((x) => x + 2),
    wordWrap: false,
    truncate: "…",
    // compact: no rule between rows; we draw our own between entries, below.
    style: { head: [], border: [], "padding-left": 1, "padding-right": 1, compact: true },
  });
  // Every visual line is a row of one-line cells: cli-table3 0.6.5 truncates a cell's whole
  // content for a debug message on every line it draws, which is quadratic in a multi-line cell
  // (seconds for a small report). One-line cells keep drawing linear.
  const rule = w.map((x) => ({
    content: "─".repeat(x + 2),
    chars: { left: "├", middle: "┼", right: "┤" },
    style: { "padding-left": 0, "padding-right": 0 },
  }));
  rows.forEach((r, ri) => {
    if (ri > 0) table.push(rule);
    const cells = r.map((cell, i) => fit(cell, i));
    const height = Math.max(1, ...cells.map((c) => c.length));
    for (let li = 0; li < height; li++) table.push(cells.map((c) => c[li] ?? ""));
  });
  return table.toString();
}

/** A paragraph of plain text, sanitized and wrapped to the width. */
function para(text: string, width: number, indent = ""): string[] {
  return wrapText(terminalSafe(text), width - displayWidth(indent)).map((l) => indent + l);
}

/** A list item: the marker on the first line, the rest hanging under the text. */
function item(marker: string, text: string, width: number): string[] {
  const pad = " ".repeat(displayWidth(marker));
  return wrapText(terminalSafe(text), width - pad.length).map((l, i) => (i === 0 ? marker : pad) + l);
}

// ---------------------------------------------------------------------------------------------

/**
 * The report as text for a terminal: the verdict line first, then findings (errors, warnings,
 * info), roles, matrix rows with what was seen, other conversations and captures. `matrixRows`
 * (the matrix the report was checked against) lets rows with nothing seen be listed as "not seen".
 */
export function renderTable(r: Report, o: TableOptions, matrixRows?: readonly MatrixRow[]): string {
  const width = Math.max(MIN_WIDTH, Math.floor(o.width));
  const wide = width >= WIDE;
  const color = o.color;
  const shown = (name: ReportSection) => o.sections === undefined || o.sections.includes(name);
  const out: string[] = [];
  const title = (t: string) => {
    out.push("");
    out.push(paint(terminalSafe(t.toUpperCase()), "bold", color));
  };

  // 1. Verdict.
  const v = verdictView(r);
  const wordStyle: Style = v.verdict === "fail" ? "red" : v.verdict === "warn" || v.verdict === "inconclusive" ? "yellow" : "green";
  const verdictLines = para(`${v.word} — ${v.detail}`, width);
  verdictLines[0] = paint(v.word, wordStyle, color) + verdictLines[0].slice(v.word.length);
  out.push(...verdictLines);

  // 1b. What to fix first, and what the capture could not show.
  const fixes = fixFirstLines(r);
  if (fixes.length && shown("fix-first")) {
    title(SECTION.fixFirst);
    fixes.forEach((t, i) => out.push(...item(`${i + 1}. `, t, width)));
  }
  const limits = coverageLines(r);
  if (limits.length && shown("coverage")) {
    title(SECTION.coverage);
    for (const l of limits) {
      out.push(...item("- ", l.message, width));
      if (l.action) out.push(...item("  What to do: ", l.action, width));
    }
  }

  // 2. Findings, as a list: each filter alone on a line of its own, never wrapped, so it can be copied.
  if (shown("findings")) {
    title(SECTION.findings);
    const groups = findingGroups(r);
    if (groups.length === 0) out.push(...para(NO_FINDINGS, width));
    let n = 0;
    for (const g of groups) {
      out.push(paint(terminalSafe(g.title), SEVERITY_STYLE[g.severity], color));
      for (const f of g.items) {
        const marker = `${++n}. `;
        const pad = " ".repeat(marker.length);
        out.push(...item(marker, `${f.code}${f.rule ? ` · ${f.rule}` : ""}`, width).map((l, i) => (i === 0 ? marker + paint(l.slice(marker.length), SEVERITY_STYLE[f.severity], color) : l)));
        out.push(...item(pad, f.message, width));
        if (f.fix) out.push(...item(pad, f.fix, width));
        if (f.where) out.push(...item(pad, f.where, width));
        out.push(...item(pad, `${wiresharkLabel(r)} filter:`, width));
        out.push(terminalSafe(f.filter));
      }
    }
  }

  // 3. Roles.
  if (shown("roles")) {
    title(SECTION.roles);
    const roles = roleViews(r);
    if (roles.length === 0) out.push(...para(NO_ROLES, width));
    else {
      const cols: Col[] = [
        { head: "Host", min: 15, max: 39, weight: 0, fit: true },
        { head: "Role", min: 8, max: 16, weight: 0, fit: true },
        { head: "Given", min: 8, max: 8, weight: 0, fit: true },
        { head: "Reason", min: 16, weight: 4 },
      ];
      out.push(renderGrid(cols, roles.map((x) => [[x.host], [x.role], [x.source], [x.reason]]), width, color));
    }
  }

  // 4. Matrix rows.
  if (shown("matrix")) {
    title(SECTION.matrix);
    const m = matrixView(r, matrixRows);
    out.push(...para(m.heading, width));
    if (m.rows.length > 0) {
      const seen = (s: string[] | null): Cell => s ?? [NOT_SEEN];
      if (wide) {
        const cols: Col[] = [
          { head: "Row", min: 10, max: 24, weight: 0, fit: true },
          { head: "Client → server", min: 12, max: 32, weight: 0, fit: true },
          { head: "Port", min: 7, max: 16, weight: 0, fit: true },
          { head: "Must carry", min: 10, max: 28, weight: 0, fit: true },
          { head: "Required", min: 10, max: 10, weight: 0, fit: true },
          { head: "Seen", min: 20, weight: 4 },
        ];
        out.push(renderGrid(cols, m.rows.map((x) => [[x.id], [x.path], [x.port], [x.expects], [x.required], seen(x.seen)]), width, color));
      } else {
        const cols: Col[] = [
          { head: "Row", min: 12, max: 26, weight: 0, fit: true },
          { head: "Must carry", min: 12, max: 20, weight: 0, fit: true },
          { head: "Seen", min: 16, weight: 3 },
        ];
        const must = (x: (typeof m.rows)[number]): Cell => [x.expects, ...(x.required ? [`required: ${x.required}`] : [])].filter((s) => s !== "");
        out.push(renderGrid(cols, m.rows.map((x) => [[x.id, x.path, x.port], must(x), seen(x.seen)]), width, color));
      }
    }
    if (m.note) out.push(...para(m.note, width));
  }

  // 5. Other conversations.
  if (shown("conversations")) {
    title(SECTION.others);
    const others = otherConversations(r);
    if (others.rows.length === 0) out.push(...para(NO_OTHER_CONVERSATIONS, width));
    else {
      const traffic = (c: (typeof others.rows)[number]): Cell => [`→${NBSP}${c.fromClient}`, `←${NBSP}${c.fromServer}`];
      const endpoint = (addr: string, role: string | null): Cell => (role ? [addr, `(${role})`] : [addr]);
      const idCell = (c: (typeof others.rows)[number]): Cell => (c.capture !== null ? [String(c.id), `cap ${c.capture}`] : [String(c.id)]);
      const what = (c: (typeof others.rows)[number]): Cell => [`${c.protocol} · ${c.state} ${c.history}`.trim(), ...c.details];
      const frames = (c: (typeof others.rows)[number]): Cell => [c.frames, c.stream, ...(c.findings.length ? [`findings: ${c.findings.join(", ")}`] : [])];
      if (wide) {
        const cols: Col[] = [
          { head: "#", min: 3, max: 7, weight: 0, fit: true },
          { head: "Client", min: 14, max: 41, weight: 0, fit: true },
          { head: "Server", min: 14, max: 41, weight: 0, fit: true },
          { head: "Port and rule", min: 9, max: 26, weight: 0, fit: true },
          { head: "Protocol and details", min: 24, weight: 1 },
          { head: "Traffic", min: 14, max: 26, weight: 0, fit: true },
          { head: "Frames", min: 14, max: 28, weight: 0, fit: true },
        ];
        out.push(
          renderGrid(
            cols,
            others.rows.map((c) => [
              idCell(c),
              endpoint(c.clientAddress, c.clientRole),
              endpoint(c.serverAddress, c.serverRole),
              [c.port, c.kind],
              what(c),
              traffic(c),
              frames(c),
            ]),
            width,
            color,
          ),
        );
      } else {
        const cols: Col[] = [
          { head: "#", min: 3, max: 7, weight: 0, fit: true },
          { head: "Conversation", min: 16, max: 34, weight: 2 },
          { head: "Protocol and details", min: 16, weight: 3 },
          { head: "Traffic", min: 14, max: 26, weight: 1 },
        ];
        out.push(
          renderGrid(
            cols,
            others.rows.map((c) => [
              idCell(c),
              [c.client, `→${NBSP}${c.server}`, c.port, c.kind],
              what(c),
              [...traffic(c), ...frames(c)],
            ]),
            width,
            color,
          ),
        );
      }
      if (others.more) out.push(...para(others.more, width));
    }
  }

  // 6. Captures.
  if (shown("captures")) {
    title(SECTION.captures);
    const caps = captureViews(r);
    const errorsCell = (c: (typeof caps)[number]): Cell => (c.errors.length ? c.errors : ["none"]);
    if (wide) {
      const cols: Col[] = [
        { head: "File", min: 12, weight: 2 },
        { head: "Format", min: 8, max: 22, weight: 0, fit: true },
        { head: "Packets", min: 9, max: 18, weight: 0, fit: true },
        { head: "Bytes", min: 9, max: 20, weight: 0, fit: true },
        { head: "First and last packet", min: 20, max: 34, weight: 1 },
        { head: "Errors", min: 16, weight: 3 },
      ];
      out.push(
        renderGrid(
          cols,
          caps.map((c) => [[c.file], [c.format, c.linkTypes], [c.packets], [c.bytes], c.span, errorsCell(c)]),
          width,
          color,
        ),
      );
    } else {
      const cols: Col[] = [
        { head: "File", min: 14, weight: 2 },
        { head: "Contents", min: 22, max: 34, weight: 1, fit: true },
        { head: "Errors", min: 14, weight: 2 },
      ];
      out.push(
        renderGrid(
          cols,
          caps.map((c) => [[c.file], [`${c.format}, ${c.linkTypes}`, `${c.packets}, ${c.bytes}`, ...c.span], errorsCell(c)]),
          width,
          color,
        ),
      );
    }
  }

  // The evidence file (--evidence) whatever the sections: its name and sha256 go with the ticket.
  const ev = evidenceParts(r);
  if (ev) {
    out.push("");
    for (const part of ev) out.push(...para(part, width));
  }
  out.push("");
  out.push(...para(generatorLine(r), width));
  return out.join("\n") + "\n";
}
