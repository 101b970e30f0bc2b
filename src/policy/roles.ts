/**
 * Which host plays which part: roles given by the user (`--role NAME=ADDRESS|CIDR`, repeatable, or
 * a roles file) and, later, roles inferred from traffic. Explicit roles always win over inferred
 * ones; among explicit ones the most specific prefix wins (RFC 4632 §5.1 longest match).
 *
 * The seam for inference: `RoleMap.infer(ip, version, role, reason)` records a role for one host
 * with a sentence saying why (e.g. "sent the VMware authd banner on 902"); `lookup()` says whether
 * the answer was given or inferred, and why.
 */
import { formatIp, parseIp } from "../decode/index.js";
import { Problems, ValidationError, checkKeys, isPlainObject, joinPath, readStructuredFile, parseStructured, suggest } from "./validate.js";
import type { ParsedDocument } from "./validate.js";

/** The role names of the report contract. A matrix file may declare more (see matrix.ts). */
export const STANDARD_ROLES = ["proxy", "vcenter", "esxi", "esxi-standalone", "guest", "ntp", "cloud", "cloudcache"] as const;
export type StandardRole = (typeof STANDARD_ROLES)[number];

/** Roles given on the command line or in a roles file that are wrong; one line per mistake. */
export class RoleError extends ValidationError {
  constructor(what: string, problems: string[]) {
    super(what, problems);
    this.name = "RoleError";
  }
}

/** One explicit role: an address (prefix 32/128) or a network. */
export interface RoleEntry {
  role: string;
  version: 4 | 6;
  /** The network address, 16 bytes (IPv4 in the first 4); bits after `prefix` are zero. */
  bytes: Uint8Array;
  /** Prefix length: 0-32 for IPv4, 0-128 for IPv6. */
  prefix: number;
  /** Canonical text: "10.0.1.0/24", "2001:db8::5" (a single host has no "/len"). */
  text: string;
  /** Where it was given: "--role esxi=10.0.1.0/24" or "roles.esxi[0]" (then `file` says which file). */
  origin: string;
  file?: string;
}

/** A role worked out from traffic, for one host. */
export interface InferredRole {
  role: string;
  version: 4 | 6;
  /** 16 bytes, IPv4 in the first 4. */
  bytes: Uint8Array;
  /** Canonical address text. */
  text: string;
  /** Why, in one sentence: "sent the VMware authd banner on 902/tcp (frame 12)". */
  reason: string;
  /**
   * The roles the host may have when the evidence cannot tell them apart: an ESXi host known by
   * its authd banner alone is `esxi` or `esxi-standalone` (its registration is not on the wire).
   * Absent when the role is the only one.
   */
  candidates?: string[];
}

/** The answer to "what is this address?", with where the answer came from. */
export interface RoleMatch {
  role: string;
  /** True when the user gave it, false when it was inferred. */
  explicit: boolean;
  /** Explicit: the entry that matched ("10.0.1.0/24"); inferred: the address. */
  text: string;
  /** Explicit: "given as --role esxi=10.0.1.0/24"; inferred: the inference's reason. */
  reason: string;
}

/** `expected a role (proxy, …), got "esx" (did you mean "esxi"?)` — shared with the matrix file. */
export function roleExpectation(known: readonly string[], allowAny = false): string {
  return `a role (${known.join(", ")})${allowAny ? ' or "any"' : ""}`;
}

const V4_LEADING_ZERO = /(^|\.)0\d/;

/**
 * Parse "ADDRESS" or "ADDRESS/LEN" (RFC 4632 for IPv4, RFC 4291 §2.3 for IPv6) into a network,
 * adding a problem at `path` and returning null when it is not one. A CIDR with bits set after the
 * prefix is refused (with the network it probably meant) rather than silently masked.
 */
