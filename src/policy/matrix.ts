/**
 * The port matrix: which conversations a proxy is expected to have. The built-in Phoenix matrix is
 * data (phoenix-matrix.json), validated by the same code as a user's matrix file, which can extend
 * it (rows with a new id are added, an existing id replaces that row) or replace it.
 *
 * The schema is code, below: one function per kind of entry, each reporting every mistake with
 * its path (see validate.ts for the wording). docs/matrix-format.md describes it for users.
 */
import phoenix from "./phoenix-matrix.json" with { type: "json" };
import { STANDARD_ROLES, roleExpectation } from "./roles.js";
import {
  Problems,
  ValidationError,
  checkKeys,
  isPlainObject,
  joinPath,
  oneOf,
  parseStructured,
  readStructuredFile,
  suggest,
} from "./validate.js";
import type { ParsedDocument } from "./validate.js";

export type Transport = "tcp" | "udp";
export const TRANSPORTS: readonly Transport[] = ["tcp", "udp"];

/** Transports an infrastructure entry can name: ARP and IPv6 ND are not TCP/UDP. */
export type InfraTransport = Transport | "icmpv6" | "arp";
export const INFRA_TRANSPORTS: readonly InfraTransport[] = ["tcp", "udp", "icmpv6", "arp"];

/**
 * What must cross the wire. The detectable protocols of the report contract, plus "nfs" (a port
 * fact for now) and "any" (no expectation about the bytes).
 */
export const EXPECTATIONS = ["tls", "vmware-authd", "ssh", "rdp", "http", "ntp", "dns", "nfs", "any"] as const;
export type Expectation = (typeof EXPECTATIONS)[number];

/** Expectations under which a minimum TLS version means something. */
const TLS_CAPABLE: readonly string[] = ["tls", "vmware-authd", "rdp", "any"];

/** Minimum TLS versions, spelled as the report spells versions. */
export const TLS_VERSIONS = ["SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"] as const;
export type TlsVersionName = (typeof TLS_VERSIONS)[number];

export const REQUIRED = ["always", "if-present", "optional"] as const;
export type Required = (typeof REQUIRED)[number];

/** An inclusive port range; a single port has first === last. */
export interface PortRange {
  first: number;
  last: number;
}

/** One expected conversation (also the shape of `related` entries). */
export interface MatrixRow {
  /** Stable id, e.g. "esxi-902"; findings and conversations name rows by it. */
  id: string;
  /** Role of the side that opens the connection, or "any". */
  client: string;
  /** Role of the side that listens, or "any" (the first of `servers`). */
  server: string;
  /** Every role the listening side may have: esxi-902 is expected to managed and standalone ESXi hosts alike. */
  servers: string[];
  /** True when client and server must be the same host (guest-3545: local only). */
  sameHost: boolean;
  /** Server ports. */
  ports: PortRange[];
  transport: Transport;
  /** What must cross the wire. */
  expect: Expectation;
  /** Lowest acceptable TLS version where TLS is required, else null. */
  minTls: TlsVersionName | null;
  /** The condition under which the row applies, in words. */
  when: string;
  /**
   * When the row must be seen (for `missing-expected`): "always" — whenever the client role is
   * present in the capture (proxy → cloud, proxy → NTP); "if-present" — for every host of the
   * server role present in the capture (902 to each managed ESXi host); "optional" — only
   * when the work that needs it runs (application-aware backups, DR restores), never missing.
   */
  required: Required;
  /** The vendor text (or other source) the row comes from. */
  source: string;
  /** What fails when the row's traffic cannot pass, for the "what to fix first" list ("NBD/NBDSSL backups of its VMs fail"). */
  impact?: string;
  notes?: string;
}

/** Traffic every host makes that is not in the vendor matrix: shown, never a violation. */
export interface InfraEntry {
  id: string;
  transport: InfraTransport;
  /** Ports, for tcp/udp; empty otherwise. */
  ports: PortRange[];
  /** ICMPv6 types, for icmpv6 (empty list: every type). */
  icmpTypes: number[];
  expect: Expectation;
  description: string;
  source: string;
}

