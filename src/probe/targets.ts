/**
 * The hosts `probe` checks: the addresses, networks and names the user gave each role, networks
 * expanded to their host addresses (bounded: DEFAULT_MAX_HOSTS unless --max-hosts says more), names
 * resolved with the system resolver (getaddrinfo, as every other program on the proxy does).
 */
import { lookup } from "node:dns/promises";
import { formatIp, parseIp } from "../decode/index.js";

/** Hosts a run checks at most unless --max-hosts raises it (issue 14: "a cap, e.g. 256 hosts"). */
export const DEFAULT_MAX_HOSTS = 256;

/** One role value as given: "10.0.0.5", "10.0.1.0/28", "vc.corp.local". */
export interface RoleTarget {
  role: string;
  value: string;
  /** Where it was given: "--role esxi=10.0.1.0/28", "roles.esxi[0]". */
  origin: string;
}

/** One host to check. */
export interface Host {
  role: string;
  address: string;
  /** The name it came from, or null for an address. */
  name: string | null;
  /** The role value it came from, as given (RoleTarget.value). */
  given: string;
}

/** A name that did not resolve (probe.targets[].error). */
export interface Unresolved {
  role: string;
  name: string;
  error: string;
}

export class TargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TargetError";
  }
}

/** RFC 1123 §2.1 host name: labels of letters, digits and hyphens, not starting or ending with a hyphen. */
const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

export function isHostName(s: string): boolean {
  return HOST_NAME.test(s) && !/^[\d.]+$/.test(s);
}

/** The host addresses of a network: all of them for /31, /32 (and /127, /128), else without the network and broadcast addresses (IPv4) or the subnet-router anycast address (IPv6, RFC 4291 §2.6.1). */
export function expandNetwork(text: string, cap: number): string[] {
  const slash = text.indexOf("/");
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (ip === null) throw new TargetError(`"${text}" is not an address or network`);
  const max = ip.version === 4 ? 32 : 128;
  const prefix = slash < 0 ? max : Number(text.slice(slash + 1));
  const hostBits = max - prefix;
  const total = 2 ** hostBits;
  const skipEnds = ip.version === 4 ? hostBits >= 2 : hostBits >= 1;
  const count = skipEnds ? total - (ip.version === 4 ? 2 : 1) : total;
  if (count > cap) {
    throw new TargetError(`${text} has ${count > 1e15 ? "more than 10^15" : count} host addresses, more than the ${cap} a run checks: give a smaller network, or raise the cap with --max-hosts`);
  }
  const out: string[] = [];
  const bytes = Uint8Array.from(ip.bytes);
  const len = ip.version === 4 ? 4 : 16;
  const add = (n: number) => {
    // Add n to the address, byte by byte from the end (carries); n < 2^53.
    const b = Uint8Array.from(bytes);
    let carry = n;
    for (let i = len - 1; i >= 0 && carry > 0; i--) {
      const s = b[i] + (carry % 256);
      b[i] = s & 0xff;
      carry = Math.floor(carry / 256) + (s >> 8);
    }
    return formatIp(b, ip.version);
  };
  for (let i = skipEnds ? 1 : 0; out.length < count; i++) out.push(add(i));
  return out;
}

/**
 * Every host of the targets: networks expanded, names resolved (each address of a name is a
 * host). More than `maxHosts` in all is refused before anything is sent.
 */
export async function resolveTargets(targets: readonly RoleTarget[], maxHosts: number): Promise<{ hosts: Host[]; unresolved: Unresolved[] }> {
  const hosts: Host[] = [];
  const unresolved: Unresolved[] = [];
  const seen = new Set<string>();
  const push = (h: Host) => {
    const k = `${h.role}|${h.address}`;
    if (seen.has(k)) return;
    seen.add(k);
    hosts.push(h);
    if (hosts.length > maxHosts) throw new TargetError(`the roles name more than ${maxHosts} hosts in all: give fewer, or raise the cap with --max-hosts`);
  };
  for (const t of targets) {
    if (isHostName(t.value) && parseIp(t.value) === null) {
      try {
        const addrs = await lookup(t.value.replace(/\.$/, ""), { all: true, verbatim: true });
        for (const a of addrs) push({ role: t.role, address: formatIp(parseIp(a.address)!.bytes, a.family === 6 ? 6 : 4), name: t.value.replace(/\.$/, ""), given: t.value });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? "";
        unresolved.push({ role: t.role, name: t.value, error: code === "ENOTFOUND" ? "no such name (NXDOMAIN or no address)" : code || String(e) });
      }
      continue;
    }
    for (const a of expandNetwork(t.value, maxHosts)) push({ role: t.role, address: a, name: null, given: t.value });
  }
  return { hosts, unresolved };
}
