/**
 * The diagram's geometry, computed from the graph alone (no layout engine, no randomness, no
 * measuring in the browser): up to three columns — hosts that only opened conversations (left),
 * the hub (middle), every other host that answered (right); with no pure clients the hub is the
 * left column. Pure clients follow the hosts they talk to (fewer crossings). Each pair gets its
 * chips (one per server port, worst first, at most MAX_CHIPS) in a row in front of the server's
 * box, on the side the client is on. Boxes, gaps and chips are sized from advance widths.
 */
import type { HostFacts } from "../hosts.js";
import { addressSortKey as ipKey, num, plural } from "../../view/format.js";
import { STATUS_RANK, worse, type Status } from "../../view/status.js";
import { byRoleThenIp, type Graph, type Node, type Pair } from "./graph.js";

export const MAX_CHIPS = 4;

export const SANS = "Liberation Sans, Arial, DejaVu Sans, sans-serif";
export const MONO = "DejaVu Sans Mono, Liberation Mono, monospace";
// Advance widths used to size boxes and chips without measuring: DejaVu Sans Mono is 0.602 em,
// bold sans is taken at a generous 0.62 em so labels never overflow their boxes.
export const MONO_W = (px: number) => px * 0.602;
export const SANS_BOLD_W = (px: number) => px * 0.62;

export const BOX_MIN_H = 46;
export const BOX_MIN_W = 150;
export const BOX_MAX_W = 320;
export const ROW_H = 24;
export const CHIP_H = 18;
export const CHIP_GAP = 4;
export const CHIP_FONT = 11;
export const ARROW = 14;
export const MIN_LINE = 70;
export const V_GAP = 14;
export const MARGIN = 16;
export const TOP = 40;
/** The host-name line in a box: its font size, its height, and the characters it holds at most. */
export const NAME_FONT = 11;
export const NAME_LINE = 15;
export const NAME_CHARS = 40;

export function chipWidth(text: string): number {
  return Math.ceil(text.length * MONO_W(CHIP_FONT) + 14);
}

function rowWidth(p: Pair): number {
  return p.chips.reduce((s, c) => s + chipWidth(c.text), 0) + CHIP_GAP * Math.max(0, p.chips.length - 1);
}

/** The three lines of a box: role (and how it is known), address, first host name. */
export function boxLabel(n: Node, facts: Map<string, HostFacts>): { l1: string; l2: string; src: string; l3: string } {
  if (n.other > 0) return { l1: `${num(n.other)} other hosts`, l2: "grouped", src: "", l3: "" };
  return { l1: n.role ?? "no role", l2: n.ip ?? "", src: n.role !== null && n.source ? ` · ${n.source === "explicit" ? "given" : "inferred"}` : "", l3: nameOf(n, facts) };
}

/** A third line under the address: the host's first name (DNS, SNI, certificate), cut to fit. */
function nameOf(n: Node, facts: Map<string, HostFacts>): string {
  const names = n.ip !== null ? facts.get(n.ip)?.names ?? [] : [];
  if (names.length === 0) return "";
  const first = Array.from(names[0].name);
  const text = first.length > NAME_CHARS ? first.slice(0, NAME_CHARS - 1).join("") + "…" : names[0].name;
  return names.length > 1 ? `${text} +${names.length - 1}` : text;
}

/** The vertical centre of a box. */
export function cy(n: Node): number {
  return n.y + n.h / 2;
}

export interface Layout {
  /** Boxes per column, top to bottom. */
  cols: Node[][];
  /** Which of the three columns (0 clients, 1 hub, 2 servers) each drawn column is. */
  used: number[];
  colX: number[];
  colW: number[];
  /** Where loops back into the last column turn. */
  loopX: number;
  width: number;
  height: number;
}

/**
 * Columns, chips, box sizes and positions, and the rows of chips in front of each server box.
 * Sets each node's col, x, y, w, h, left and right, and each pair's chips, width and rowY.
 */