export interface Matrix {
  product: string;
  /** Version of the matrix data (not of the product). */
  version: string;
  /** Role names usable in rows and on the command line → what they stand for. */
  roles: Record<string, string>;
  rows: MatrixRow[];
  infrastructure: InfraEntry[];
  /** Traffic that is not the proxy's but may be seen beside it (VMware heartbeats, MKS). */
  related: MatrixRow[];
}

/** A validated matrix file, before it is merged with the built-in matrix. */
export interface MatrixFile {
  mode: "extend" | "replace";
  product?: string;
  version?: string;
  roles?: Record<string, string>;
  rows?: MatrixRow[];
  infrastructure?: InfraEntry[];
  related?: MatrixRow[];
}

/** A matrix file (or the built-in matrix) that failed validation; one line per mistake. */
export class MatrixError extends ValidationError {
  constructor(what: string, problems: string[]) {
    super(what, problems);
    this.name = "MatrixError";
  }
}

// ---------------------------------------------------------------------------------------------
// The schema, as code.

const TOP_KEYS = ["mode", "product", "version", "roles", "rows", "infrastructure", "related"] as const;
const ROW_KEYS = ["id", "client", "server", "sameHost", "port", "ports", "transport", "expect", "minTls", "when", "required", "source", "impact", "notes"] as const;
const INFRA_KEYS = ["id", "transport", "port", "ports", "icmpTypes", "expect", "description", "source"] as const;

const ID = /^[a-z0-9][a-z0-9._-]*$/;
const ID_WHAT = 'an id of lower-case letters, digits, ".", "_" or "-" (e.g. "cloud-443")';
const ROLE_NAME = /^[a-z][a-z0-9-]*$/;
const PORT_WHAT = 'a port number 1-65535 or a range "a-b"';
const PORT_TEXT = /^(\d{1,5})(?:-(\d{1,5}))?$/;

/** 443, "443" or "1000-2000" → a range; else a problem at `path`. */
function portSpec(v: unknown, path: string, problems: Problems): PortRange | null {
  if (typeof v === "number") {
    if (Number.isInteger(v) && v >= 1 && v <= 65535) return { first: v, last: v };
    problems.expected(path, PORT_WHAT, v);
    return null;
  }
  const m = typeof v === "string" ? PORT_TEXT.exec(v.trim()) : null;
  if (!m) {
    problems.expected(path, PORT_WHAT, v);
    return null;
  }
  const first = Number(m[1]);
  const last = m[2] === undefined ? first : Number(m[2]);
  if (m[2] === undefined) {
    if (first >= 1 && first <= 65535) return { first, last };
    problems.expected(path, PORT_WHAT, v);
    return null;
  }
  if (first < 1 || last > 65535 || first > 65535 || last < 1) {
    problems.expected(path, 'a range "a-b" of ports 1-65535', v);
    return null;
  }
  if (first > last) {
    problems.expected(path, 'a range "a-b" with a ≤ b', v, `${last}-${first}`);
    return null;
  }
  return { first, last };
}

/** `port: X` (one) or `ports: [X, …]` (a list), exactly one of them. */
function ports(o: Record<string, unknown>, path: string, problems: Problems): PortRange[] | null {
  const hasOne = o.port !== undefined;
  const hasList = o.ports !== undefined;
  if (hasOne && hasList) {
    problems.add(path, 'expected either "port" or "ports", got both');
    return null;
  }
  if (hasOne) {
    const r = portSpec(o.port, joinPath(path, "port"), problems);
    return r ? [r] : null;
  }
  if (!hasList) {
    problems.add(joinPath(path, "ports"), `missing, expected a list of ports (each ${PORT_WHAT}), or "port" for one`);
    return null;
  }
  const p = joinPath(path, "ports");
  if (!Array.isArray(o.ports)) {
    problems.expected(p, `a list of ports (use "port" for one)`, o.ports);
    return null;
  }
  if (o.ports.length === 0) {
    problems.expected(p, "at least one port", o.ports);
    return null;
  }
  const out: PortRange[] = [];
  let ok = true;
  o.ports.forEach((v, i) => {
    const r = portSpec(v, joinPath(p, i), problems);
    if (r) out.push(r);
    else ok = false;
  });
  return ok ? out : null;
}

