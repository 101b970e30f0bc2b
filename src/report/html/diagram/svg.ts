/**
 * The diagram drawn as inline SVG: edges under boxes, boxes, chips on top, column headings. Every
 * string goes through the caller's `esc` (addresses, roles and names come from the report, which
 * may be hostile); each arrow and chip is a click target registered with `groupId`.
 */
import type { HostFacts } from "../hosts.js";
import { linkText, nameWithSources } from "../hosts.js";
import { STATUS_RANK, type Status } from "../../view/status.js";
import { num, plural } from "../../view/format.js";
import type { Graph, Node } from "./graph.js";
import { ARROW, boxLabel, CHIP_FONT, CHIP_GAP, CHIP_H, chipWidth, cy, MONO, NAME_FONT, NAME_LINE, SANS, TOP, type Layout } from "./layout.js";

export interface ConvGroup {
  ids: number[];
  label: string;
}

const COLOURS: Record<Status, { line: string; fill: string; ink: string }> = {
  error: { line: "#c5221f", fill: "#c5221f", ink: "#ffffff" },
  warning: { line: "#e8a200", fill: "#e8a200", ink: "#3d2b00" },
  info: { line: "#9aa1ab", fill: "#6b7280", ink: "#ffffff" },
  none: { line: "#9aa1ab", fill: "#6b7280", ink: "#ffffff" },
  ok: { line: "#1e8e3e", fill: "#1e8e3e", ink: "#ffffff" },
};

const n1 = (v: number) => (Math.round(v * 10) / 10).toString();

