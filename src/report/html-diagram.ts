/**
 * The HTML report's diagram: hosts and ports *as observed*, as inline SVG.
 *
 * Layout is computed here, deterministically, from the report alone (no layout engine, no
 * randomness, no measuring in the browser):
 *   - up to three columns: hosts that only opened conversations (left), the proxy — or, with no
 *     proxy known, the host with the most peers — (middle), and every other host that answered
 *     at least one conversation (right). With no pure clients the proxy is the left column.
 *   - within a column, hosts are ordered by role (proxy, vcenter, esxi, …, no role) then address.
 *   - conversations are aggregated per (client, server, transport, server port): one coloured
 *     chip per port, placed in front of the server's box on the side the client is on; one arrow
 *     per (client, server) pair, coloured by the worst of its ports.
 *   - more than MAX_HOSTS hosts: the proxy, then the hosts with roles, findings and most
 *     conversations are drawn, the rest share one "N other hosts" box.
 * Every string is escaped (addresses and roles come from the report, which may be hostile).
 */
import type { HostFacts } from "./html-hosts.js";
import { linkText, nameWithSources } from "./html-hosts.js";
import type { Report } from "./record.js";
import { addressSortKey as ipKey } from "./view/format.js";
import { conversationStatus, severityByConversation, STATUS_RANK, weight, worse, type Status } from "./view/status.js";

const ROLE_ORDER = ["proxy", "vcenter", "esxi", "esxi-standalone", "guest", "cloudcache", "cloud", "ntp"];

function roleKey(role: string | null): string {
  if (role === null) return "9";
  const i = ROLE_ORDER.indexOf(role);
  return i >= 0 ? `0${String(i).padStart(2, "0")}` : `1${role}`;
}

export interface ConvGroup {
  ids: number[];
  label: string;
}

export interface Diagram {
  /** The <svg> element (or a short paragraph when there is nothing to draw). */
  svg: string;
  /** Click targets: group id → conversation ids, with a label for the filter bar. */
  groups: Record<string, ConvGroup>;
  /** Sentences to print under the diagram (what was grouped or left out). */
  notes: string[];
}

export const MAX_HOSTS = 30;
export const MAX_CHIPS = 4;

const COLOURS: Record<Status, { line: string; fill: string; ink: string }> = {
  error: { line: "#c5221f", fill: "#c5221f", ink: "#ffffff" },
  warning: { line: "#e8a200", fill: "#e8a200", ink: "#3d2b00" },
  info: { line: "#9aa1ab", fill: "#6b7280", ink: "#ffffff" },
  none: { line: "#9aa1ab", fill: "#6b7280", ink: "#ffffff" },
  ok: { line: "#1e8e3e", fill: "#1e8e3e", ink: "#ffffff" },
};

const SANS = "Liberation Sans, Arial, DejaVu Sans, sans-serif";
const MONO = "DejaVu Sans Mono, Liberation Mono, monospace";
// Advance widths used to size boxes and chips without measuring: DejaVu Sans Mono is 0.602 em,
// bold sans is taken at a generous 0.62 em so labels never overflow their boxes.
const MONO_W = (px: number) => px * 0.602;
const SANS_BOLD_W = (px: number) => px * 0.62;

const BOX_MIN_H = 46;
const BOX_MIN_W = 150;
const BOX_MAX_W = 320;
const ROW_H = 24;
const CHIP_H = 18;
const CHIP_GAP = 4;
const CHIP_FONT = 11;
const ARROW = 14;
const MIN_LINE = 70;
const V_GAP = 14;
const MARGIN = 16;
const TOP = 40;
/** The host-name line in a box: its font size, its height, and the characters it holds at most. */
const NAME_FONT = 11;
const NAME_LINE = 15;
const NAME_CHARS = 40;

interface Node {
  key: string;
  ip: string | null;
  role: string | null;
  source: string | null;
  reason: string | null;
  other: number; // > 0: the "N other hosts" box
  convs: number;
  status: Status;
  peers: Set<string>;
  col: number;
  x: number;
  y: number;
  w: number;
  h: number;
  left: Pair[];
  right: Pair[];
}

interface PortGroup {
  transport: string;
  port: number;
  ids: number[];
  /** Conversations behind the ids (aggregate entries count for many). */
  count: number;
  status: Status;
}

interface Pair {
  client: Node;
  server: Node;
  ports: PortGroup[];
  ids: number[];
  count: number;
  status: Status;
  /** Chips as drawn: label, status, ids, group id. */
  chips: { text: string; status: Status; ids: number[]; title: string }[];
  width: number;
  rowY: number;
}

const n1 = (v: number) => (Math.round(v * 10) / 10).toString();

function chipWidth(text: string): number {
  return Math.ceil(text.length * MONO_W(CHIP_FONT) + 14);
}

function rowWidth(p: Pair): number {
  return p.chips.reduce((s, c) => s + chipWidth(c.text), 0) + CHIP_GAP * Math.max(0, p.chips.length - 1);
}