export function parseNetwork(
  text: string,
  path: string,
  problems: Problems,
): { version: 4 | 6; bytes: Uint8Array; prefix: number; text: string } | null {
  const slash = text.indexOf("/");
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const lenText = slash < 0 ? null : text.slice(slash + 1);
  if (addrText.includes("%")) {
    problems.expected(path, 'an IPv6 address without a zone index ("%eth0")', addrText);
    return null;
  }
  const ip = parseIp(addrText);
  if (!ip) {
    problems.expected(path, "an IPv4 or IPv6 address", addrText);
    return null;
  }
  if (ip.version === 4 && V4_LEADING_ZERO.test(addrText)) {
    // inet_aton() reads "010" as octal 8; refuse rather than guess which was meant.
    problems.expected(path, "an IPv4 address without leading zeros", addrText);
    return null;
  }
  const max = ip.version === 4 ? 32 : 128;
  let prefix = max;
  if (lenText !== null) {
    const n = /^\d{1,4}$/.test(lenText) ? Number(lenText) : NaN;
    if (!(n >= 0 && n <= max)) {
      problems.expected(path, `an IPv${ip.version} prefix length 0-${max}`, Number.isNaN(n) ? lenText : n);
      return null;
    }
    prefix = n;
  }
  const net = new Uint8Array(16);
  maskInto(ip.bytes, prefix, net);
  const netText = formatIp(net, ip.version);
  if (!sameBytes(net, ip.bytes, ip.version === 4 ? 4 : 16)) {
    problems.expected(path, `a network address with no bits set after the /${prefix} prefix`, text, `${netText}/${prefix}`);
    return null;
  }
  return { version: ip.version, bytes: net, prefix, text: prefix === max ? netText : `${netText}/${prefix}` };
}

