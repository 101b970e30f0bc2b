/**
 * Role inference: which host is the proxy, the vCenter, an ESXi host, a guest, the NTP server, the
 * cloud — from what the capture shows, each with its reason (docs/roles.md, "Inferred roles").
 * Returns a new role map: the given one is never changed, and its explicit roles always win.
 *
 * The proxy is found first, from where the capture was taken (the host at one end of most of the
 * matrix-shaped conversations), so that no server-side evidence — one authd-like banner answering
 * a connection *to* the proxy — can make the capture point anything else. Then, strongest first:
 * vCenter (heartbeat targets, names, vSphere API paths), ESXi (the authd banner; registration
 * unknown unless it heartbeats to a vCenter), the cloud (its names), guests (3542), NTP (mode 4).
 */
import type { Matrix } from "./matrix.js";
import { rowMatches } from "./matrix.js";
import { type Namer, type WireKind, PLAIN_NAMER } from "./namer.js";
import type { RoleMap } from "./roles.js";
import { webProxyPath } from "./tunnel.js";
import type { ConnectionView, EndpointView } from "./view.js";

/** Server names that are the Phoenix cloud or its storage endpoints (suffix match on the SNI). */
export const CLOUD_NAME_SUFFIXES = [".druva.com", ".druva.net", ".amazonaws.com"];

export function isCloudName(name: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, "");
  return CLOUD_NAME_SUFFIXES.some((s) => n.endsWith(s) || n === s.slice(1));
}

/** A vCenter's name says so in its first label: vcenter01.corp, vcsa.lab, corp-vcenter. */
export function isVcenterName(name: string): boolean {
  const first = name.toLowerCase().replace(/^\*\./, "").split(".")[0] ?? "";
  return /vcenter|^vcsa/.test(first);
}

/** vSphere API entry points (the Web Services SDK, the REST APIs, the vSphere Client). */
const VSPHERE_PATHS = /^\/(sdk|api|rest|ui)(\/|$|\?)/;

/** A MAC that is the source of more addresses than this is a router's: it links nothing. */
const MAX_ADDRESSES_PER_MAC = 4;

/** The all-zero MAC: what anonymised or synthetic captures carry in place of the real ones. */
const ZERO_MAC = "00:00:00:00:00:00";

export const ESXI_CANDIDATES = ["esxi", "esxi-standalone"] as const;

function where(c: ConnectionView): string {
  return `conversation ${c.id}, frame ${c.firstFrame}`;
}

/** Names the server is known by in this conversation: SNI, certificate names, HTTP Host. */
function serverNames(c: ConnectionView): { name: string; how: string; kind: WireKind; value: string }[] {
  const out: { name: string; how: string; kind: WireKind; value: string }[] = [];
  const tls = c.tls;
  if (tls?.sni) out.push({ name: tls.sni, how: "TLS server name", kind: "name", value: tls.sni });
  const cert = tls?.certificate;
  if (cert) {
    const cn = /(?:^|, )CN=([^,]+)/.exec(cert.subject)?.[1];
    if (cn) out.push({ name: cn, how: "certificate subject", kind: "cn", value: cn });
    for (const s of cert.san) out.push({ name: s, how: "certificate name", kind: "name", value: s });
  }
  // The reason quotes the whole Host value (port and all): it is that field's value, named as one.
  const host = c.facts?.http?.host;
  if (host) out.push({ name: host.replace(/:\d+$/, ""), how: "HTTP Host", kind: "host", value: host });
  return out;
}

/** Names in a web-proxy tunnel are its target's (CONNECT authority, SNI inside), never the web proxy's. */
const throughWebProxy = (c: ConnectionView) => webProxyPath(c) !== null;

/** On a proxy row's port; through a web proxy, the tunnel's target port is the one the proxy reaches. */
function isProxyShaped(c: ConnectionView, matrix: Matrix): boolean {
  const port = webProxyPath(c)?.targetPort ?? c.server.port;
  return matrix.rows.some((r) => r.client === "proxy" && rowMatches(r, port, c.transport));
}