function optionalString(o: Record<string, unknown>, key: string, path: string, what: string, problems: Problems): string | undefined | null {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string") {
    problems.expected(joinPath(path, key), what, v);
    return null;
  }
  return v;
}

/** A value from a fixed list; a near miss gets "did you mean". */
function enumValue<T extends string>(
  o: Record<string, unknown>,
  key: string,
  path: string,
  values: readonly T[],
  what: string,
  problems: Problems,
): T | null {
  const v = o[key];
  const p = joinPath(path, key);
  if (v === undefined) {
    problems.add(p, `missing, expected ${what}`);
    return null;
  }
  if (typeof v === "string" && (values as readonly string[]).includes(v)) return v as T;
  problems.expected(p, what, v, typeof v === "string" ? suggest(v, values) : null);
  return null;
}

function rowId(o: Record<string, unknown>, path: string, problems: Problems): string | null {
  const v = o.id;
  const p = joinPath(path, "id");
  if (v === undefined) {
    problems.add(p, `missing, expected ${ID_WHAT}`);
    return null;
  }
  if (typeof v !== "string" || !ID.test(v)) {
    problems.expected(p, ID_WHAT, v);
    return null;
  }
  return v;
}

function role(o: Record<string, unknown>, key: string, path: string, roles: readonly string[], problems: Problems): string | null {
  return enumValue(o, key, path, [...roles, "any"], roleExpectation(roles, true), problems);
}

/** `server`: one role, or a list of roles any of which the listening side may have. */
function serverRoles(o: Record<string, unknown>, path: string, roles: readonly string[], problems: Problems): string[] | null {
  const v = o.server;
  if (!Array.isArray(v)) {
    const one = role(o, "server", path, roles, problems);
    return one === null ? null : [one];
  }
  const p = joinPath(path, "server");
  if (v.length === 0) {
    problems.expected(p, "a role or a non-empty list of roles", v);
    return null;
  }
  const out: string[] = [];
  const known = [...roles, "any"];
  v.forEach((item, i) => {
    if (typeof item === "string" && known.includes(item)) out.push(item);
    else problems.expected(joinPath(p, i), roleExpectation(roles, true), item, typeof item === "string" ? suggest(item, known) : null);
  });
  return out.length === v.length ? [...new Set(out)] : null;
}

/** The server side of a row as people read it: "esxi or esxi-standalone". */
export function rowServerText(r: Pick<MatrixRow, "servers">): string {
  return r.servers.join(" or ");
}