function maskInto(src: Uint8Array, prefix: number, dst: Uint8Array): void {
  for (let i = 0; i < 16; i++) {
    const bits = prefix - 8 * i;
    dst[i] = bits >= 8 ? src[i] : bits <= 0 ? 0 : src[i] & (0xff << (8 - bits));
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Does `ip` fall inside the network (bytes, prefix)? Compares whole bytes, then the partial one. */
function inNetwork(ip: Uint8Array, net: Uint8Array, prefix: number): boolean {
  const whole = prefix >> 3;
  for (let i = 0; i < whole; i++) if (ip[i] !== net[i]) return false;
  const rest = prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (ip[whole] & mask) === net[whole];
}

/** Check a role name against the known ones; adds a problem and returns false when unknown. */
function checkRoleName(name: unknown, path: string, known: readonly string[], problems: Problems): name is string {
  if (typeof name === "string" && known.includes(name)) return true;
  problems.expected(path, roleExpectation(known), name, typeof name === "string" ? suggest(name, known) : null);
  return false;
}

function parseRoleInto(text: string, known: readonly string[], problems: Problems): RoleEntry | null {
  const path = `--role ${text}`;
  const eq = text.indexOf("=");
  if (eq < 0) {
    problems.expected(path, "NAME=ADDRESS or NAME=CIDR (e.g. proxy=10.0.0.5)", text);
    return null;
  }
  const name = text.slice(0, eq).trim();
  const value = text.slice(eq + 1).trim();
  // Both halves are checked so one run shows both mistakes.
  const nameOk = checkRoleName(name, path, known, problems);
  const net = parseNetwork(value, path, problems);
  if (!nameOk || !net) return null;
  return { role: name, ...net, origin: `--role ${name}=${value}` };
}

/** Parse one `--role NAME=ADDRESS|CIDR` value. Throws RoleError naming every mistake in it. */
export function parseRoleArg(text: string, known: readonly string[] = STANDARD_ROLES): RoleEntry {
  const problems = new Problems();
  const entry = parseRoleInto(text, known, problems);
  if (!entry) throw new RoleError("--role", problems.list);
  return entry;
}

/** Parse every `--role` value; throws one RoleError listing the mistakes of all of them. */
export function parseRoleArgs(texts: readonly string[], known: readonly string[] = STANDARD_ROLES): RoleEntry[] {
  const problems = new Problems();
  const out: RoleEntry[] = [];
  for (const t of texts) {
    const e = parseRoleInto(t, known, problems);
    if (e) out.push(e);
  }
  conflicts(out, (e) => e.origin, problems);
  if (!problems.ok) throw new RoleError("--role", problems.list);
  return out;
}

const ROLES_FILE_KEYS = ["roles"] as const;
const ROLES_OBJECT = 'an object of role names to addresses or CIDRs, e.g. {"proxy": ["10.0.0.5"]}';

/** Validate a parsed roles document: `{"roles": {"proxy": ["10.0.0.5"], "esxi": "10.0.1.0/24"}}`. */
function rolesFromDocument(doc: unknown, file: string, known: readonly string[], problems: Problems): RoleEntry[] {
  const out: RoleEntry[] = [];
  if (!isPlainObject(doc)) {
    problems.expected("", 'an object with a "roles" key', doc);
    return out;
  }
  checkKeys(doc, "", ROLES_FILE_KEYS, problems);
  const roles = doc.roles;
  if (roles === undefined) {
    problems.add("roles", `missing, expected ${ROLES_OBJECT}`);
    return out;
  }
  if (!isPlainObject(roles)) {
    problems.expected("roles", ROLES_OBJECT, roles);
    return out;
  }
  for (const [name, value] of Object.entries(roles)) {
    const path = joinPath("roles", name);
    if (!checkRoleName(name, path, known, problems)) continue;
    // A single string is allowed for one address; otherwise a list of strings.
    const items = typeof value === "string" ? [value] : Array.isArray(value) ? value : null;
    if (!items) {
      problems.expected(path, "an address, a CIDR or a list of them", value);
      continue;
    }
    items.forEach((item, i) => {
      const p = typeof value === "string" ? path : joinPath(path, i);
      if (typeof item !== "string") {
        problems.expected(p, "an address or CIDR as a string", item);
        return;
      }
      const net = parseNetwork(item.trim(), p, problems);
      if (net) out.push({ role: name, ...net, origin: p, file });
    });
  }
  conflicts(out, (e) => e.origin, problems);
  return out;
}

function finishRolesFile(parsed: ParsedDocument, file: string, known: readonly string[]): RoleEntry[] {
  const problems = new Problems();
  const entries = parsed.ok ? rolesFromDocument(parsed.value, file, known, problems) : [];
  if (!parsed.ok) problems.list.push(parsed.problem);
  if (!problems.ok) throw new RoleError(`roles file ${file}`, problems.list);
  return entries;
}

/** Read a roles file (JSON or YAML, by content). Throws RoleError listing every mistake. */
export function loadRolesFile(path: string, known: readonly string[] = STANDARD_ROLES): RoleEntry[] {
  return finishRolesFile(readStructuredFile(path), path, known);
}

/** The same from text already in memory; `name` stands for the file in messages. */
export function parseRolesText(text: string, name: string, known: readonly string[] = STANDARD_ROLES): RoleEntry[] {
  return finishRolesFile(parseStructured(text), name, known);
}

/** The same network given two different roles is a mistake; the same role twice is not. */
function conflicts(entries: readonly RoleEntry[], label: (e: RoleEntry) => string, problems: Problems): void {
  const seen = new Map<string, RoleEntry>();
  for (const e of entries) {
    const key = `${e.version}/${e.prefix}/${e.text}`;
    const first = seen.get(key);
    if (!first) {
      seen.set(key, e);
    } else if (first.role !== e.role) {
      problems.add(
        label(e),
        `${e.text} is already given the role ${JSON.stringify(first.role)} (${label(first)}); an address or network can have only one role`,
      );
    }
  }
}

/** A host's map key (not for display): IPv4 as its 32-bit number in decimal, IPv6 as eight base-36 groups with colons; the two never meet. */
function hostKey(ip: Uint8Array, version: 4 | 6): string {
  // Asked several times per conversation by inference and the checks: no string per byte.
  if (version === 4) return String(((ip[0] << 24) | (ip[1] << 16) | (ip[2] << 8) | ip[3]) >>> 0);
  let k = "";
  for (let i = 0; i < 16; i += 2) k += ((ip[i] << 8) | ip[i + 1]).toString(36) + ":";
  return k;
}

/**
 * Address → role. Explicit entries are kept sorted most specific first, so the first that
 * contains an address is the answer; lookups are a linear scan (users give a handful of entries)
 * and are meant per conversation, not per packet.
 */
export class RoleMap {
  /** Explicit entries, most specific first (duplicates with the same role dropped). */
  readonly explicit: readonly RoleEntry[];
  private readonly inferredByHost = new Map<string, InferredRole>();

  /** Throws RoleError when the same address or network is given two different roles. */
  constructor(entries: readonly RoleEntry[] = []) {
    const problems = new Problems();
    const label = (e: RoleEntry) => (e.file ? `${e.file}: ${e.origin}` : e.origin);
    conflicts(entries, label, problems);
    if (!problems.ok) throw new RoleError("roles", problems.list);
    const seen = new Set<string>();
    const unique: RoleEntry[] = [];
    for (const e of entries) {
      const key = `${e.version}/${e.prefix}/${e.text}`;
      if (seen.has(key)) continue;
      seen.add(key);
      unique.push(e);
    }
    // Stable sort: longest prefix first (RFC 4632 §5.1).
    this.explicit = unique.sort((a, b) => b.prefix - a.prefix);
  }

  /** The role of an address (16-byte buffer, IPv4 in the first 4 bytes), or null when none. */
  roleOf(ip: Uint8Array, version: 4 | 6): string | null {
    const e = this.explicitFor(ip, version);
    if (e) return e.role;
    return this.inferredByHost.get(hostKey(ip, version))?.role ?? null;
  }

  /** Like roleOf, with whether the role was given or inferred and why. */
  lookup(ip: Uint8Array, version: 4 | 6): RoleMatch | null {
    const e = this.explicitFor(ip, version);
    if (e) {
      const where = e.file ? `${e.file}: ${e.origin}` : e.origin;
      return { role: e.role, explicit: true, text: e.text, reason: `given as ${where}` };
    }
    const inf = this.inferredByHost.get(hostKey(ip, version));
    return inf ? { role: inf.role, explicit: false, text: inf.text, reason: inf.reason } : null;
  }

  /**
   * The roles the host may have: the explicit one, the inferred one (or its candidates), or null
   * when nothing is known of it.
   */
  candidatesOf(ip: Uint8Array, version: 4 | 6): readonly string[] | null {
    const e = this.explicitFor(ip, version);
    if (e) return [e.role];
    const inf = this.inferredByHost.get(hostKey(ip, version));
    return inf ? (inf.candidates ?? [inf.role]) : null;
  }

  /** A new map with the same explicit entries and inferences (inference adds to the copy). */
  copy(): RoleMap {
    const m = new RoleMap(this.explicit);
    for (const [k, v] of this.inferredByHost) m.inferredByHost.set(k, { ...v, bytes: v.bytes, candidates: v.candidates ? [...v.candidates] : undefined });
    return m;
  }

  /** The most specific explicit entry containing the address, or undefined. */
  explicitFor(ip: Uint8Array, version: 4 | 6): RoleEntry | undefined {
    for (const e of this.explicit) {
      if (e.version === version && inNetwork(ip, e.bytes, e.prefix)) return e;
    }
    return undefined;
  }

  /**
   * Record a role inferred from traffic for one host. The first inference for an address is
   * kept: a later one returns false (the caller can report the disagreement). It is recorded
   * even when an explicit entry covers the address — the explicit role still wins in roleOf(),
   * but inferredFor() lets a check point out that the traffic disagrees with what was given.
   */
  infer(ip: Uint8Array, version: 4 | 6, role: string, reason: string, candidates?: readonly string[]): boolean {
    const key = hostKey(ip, version);
    if (this.inferredByHost.has(key)) return false;
    const bytes = new Uint8Array(16);
    bytes.set(ip.subarray(0, version === 4 ? 4 : 16));
    const entry: InferredRole = { role, version, bytes, text: formatIp(bytes, version), reason };
    if (candidates && candidates.length > 1) entry.candidates = [...candidates];
    this.inferredByHost.set(key, entry);
    return true;
  }

  /** The inference recorded for this exact address, whatever the explicit entries say. */
  inferredFor(ip: Uint8Array, version: 4 | 6): InferredRole | undefined {
    return this.inferredByHost.get(hostKey(ip, version));
  }

  /** Every inference, in the order recorded. */
  inferred(): InferredRole[] {
    return [...this.inferredByHost.values()];
  }
}
