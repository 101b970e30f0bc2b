// What the Phoenix lab expects the analyzer to say, worked out from what the lab deliberately did.
//
// This module is the lab's oracle. It is written from the project's *documents*, never from the
// analyzer's code: the port matrix is /work/shared/phoenix-matrix.md (rows, directions, the
// "required" marks; esxi-902 to every ESXi host, managed or standalone), role inference is
// docs/roles.md ("Inferred roles: the evidence": the proxy first, then addresses sharing its MAC,
// vCenter from names, ESXi from the authd banner with its registration unknown, cloud names,
// guests, NTP), and the judge is docs/findings.md (candidate rows, one finding when all
// candidates break alike, ambiguous-role when they disagree, the checks in their order,
// not-verifiable, grouping, ranking, verdict, coverage, exit code). Nothing here reads the
// analyzer's output or its code.
//
// Pure functions only (no I/O), so the judge can be read and checked on its own.

/**
 * Matrix rows (phoenix-matrix.md). `servers`: the server roles the row lists (esxi-902 lists
 * both ESXi roles). `sameHost`: client and server are one host.
 */
export const MATRIX = [
  { id: "cloud-443", client: "proxy", servers: ["cloud"], transport: "tcp", port: 443, expect: "tls", minTls: "TLS 1.2", certificate: "public", required: "always" },
  { id: "cloudcache-443", client: "proxy", servers: ["cloudcache"], transport: "tcp", port: 443, expect: "tls", minTls: "TLS 1.2", certificate: "self-signed", required: "if-present" },
  { id: "vcenter-443", client: "proxy", servers: ["vcenter"], transport: "tcp", port: 443, expect: "tls", minTls: "TLS 1.2", certificate: "private-ca", required: "if-present" },
  { id: "esxi-443", client: "proxy", servers: ["esxi-standalone"], transport: "tcp", port: 443, expect: "tls", minTls: "TLS 1.2", certificate: "self-signed", required: "if-present" },
  { id: "esxi-902", client: "proxy", servers: ["esxi", "esxi-standalone"], transport: "tcp", port: 902, expect: "vmware-authd", minTls: "TLS 1.2", certificate: "self-signed", required: "if-present" },
  { id: "guest-3542", client: "proxy", servers: ["guest"], transport: "tcp", port: 3542, expect: "tls", minTls: "TLS 1.2", required: "optional" },
  { id: "guest-3545", client: "guest", servers: ["guest"], transport: "tcp", port: 3545, expect: "tls", minTls: "TLS 1.2", required: "optional", sameHost: true },
  { id: "guest-3389", client: "proxy", servers: ["guest"], transport: "tcp", port: 3389, expect: "rdp", minTls: null, required: "optional" },
  { id: "guest-22", client: "proxy", servers: ["guest"], transport: "tcp", port: 22, expect: "ssh", minTls: null, required: "optional" },
  { id: "ntp-123", client: "proxy", servers: ["ntp"], transport: "udp", port: 123, expect: "ntp", minTls: null, required: "always" },
  { id: "inbound-22", client: "any", servers: ["proxy"], transport: "tcp", port: 22, expect: "ssh", minTls: null, required: "optional" },
  { id: "inbound-2049", client: "any", servers: ["proxy"], transport: "tcp", port: 2049, expect: "nfs", minTls: null, required: "optional" },
];

/** The standard roles (roles.md, "Role names"). */
export const ROLES = ["proxy", "vcenter", "esxi", "esxi-standalone", "guest", "ntp", "cloud", "cloudcache"];

/** Infrastructure: shown, never a violation (DNS). */
export const INFRASTRUCTURE = [
  { id: "dns-53-udp", transport: "udp", port: 53 },
  { id: "dns-53-tcp", transport: "tcp", port: 53 },
];

const TLS_RANK = { "SSL 2.0": 0, "SSL 3.0": 1, "TLS 1.0": 2, "TLS 1.1": 3, "TLS 1.2": 4, "TLS 1.3": 5 };