function plural(n: number, one: string, many = one + "s"): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * Lay out and draw the diagram. `esc` escapes text for HTML/SVG (the caller's, so wire text is
 * treated the same way everywhere); `groupId` registers a click target and returns its id.
 */
export function renderDiagram(r: Report, esc: (s: string) => string, groupId: (g: ConvGroup) => string, facts: Map<string, HostFacts> = new Map()): Diagram {
  const notes: string[] = [];
  if (r.conversations.length === 0) {
    return { svg: `<p class="empty">No TCP or UDP conversation in the capture: nothing to draw.</p>`, groups: {}, notes };
  }
  const sev = severityByConversation(r);
  const roleInfo = new Map(r.roles.map((x) => [x.ip, x]));

  // Hosts as seen in conversations.
  const hosts = new Map<string, Node>();
  const host = (ip: string, role: string | null): Node => {
    let h = hosts.get(ip);
    if (!h) {
      const info = roleInfo.get(ip);
      h = {
        key: ip, ip, role: role ?? info?.role ?? null, source: info?.source ?? null, reason: info?.reason ?? null,
        other: 0, convs: 0, status: "ok", peers: new Set(), col: 0, x: 0, y: 0, w: 0, h: 0, left: [], right: [],
      };
      hosts.set(ip, h);
    } else if (h.role === null && role !== null) h.role = role;
    return h;
  };
  for (const c of r.conversations) {
    const a = host(c.client.ip, c.client.role);
    const b = host(c.server.ip, c.server.role);
    const st = conversationStatus(c, sev);
    for (const h of a === b ? [a] : [a, b]) {
      h.status = h.convs === 0 ? st : worse(h.status, st);
      h.convs += weight(c);
    }
    a.peers.add(b.key);
    b.peers.add(a.key);
  }
  const all = [...hosts.values()];
  const byRoleThenIp = (x: Node, y: Node) => {
    const a = roleKey(x.role) + "|" + ipKey(x.key);
    const b = roleKey(y.role) + "|" + ipKey(y.key);
    return a < b ? -1 : a > b ? 1 : 0;
  };

  // The hub: every proxy, else the host with the most peers (then most conversations, then
  // address) when it has at least two; with no such host there is no middle column.
  let hubs = all.filter((h) => h.role === "proxy").sort(byRoleThenIp);
  if (hubs.length === 0) {
    const best = [...all].sort((x, y) => y.peers.size - x.peers.size || y.convs - x.convs || (ipKey(x.key) < ipKey(y.key) ? -1 : 1))[0];
    if (best.peers.size >= 2) hubs = [best];
  }
  const hubSet = new Set(hubs);

  // Too many hosts: keep the most telling, group the rest.
  const mapped = new Map<string, Node>();
  let other: Node | null = null;
  if (all.length > MAX_HOSTS) {
    const rest = all.filter((h) => !hubSet.has(h)).sort((x, y) =>
      Number(y.role !== null) - Number(x.role !== null) ||
      STATUS_RANK[y.status] - STATUS_RANK[x.status] ||
      y.convs - x.convs ||
      (ipKey(x.key) < ipKey(y.key) ? -1 : 1));
    const keep = Math.max(0, MAX_HOSTS - 1 - hubs.length);
    for (const h of rest.slice(keep)) {
      other ??= {
        key: "\u0000other", ip: null, role: null, source: null, reason: null, other: 0, convs: 0, status: "ok",
        peers: new Set(), col: 0, x: 0, y: 0, w: 0, h: 0, left: [], right: [],
      };
      other.status = other.other === 0 ? h.status : worse(other.status, h.status);
      other.other++;
      other.convs += h.convs;
      mapped.set(h.key, other);
    }
  }
  const nodeOf = (ip: string) => mapped.get(ip) ?? hosts.get(ip)!;

  // Aggregate per (client, server, transport, port), then per (client, server).
  const pairs = new Map<string, Pair>();
  const portGroups = new Map<string, PortGroup>();
  let hiddenInOther = 0;
  for (const c of r.conversations) {
    const a = nodeOf(c.client.ip);
    const b = nodeOf(c.server.ip);
    if (a === other && b === other) {
      hiddenInOther++;
      continue;
    }
    const st = conversationStatus(c, sev);
    const pk = a.key + "\u0001" + b.key;
    let p = pairs.get(pk);
    if (!p) {
      p = { client: a, server: b, ports: [], ids: [], count: 0, status: st, chips: [], width: 0, rowY: 0 };
      pairs.set(pk, p);
    }
    p.ids.push(c.id);
    p.count += weight(c);
    p.status = p.ids.length === 1 ? st : worse(p.status, st);
    const gk = pk + "\u0001" + c.transport + "\u0001" + c.server.port;
    let g = portGroups.get(gk);
    if (!g) {
      g = { transport: c.transport, port: c.server.port, ids: [], count: 0, status: st };
      portGroups.set(gk, g);
      p.ports.push(g);
    }
    g.ids.push(c.id);
    g.count += weight(c);
    g.status = g.ids.length === 1 ? st : worse(g.status, st);
  }
  if (other) {
    notes.push(
      `${plural(other.other, "host")} share one box ("${other.other} other hosts") to keep the diagram readable: it keeps the proxy, then hosts ` +
        `with a role, with findings, and with the most conversations. The conversations table lists every host.`,
    );
  }
  if (hiddenInOther > 0) notes.push(`${plural(hiddenInOther, "conversation")} between two of the grouped hosts ${hiddenInOther === 1 ? "is" : "are"} not drawn.`);

  // Columns: 0 pure clients, 1 hubs, 2 the rest (anything that answered).
  const nodes = [...new Set([...hosts.values()].map((h) => nodeOf(h.key)))];
  // A host goes left only when it opened conversations to a hub and answered none: a host that
  // talks only to other non-hub hosts stays on the right, so no arrow seems to touch the proxy.
  const isServer = new Set<Node>();
  const hubClient = new Set<Node>();
  for (const p of pairs.values()) {
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
      const ys = [...pairs.values()].filter((p) => p.client === n).map((p) => at.get(p.server)!);
      bary.set(n, ys.length ? ys.reduce((a, b) => a + b, 0) / ys.length : 0);
    }
    const order = new Map(cols[0].map((n, i) => [n, i]));
    cols[0].sort((x, y) => (x === other ? 1 : y === other ? -1 : bary.get(x)! - bary.get(y)! || order.get(x)! - order.get(y)!));
  }

  // Chips per pair: worst first, then by port; at most MAX_CHIPS, then "+N".
  for (const p of pairs.values()) {
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
      p.chips.push({ text: `+${rest.length} ports`, status: st, ids, title: `${rest.length} more ports: ${plural(count, "conversation")}` });
    }
    p.width = rowWidth(p);
    if (p.client.col < p.server.col) p.server.left.push(p);
    else p.server.right.push(p);
  }

  // Box sizes.
  // A third line under the address: the host's first name (DNS, SNI, certificate), cut to fit.
  const nameOf = (n: Node) => {
    const names = n.ip !== null ? facts.get(n.ip)?.names ?? [] : [];
    if (names.length === 0) return "";
    const first = Array.from(names[0].name);
    const text = first.length > NAME_CHARS ? first.slice(0, NAME_CHARS - 1).join("") + "…" : names[0].name;
    return names.length > 1 ? `${text} +${names.length - 1}` : text;
  };
  const label = (n: Node) => {
    if (n.other > 0) return { l1: `${n.other} other hosts`, l2: "grouped", src: "", l3: "" };
    return { l1: n.role ?? "no role", l2: n.ip ?? "", src: n.role !== null && n.source ? ` · ${n.source === "explicit" ? "given" : "inferred"}` : "", l3: nameOf(n) };
  };
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
  const skips = [...pairs.values()].some((p) => p.server.col - p.client.col >= 2);
  const height = Math.ceil(TOP + Math.max(...colH) + MARGIN + 8 + (skips ? 26 : 0));
  cols.forEach((c, i) => {
    let y = TOP + (Math.max(...colH) - colH[i]) / 2;
    for (const n of c) {
      n.x = colX[i];
      n.y = y;
      y += n.h + vGap;
    }
  });
  const cy = (n: Node) => n.y + n.h / 2;

  // Rows of chips in front of each server box, ordered by where their clients are.
  for (const n of nodes) {
    for (const side of [n.left, n.right]) {
      side.sort((p, q) => cy(p.client) - cy(q.client) || (ipKey(p.client.key) < ipKey(q.client.key) ? -1 : 1));
      side.forEach((p, i) => (p.rowY = cy(n) + (i - (side.length - 1) / 2) * ROW_H));
    }
  }

  // Draw: edges under boxes.
  const groups: Record<string, ConvGroup> = {};
  const reg = (ids: number[], text: string) => {
    const g = { ids: [...ids].sort((a, b) => a - b), label: text };
    const id = groupId(g);
    groups[id] = g;
    return id;
  };
  const hostText = (n: Node) => (n.other > 0 ? `${n.other} other hosts` : `${n.ip}${n.role ? ` (${n.role})` : ""}`);
  const edges: string[] = [];
  const chipsOut: string[] = [];
  const pairList = [...pairs.values()].sort((p, q) => STATUS_RANK[p.status] - STATUS_RANK[q.status]); // worst drawn last, on top
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
      ? `${n.other} hosts grouped, ${plural(n.convs, "conversation")}`
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
    `<title id="diagram-title">${esc(`Hosts and ports as observed: ${plural(nodes.length, "box", "boxes")}, ${plural(pairs.size, "arrow")}`)}</title>` +
    `<defs>${markers}</defs>` +
    heads.join("") +
    `<g class="edges">${edges.join("")}</g><g class="boxes">${boxes.join("")}</g><g class="chips">${chipsOut.join("")}</g></svg>`;
  return { svg, groups, notes };
}
