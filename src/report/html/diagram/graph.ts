/**
 * The diagram's model: hosts as seen in conversations, the hub (every proxy, else the busiest
 * host), the "N other hosts" box past MAX_HOSTS, and the conversations aggregated per (client,
 * server, transport, server port) and per (client, server). No geometry here: layout.ts places
 * what this builds, svg.ts draws it.
 */
import type { Report } from "../../record.js";
import { addressSortKey as ipKey, num, plural } from "../../view/format.js";
import { conversationStatus, severityByConversation, STATUS_RANK, weight, worse, type Status } from "../../view/status.js";

export const MAX_HOSTS = 30;

const ROLE_ORDER = ["proxy", "vcenter", "esxi", "esxi-standalone", "guest", "cloudcache", "cloud", "ntp"];

function roleKey(role: string | null): string {
  if (role === null) return "9";
  const i = ROLE_ORDER.indexOf(role);
  return i >= 0 ? `0${String(i).padStart(2, "0")}` : `1${role}`;
}

export interface Node {
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

export interface PortGroup {
  transport: string;
  port: number;
  ids: number[];
  /** Conversations behind the ids (aggregate entries count for many). */
  count: number;
  status: Status;
}

export interface Pair {
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

/** Hosts within a column: by role (proxy, vcenter, esxi, …, no role), then address. */
export function byRoleThenIp(x: Node, y: Node): number {
  const a = roleKey(x.role) + "|" + ipKey(x.key);
  const b = roleKey(y.role) + "|" + ipKey(y.key);
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface Graph {
  /** Every box to draw: hosts, then the "other" box when there is one. */
  nodes: Node[];
  /** One per (client, server) box pair, in order of first conversation. */
  pairs: Pair[];
  /** The middle column: every proxy, else the busiest host, else none. */
  hubs: Node[];
  hubSet: Set<Node>;
  /** The "N other hosts" box, or null. */
  other: Node | null;
  /** Sentences for under the diagram (what was grouped or left out). */
  notes: string[];
}

/** The model of a report with at least one conversation. */
export function buildGraph(r: Report): Graph {
  const notes: string[] = [];
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
      `${plural(other.other, "host")} share one box ("${num(other.other)} other hosts") to keep the diagram readable: it keeps the proxy, then hosts ` +
        `with a role, with findings, and with the most conversations. The conversations table lists every host.`,
    );
  }
  if (hiddenInOther > 0) notes.push(`${plural(hiddenInOther, "conversation")} between two of the grouped hosts ${hiddenInOther === 1 ? "is" : "are"} not drawn.`);
  const nodes = [...new Set([...hosts.values()].map((h) => nodeOf(h.key)))];
  return { nodes, pairs: [...pairs.values()], hubs, hubSet, other, notes };
}
