/**
 * The matrix schema, as code: one function per kind of entry, each reporting every mistake with
 * its path (see validate.ts for the wording). docs/matrix-format.md describes it for users.
 */
import { STANDARD_ROLES, roleExpectation } from "./roles.js";
import {
  CERTIFICATE_POLICIES,
  EXPECTATIONS,
  INFRA_TRANSPORTS,
  REQUIRED,
  TLS_VERSIONS,
  TRANSPORTS,
  type CertificatePolicy,
  type Expectation,
  type InfraEntry,
  type MatrixFile,
  type MatrixRow,
  type PortRange,
  type Required,
  type TlsVersionName,
} from "./matrix-model.js";
import { Problems, checkKeys, isPlainObject, joinPath, oneOf, suggest } from "./validate.js";

/** Expectations under which a minimum TLS version means something. */
const TLS_CAPABLE: readonly string[] = ["tls", "vmware-authd", "rdp", "any"];

const TOP_KEYS = ["mode", "product", "version", "roles", "rows", "infrastructure", "related"] as const;
const ROW_KEYS = ["id", "client", "server", "sameHost", "port", "ports", "transport", "expect", "minTls", "certificate", "when", "required", "source", "impact", "notes"] as const;
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
  let certificate: CertificatePolicy = "none";
  if (v.certificate !== undefined) {
    certificate = enumValue(v, "certificate", path, CERTIFICATE_POLICIES, oneOf(CERTIFICATE_POLICIES), problems) ?? "none";
    if (certificate !== "none" && expect && !TLS_CAPABLE.includes(expect)) {
      problems.expected(joinPath(path, "certificate"), `"none" when expect is ${JSON.stringify(expect)}`, v.certificate);
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
    certificate,
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
