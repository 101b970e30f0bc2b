import { describe, it, expect } from "vitest";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  MatrixError,
  builtinMatrix,
  formatPorts,
  loadMatrixFile,
  mergeMatrix,
  parseMatrixText,
  roleNames,
  rowMatches,
  validateMatrixDocument,
} from "../../src/policy/matrix.js";
import type { Matrix, MatrixRow } from "../../src/policy/matrix.js";
import { Problems } from "../../src/policy/validate.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, "../..");
const SHARED = path.resolve(REPO, "../shared");
const MATRIX_MD = path.join(SHARED, "phoenix-matrix.md");
const SEED = path.join(SHARED, "seed/ports-and-communication-protocols.txt");

const tmp = mkdtempSync(path.join(tmpdir(), "policy-matrix-"));
let n = 0;
function writeTmp(text: string, ext = "txt"): string {
  const p = path.join(tmp, `m${n++}.${ext}`);
  writeFileSync(p, text);
  return p;
}

/** The problems a matrix text is refused with ([] when it is accepted). */
function problemsOf(text: string): string[] {
  try {
    parseMatrixText(text, "t");
    return [];
  } catch (err) {
    if (err instanceof MatrixError) return err.problems;
    throw err;
  }
}

/** A complete, valid row for tests to spoil one field at a time. */
const goodRow = {
  id: "extra-8443",
  client: "proxy",
  server: "cloud",
  port: 8443,
  transport: "tcp",
  expect: "tls",
  minTls: "TLS 1.2",
};
function withRow(row: Record<string, unknown>): string {
  return JSON.stringify({ rows: [row] });
}

interface MdRow {
  id: string;
  client: string;
  server: string;
  /** "esxi (managed or standalone)" names both ESXi roles. */
  servers: string[];
  port: number;
  transport: string;
  wire: string;
  when: string;
}

/** The table of phoenix-matrix.md, read from its own words (independent of our JSON). */
function readMatrixMd(): MdRow[] {
  const out: MdRow[] = [];
  for (const line of readFileSync(MATRIX_MD, "utf8").split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    // | id | client → server | port / transport | what | when |
    if (cells.length < 6 || !/^[a-z]+-\d+$/.test(cells[1])) continue;
    const both = /\(managed or standalone\)/.test(cells[2]);
    const [client, server] = cells[2].replace(/\s*\([^)]*\)/g, "").split("→").map((s) => s.trim().split(/\s+/).pop()!.toLowerCase());
    const servers = both ? [server, `${server}-standalone`] : [server];
    const pt = /(\d+)\/(tcp|udp)/.exec(cells[3])!;
    out.push({ id: cells[1], client, server, servers, port: Number(pt[1]), transport: pt[2], wire: cells[4], when: cells[5] });
  }
  return out;
}

describe.skipIf(!existsSync(MATRIX_MD))("built-in matrix against ../shared/phoenix-matrix.md", () => {
  const md = existsSync(MATRIX_MD) ? readMatrixMd() : [];
  const m = builtinMatrix();

  it("has exactly the rows of the table, in its order", () => {
    expect(md.length).toBe(12);
    expect(m.rows.map((r) => r.id)).toEqual(md.map((r) => r.id));
  });

  it.each(md.map((r) => [r.id, r] as const))("%s: roles, port and transport", (id, r) => {
    const row = m.rows.find((x) => x.id === id)!;
    // "proxy → esxi" only for standalone ESXi is modelled as the esxi-standalone role.
    const servers = r.servers.length === 1 && r.server === "esxi" && /standalone/.test(r.when) ? ["esxi-standalone"] : r.servers;
    expect(row.client).toBe(r.client);
    expect(row.servers).toEqual(servers);
    expect(row.server).toBe(servers[0]);
    expect(row.ports).toEqual([{ first: r.port, last: r.port }]);
    expect(row.transport).toBe(r.transport);
  });

  it.each(md.map((r) => [r.id, r] as const))("%s: what must cross the wire", (id, r) => {
    const row = m.rows.find((x) => x.id === id)!;
    const want = /VMware authd/.test(r.wire)
      ? "vmware-authd"
      : /^TLS/.test(r.wire)
        ? "tls"
        : /RDP/.test(r.wire)
          ? "rdp"
          : /SSH/.test(r.wire)
            ? "ssh"
            : /NTP/.test(r.wire)
              ? "ntp"
              : /NFS/.test(r.wire)
                ? "nfs"
                : "?";
    expect(row.expect).toBe(want);
    // "TLS on these ports must be TLS 1.2 or newer."
    expect(row.minTls).toBe(want === "tls" || want === "vmware-authd" ? "TLS 1.2" : null);
  });
});

