import Table from "cli-table3";
import type { Matrix } from "../policy/matrix.js";
import { formatPorts, rowServerText } from "../policy/matrix.js";

/** `phoenix-netcheck matrix` as a terminal table. */
export function renderMatrixTable(m: Matrix, width: number): string {
  const wide = width >= 120;
  const head = ["id", "client → server", "port", "must carry", "min TLS", "required"];
  if (wide) head.push("when");
  const table = new Table({ head, wordWrap: true, style: { head: [], border: [] } });
  for (const r of m.rows) {
    const row = [
      r.id,
      `${r.client} → ${rowServerText(r)}${r.sameHost ? " (same host)" : ""}`,
      `${formatPorts(r.ports)}/${r.transport}`,
      r.expect,
      r.minTls ?? "",
      r.required,
    ];
    if (wide) row.push(r.when);
    table.push(row);
  }
  const infra = m.infrastructure.map((e) => `${e.id}${e.ports.length ? ` (${formatPorts(e.ports)}/${e.transport})` : ""}`).join(", ");
  const related = m.related.map((e) => `${e.id} (${e.client} → ${e.server}, ${formatPorts(e.ports)}/${e.transport})`).join(", ");
  return [
    `${m.product} — matrix version ${m.version}, ${m.rows.length} rows`,
    table.toString(),
    `Infrastructure, shown but never a violation: ${infra || "none"}`,
    `VMware traffic that is not the proxy's: ${related || "none"}`,
    "",
  ].join("\n");
}
