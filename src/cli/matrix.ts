import Table from "cli-table3";
import { formatPorts, type Matrix, rowServerText } from "../policy/index.js";

/** `phoenix-netcheck matrix` as a terminal table. */
export function renderMatrixTable(m: Matrix, width: number): string {
  const wide = width >= 120;
  // The row's certificate property (docs/matrix-format.md) needs room of its own: 140 columns up.
  const cert = width >= 140;
  const head = ["id", "client → server", "port", "must carry", "min TLS", "required"];
  if (cert) head.push("certificate");
  if (wide) head.push("when");
  // Column widths that add up to the width (cli-table3 only wraps inside given widths): each
  // column's natural share, scaled down with a floor when the terminal is narrow.
  // The short columns keep their width (port, must carry, min TLS, required); id, client →
  // server and when share what is left. Widths include cli-table3's one-space padding each side.
  const fixed = [9, 14, 9, 12];
  const CERT = 13;
  const cols = 6 + (wide ? 1 : 0) + (cert ? 1 : 0);
  const room = Math.max(0, Math.floor(width) - (cols + 1) - fixed.reduce((a, b) => a + b, 0) - (cert ? CERT : 0));
  const share = wide ? [0.2, 0.3, 0.5] : [0.4, 0.6];
  const flex = share.map((f) => Math.max(8, Math.floor(room * f)));
  let colWidths = [flex[0], flex[1], ...fixed, ...(cert ? [CERT] : []), ...(wide ? [flex[2]] : [])];
  // Narrower than that: every column gives way alike (5 at the least: a border, a space, 3 characters).
  const total = colWidths.reduce((a, b) => a + b, 0) + cols + 1;
  if (total > width) colWidths = colWidths.map((w) => Math.max(5, Math.floor((w * (width - cols - 1)) / (total - cols - 1))));
  const table = new Table({ head, wordWrap: true, wrapOnWordBoundary: false, colWidths, style: { head: [], border: [] } });
  for (const r of m.rows) {
    const row = [
      r.id,
      `${r.client} → ${rowServerText(r)}${r.sameHost ? " (same host)" : ""}`,
      `${formatPorts(r.ports)}/${r.transport}`,
      r.expect,
      r.minTls ?? "",
      r.required,
    ];
    if (cert) row.push(r.certificate === "none" ? "" : r.certificate);
    if (wide) row.push(r.when);
    table.push(row);
  }
  const infra = m.infrastructure.map((e) => `${e.id}${e.ports.length ? ` (${formatPorts(e.ports)}/${e.transport})` : ""}`).join(", ");
  const related = m.related.map((e) => `${e.id} (${e.client} → ${e.server}, ${formatPorts(e.ports)}/${e.transport})`).join(", ");
  const wrap = (text: string) => wrapWords(text, Math.max(20, Math.floor(width)));
  return [
    ...wrap(`${m.product} — matrix version ${m.version}, ${m.rows.length} rows`),
    table.toString(),
    ...wrap(`Infrastructure, shown but never a violation: ${infra || "none"}`),
    ...wrap(`VMware traffic that is not the proxy's: ${related || "none"}`),
    "",
  ].join("\n");
}

/** Plain text cut into lines of at most `width` characters at spaces (a longer word stands alone). */
function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines;
}
