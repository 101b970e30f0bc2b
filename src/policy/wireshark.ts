/**
 * Wireshark display filters that show exactly the traffic behind a finding (Wireshark's
 * display-filter reference: `ip.addr`, `ipv6.addr`, `tcp.port in {…}`, `tcp.flags.syn`).
 */
import { type Namer, PLAIN_NAMER } from "./namer.js";
import type { ConnectionView } from "./view.js";

/** Up to this many distinct ports are listed in a filter's `port in {…}`; beyond, the hosts alone. */
const MAX_FILTER_PORTS = 20;

function ipField(ip: string): string {
  return ip.includes(":") ? "ipv6" : "ip";
}

/** Both hosts: `ip.addr==a && ip.addr==b` (one term when they are the same host). */
export function hostsFilter(a: string, b: string, n: Namer = PLAIN_NAMER): string {
  const f = ipField(a);
  return a === b ? `${f}.addr==${n.address(a)}` : `${f}.addr==${n.address(a)} && ${f}.addr==${n.address(b)}`;
}

export function portFilter(transport: string, ports: readonly number[]): string {
  const uniq = [...new Set(ports)].sort((x, y) => x - y);
  return uniq.length === 1 ? `${transport}.port==${uniq[0]}` : `${transport}.port in {${uniq.join(" ")}}`;
}

/** The filter for conversations between the same two hosts on these server ports. */
export function groupFilter(c: ConnectionView, ports: readonly number[], extra = "", n: Namer = PLAIN_NAMER): string {
  const hosts = hostsFilter(c.client.ip, c.server.ip, n);
  if (new Set(ports).size > MAX_FILTER_PORTS) return `${hosts} && ${c.transport}`;
  return `${hosts} && ${portFilter(c.transport, ports)}${extra}`;
}

/** Several filters as one: each in parentheses, or-ed (duplicates dropped). */
export function joinFilters(parts: readonly string[]): string {
  const u = [...new Set(parts)];
  return u.length === 1 ? u[0] : u.map((p) => `(${p})`).join(" || ");
}

/** A filter for a row's traffic from some hosts (missing-expected: what should have been there). */
export function rowFilter(hosts: readonly string[], transport: string, ports: readonly { first: number; last: number }[], n: Namer = PLAIN_NAMER): string {
  const p =
    ports.length === 1 && ports[0].first === ports[0].last
      ? `${transport}.port==${ports[0].first}`
      : `${transport}.port in {${ports.map((r) => (r.first === r.last ? `${r.first}` : `${r.first}..${r.last}`)).join(" ")}}`;
  return hosts.length ? joinFilters(hosts.map((ip) => `${ipField(ip)}.addr==${n.address(ip)} && ${p}`)) : p;
}