/** One row of `rows` or `related`. `defaultSource` fills a missing `source`. */
function validateRow(
  v: unknown,
  path: string,
  roles: readonly string[],
  defaultSource: string,
  problems: Problems,
): MatrixRow | null {
  if (!isPlainObject(v)) {
    problems.expected(path, "an object (a matrix row)", v);
    return null;
  }
  const before = problems.list.length;
  checkKeys(v, path, ROW_KEYS, problems);
  const id = rowId(v, path, problems);
  const client = role(v, "client", path, roles, problems);
  const servers = serverRoles(v, path, roles, problems);
  const portList = ports(v, path, problems);
  const transport = enumValue(v, "transport", path, TRANSPORTS, oneOf(TRANSPORTS), problems);
  const expect = enumValue(v, "expect", path, EXPECTATIONS, `one of ${oneOf(EXPECTATIONS)}`, problems);

  let minTls: TlsVersionName | null = null;
  if (v.minTls !== undefined && v.minTls !== null) {
    minTls = enumValue(v, "minTls", path, TLS_VERSIONS, `null or one of ${oneOf(TLS_VERSIONS)}`, problems);
    if (minTls && expect && !TLS_CAPABLE.includes(expect)) {
      problems.expected(joinPath(path, "minTls"), `null when expect is ${JSON.stringify(expect)}`, v.minTls);
    }
  }
  let sameHost = false;
  if (v.sameHost !== undefined) {
    if (typeof v.sameHost === "boolean") sameHost = v.sameHost;
    else problems.expected(joinPath(path, "sameHost"), "true or false", v.sameHost);
  }
  const when = optionalString(v, "when", path, "a string (the condition in words)", problems);
  let required: Required = "optional";
  if (v.required !== undefined) required = enumValue(v, "required", path, REQUIRED, oneOf(REQUIRED), problems) ?? "optional";
  const source = optionalString(v, "source", path, "a string (where the row comes from)", problems);
  const notes = optionalString(v, "notes", path, "a string", problems);
  const impact = optionalString(v, "impact", path, "a string (what fails without the row's traffic)", problems);

  if (problems.list.length !== before) return null;
  const row: MatrixRow = {
    id: id!,
    client: client!,
    server: servers![0],
    servers: servers!,
    sameHost,
    ports: portList!,
    transport: transport!,
    expect: expect!,
    minTls,
    when: when ?? "always",
    required,
    source: source ?? defaultSource,
  };
  if (impact !== undefined && impact !== null) row.impact = impact;
  if (notes !== undefined && notes !== null) row.notes = notes;
  return row;
}

/** One entry of `infrastructure`. */
function validateInfra(v: unknown, path: string, defaultSource: string, problems: Problems): InfraEntry | null {
  if (!isPlainObject(v)) {
    problems.expected(path, "an object (an infrastructure entry)", v);
    return null;
  }
  const before = problems.list.length;
  checkKeys(v, path, INFRA_KEYS, problems);
  const id = rowId(v, path, problems);
  const transport = enumValue(v, "transport", path, INFRA_TRANSPORTS, oneOf(INFRA_TRANSPORTS), problems);
  let portList: PortRange[] | null = [];
  if (transport === "tcp" || transport === "udp") {
    portList = ports(v, path, problems);
  } else if (transport) {
    for (const k of ["port", "ports"]) {
      if (v[k] !== undefined) problems.expected(joinPath(path, k), `no ports when transport is ${JSON.stringify(transport)}`, v[k]);
    }
  }
  const icmpTypes: number[] = [];
  if (v.icmpTypes !== undefined) {
    const p = joinPath(path, "icmpTypes");
    if (transport && transport !== "icmpv6") {
      problems.expected(p, 'no ICMP types unless transport is "icmpv6"', v.icmpTypes);
    } else if (!Array.isArray(v.icmpTypes)) {
      problems.expected(p, "a list of ICMPv6 types 0-255", v.icmpTypes);
    } else {
      v.icmpTypes.forEach((t, i) => {
        if (typeof t === "number" && Number.isInteger(t) && t >= 0 && t <= 255) icmpTypes.push(t);
        else problems.expected(joinPath(p, i), "an ICMPv6 type 0-255", t);
      });
    }
  }
  let expect: Expectation = "any";
  if (v.expect !== undefined) expect = enumValue(v, "expect", path, EXPECTATIONS, `one of ${oneOf(EXPECTATIONS)}`, problems) ?? "any";
  const description = optionalString(v, "description", path, "a string", problems);
  const source = optionalString(v, "source", path, "a string (where the entry comes from)", problems);
  if (problems.list.length !== before) return null;
  return {
    id: id!,
    transport: transport!,
    ports: portList!,
    icmpTypes,
    expect,
    description: description ?? "",
    source: source ?? defaultSource,
  };
}

/** `roles`: extra role names a matrix uses, each with what it stands for. */
function validateRoles(v: unknown, problems: Problems): Record<string, string> | null {
  if (!isPlainObject(v)) {
    problems.expected("roles", 'an object of role names to descriptions, e.g. {"prism": "Nutanix Prism"}', v);
    return null;
  }
  const out: Record<string, string> = {};
  for (const [name, desc] of Object.entries(v)) {
    const p = joinPath("roles", name);
    if (!ROLE_NAME.test(name) || name === "any") {
      problems.add(p, `expected a role name of lower-case letters, digits and "-" other than "any", got ${JSON.stringify(name)}`);
    } else if (typeof desc !== "string") {
      problems.expected(p, "a string (what the role stands for)", desc);
    } else {
      out[name] = desc;
    }
  }
  return out;
}