/** Protocols the detectors recognise (report-schema.md, `protocol`); text ones are http and plaintext. */
const TEXT = new Set(["http", "plaintext"]);
const KNOWN_OTHER = new Set(["tls", "vmware-authd", "ssh", "rdp", "http", "ntp", "dns", "plaintext"]);

/** Names of the cloud (roles.md: `*.druva.com`, `*.druva.net`, `*.amazonaws.com`). */
export function isCloudName(name) {
  const n = String(name).toLowerCase().replace(/\.$/, "");
  return [".druva.com", ".druva.net", ".amazonaws.com"].some((s) => n.endsWith(s) || n === s.slice(1));
}

/** A vCenter's name (roles.md: `vcenter…`, `vcsa…` as the first label). */
export function isVcenterName(name) {
  const first = String(name).toLowerCase().split(".")[0];
  return first.startsWith("vcenter") || first.startsWith("vcsa");
}

const VSPHERE_PATHS = ["/sdk", "/api/", "/rest/", "/ui/"];

export const SEVERITY = {
  blocked: "error",
  refused: "error",
  "plaintext-where-tls-required": "error",
  "protocol-mismatch": "error",
  "weak-tls": "error",
  "tls-not-established": "error",
  "wrong-path": "warning",
  "certificate-not-verifiable": "info",
  "certificate-self-signed": "error",
  "wrong-direction": "warning",
  "missing-expected": "warning",
  "ambiguous-role": "info",
  // unexpected-port: warning when the proxy is one of the hosts, info otherwise (below)
};

// ---------------------------------------------------------------------------------------------
// A small seeded PRNG (mulberry32) so `--seed N` gives the same lab every time.