describe.skipIf(!existsSync(SEED))("built-in matrix sources", () => {
  it("quotes the seed page word for word where a row cites it", () => {
    const seed = readFileSync(SEED, "utf8").replace(/\s+/g, " ");
    const cited = builtinMatrix().rows.filter((r) => r.source.startsWith("Seed page"));
    expect(cited.length).toBeGreaterThanOrEqual(8);
    for (const r of cited) {
      // Seed page, row "443 | HTTPS+TLS": "quoted text" (…)
      const quote = /^Seed page, row "[^"]+": "(.+?)"(?: \(|$)/.exec(r.source);
      expect(quote, r.id).not.toBeNull();
      expect(seed.includes(quote![1].replace(/\s+/g, " ")), `${r.id}: ${quote![1]}`).toBe(true);
    }
  });
});

describe("built-in matrix shape", () => {
  const m = builtinMatrix();

  it("models the standalone ESXi, the 902 path and the local guest row as the brief says", () => {
    const row = (id: string) => m.rows.find((r) => r.id === id)!;
    expect(row("esxi-443").server).toBe("esxi-standalone");
    // 902 is expected to every ESXi host, managed or standalone (shared/phoenix-matrix.md, corrected).
    expect(row("esxi-902").servers).toEqual(["esxi", "esxi-standalone"]);
    expect(row("guest-3545")).toMatchObject({ client: "guest", server: "guest", sameHost: true });
    expect(m.rows.filter((r) => r.sameHost).map((r) => r.id)).toEqual(["guest-3545"]);
  });

  it("lists DNS, ARP and ND as infrastructure, and VMware's own 902/udp and 903 as related", () => {
    const dnsUdp = m.infrastructure.find((e) => e.transport === "udp" && rowMatches(e, 53, "udp"));
    expect(dnsUdp?.expect).toBe("dns");
    expect(m.infrastructure.some((e) => e.transport === "arp" && e.ports.length === 0)).toBe(true);
    const nd = m.infrastructure.find((e) => e.transport === "icmpv6");
    // RFC 4861 §4: types 133-137 are Router/Neighbor Solicitation/Advertisement and Redirect.
    expect(nd?.icmpTypes).toEqual([133, 134, 135, 136, 137]);
    const hb = m.related.find((r) => rowMatches(r, 902, "udp"));
    expect(hb).toMatchObject({ client: "esxi", server: "vcenter" });
    expect(m.related.some((r) => rowMatches(r, 903, "tcp"))).toBe(true);
    // Nothing related is on a port/transport the proxy's rows expect.
    for (const r of m.related) for (const row of m.rows) expect(rowMatches(row, r.ports[0].first, r.transport)).toBe(false);
  });

  it("has unique ids across all sections and the standard roles", () => {
    const ids = [...m.rows, ...m.infrastructure, ...m.related].map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(Object.keys(m.roles).sort()).toEqual(
      ["proxy", "vcenter", "esxi", "esxi-standalone", "guest", "ntp", "cloud", "cloudcache"].sort(),
    );
  });

  it("hands out copies, so a caller cannot change the built-in matrix", () => {
    const a = builtinMatrix();
    a.rows.pop();
    a.rows[0].ports[0].first = 1;
    const b = builtinMatrix();
    expect(b.rows.length).toBe(12);
    expect(b.rows[0].ports[0].first).toBe(443);
  });
});

describe("rowMatches and formatPorts", () => {
  const row: Pick<MatrixRow, "ports" | "transport"> = {
    ports: [
      { first: 443, last: 443 },
      { first: 8000, last: 8010 },
    ],
    transport: "tcp",
  };
  it("matches single ports and both ends of a range, on the row's transport only", () => {
    expect(rowMatches(row, 443, "tcp")).toBe(true);
    expect(rowMatches(row, 8000, "tcp")).toBe(true);
    expect(rowMatches(row, 8010, "tcp")).toBe(true);
    expect(rowMatches(row, 7999, "tcp")).toBe(false);
    expect(rowMatches(row, 8011, "tcp")).toBe(false);
    expect(rowMatches(row, 443, "udp")).toBe(false);
  });
  it("writes ports as a person would", () => {
    expect(formatPorts(row.ports)).toBe("443, 8000-8010");
  });
});