export function layoutGraph(g: Graph, facts: Map<string, HostFacts>): Layout {
  const { nodes, pairs, hubs, hubSet, other } = g;
  // A host goes left only when it opened conversations to a hub and answered none: a host that
  // talks only to other non-hub hosts stays on the right, so no arrow seems to touch the proxy.
  const isServer = new Set<Node>();
  const hubClient = new Set<Node>();
  for (const p of pairs) {
    isServer.add(p.server);
    if (hubSet.has(p.server)) hubClient.add(p.client);
  }
  // With no hub, hosts that only opened conversations go left and the rest right.
  for (const n of nodes) n.col = hubSet.has(n) ? 1 : !isServer.has(n) && (hubs.length === 0 || hubClient.has(n)) ? 0 : 2;
  const used = [0, 1, 2].filter((c) => nodes.some((n) => n.col === c));
  for (const n of nodes) n.col = used.indexOf(n.col);
  const colCount = used.length;
  const cols: Node[][] = Array.from({ length: colCount }, () => []);
  for (const n of nodes) cols[n.col].push(n);
  for (const c of cols) c.sort((x, y) => (x === other ? 1 : y === other ? -1 : byRoleThenIp(x, y)));
  // Pure clients in the order of the hosts they talk to (fewer crossings); ties keep role and address order.
  if (colCount > 1 && used[0] === 0) {
    const at = new Map<Node, number>();
    cols.forEach((c) => c.forEach((n, i) => at.set(n, i / Math.max(1, c.length - 1))));
    const bary = new Map<Node, number>();
    for (const n of cols[0]) {
      const ys = pairs.filter((p) => p.client === n).map((p) => at.get(p.server)!);
      bary.set(n, ys.length ? ys.reduce((a, b) => a + b, 0) / ys.length : 0);
    }
    const order = new Map(cols[0].map((n, i) => [n, i]));
    cols[0].sort((x, y) => (x === other ? 1 : y === other ? -1 : bary.get(x)! - bary.get(y)! || order.get(x)! - order.get(y)!));
  }

  // Chips per pair: worst first, then by port; at most MAX_CHIPS, then "+N".
  for (const p of pairs) {
    const sorted = [...p.ports].sort((x, y) => STATUS_RANK[y.status] - STATUS_RANK[x.status] || x.port - y.port || (x.transport < y.transport ? -1 : 1));
    const shown = sorted.length > MAX_CHIPS ? sorted.slice(0, MAX_CHIPS - 1) : sorted;
    for (const g of shown) {
      p.chips.push({ text: `${g.port}/${g.transport}`, status: g.status, ids: g.ids, title: `${g.port}/${g.transport}: ${plural(g.count, "conversation")}` });
    }
    if (sorted.length > shown.length) {
      const rest = sorted.slice(shown.length);
      const ids = rest.flatMap((g) => g.ids).sort((x, y) => x - y);
      const st = rest.reduce<Status>((s, g) => worse(s, g.status), "ok");
      const count = rest.reduce((n, g) => n + g.count, 0);
      p.chips.push({ text: `+${num(rest.length)} ports`, status: st, ids, title: `${num(rest.length)} more ports: ${plural(count, "conversation")}` });
    }
    p.width = rowWidth(p);
    if (p.client.col < p.server.col) p.server.left.push(p);
    else p.server.right.push(p);
  }

  // Box sizes.
  const label = (n: Node) => boxLabel(n, facts);
  const colW = cols.map((c) =>
    Math.min(BOX_MAX_W, Math.max(BOX_MIN_W, ...c.map((n) => {
      const t = label(n);
      return Math.ceil(Math.max(SANS_BOLD_W(13) * (t.l1.length + t.src.length), MONO_W(12) * t.l2.length, MONO_W(NAME_FONT) * Array.from(t.l3).length) + 24);
    }))));
  // Tall columns get slimmer boxes and gaps so 30 hosts still fit in a screen or two.
  const compact = Math.max(...cols.map((c) => c.length)) > 12;
  const named = nodes.some((n) => label(n).l3 !== "");
  const boxMinH = (compact ? 38 : BOX_MIN_H) + (named ? NAME_LINE : 0);
  const vGap = compact ? 8 : V_GAP;
  for (const n of nodes) {
    n.w = colW[n.col];
    n.h = Math.max(boxMinH, ROW_H * Math.max(n.left.length, n.right.length) + 12);
  }

  // Horizontal positions: each gap holds the chips on both sides plus a visible stretch of line.
  const leftChips = cols.map((c) => Math.max(0, ...c.flatMap((n) => n.left.map((p) => p.width))));
  const rightChips = cols.map((c) => Math.max(0, ...c.flatMap((n) => n.right.map((p) => p.width))));
  const sameColLoops = cols.map((c) => c.some((n) => n.right.some((p) => p.client.col === n.col)));
  const colX: number[] = [];
  let x = MARGIN;
  for (let i = 0; i < colCount; i++) {
    colX.push(x);
    x += colW[i];
    // Many arrows fanning out of one column need a longer stretch to stay apart.
    const fan = cols[i + 1]?.reduce((s, n) => s + n.left.length, 0) ?? 0;
    if (i + 1 < colCount) x += (rightChips[i] > 0 ? rightChips[i] + ARROW + 10 : 0) + leftChips[i + 1] + ARROW + MIN_LINE + Math.min(90, 6 * fan);
  }
  const last = colCount - 1;
  const loopX = x + (rightChips[last] > 0 ? rightChips[last] + ARROW + 24 : 0) + (sameColLoops[last] ? 20 : 0);
  const width = Math.ceil(loopX + (sameColLoops[last] || rightChips[last] > 0 ? 12 : 0) + MARGIN);

  // Vertical positions: each column stacked and centred.
  const colH = cols.map((c) => c.reduce((s, n) => s + n.h, 0) + vGap * Math.max(0, c.length - 1));
  // Arrows from the left column to the right one pass under (or over) the middle column.
  const skips = pairs.some((p) => p.server.col - p.client.col >= 2);
  const height = Math.ceil(TOP + Math.max(...colH) + MARGIN + 8 + (skips ? 26 : 0));
  cols.forEach((c, i) => {
    let y = TOP + (Math.max(...colH) - colH[i]) / 2;
    for (const n of c) {
      n.x = colX[i];
      n.y = y;
      y += n.h + vGap;
    }
  });

  // Rows of chips in front of each server box, ordered by where their clients are.
  for (const n of nodes) {
    for (const side of [n.left, n.right]) {
      side.sort((p, q) => cy(p.client) - cy(q.client) || (ipKey(p.client.key) < ipKey(q.client.key) ? -1 : 1));
      side.forEach((p, i) => (p.rowY = cy(n) + (i - (side.length - 1) / 2) * ROW_H));
    }
  }
  return { cols, used, colX, colW, loopX, width, height };
}