export function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    /** integer in [lo, hi] */
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (list) => list[Math.floor(next() * list.length)],
    shuffle: (list) => {
      const a2 = [...list];
      for (let i = a2.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [a2[i], a2[j]] = [a2[j], a2[i]];
      }
      return a2;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Role inference (roles.md, "Inferred roles: the evidence"), into a new map: the given roles are
// never changed and always win; the first inference for an address is kept.
//
// A conversation here is what one capture shows of a lab connection: { transport, client: {ip},
// server: {ip, port}, outcome, facts: { authdBanner, sni, certNames[], httpHost, httpPath,
// dnsAnswers: [{name, ip}], ntpServerAnswered } } — facts only as far as the capture shows them
// (a one-direction capture has no server bytes, a short snap length cuts names).
// macOf(ip): the source MAC of that address's packets, or null.

const PROXY_SHAPED = MATRIX.filter((r) => r.client === "proxy").map((r) => `${r.transport}/${r.port}`);

/** @returns { roles: Map<ip, role>, reasons: Map<ip, string>, unknownRegistration: Set<ip> } */
export function inferRoles(convs, given = new Map(), macOf = () => null) {
  const roles = new Map(given);
  const reasons = new Map();
  const unknownRegistration = new Set();
  const infer = (ip, role, why) => {
    if (roles.has(ip)) return false;
    roles.set(ip, role);
    reasons.set(ip, why);
    return true;
  };
  // 1. The proxy: the address that opened the most proxy-shaped conversations (then, on a tie,
  //    the one at an end of the most conversations); a tie in both leaves it unknown. Skipped when
  //    a proxy is given.
  let proxies = [...given.entries()].filter(([, r]) => r === "proxy").map(([ip]) => ip);
  if (proxies.length === 0) {
    const opened = new Map();
    const ends = new Map();
    for (const c of convs) {
      for (const ip of [c.client.ip, c.server.ip]) ends.set(ip, (ends.get(ip) ?? 0) + 1);
      if (PROXY_SHAPED.includes(`${c.transport}/${c.server.port}`)) opened.set(c.client.ip, (opened.get(c.client.ip) ?? 0) + 1);
    }
    const ranked = [...opened.keys()].map((ip) => [ip, opened.get(ip), ends.get(ip)]).sort((a, b) => b[1] - a[1] || b[2] - a[2]);
    if (ranked.length > 0 && !(ranked.length > 1 && ranked[1][1] === ranked[0][1] && ranked[1][2] === ranked[0][2])) {
      infer(ranked[0][0], "proxy", `opened ${ranked[0][1]} proxy-shaped conversations`);
      proxies = [ranked[0][0]];
    }
  }
  //    Then every address sharing a proxy address's MAC, unless that MAC is the source of more
  //    than four addresses (a router's).
  const addrs = [...new Set(convs.flatMap((c) => [c.client.ip, c.server.ip]))];
  for (const p of proxies) {
    const mac = macOf(p);
    if (!mac) continue;
    const same = addrs.filter((ip) => macOf(ip) === mac);
    if (same.length > 4) continue;
    for (const ip of same) if (ip !== p) infer(ip, "proxy", `shares MAC ${mac} with the proxy ${p}`);
  }
  const isProxy = (ip) => roles.get(ip) === "proxy";
  // 2. vCenter: names (SNI, certificate, HTTP Host, DNS answers), vSphere API paths.
  for (const c of convs) {
    const f = c.facts;
    const names = [f.sni, ...(f.certNames ?? []), f.httpHost].filter(Boolean);
    if (names.some(isVcenterName)) infer(c.server.ip, "vcenter", `name ${names.find(isVcenterName)}`);
    if (f.httpPath && VSPHERE_PATHS.some((p) => f.httpPath.startsWith(p))) infer(c.server.ip, "vcenter", `vSphere API ${f.httpPath}`);
    for (const a of f.dnsAnswers ?? []) if (isVcenterName(a.name)) infer(a.ip, "vcenter", `DNS answer ${a.name}`);
  }
  // 3. ESXi: the server that sent the authd banner on TCP 902 (never the proxy); registration
  //    unknown (no heartbeats to a vCenter cross the proxy's interface in the lab).
  for (const c of convs) {
    if (c.transport === "tcp" && c.server.port === 902 && c.facts.authdBanner && !isProxy(c.server.ip)) {
      if (infer(c.server.ip, "esxi", "sent the VMware authd banner on 902/tcp (registration unknown)")) unknownRegistration.add(c.server.ip);
    }
  }
  // 4. Cloud names.
  for (const c of convs) {
    const f = c.facts;
    const names = [f.sni, ...(f.certNames ?? [])].filter(Boolean);
    if (names.some(isCloudName)) infer(c.server.ip, "cloud", `name ${names.find(isCloudName)}`);
    for (const a of f.dnsAnswers ?? []) if (isCloudName(a.name)) infer(a.ip, "cloud", `DNS answer ${a.name}`);
  }
  // 5. Guests: servers of TCP 3542. 6. NTP: answered in server mode on UDP 123.
  for (const c of convs) if (c.transport === "tcp" && c.server.port === 3542) infer(c.server.ip, "guest", "server of TCP 3542");
  for (const c of convs) if (c.transport === "udp" && c.server.port === 123 && c.facts.ntpServerAnswered) infer(c.server.ip, "ntp", "answered NTP in server mode");
  return { roles, reasons, unknownRegistration };
}

// ---------------------------------------------------------------------------------------------
// The judge (findings.md). A conversation needs: id, transport, client {ip}, server {ip, port},
// protocol (what the server spoke, else the client), tls ({version} or null), outcome:
// "answered" | "S0" | "REJ" | "unanswered" (UDP) | "unreachable" (ICMP back), limits (what the
// capture could not show: start-missing, one-direction, snaplen, end-of-capture) and, for
// `protocol: "unknown"`, bothStartsSeen.

const required = (rowId) => MATRIX.find((r) => r.id === rowId)?.required ?? null;

/** What one candidate row says of a conversation (findings.md, "What each row checks"). */
export function check(row, c) {
  if (c.outcome === "REJ" || c.outcome === "unreachable") return "refused";
  if (c.outcome === "S0" || c.outcome === "unanswered") return c.limits.includes("end-of-capture") ? "not-verifiable" : "blocked";
  if (c.limits.length > 0) return "not-verifiable";
  const p = c.protocol;
  let tlsInside = false;
  if (row.expect === "tls") {
    if (TEXT.has(p)) return "plaintext-where-tls-required";
    if (p === "unknown") return c.bothStartsSeen ? "protocol-mismatch" : "not-verifiable";
    if (p !== "tls" && KNOWN_OTHER.has(p)) return "protocol-mismatch";
    tlsInside = p === "tls";
  } else if (row.expect === "vmware-authd") {
    if (p === "tls") return "protocol-mismatch"; // TLS from the first byte: not ESXi's authd
    if (TEXT.has(p)) return "plaintext-where-tls-required";
    if (p === "vmware-authd") {
      if (!c.tls) return "tls-not-established";
      tlsInside = true;
    } else if (KNOWN_OTHER.has(p) || p === "unknown") return "protocol-mismatch";
  } else if (row.expect !== "nfs" && p !== "none" && p !== row.expect && (KNOWN_OTHER.has(p) || p === "unknown")) {
    return "protocol-mismatch";
  } else tlsInside = p === "rdp" && c.tls !== null;
  if (tlsInside && c.tls) {
    if (c.tls.version === null) return "tls-not-established";
    if (row.minTls && TLS_RANK[c.tls.version] < TLS_RANK[row.minTls]) return "weak-tls";
    // TLS 1.3 encrypts the certificate: a row that checks it says so (findings.md, "Certificates").
    // The lab's other certificates are normal for their rows (self-signed on ESXi and vCenter, which private-ca allows).
    if (row.certificate && c.tls.version === "TLS 1.3") return "certificate-not-verifiable";
    // Every certificate the lab serves is self-signed (lab.mjs, cert()): the cloud's row, which wants a public chain, says so when it is in clear.
    if (row.certificate === "public" && TLS_RANK[c.tls.version] <= TLS_RANK["TLS 1.2"]) return "certificate-self-signed";
  }
  return "conforming";
}

/**
 * @param convs the conversations as this capture shows them
 * @param roleMap { roles: Map<ip, role>, unknownRegistration: Set<ip> }
 * @param capture { oneDirection, snaplen, duplicate, filter } what is known of the capture as a whole;
 *        filter: the `--filter` given, as [transport, port] pairs any of which a packet matches
 * @returns { conversations: Map<id, {clientRole, serverRole, rule, ruleAlternatives, findings, status, limits}>,
 *            findings (ranked), verdict, coverage: [codes], exitCode }
 */
export function judge(convs, roleMap, capture = {}) {
  const roleOf = (ip) => roleMap.roles.get(ip) ?? null;
  const ips = new Set(convs.flatMap((c) => [c.client.ip, c.server.ip]));
  const proxyKnown = [...ips].some((ip) => roleOf(ip) === "proxy");
  /** A host's possible roles, and whether they are a known set (a role, or the ESXi of unknown registration). */
  const possible = (ip) => {
    const r = roleOf(ip);
    if (r === null) return { set: ROLES.filter((x) => !(x === "proxy" && proxyKnown)), known: false };
    if (r === "esxi" && roleMap.unknownRegistration.has(ip)) return { set: ["esxi", "esxi-standalone"], known: true };
    return { set: [r], known: true };
  };
  const fits = (r, c, cs, ss) => r.transport === c.transport && r.port === c.server.port &&
    (r.client === "any" || cs.includes(r.client)) && r.servers.some((s) => ss.includes(s)) && (!r.sameHost || c.client.ip === c.server.ip);

  const per = new Map();
  const findings = [];
  const byKey = new Map();
  // Findings that are the same (code, row or candidate rows, hosts, port) are one finding.
  const raise = (code, severity, rule, rules, c) => {
    const key = [code, rule ?? "", (rules ?? []).join(","), c.transport, c.client.ip, c.server.ip, c.server.port].join("|");
    if (!byKey.has(key)) {
      const f = { code, severity, rule, rules: rules ?? [], transport: c.transport, client: c.client.ip, server: c.server.ip, port: c.server.port, conversations: [] };
      byKey.set(key, f);
      findings.push(f);
    }
    byKey.get(key).conversations.push(c.id);
    if (!per.get(c.id).findings.includes(code)) per.get(c.id).findings.push(code);
  };

  /** No row for these roles: wrong-path, wrong-direction or unexpected-port (findings.md, check 5 / codes). */
  const noRow = (c, cs, ss, anyKnown) => {
    const other = (list) => list.flatMap((r) => (r === "esxi" ? ["esxi-standalone"] : r === "esxi-standalone" ? ["esxi"] : []));
    const path = MATRIX.find((r) => fits(r, c, cs, other(ss)) && !fits(r, c, cs, ss));
    if (path && ss.every((r) => r === "esxi" || r === "esxi-standalone")) return { code: "wrong-path", rule: path.id };
    const reverse = anyKnown ? MATRIX.find((r) => r.client !== "any" && r.transport === c.transport && r.port === c.server.port &&
      ss.includes(r.client) && r.servers.some((s) => cs.includes(s))) : undefined;
    if (reverse) return { code: "wrong-direction", rule: reverse.id };
    return { code: "unexpected-port", rule: null };
  };

  for (const c of convs) {
    const cr = roleOf(c.client.ip);
    const sr = roleOf(c.server.ip);
    const v = { clientRole: cr, serverRole: sr, rule: null, ruleAlternatives: [], findings: [], status: "conforming", limits: [...c.limits] };
    per.set(c.id, v);
    const infra = INFRASTRUCTURE.find((e) => e.transport === c.transport && e.port === c.server.port);
    if (infra) {
      v.rule = infra.id;
      v.status = "infrastructure";
      continue;
    }
    const pc = possible(c.client.ip);
    const ps = possible(c.server.ip);
    const cands = MATRIX.filter((r) => fits(r, c, pc.set, ps.set));
    if (cands.length === 0) {
      const n = noRow(c, pc.set, ps.set, pc.known || ps.known);
      if (n.code === "unexpected-port") {
        raise(n.code, cr === "proxy" || sr === "proxy" ? "warning" : "info", null, null, c);
        v.status = "unexpected";
      } else {
        raise(n.code, SEVERITY[n.code], n.rule, null, c);
        v.status = "finding";
      }
      continue;
    }
    // Each candidate row judges; a known set of roles also counts its roles that no row fits.
    const results = cands.map((r) => ({ row: r.id, result: check(r, c) }));
    if (pc.known && ps.known) {
      for (const a of pc.set) for (const b of ps.set) {
        if (MATRIX.some((r) => fits(r, c, [a], [b]))) continue;
        results.push({ row: null, result: noRow(c, [a], [b], true).code });
      }
    }
    if (cands.length === 1) v.rule = cands[0].id;
    else v.ruleAlternatives = cands.map((r) => r.id);
    const rule = cands.length === 1 ? cands[0].id : null;
    const rules = cands.length === 1 ? null : cands.map((r) => r.id);
    const kinds = new Set(results.map((x) => x.result));
    if (kinds.size > 1) {
      raise("ambiguous-role", "info", rule, rules, c);
      v.status = "ambiguous";
      continue;
    }
    const [only] = kinds;
    if (only === "conforming") v.status = cands.length === 1 ? "conforming" : "ambiguous";
    else if (only === "not-verifiable") v.status = "not-verifiable";
    else {
      raise(only, SEVERITY[only], rule, rules, c);
      v.status = SEVERITY[only] === "info" ? "info" : "finding";
    }
    if (v.status !== "not-verifiable") v.limits = [];
  }

  // missing-expected: for every role present (an end of a conversation), the rows that should have
  // been seen; never for a row that has a conversation that is, or could be, it.
  const present = new Map();
  for (const ip of ips) {
    const p = possible(ip);
    if (!p.known) continue;
    for (const r of p.set) {
      if (!present.has(r)) present.set(r, new Set());
      // an ESXi host of unknown registration is an ESXi host (esxi-902), not surely a standalone one (esxi-443)
      if (!(roleMap.unknownRegistration.has(ip) && r === "esxi-standalone")) present.get(r).add(ip);
    }
  }
  const candidateOf = (c) => {
    const v = per.get(c.id);
    return v.rule !== null ? [v.rule, ...v.ruleAlternatives] : v.ruleAlternatives;
  };
  const seen = (rowId, serverIp) => convs.some((c) => candidateOf(c).includes(rowId) && (serverIp === undefined || c.server.ip === serverIp));
  // A row the --filter excludes is "not in the filter", never missing (coverage `filtered`).
  const inFilter = (row) => !capture.filter || capture.filter.some(([t, p]) => t === row.transport && p === row.port);
  for (const row of MATRIX) {
    if (row.required === "optional" || !inFilter(row)) continue;
    if (row.client !== "any" && !(present.get(row.client)?.size > 0)) continue;
    const miss = (server) => findings.push({ code: "missing-expected", severity: "warning", rule: row.id, rules: [], transport: row.transport, client: null, server, port: row.port, conversations: [] });
    if (row.required === "always") {
      if (!seen(row.id)) miss(null);
    } else {
      const hosts = new Set(row.servers.flatMap((s) => [...(present.get(s) ?? [])]));
      for (const ip of [...hosts].sort()) if (!seen(row.id, ip)) miss(ip);
    }
  }

  // Coverage and verdict (findings.md, "Verdict, coverage and exit code").
  const coverage = [];
  if (!proxyKnown) coverage.push("no-proxy");
  if (capture.snaplen) coverage.push("snaplen");
  if (capture.oneDirection) coverage.push("one-direction");
  if (capture.duplicate) coverage.push("duplicate-capture");
  if (capture.filter) coverage.push("filtered");
  const statuses = [...per.values()].map((v) => v.status);
  if (statuses.includes("not-verifiable")) coverage.push("not-verifiable");
  if ([...per.values()].some((v) => v.findings.includes("certificate-not-verifiable"))) coverage.push("certificate-not-verifiable");
  const judged = statuses.filter((s) => s !== "infrastructure" && s !== "related" && s !== "not-verifiable");
  // Nothing a row could judge: said as `filtered` when a --filter left it so, else `no-matrix-traffic`.
  if (judged.length === 0 && !capture.filter) coverage.push("no-matrix-traffic");
  const emptied = judged.length === 0 && !!capture.filter;
  const inconclusive = emptied || coverage.some((x) => ["undecodable", "no-proxy", "read-stopped", "no-matrix-traffic"].includes(x));
  const verdict = inconclusive ? "inconclusive"
    : findings.some((f) => f.severity === "error") ? "fail" : findings.some((f) => f.severity === "warning") ? "warn" : "pass";
  const exitCode = verdict === "inconclusive" ? 3 : findings.some((f) => f.severity === "error") ? 1 : 0;
  // The order: what to fix first. Ties after the rank keep the conversations' order, which the
  // lab cannot know in frames (its clients run in parallel lanes); compare.mjs checks the rank only.
  findings.sort((a, b) => rankOf(a).localeCompare(rankOf(b)));
  return { conversations: per, findings, verdict, coverage, exitCode };
}

const BACKUP_PATH = new Set(["cloud-443", "cloudcache-443", "vcenter-443", "esxi-443", "esxi-902"]);

/**
 * A finding's rank as a sortable string (findings.md, "Order: what to fix first"): severity, then
 * the row's `required` (always, if-present, optional, no row; with candidate rows, the strongest),
 * then blocked/refused on the backup path before every other code. The first frame decides the
 * rest; compare.mjs checks the report against this rank only. Takes a report finding too.
 */
export function rankOf(f) {
  const sev = { error: 0, warning: 1, info: 2 }[f.severity] ?? 3;
  const rows = f.rule ? [f.rule] : f.rules ?? [];
  const req = Math.min(3, ...rows.map((r) => ({ always: 0, "if-present": 1, optional: 2 })[required(r)] ?? 3));
  const backup = (f.code === "blocked" || f.code === "refused" || f.code === "tls-inspection") && rows.some((r) => BACKUP_PATH.has(r)) ? 0 : 1;
  return `${sev}${req}${backup}`;
}
