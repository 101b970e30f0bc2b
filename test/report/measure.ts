/**
 * Measuring rendered reports, independently of the code under test: the visible width of a
 * terminal line, and the cells of GFM table rows.
 */

/** ANSI SGR colour codes (the only escapes our table output may contain). */
export const SGR = /\x1b\[[0-9;]*m/g;

/** Wide: CJK, Hangul, fullwidth forms and the emoji blocks (UAX #11 W/F, as terminals show them). */
function wide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

/** Columns a line takes on a terminal: SGR stripped, combining marks 0, wide characters 2, others 1. */
export function visibleWidth(line: string): number {
  let w = 0;
  for (const ch of line.replace(SGR, "")) {
    const cp = ch.codePointAt(0)!;
    if (/\p{Mn}/u.test(ch)) continue;
    w += wide(cp) ? 2 : 1;
  }
  return w;
}

/**
 * Splits a GFM table row into cells as the GFM table extension does (spec §4.10): on every `|` not
 * preceded by a backslash, leading and trailing pipes being optional. Returns null for a line that
 * is not a row (does not start with a pipe).
 */
export function tableCells(line: string): string[] | null {
  if (!line.startsWith("|")) return null;
  const cells: string[] = [];
  let cur = "";
  for (let i = 1; i < line.length; i++) {
    const ch = line[i];
    if (ch === "|" && line[i - 1] !== "\\") {
      cells.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  if (cur.trim() !== "") cells.push(cur.trim());
  return cells;
}

/** Each table in a Markdown text: consecutive lines starting with "|". */
export function markdownTables(md: string): string[][] {
  const tables: string[][] = [];
  let cur: string[] | null = null;
  for (const line of md.split("\n")) {
    if (line.startsWith("|")) {
      if (!cur) tables.push((cur = []));
      cur.push(line);
    } else cur = null;
  }
  return tables;
}
