/**
 * What the report knows about each address, to print beside it in the HTML report: the names
 * it was seen under, its MAC and its VLAN IDs.
 *
 * Everything comes from fields of the report record, never from wire bytes: names from DNS
 * answers (`conversations[].dns.answers`, name → address), from the SNI a client sent to that
 * address (`tls.sni`) and from the server certificate it presented (`tls.certificate.subject` CN
 * and `san`); MACs from `client.mac` / `server.mac`; VLAN IDs from `conversations[].vlan`. With
 * `--redact` these fields are already pseudonyms, so what is shown here is too. The caller escapes.
 */
import type { ConversationRecord, Report } from "../record.js";

export type NameSource = "dns" | "sni" | "certificate";

export interface HostName {
  name: string;
  /** Where the name was seen, in the order dns, sni, certificate. */
  from: NameSource[];
}

export interface HostFacts {
  /** Distinct names, at most MAX_NAMES_KEPT, in order of first appearance. */
  names: HostName[];
  /** Names past MAX_NAMES_KEPT, counted only. */
  moreNames: number;
  /** Source MACs of this address's packets (the router's, when the host is behind one). */
  macs: string[];
  /** 802.1Q VLAN IDs of the conversations this address took part in, ascending. */
  vlans: number[];
}

/** Names kept per address; a host answering for hundreds of virtual hosts still prints a short line. */
export const MAX_NAMES_KEPT = 8;
/** MACs kept per address (an address moving between MACs is worth seeing; hundreds are not). */
const MAX_MACS_KEPT = 4;

const SOURCE_ORDER: NameSource[] = ["dns", "sni", "certificate"];

/** The CN of a subject written as "CN=host, O=org" (record.ts writes Node's lines joined by ", "). */
export function commonName(subject: string): string | null {
  const m = /(?:^|, )CN=([^,]*)/.exec(subject);
  const cn = m?.[1].trim();
  return cn ? cn : null;
}

/** An address (IPv4 dotted, IPv6 with a colon), not a name: a SAN entry like this names no host. */
export function isAddress(s: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(s) || s.includes(":");
}

export function hostIndex(r: Report): Map<string, HostFacts> {
  const out = new Map<string, HostFacts>();
  const facts = (ip: string): HostFacts => {
    let h = out.get(ip);
    if (!h) {
      h = { names: [], moreNames: 0, macs: [], vlans: [] };
      out.set(ip, h);
    }
    return h;
  };
  const addName = (ip: string, raw: string, from: NameSource) => {
    // "host.example." and "HOST.example" are one name: the trailing root dot dropped, case kept as first seen.
    const name = raw.endsWith(".") && raw.length > 1 ? raw.slice(0, -1) : raw;
    if (!name || name === ip) return;
    const h = facts(ip);
    const key = name.toLowerCase();
    const known = h.names.find((n) => n.name.toLowerCase() === key);
    if (known) {
      if (!known.from.includes(from)) known.from = SOURCE_ORDER.filter((s) => s === from || known.from.includes(s));
    } else if (h.names.length < MAX_NAMES_KEPT) h.names.push({ name, from: [from] });
    else h.moreNames++;
  };
  const addEndpoint = (e: ConversationRecord["client"], vlan: number | null) => {
    const h = facts(e.ip);
    if (e.mac !== null && !h.macs.includes(e.mac) && h.macs.length < MAX_MACS_KEPT) h.macs.push(e.mac);
    if (vlan !== null && !h.vlans.includes(vlan)) h.vlans.push(vlan);
  };
  for (const c of r.conversations) {
    addEndpoint(c.client, c.vlan);
    addEndpoint(c.server, c.vlan);
    for (const a of c.dns?.answers ?? []) addName(a.address, a.name, "dns");
    if (c.tls?.sni) addName(c.server.ip, c.tls.sni, "sni");
    const cert = c.tls?.certificate;
    if (cert) {
      const cn = commonName(cert.subject);
      if (cn) addName(c.server.ip, cn, "certificate");
      for (const s of cert.san) if (!isAddress(s)) addName(c.server.ip, s, "certificate");
    }
  }
  for (const h of out.values()) h.vlans.sort((a, b) => a - b);
  return out;
}

const SOURCE_TEXT: Record<NameSource, string> = { dns: "DNS answer", sni: "TLS SNI", certificate: "certificate" };

/** "backup.example (DNS answer, TLS SNI)" for a tooltip. */
export function nameWithSources(n: HostName): string {
  return `${n.name} (${n.from.map((s) => SOURCE_TEXT[s]).join(", ")})`;
}

/** "VLAN 10 · MAC 02:00:00:00:00:01", or "" when neither is known. */
export function linkText(h: HostFacts | undefined): string {
  if (!h) return "";
  const parts: string[] = [];
  if (h.vlans.length) parts.push(`VLAN ${h.vlans.join(", ")}`);
  if (h.macs.length) parts.push(`MAC ${h.macs.join(", ")}`);
  return parts.join(" · ");
}