describe("valid matrix files", () => {
  const base = builtinMatrix();

  it("extends by default (JSON): a new id is added, an existing id replaces that row in place", () => {
    const file = writeTmp(
      JSON.stringify({
        rows: [
          { ...goodRow },
          { id: "cloud-443", client: "proxy", server: "cloud", ports: [443, "8443-8444"], transport: "tcp", expect: "tls", minTls: "TLS 1.3" },
        ],
      }),
    );
    const m = loadMatrixFile(file);
    expect(m.rows.length).toBe(base.rows.length + 1);
    expect(m.rows.map((r) => r.id)).toEqual([...base.rows.map((r) => r.id), "extra-8443"]);
    const cloud = m.rows[0];
    expect(cloud.id).toBe("cloud-443");
    expect(cloud.minTls).toBe("TLS 1.3");
    expect(cloud.ports).toEqual([
      { first: 443, last: 443 },
      { first: 8443, last: 8444 },
    ]);
    // Replaced whole: fields the file left out take their defaults, not the built-in row's.
    expect(cloud.when).toBe("always");
    expect(cloud.source).toBe(file);
    expect(cloud.notes).toBeUndefined();
    expect(m.product).toBe(base.product);
    expect(m.infrastructure).toEqual(base.infrastructure);
    expect(m.related).toEqual(base.related);
  });

  it("extends from YAML the same way as from JSON", () => {
    const yaml = [
      "# comments are fine in YAML",
      "mode: extend",
      "rows:",
      "  - id: extra-8443",
      "    client: proxy",
      "    server: cloud",
      "    port: 8443",
      "    transport: tcp",
      "    expect: tls",
      "    minTls: TLS 1.2",
      "",
    ].join("\n");
    const fromYaml = loadMatrixFile(writeTmp(yaml, "yaml"));
    const fromJson = loadMatrixFile(writeTmp(withRow(goodRow), "yaml"));
    // Same content, different file names as default sources.
    const strip = (m: Matrix) => m.rows.map((r) => ({ ...r, source: "" }));
    expect(strip(fromYaml)).toEqual(strip(fromJson));
    expect(fromYaml.rows.at(-1)?.ports).toEqual([{ first: 8443, last: 8443 }]);
  });

  it("decides JSON or YAML by content, not by the file name", () => {
    // A .json name holding YAML, and a .yaml name holding JSON, both load.
    expect(loadMatrixFile(writeTmp("rows: []\n", "json")).rows.length).toBe(base.rows.length);
    expect(loadMatrixFile(writeTmp('{"rows": []}', "yaml")).rows.length).toBe(base.rows.length);
  });

  it("replaces the whole matrix, keeping only the standard role names", () => {
    const m = parseMatrixText(
      JSON.stringify({ mode: "replace", product: "P", roles: { prism: "Prism" }, rows: [{ ...goodRow, server: "prism" }] }),
      "r.json",
    );
    expect(m.product).toBe("P");
    expect(m.version).toBe("");
    expect(m.rows.map((r) => r.id)).toEqual(["extra-8443"]);
    expect(m.infrastructure).toEqual([]);
    expect(m.related).toEqual([]);
    expect(roleNames(m)).toContain("prism");
    expect(roleNames(m)).toContain("esxi");
  });

  it("accepts an extra role declared in the same file, and then in an extend file on top", () => {
    const m1 = parseMatrixText(JSON.stringify({ roles: { "web-proxy": "outbound proxy" }, rows: [{ ...goodRow, server: "web-proxy" }] }), "a");
    expect(m1.rows.at(-1)?.server).toBe("web-proxy");
    // A second file may use the role the first declared.
    const m2 = parseMatrixText(JSON.stringify({ rows: [{ ...goodRow, id: "second", server: "web-proxy" }] }), "b", m1);
    expect(m2.rows.at(-1)?.server).toBe("web-proxy");
  });

  it("merges infrastructure and related by id too", () => {
    const m = mergeMatrix(base, {
      mode: "extend",
      infrastructure: [{ id: "dns-53-udp", transport: "udp", ports: [{ first: 5353, last: 5353 }], icmpTypes: [], expect: "dns", description: "", source: "x" }],
    });
    expect(m.infrastructure.length).toBe(base.infrastructure.length);
    expect(rowMatches(m.infrastructure[0], 5353, "udp")).toBe(true);
  });
});