function validateList<T>(
  doc: Record<string, unknown>,
  key: "rows" | "related" | "infrastructure",
  each: (v: unknown, path: string) => T | null,
  problems: Problems,
): T[] | undefined {
  const v = doc[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) {
    problems.expected(key, "a list", v);
    return undefined;
  }
  const out: T[] = [];
  v.forEach((item, i) => {
    const r = each(item, joinPath(key, i));
    if (r) out.push(r);
  });
  return out;
}

/**
 * Validate a parsed matrix document. Every mistake goes into `problems`; the result is only
 * meaningful when none were added. `defaultSource` fills rows that do not say where they come from.
 */
export function validateMatrixDocument(
  doc: unknown,
  problems: Problems,
  defaultSource = "user matrix file",
  baseRoles: readonly string[] = STANDARD_ROLES,
): MatrixFile {
  const file: MatrixFile = { mode: "extend" };
  if (!isPlainObject(doc)) {
    problems.expected("", 'an object with "rows"', doc);
    return file;
  }
  checkKeys(doc, "", TOP_KEYS, problems);
  if (doc.mode !== undefined) {
    const mode = enumValue(doc, "mode", "", ["extend", "replace"] as const, oneOf(["extend", "replace"]), problems);
    if (mode) file.mode = mode;
  }
  for (const key of ["product", "version"] as const) {
    const v = doc[key];
    if (v === undefined) continue;
    if (typeof v === "string") file[key] = v;
    else problems.expected(key, `a string${typeof v === "number" ? ' (quote it in YAML: "1.0")' : ""}`, v);
  }
  if (file.mode === "replace") {
    if (doc.product === undefined) problems.add("product", 'missing, expected a string (required when mode is "replace")');
    if (doc.rows === undefined) problems.add("rows", 'missing, expected a list of rows (required when mode is "replace")');
  }
  let roles = [...baseRoles];
  if (doc.roles !== undefined) {
    const r = validateRoles(doc.roles, problems);
    if (r) {
      file.roles = r;
      roles = [...new Set([...roles, ...Object.keys(r)])];
    }
  }
  file.rows = validateList(doc, "rows", (v, p) => validateRow(v, p, roles, defaultSource, problems), problems);
  file.infrastructure = validateList(doc, "infrastructure", (v, p) => validateInfra(v, p, defaultSource, problems), problems);
  file.related = validateList(doc, "related", (v, p) => validateRow(v, p, roles, defaultSource, problems), problems);

  // Ids are unique across the whole file: findings name a row by id alone.
  const seen = new Map<string, string>();
  for (const key of ["rows", "infrastructure", "related"] as const) {
    const list = doc[key];
    if (!Array.isArray(list)) continue;
    list.forEach((item, i) => {
      if (!isPlainObject(item) || typeof item.id !== "string") return;
      const p = joinPath(joinPath(key, i), "id");
      const first = seen.get(item.id);
      if (first) problems.add(p, `expected a unique id, got ${JSON.stringify(item.id)} again (first at ${first})`);
      else seen.set(item.id, p);
    });
  }
  return file;
}