/** The <svg> element and its click targets (group id → conversation ids). */
export function drawGraph(
  g: Graph,
  l: Layout,
  esc: (s: string) => string,
  groupId: (g: ConvGroup) => string,
  facts: Map<string, HostFacts>,
): { svg: string; groups: Record<string, ConvGroup> } {
  const { nodes, pairs, hubs, hubSet } = g;
  const { cols, used, colX, colW, loopX, width, height } = l;
  const label = (n: Node) => boxLabel(n, facts);
  // Draw: edges under boxes.
  const groups: Record<string, ConvGroup> = {};
  const reg = (ids: number[], text: string) => {
    const g = { ids: [...ids].sort((a, b) => a - b), label: text };
    const id = groupId(g);
    groups[id] = g;
    return id;
  };
  const hostText = (n: Node) => (n.other > 0 ? `${num(n.other)} other hosts` : `${n.ip}${n.role ? ` (${n.role})` : ""}`);
  const edges: string[] = [];
  const chipsOut: string[] = [];
  const pairList = pairs.sort((p, q) => STATUS_RANK[p.status] - STATUS_RANK[q.status]); // worst drawn last, on top
  for (const p of pairList) {
    const s = p.client;
    const t = p.server;
    const col = COLOURS[p.status];
    let d: string;
    let chipX: number;
    let arrow: string;
    const ry = p.rowY;
    if (s.col < t.col) {
      // Client to the left: chips end an arrow's length before the server's left edge.
      const end = t.x - ARROW;
      chipX = end - p.width;
      const sx = s.x + s.w;
      const sy = cy(s);
      if (t.col - s.col >= 2) {
        // Around the middle column: over it when that is nearer and there is room, else under it.
        const mid = cols[s.col + 1];
        const top = Math.min(...mid.map((m) => m.y)) - 18;
        const bottom = Math.max(...mid.map((m) => m.y + m.h)) + 18;
        const wy = top > TOP - 6 && Math.abs((sy + ry) / 2 - top) < Math.abs((sy + ry) / 2 - bottom) ? top : bottom;
        const ax = colX[s.col + 1] - 10;
        const bx = colX[s.col + 1] + colW[s.col + 1] + 10;
        const d1 = Math.max(20, (ax - sx) / 2);
        const d2 = Math.max(20, (chipX - bx) / 2);
        d = `M${n1(sx)} ${n1(sy)} C${n1(sx + d1)} ${n1(sy)} ${n1(ax - d1)} ${n1(wy)} ${n1(ax)} ${n1(wy)} L${n1(bx)} ${n1(wy)} ` +
          `C${n1(bx + d2)} ${n1(wy)} ${n1(chipX - d2)} ${n1(ry)} ${n1(chipX)} ${n1(ry)}`;
      } else {
        const dx = Math.max(30, (chipX - sx) / 2);
        d = `M${n1(sx)} ${n1(sy)} C${n1(sx + dx)} ${n1(sy)} ${n1(chipX - dx)} ${n1(ry)} ${n1(chipX)} ${n1(ry)}`;
      }
      arrow = `M${n1(end)} ${n1(ry)} L${n1(t.x - 2)} ${n1(ry)}`;
    } else {
      // Client to the right, in the same column, or the host itself: chips right of the server.
      chipX = t.x + t.w + ARROW;
      const rowEnd = chipX + p.width;
      if (s.col > t.col) {
        const sx = s.x;
        const sy = cy(s);
        const dx = Math.max(30, (sx - rowEnd) / 2);
        d = `M${n1(sx)} ${n1(sy)} C${n1(sx - dx)} ${n1(sy)} ${n1(rowEnd + dx)} ${n1(ry)} ${n1(rowEnd)} ${n1(ry)}`;
      } else {
        // Same column: leave the client's top right corner, swing out right of every chip row.
        const lx = Math.max(loopX, rowEnd + 30);
        const sx = s === t ? s.x + s.w - 18 : s.x + s.w;
        const sy = s === t ? s.y : cy(s);
        // A host talking to itself: up from its top edge, round, and back to its own chips.
        const c1 = s === t ? `${n1(sx)} ${n1(s.y - 40)}` : `${n1(lx)} ${n1(sy)}`;
        const c2 = s === t ? `${n1(lx + 16)} ${n1(ry)}` : `${n1(lx)} ${n1(ry)}`;
        d = `M${n1(sx)} ${n1(sy)} C${c1} ${c2} ${n1(rowEnd)} ${n1(ry)}`;
      }
      arrow = `M${n1(chipX)} ${n1(ry)} L${n1(t.x + t.w + 2)} ${n1(ry)}`;
    }
    const stroke = n1(2 + Math.min(2, Math.log10(p.count)));
    const pairLabel = `${hostText(s)} → ${hostText(t)}, ${p.ports.length === 1 ? `port ${p.ports[0].port}/${p.ports[0].transport}` : plural(p.ports.length, "port")}`;
    const gid = reg(p.ids, pairLabel);
    edges.push(
      `<g class="edge" data-convs="${gid}" tabindex="0" role="button"><title>${esc(`${pairLabel}: ${plural(p.count, "conversation")} (click to list them)`)}</title>` +
        `<path d="${d}" fill="none" stroke="${col.line}" stroke-width="${stroke}"/>` +
        `<path d="${arrow}" fill="none" stroke="${col.line}" stroke-width="${stroke}" marker-end="url(#ah-${p.status})"/></g>`,
    );
    let cx = chipX;
    for (const c of p.chips) {
      const w = chipWidth(c.text);
      const cc = COLOURS[c.status];
      const cgid = reg(c.ids, `${hostText(s)} → ${hostText(t)}, ${c.text}`);
      chipsOut.push(
        `<g class="edge" data-convs="${cgid}" tabindex="0" role="button"><title>${esc(`${hostText(s)} → ${hostText(t)} ${c.title}`)}</title>` +
          `<rect x="${n1(cx)}" y="${n1(ry - CHIP_H / 2)}" width="${w}" height="${CHIP_H}" rx="9" fill="${cc.fill}"/>` +
          `<text x="${n1(cx + w / 2)}" y="${n1(ry + 4)}" text-anchor="middle" font-family="${MONO}" font-size="${CHIP_FONT}" font-weight="700" fill="${cc.ink}">${esc(c.text)}</text></g>`,
      );
      cx += w + CHIP_GAP;
    }
  }

  // Boxes.
  const boxes: string[] = [];
  for (const n of nodes) {
    const t = label(n);
    const hub = hubSet.has(n);
    const fill = hub ? "#e8f0fe" : n.other > 0 ? "#f1f3f5" : "#ffffff";
    const stroke = hub ? "#1a5fd0" : "#8a93a3";
    const f = n.ip !== null ? facts.get(n.ip) : undefined;
    const more = [...(f?.names ?? []).map(nameWithSources), linkText(f)].filter(Boolean);
    const tip = n.other > 0
      ? `${num(n.other)} hosts grouped, ${plural(n.convs, "conversation")}`
      : `${n.ip}: ${n.role ? `${n.role} (${n.source === "explicit" ? "given" : "inferred"}${n.reason ? `: ${n.reason}` : ""})` : "no role"}, ${plural(n.convs, "conversation")}` +
        (more.length ? `; ${more.join("; ")}` : "");
    // With a name line, the two lines above it move up by half of it.
    const mid = cy(n) - (t.l3 ? NAME_LINE / 2 : 0);
    boxes.push(
      `<g><title>${esc(tip)}</title>` +
        `<rect x="${n1(n.x)}" y="${n1(n.y)}" width="${n.w}" height="${n.h}" rx="6" fill="${fill}" stroke="${stroke}" stroke-width="${hub ? 2.5 : 1.2}"${n.other > 0 ? ' stroke-dasharray="5 3"' : ""}/>` +
        `<text x="${n1(n.x + n.w / 2)}" y="${n1(mid - 4)}" text-anchor="middle" font-family="${SANS}" font-size="13" font-weight="700" fill="#1f2430">${esc(t.l1)}` +
        (t.src ? `<tspan font-weight="400" fill="#5f6673">${esc(t.src)}</tspan>` : "") +
        `</text>` +
        `<text x="${n1(n.x + n.w / 2)}" y="${n1(mid + 13)}" text-anchor="middle" font-family="${MONO}" font-size="12" fill="#1f2430">${esc(t.l2)}</text>` +
        (t.l3 ? `<text class="hostname" x="${n1(n.x + n.w / 2)}" y="${n1(mid + 13 + NAME_LINE)}" text-anchor="middle" font-family="${MONO}" font-size="${NAME_FONT}" fill="#5f6673">${esc(t.l3)}</text>` : "") +
        `</g>`,
    );
  }

  // Column headings.
  const heads: string[] = [];
  const headText = (i: number) => {
    if (cols[i].some((n) => hubSet.has(n))) return hubs.some((h) => h.role === "proxy") ? "proxy" : "busiest host";
    return used[i] === 0 ? "clients" : "servers";
  };
  cols.forEach((c, i) => {
    if (c.length === 0) return;
    heads.push(`<text x="${n1(colX[i] + colW[i] / 2)}" y="22" text-anchor="middle" font-family="${SANS}" font-size="12" fill="#5f6673">${esc(headText(i))}</text>`);
  });

  const markers = (Object.keys(COLOURS) as Status[])
    .map((s) => `<marker id="ah-${s}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="${COLOURS[s].line}"/></marker>`)
    .join("");
  const svg =
    `<svg id="ports-diagram" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="group" aria-labelledby="diagram-title">` +
    `<title id="diagram-title">${esc(`Hosts and ports as observed: ${plural(nodes.length, "box", "boxes")}, ${plural(pairs.length, "arrow")}`)}</title>` +
    `<defs>${markers}</defs>` +
    heads.join("") +
    `<g class="edges">${edges.join("")}</g><g class="boxes">${boxes.join("")}</g><g class="chips">${chipsOut.join("")}</g></svg>`;
  return { svg, groups };
}