describe("the worked example in docs/matrix-format.md", () => {
  const doc = readFileSync(path.join(REPO, "docs/matrix-format.md"), "utf8");
  const example = doc.slice(doc.indexOf("## Worked example"));
  const block = (lang: string, from = 0) => {
    const start = example.indexOf("```" + lang + "\n", from);
    return example.slice(start + lang.length + 4, example.indexOf("```", start + 3));
  };

  it("loads in JSON and in YAML to the same Nutanix matrix", () => {
    const json = parseMatrixText(block("json"), "ex");
    const yaml = parseMatrixText(block("yaml"), "ex");
    expect(yaml).toEqual(json);
    expect(json.product).toBe("Nutanix AHV backup proxy");
    expect(json.rows.map((r) => `${r.client}>${r.server} ${formatPorts(r.ports)}/${r.transport} ${r.expect} ${r.minTls}`)).toEqual([
      "proxy>prism-element 9440/tcp tls TLS 1.2",
      "proxy>prism-central 9440/tcp tls TLS 1.2",
      "proxy>cloud 443/tcp tls TLS 1.2",
    ]);
    // Nothing VMware is left after replace.
    expect(json.rows.some((r) => r.server.startsWith("esxi") || r.server === "vcenter")).toBe(false);
  });

  it("the extend example loads on top of the built-in matrix", () => {
    const second = example.indexOf("```yaml", example.indexOf("An `extend` file"));
    const m = parseMatrixText(block("yaml", second), "ext");
    expect(m.rows.find((r) => r.id === "cloud-443")?.minTls).toBe("TLS 1.3");
    expect(m.rows.find((r) => r.id === "web-proxy-3128")?.expect).toBe("http");
  });
});