/** Apply a validated file to a base matrix: extend (by id) or replace. */
export function mergeMatrix(base: Matrix, user: MatrixFile): Matrix {
  // Role names only ever add: the standard ones are part of the report contract.
  const roles = { ...base.roles, ...(user.roles ?? {}) };
  if (user.mode === "replace") {
    return {
      product: user.product ?? base.product,
      version: user.version ?? "",
      roles,
      rows: [...(user.rows ?? [])],
      infrastructure: [...(user.infrastructure ?? [])],
      related: [...(user.related ?? [])],
    };
  }
  const problems = new Problems();
  const sectionOf = new Map<string, string>();
  for (const key of ["rows", "infrastructure", "related"] as const) for (const e of base[key]) sectionOf.set(e.id, key);
  const byId = <T extends { id: string }>(key: "rows" | "infrastructure" | "related", list: T[], add: T[] | undefined): T[] => {
    const out = [...list];
    (add ?? []).forEach((e, i) => {
      const where = sectionOf.get(e.id);
      if (where !== undefined && where !== key) {
        problems.add(
          joinPath(joinPath(key, i), "id"),
          `expected an id not used elsewhere, got ${JSON.stringify(e.id)}, which the base matrix uses in ${where}`,
        );
        return;
      }
      const at = out.findIndex((x) => x.id === e.id);
      if (at >= 0) out[at] = e;
      else out.push(e);
    });
    return out;
  };
  const merged: Matrix = {
    product: user.product ?? base.product,
    version: user.version ?? base.version,
    roles,
    rows: byId("rows", base.rows, user.rows),
    infrastructure: byId("infrastructure", base.infrastructure, user.infrastructure),
    related: byId("related", base.related, user.related),
  };
  if (!problems.ok) throw new MatrixError("matrix file", problems.list);
  return merged;
}

let builtin: Matrix | null = null;

/**
 * The built-in Phoenix matrix, validated by the same code as user files (a mistake in the JSON
 * throws MatrixError at first use). Returns a fresh deep copy each call, so callers may mutate it.
 */
export function builtinMatrix(): Matrix {
  if (!builtin) {
    const problems = new Problems();
    const doc = phoenix as unknown as Record<string, unknown>;
    const f = validateMatrixDocument({ ...doc, mode: "replace" }, problems, "phoenix-matrix.json");
    if (!problems.ok) throw new MatrixError("built-in matrix phoenix-matrix.json", problems.list);
    builtin = {
      product: f.product!,
      version: f.version ?? "",
      roles: f.roles ?? {},
      rows: f.rows ?? [],
      infrastructure: f.infrastructure ?? [],
      related: f.related ?? [],
    };
  }
  return structuredClone(builtin);
}

/** Role names a matrix knows: the standard ones plus any it declares. */
export function roleNames(m: Matrix): string[] {
  return [...new Set([...STANDARD_ROLES, ...Object.keys(m.roles)])];
}

function finish(parsed: ParsedDocument, name: string, base: Matrix): Matrix {
  const problems = new Problems();
  if (!parsed.ok) throw new MatrixError(`matrix file ${name}`, [parsed.problem]);
  const file = validateMatrixDocument(parsed.value, problems, name, roleNames(base));
  if (!problems.ok) throw new MatrixError(`matrix file ${name}`, problems.list);
  try {
    return mergeMatrix(base, file);
  } catch (err) {
    if (err instanceof MatrixError) throw new MatrixError(`matrix file ${name}`, err.problems);
    throw err;
  }
}

/**
 * Read a matrix file (JSON if it parses as JSON, else YAML), validate it, and apply it to `base`
 * (the built-in matrix unless given). Throws MatrixError listing every mistake.
 */
export function loadMatrixFile(path: string, base: Matrix = builtinMatrix()): Matrix {
  return finish(readStructuredFile(path), path, base);
}

/** The same from text already in memory; `name` stands for the file in messages and sources. */
export function parseMatrixText(text: string, name: string, base: Matrix = builtinMatrix()): Matrix {
  return finish(parseStructured(text), name, base);
}

/** Does the row (or infrastructure entry) cover this server port and transport? */
export function rowMatches(row: { ports: readonly PortRange[]; transport: string }, port: number, transport: string): boolean {
  if (row.transport !== transport) return false;
  for (const r of row.ports) if (port >= r.first && port <= r.last) return true;
  return false;
}

/** "443", "1000-2000", "53, 5353" — ports as a person writes them. */
export function formatPorts(ports: readonly PortRange[]): string {
  return ports.map((r) => (r.first === r.last ? `${r.first}` : `${r.first}-${r.last}`)).join(", ");
}