/** Infer roles the given map does not have, into a copy of it. */
export function inferRoles(views: readonly ConnectionView[], matrix: Matrix, given: RoleMap, n: Namer = PLAIN_NAMER): RoleMap {
  const roles = given.copy();
  const quote = (x: { kind: WireKind; value: string }) => n.wire(x.kind, x.value);
  const known = (e: EndpointView, v: 4 | 6) => roles.roleOf(e.bytes, v);
  const infer = (e: EndpointView, v: 4 | 6, role: string, reason: string, candidates?: readonly string[]) => {
    if (known(e, v) === null) roles.infer(e.bytes, v, role, reason, candidates);
  };

  // 1. The proxy: given, or the client of the most proxy-shaped conversations; ties broken by how
  //    many conversations a host is in at all (the capture point is in nearly every one).
  let proxies = views.flatMap((c) => [[c.client, c.ipVersion], [c.server, c.ipVersion]] as const).filter(([e, v]) => known(e, v) === "proxy");
  if (proxies.length === 0) {
    const shaped = new Map<string, { n: number; any: number; c: ConnectionView; e: EndpointView }>();
    const seen = new Map<string, number>();
    for (const c of views) {
      for (const e of [c.client, c.server]) seen.set(e.ip, (seen.get(e.ip) ?? 0) + 1);
      if (!isProxyShaped(c, matrix) || known(c.client, c.ipVersion) !== null) continue;
      const cur = shaped.get(c.client.ip);
      if (cur) cur.n++;
      else shaped.set(c.client.ip, { n: 1, any: 0, c, e: c.client });
    }
    for (const [ip, s] of shaped) s.any = seen.get(ip) ?? 0;
    const ranked = [...shaped.values()].sort((a, b) => b.n - a.n || b.any - a.any);
    const top = ranked[0];
    if (top && !(ranked.length > 1 && ranked[1].n === top.n && ranked[1].any === top.any)) {
      const ports = [...new Set(views.filter((c) => c.client.ip === top.e.ip && isProxyShaped(c, matrix)).map((c) => `${c.transport.toUpperCase()} ${c.server.port}`))];
      roles.infer(
        top.e.bytes,
        top.c.ipVersion,
        "proxy",
        `opened ${top.n} conversation${top.n === 1 ? "" : "s"} on the proxy's matrix ports (${ports.slice(0, 6).join(", ")}${ports.length > 6 ? ", …" : ""}) and is in ${top.any} of the ${views.length} conversations: the capture point`,
      );
      proxies = [[top.e, top.c.ipVersion]];
    }
  }

  // The proxy's other addresses (IPv6, VLAN sub-interfaces) share its MAC.
  const addressesByMac = new Map<string, Map<string, { e: EndpointView; v: 4 | 6; c: ConnectionView }>>();
  for (const c of views) {
    for (const e of [c.client, c.server]) {
      if (e.mac === null) continue;
      let m = addressesByMac.get(e.mac);
      if (!m) addressesByMac.set(e.mac, (m = new Map()));
      if (!m.has(e.ip)) m.set(e.ip, { e, v: c.ipVersion, c });
    }
  }
  // A MAC that both ends of one conversation send from is no host's (a capture whose MACs were
  // rewritten or zeroed, a link that shows one router on both sides): it links nothing.
  const sharedMacs = new Set<string>([ZERO_MAC]);
  for (const c of views) if (c.client.mac !== null && c.client.mac === c.server.mac && c.client.ip !== c.server.ip) sharedMacs.add(c.client.mac);
  const proxyMacs = new Map<string, string>();
  for (const c of views) {
    for (const e of [c.client, c.server]) {
      if (e.mac !== null && !sharedMacs.has(e.mac) && known(e, c.ipVersion) === "proxy" && !proxyMacs.has(e.mac)) proxyMacs.set(e.mac, e.ip);
    }
  }
  for (const [mac, proxyIp] of proxyMacs) {
    const addrs = addressesByMac.get(mac)!;
    if (addrs.size > MAX_ADDRESSES_PER_MAC) continue;
    for (const { e, v, c } of addrs.values()) infer(e, v, "proxy", `shares MAC ${n.mac(mac)} with the proxy ${n.address(proxyIp)} (${where(c)})`);
  }

  // 2. ESXi heartbeats (UDP 902, ESXi → vCenter): the target is the vCenter, the sender a managed ESXi host.
  const heartbeats = views.filter((c) => c.transport === "udp" && c.server.port === 902 && known(c.client, c.ipVersion) !== "proxy");
  for (const c of heartbeats) infer(c.server, c.ipVersion, "vcenter", `target of ESXi heartbeats on UDP 902 from ${n.address(c.client.ip)} (${where(c)})`);
  for (const c of heartbeats) infer(c.client, c.ipVersion, "esxi", `sends ESXi heartbeats on UDP 902 to the vCenter ${n.address(c.server.ip)}: managed through vCenter (${where(c)})`);

  // 3. vCenter by name (SNI, certificate, Host, DNS answers) or by the vSphere API it serves.
  for (const c of views) {
    if (known(c.server, c.ipVersion) === "proxy" || throughWebProxy(c)) continue;
    const x = serverNames(c).find((s) => isVcenterName(s.name));
    if (x) infer(c.server, c.ipVersion, "vcenter", `${x.how} ${quote(x)} names a vCenter (${where(c)})`);
    const uri = c.facts?.http?.uri;
    if (uri && VSPHERE_PATHS.test(uri)) infer(c.server, c.ipVersion, "vcenter", `served the vSphere API path ${n.wire("uri", uri.split("?")[0])} (${where(c)})`);
  }
  // DNS answers name addresses that may not be in any conversation yet; they apply to those that are.
  // A cloud name must be what the client asked for: a CNAME chain ending in amazonaws.com
  // (…elb.amazonaws.com) is only where some other service is hosted, not the Phoenix cloud.
  const answered = new Map<string, { name: string; c: ConnectionView; askedCloud: boolean }>();
  for (const c of views) {
    const askedCloud = (c.facts?.dns?.queries ?? []).some(isCloudName);
    for (const a of c.facts?.dns?.answers ?? []) if (!answered.has(a.address)) answered.set(a.address, { name: a.name, c, askedCloud });
  }
  for (const c of views) {
    for (const e of [c.server, c.client]) {
      const a = answered.get(e.ip);
      if (!a) continue;
      if (isVcenterName(a.name)) infer(e, c.ipVersion, "vcenter", `a DNS answer names it ${n.wire("name", a.name)}, a vCenter (${where(a.c)})`);
      else if (isCloudName(a.name) && a.askedCloud) infer(e, c.ipVersion, "cloud", `a DNS answer names it ${n.wire("name", a.name)}, a Phoenix cloud name (${where(a.c)})`);
    }
  }

  // 4. ESXi by its authd banner: managed or standalone cannot be told from its own traffic.
  for (const c of views) {
    if (c.protocol === "vmware-authd" && known(c.server, c.ipVersion) !== "proxy") {
      infer(c.server, c.ipVersion, "esxi", `sent the VMware authd banner on TCP ${c.server.port} (${where(c)}); registration unknown (managed through vCenter or standalone)`, ESXI_CANDIDATES);
    }
  }
  // 5. The cloud by its names.
  for (const c of views) {
    if (throughWebProxy(c)) continue;
    const x = serverNames(c).find((s) => isCloudName(s.name));
    if (x) infer(c.server, c.ipVersion, "cloud", `${x.how} ${quote(x)} is a Phoenix cloud name (${where(c)})`);
  }
  // 6. Guests: the server of Phoenix's guest service.
  for (const c of views) {
    if (c.transport === "tcp" && c.server.port === 3542) infer(c.server, c.ipVersion, "guest", `server of TCP 3542, the Phoenix guest service (${where(c)})`);
  }
  // 7. NTP: answered in server mode.
  for (const c of views) {
    const ntp = c.facts?.ntp;
    if (c.transport === "udp" && c.server.port === 123 && ntp && ntp.serverMode === 4) {
      infer(c.server, c.ipVersion, "ntp", `answered NTP in server mode on UDP 123 (${where(c)})`);
    }
  }
  return roles;
}

/** Is the proxy among the hosts of these conversations (given or inferred)? */
export function proxyKnown(views: readonly ConnectionView[], roles: RoleMap): boolean {
  return views.some((c) => roles.roleOf(c.client.bytes, c.ipVersion) === "proxy" || roles.roleOf(c.server.bytes, c.ipVersion) === "proxy");
}