describe("invalid matrix files: exact messages", () => {
  const ROLES = 'a role (proxy, vcenter, esxi, esxi-standalone, guest, ntp, cloud, cloudcache) or "any"';

  it("bad port", () => {
    expect(problemsOf(withRow({ ...goodRow, port: "https" }))).toEqual([
      'rows[0].port: expected a port number 1-65535 or a range "a-b", got "https"',
    ]);
    expect(problemsOf(withRow({ ...goodRow, port: 0 }))).toEqual(['rows[0].port: expected a port number 1-65535 or a range "a-b", got 0']);
    expect(problemsOf(withRow({ ...goodRow, port: 65536 }))).toEqual([
      'rows[0].port: expected a port number 1-65535 or a range "a-b", got 65536',
    ]);
    expect(problemsOf(withRow({ ...goodRow, port: 44.3 }))).toEqual([
      'rows[0].port: expected a port number 1-65535 or a range "a-b", got 44.3',
    ]);
    // The example of the brief: the fourth row.
    const rows = [0, 1, 2].map((i) => ({ ...goodRow, id: `r${i}` }));
    expect(problemsOf(JSON.stringify({ rows: [...rows, { ...goodRow, port: "https" }] }))).toEqual([
      'rows[3].port: expected a port number 1-65535 or a range "a-b", got "https"',
    ]);
  });

  it("bad range", () => {
    const { port: _p, ...noPort } = goodRow;
    expect(problemsOf(withRow({ ...noPort, ports: [443, "2000-1000"] }))).toEqual([
      'rows[0].ports[1]: expected a range "a-b" with a ≤ b, got "2000-1000" (did you mean "1000-2000"?)',
    ]);
    expect(problemsOf(withRow({ ...noPort, ports: ["1-70000"] }))).toEqual([
      'rows[0].ports[0]: expected a range "a-b" of ports 1-65535, got "1-70000"',
    ]);
    expect(problemsOf(withRow({ ...noPort, ports: ["100 - 200"] }))).toEqual([
      'rows[0].ports[0]: expected a port number 1-65535 or a range "a-b", got "100 - 200"',
    ]);
    expect(problemsOf(withRow({ ...noPort, ports: [] }))).toEqual(["rows[0].ports: expected at least one port, got an empty list"]);
    expect(problemsOf(withRow({ ...noPort, ports: 443 }))).toEqual(['rows[0].ports: expected a list of ports (use "port" for one), got 443']);
    expect(problemsOf(withRow({ ...goodRow, ports: [443] }))).toEqual(['rows[0]: expected either "port" or "ports", got both']);
  });

  it("unknown transport", () => {
    expect(problemsOf(withRow({ ...goodRow, transport: "sctp" }))).toEqual(['rows[0].transport: expected "tcp" or "udp", got "sctp"']);
    expect(problemsOf(withRow({ ...goodRow, transport: "TCP" }))).toEqual([
      'rows[0].transport: expected "tcp" or "udp", got "TCP" (did you mean "tcp"?)',
    ]);
  });

  it("unknown role", () => {
    expect(problemsOf(withRow({ ...goodRow, server: "esx" }))).toEqual([`rows[0].server: expected ${ROLES}, got "esx" (did you mean "esxi"?)`]);
    expect(problemsOf(withRow({ ...goodRow, client: "backup-server" }))).toEqual([`rows[0].client: expected ${ROLES}, got "backup-server"`]);
  });

  it("unknown expectation and a minimum TLS version where no TLS is expected", () => {
    expect(problemsOf(withRow({ ...goodRow, expect: "tsl" }))).toEqual([
      'rows[0].expect: expected one of "tls", "vmware-authd", "ssh", "rdp", "http", "ntp", "dns", "nfs" or "any", got "tsl" (did you mean "tls"?)',
    ]);
    expect(problemsOf(withRow({ ...goodRow, expect: "ssh" }))).toEqual(['rows[0].minTls: expected null when expect is "ssh", got "TLS 1.2"']);
    expect(problemsOf(withRow({ ...goodRow, minTls: "TLSv1.2" }))).toEqual([
      'rows[0].minTls: expected null or one of "SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2" or "TLS 1.3", got "TLSv1.2" (did you mean "TLS 1.2"?)',
    ]);
  });

  it("certificate: one of the policies, only where TLS is expected, \"none\" when not given; the built-in rows' values", () => {
    expect(problemsOf(withRow({ ...goodRow, certificate: "pubic" }))).toEqual([
      'rows[0].certificate: expected "public", "private-ca", "self-signed" or "none", got "pubic" (did you mean "public"?)',
    ]);
    expect(problemsOf(withRow({ ...goodRow, expect: "ssh", minTls: null, certificate: "public" }))).toEqual([
      'rows[0].certificate: expected "none" when expect is "ssh", got "public"',
    ]);
    const m = builtinMatrix();
    expect(Object.fromEntries(m.rows.filter((r) => r.certificate !== "none").map((r) => [r.id, r.certificate]))).toEqual({
      "cloud-443": "public", "cloudcache-443": "self-signed", "vcenter-443": "private-ca", "esxi-443": "self-signed", "esxi-902": "self-signed",
    });
    expect(parseMatrixText(withRow(goodRow), "extra.json").rows.find((r) => r.id === "extra-8443")?.certificate).toBe("none");
  });

  it("missing id and other missing fields", () => {
    const { id: _id, ...noId } = goodRow;
    expect(problemsOf(withRow(noId))).toEqual([
      'rows[0].id: missing, expected an id of lower-case letters, digits, ".", "_" or "-" (e.g. "cloud-443")',
    ]);
    expect(problemsOf(withRow({ id: "bare" }))).toEqual([
      `rows[0].client: missing, expected ${ROLES}`,
      `rows[0].server: missing, expected ${ROLES}`,
      'rows[0].ports: missing, expected a list of ports (each a port number 1-65535 or a range "a-b"), or "port" for one',
      'rows[0].transport: missing, expected "tcp" or "udp"',
      'rows[0].expect: missing, expected one of "tls", "vmware-authd", "ssh", "rdp", "http", "ntp", "dns", "nfs" or "any"',
    ]);
    expect(problemsOf(withRow({ ...goodRow, id: "Cloud 443" }))).toEqual([
      'rows[0].id: expected an id of lower-case letters, digits, ".", "_" or "-" (e.g. "cloud-443"), got "Cloud 443"',
    ]);
  });

  it("duplicate id, within a section and across sections", () => {
    expect(problemsOf(JSON.stringify({ rows: [goodRow, { ...goodRow }] }))).toEqual([
      'rows[1].id: expected a unique id, got "extra-8443" again (first at rows[0].id)',
    ]);
    expect(problemsOf(JSON.stringify({ rows: [goodRow], related: [{ ...goodRow }] }))).toEqual([
      'related[0].id: expected a unique id, got "extra-8443" again (first at rows[0].id)',
    ]);
    // Extending: an id the built-in matrix uses in another section cannot move.
    expect(problemsOf(JSON.stringify({ related: [{ ...goodRow, id: "cloud-443" }] }))).toEqual([
      'related[0].id: expected an id not used elsewhere, got "cloud-443", which the base matrix uses in rows',
    ]);
  });

  it("unknown key, with and without a near miss", () => {
    expect(problemsOf(withRow({ ...goodRow, trasnport: "tcp" }))).toEqual(['rows[0].trasnport: unknown key; did you mean "transport"?']);
    expect(problemsOf(JSON.stringify({ row: [goodRow] }))).toEqual(['row: unknown key; did you mean "rows"?']);
    expect(problemsOf(withRow({ ...goodRow, colour: "red" }))).toEqual([
      "rows[0].colour: unknown key; expected one of id, client, server, sameHost, port, ports, transport, expect, minTls, certificate, when, required, source, impact, notes",
    ]);
  });

  it("takes a list of server roles, and names the wrong one in it", () => {
    const m = parseMatrixText(withRow({ ...goodRow, server: ["cloud", "cloudcache"] }), "m.json");
    expect(m.rows.find((r) => r.id === "extra-8443")).toMatchObject({ server: "cloud", servers: ["cloud", "cloudcache"] });
    expect(problemsOf(withRow({ ...goodRow, server: ["cloud", "clod"] }))).toEqual([
      'rows[0].server[1]: expected a role (proxy, vcenter, esxi, esxi-standalone, guest, ntp, cloud, cloudcache) or "any", got "clod" (did you mean "cloud"?)',
    ]);
    expect(problemsOf(withRow({ ...goodRow, server: [] }))).toEqual(["rows[0].server: expected a role or a non-empty list of roles, got an empty list"]);
  });

  it("wrong type", () => {
    expect(problemsOf(JSON.stringify({ rows: { id: "x" } }))).toEqual(["rows: expected a list, got an object"]);
    expect(problemsOf(JSON.stringify({ rows: ["cloud-443"] }))).toEqual(['rows[0]: expected an object (a matrix row), got "cloud-443"']);
    expect(problemsOf(withRow({ ...goodRow, when: 5 }))).toEqual(["rows[0].when: expected a string (the condition in words), got 5"]);
    expect(problemsOf(withRow({ ...goodRow, sameHost: "yes" }))).toEqual(['rows[0].sameHost: expected true or false, got "yes"']);
    expect(problemsOf("version: 1.0\nrows: []\n")).toEqual(['version: expected a string (quote it in YAML: "1.0"), got 1']);
    expect(problemsOf("[]")).toEqual(['top level: expected an object with "rows", got an empty list']);
    expect(problemsOf(JSON.stringify({ mode: "merge" }))).toEqual(['mode: expected "extend" or "replace", got "merge"']);
  });

  it("replace needs product and rows", () => {
    expect(problemsOf(JSON.stringify({ mode: "replace" }))).toEqual([
      'product: missing, expected a string (required when mode is "replace")',
      'rows: missing, expected a list of rows (required when mode is "replace")',
    ]);
  });

  it("infrastructure entries: ports only with tcp/udp, ICMP types only with icmpv6", () => {
    expect(problemsOf(JSON.stringify({ infrastructure: [{ id: "a", transport: "arp", port: 1 }] }))).toEqual([
      'infrastructure[0].port: expected no ports when transport is "arp", got 1',
    ]);
    expect(problemsOf(JSON.stringify({ infrastructure: [{ id: "b", transport: "udp", port: 53, icmpTypes: [1] }] }))).toEqual([
      'infrastructure[0].icmpTypes: expected no ICMP types unless transport is "icmpv6", got a list',
    ]);
    expect(problemsOf(JSON.stringify({ infrastructure: [{ id: "c", transport: "icmpv6", icmpTypes: [135, 256] }] }))).toEqual([
      "infrastructure[0].icmpTypes[1]: expected an ICMPv6 type 0-255, got 256",
    ]);
  });

  it("reports every mistake of a file at once, in one error", () => {
    const text = JSON.stringify({
      rows: [
        { ...goodRow, port: "https" },
        { ...goodRow, id: "b", transport: "sctp", server: "nobody" },
      ],
    });
    let err: unknown;
    try {
      parseMatrixText(text, "many.json");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MatrixError);
    const problems = (err as MatrixError).problems;
    expect(problems).toEqual([
      'rows[0].port: expected a port number 1-65535 or a range "a-b", got "https"',
      `rows[1].server: expected ${ROLES}, got "nobody"`,
      'rows[1].transport: expected "tcp" or "udp", got "sctp"',
    ]);
    expect((err as MatrixError).message).toBe(`matrix file many.json: 3 problems:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  });

  it("YAML syntax error, with its line and column", () => {
    const yaml = ["rows:", "  - id: a", "    ports: [443,", "  bad: : x", ""].join("\n");
    const problems = problemsOf(yaml);
    expect(problems.length).toBe(1);
    expect(problems[0]).toMatch(/^line 4, column 3: YAML syntax error: \S/);
    // Duplicate keys are a YAML error too (YAML 1.2 §3.2.1.1: keys are unique).
    expect(problemsOf("rows: []\nrows: []\n")[0]).toMatch(/^line 2, column 1: YAML syntax error: Map keys must be unique/);
  });

  it("a file that cannot be read", () => {
    let err: unknown;
    try {
      loadMatrixFile(path.join(tmp, "does-not-exist.yaml"));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MatrixError);
    expect((err as MatrixError).problems[0]).toMatch(/^cannot read the file \(ENOENT\)/);
  });
});

describe("validateMatrixDocument", () => {
  it("uses the given default source for rows without one", () => {
    const p = new Problems();
    const f = validateMatrixDocument({ rows: [goodRow] }, p, "site.yaml");
    expect(p.list).toEqual([]);
    expect(f.rows?.[0].source).toBe("site.yaml");
    expect(f.mode).toBe("extend");
  });
});

describe("required (what missing-expected checks)", () => {
  it("the built-in rows that every proxy needs are 'always', per-host rows 'if-present', the rest optional", async () => {
    const { builtinMatrix } = await import("../../src/policy/matrix.js");
    const req = Object.fromEntries(builtinMatrix().rows.map((r) => [r.id, r.required]));
    expect(req).toEqual({
      "cloud-443": "always", "cloudcache-443": "if-present", "vcenter-443": "if-present", "esxi-443": "if-present",
      "esxi-902": "if-present", "guest-3542": "optional", "guest-3545": "optional", "guest-3389": "optional",
      "guest-22": "optional", "ntp-123": "always", "inbound-22": "optional", "inbound-2049": "optional",
    });
  });
  it("rejects an unknown value with the exact text", async () => {
    const { parseMatrixText } = await import("../../src/policy/matrix.js");
    expect(() =>
      parseMatrixText(JSON.stringify({ rows: [{ id: "x-1", client: "proxy", server: "cloud", port: 1, transport: "tcp", expect: "tls", required: "sometimes" }] }), "m.json"),
    ).toThrow('rows[0].required: expected "always", "if-present" or "optional", got "sometimes"');
  });
});

describe("phoenix-netcheck matrix, printed", () => {
  it("wraps to the terminal's width, and at 200 columns shows every row whole", async () => {
    const { renderMatrixTable } = await import("../../src/cli/matrix.js");
    const m = builtinMatrix();
    for (const width of [40, 60, 80, 120, 200]) {
      const lines = renderMatrixTable(m, width).split("\n");
      expect(lines.filter((l) => [...l].length > width), `width ${width}`).toEqual([]);
    }
    const wide = renderMatrixTable(m, 200);
    for (const r of m.rows) expect(wide).toContain(`│ ${r.id} `);
    // Wide: each row's certificate property (the cloud's chain must be public; vCenter's VMCA is normal).
    const cloud = wide.split("\n").find((l) => l.includes("│ cloud-443 "))!;
    expect(cloud).toMatch(/│ TLS 1\.2 +│ always +│ public +│/);
    expect(wide.split("\n").find((l) => l.includes("│ vcenter-443 "))).toMatch(/│ private-ca +│/);
  });
});
