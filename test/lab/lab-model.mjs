// What the Phoenix lab expects the analyzer to say, worked out from what the lab deliberately did.
//
// This module is the lab's oracle. It is written from the project's *documents*, not from the
// analyzer's code: the port matrix is /work/shared/phoenix-matrix.md (the rows, directions and
// "required" marks as `phoenix-netcheck matrix` prints them), the matching rules, finding codes,
// grouping and severities are docs/findings.md, and role inference is the list of evidence the
// lab's brief and src/policy/infer.ts's header give (authd banner → esxi, cloud SNI → cloud,
// server of TCP 3542 → guest, NTP server mode on UDP 123 → ntp, the host that opens most
// proxy-shaped conversations → proxy). Nothing here reads the analyzer's output.
//
// Pure functions only (no I/O), so the judge can be read and checked on its own.

/** Matrix rows (docs: phoenix-matrix.md). `sameHost`: client and server are one host. */
export const MATRIX = [
  { id: "cloud-443", client: "proxy", server: "cloud", transport: "tcp", port: 443, expect: "tls", minTls: "TLS 1.2", required: "always" },
  { id: "cloudcache-443", client: "proxy", server: "cloudcache", transport: "tcp", port: 443, expect: "tls", minTls: "TLS 1.2", required: "if-present" },
  { id: "vcenter-443", client: "proxy", server: "vcenter", transport: "tcp", port: 443, expect: "tls", minTls: "TLS 1.2", required: "if-present" },
  { id: "esxi-443", client: "proxy", server: "esxi-standalone", transport: "tcp", port: 443, expect: "tls", minTls: "TLS 1.2", required: "if-present" },
  { id: "esxi-902", client: "proxy", server: "esxi", transport: "tcp", port: 902, expect: "vmware-authd", minTls: "TLS 1.2", required: "if-present" },
  { id: "guest-3542", client: "proxy", server: "guest", transport: "tcp", port: 3542, expect: "tls", minTls: "TLS 1.2", required: "optional" },
  { id: "guest-3545", client: "guest", server: "guest", transport: "tcp", port: 3545, expect: "tls", minTls: "TLS 1.2", required: "optional", sameHost: true },
  { id: "guest-3389", client: "proxy", server: "guest", transport: "tcp", port: 3389, expect: "rdp", minTls: null, required: "optional" },
  { id: "guest-22", client: "proxy", server: "guest", transport: "tcp", port: 22, expect: "ssh", minTls: null, required: "optional" },
  { id: "ntp-123", client: "proxy", server: "ntp", transport: "udp", port: 123, expect: "ntp", minTls: null, required: "always" },
  { id: "inbound-22", client: "any", server: "proxy", transport: "tcp", port: 22, expect: "ssh", minTls: null, required: "optional" },
  { id: "inbound-2049", client: "any", server: "proxy", transport: "tcp", port: 2049, expect: "nfs", minTls: null, required: "optional" },
];

/** Infrastructure: shown, never a violation (DNS). */
export const INFRASTRUCTURE = [
  { id: "dns-53-udp", transport: "udp", port: 53 },
  { id: "dns-53-tcp", transport: "tcp", port: 53 },
];

const TLS_RANK = { "SSL 2.0": 0, "SSL 3.0": 1, "TLS 1.0": 2, "TLS 1.1": 3, "TLS 1.2": 4, "TLS 1.3": 5 };

/** Names of the cloud (docs: phoenix-matrix.md, "Storage endpoints … *.druva.com"). */
export function isCloudName(sni) {
  const n = String(sni).toLowerCase().replace(/\.$/, "");
  return [".druva.com", ".druva.net", ".amazonaws.com"].some((s) => n.endsWith(s) || n === s.slice(1));
}

export const SEVERITY = {
  blocked: "error",
  refused: "error",
  "plaintext-where-tls-required": "error",
  "protocol-mismatch": "error",
  "weak-tls": "error",
  "tls-not-established": "error",
  "wrong-path": "warning",
  "wrong-direction": "warning",
  "missing-expected": "warning",
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
// Role inference, as documented: evidence in this order, the first inference for an address kept.
//
// A conversation here is the lab's own record: { transport, client: {ip}, server: {ip, port},
// facts: { authdBanner, sni, ntpServerAnswered } }.

const PROXY_PORTS = MATRIX.filter((r) => r.client === "proxy").map((r) => `${r.transport}/${r.port}`);

export function inferRoles(convs) {
  const roles = new Map();
  const reasons = new Map();
  const infer = (ip, role, why) => {
    if (!roles.has(ip)) {
      roles.set(ip, role);
      reasons.set(ip, why);
    }
  };
  for (const c of convs) if (c.facts.authdBanner) infer(c.server.ip, "esxi", "sent the VMware authd banner");
  for (const c of convs) if (c.facts.sni && isCloudName(c.facts.sni)) infer(c.server.ip, "cloud", `TLS server name ${c.facts.sni}`);
  for (const c of convs) if (c.transport === "tcp" && c.server.port === 3542) infer(c.server.ip, "guest", "server of TCP 3542");
  for (const c of convs) if (c.transport === "udp" && c.server.port === 123 && c.facts.ntpServerAnswered) infer(c.server.ip, "ntp", "answered NTP");
  // The proxy: the client (with no role yet) of the most conversations on the proxy rows' ports;
  // a tie leaves every candidate unknown.
  const counts = new Map();
  for (const c of convs) {
    if (!PROXY_PORTS.includes(`${c.transport}/${c.server.port}`)) continue;
    if (roles.has(c.client.ip)) continue;
    counts.set(c.client.ip, (counts.get(c.client.ip) ?? 0) + 1);
  }
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1]);
  if (ranked.length > 0 && !(ranked.length > 1 && ranked[1][1] === ranked[0][1])) {
    infer(ranked[0][0], "proxy", `opened ${ranked[0][1]} proxy-shaped conversations`);
  }
  return { roles, reasons };
}

// ---------------------------------------------------------------------------------------------
// The judge: rule and findings for each conversation, then the capture's findings and verdict,
// following docs/findings.md.
//
// A conversation needs: id, transport, client {ip}, server {ip, port}, protocol, tls
// ({version} or null), outcome: "answered" | "S0" (SYN never answered) | "REJ" (reset) |
// "unanswered" (UDP, nothing back) | "unreachable" (UDP, ICMP port unreachable back).

function roleFits(want, have, proxyKnown) {
  if (want === "any") return true;
  if (have !== null) return have === want;
  return !(want === "proxy" && proxyKnown);
}

function rowFits(r, c, cr, sr, proxyKnown) {
  return r.transport === c.transport && r.port === c.server.port && roleFits(r.client, cr, proxyKnown) &&
    roleFits(r.server, sr, proxyKnown) && (!r.sameHost || c.client.ip === c.server.ip);
}

/**
 * @param convs the lab's conversations
 * @param roleOf (ip) => role | null
 * @returns { conversations: Map<id, {clientRole, serverRole, rule, ruleOneOf, findings}>,
 *            findings: [{code, severity, rule, ruleOneOf, transport, client, server, port, conversations}],
 *            verdict }
 */
export function judge(convs, roleOf) {
  const proxyKnown = convs.some((c) => roleOf(c.client.ip) === "proxy" || roleOf(c.server.ip) === "proxy");
  const per = new Map();
  const findings = [];
  const groups = new Map();
  // blocked, refused and unexpected-port: one finding per (code, row, transport, client, server,
  // port), naming every attempt.
  const group = (code, severity, rule, oneOf, c) => {
    const key = [code, rule ?? oneOf?.join(",") ?? "", c.transport, c.client.ip, c.server.ip, c.server.port].join("|");
    if (!groups.has(key)) {
      const f = { code, severity, rule, ...(oneOf ? { ruleOneOf: oneOf } : {}), transport: c.transport, client: c.client.ip, server: c.server.ip, port: c.server.port, conversations: [] };
      groups.set(key, f);
      findings.push(f);
    }
    groups.get(key).conversations.push(c.id);
    per.get(c.id).findings.push(code);
  };
  const single = (code, rule, c, ruleOneOf = null) => {
    findings.push({ code, severity: SEVERITY[code], rule, ...(ruleOneOf ? { ruleOneOf } : {}), transport: c.transport, client: c.client.ip, server: c.server.ip, port: c.server.port, conversations: [c.id] });
    per.get(c.id).findings.push(code);
  };

  for (const c of convs) {
    const cr = roleOf(c.client.ip);
    const sr = roleOf(c.server.ip);
    const v = { clientRole: cr, serverRole: sr, rule: null, ruleOneOf: null, findings: [] };
    per.set(c.id, v);
    const infra = INFRASTRUCTURE.find((e) => e.transport === c.transport && e.port === c.server.port);
    if (infra) {
      v.rule = infra.id;
      continue;
    }
    const fits = MATRIX.filter((r) => rowFits(r, c, cr, sr, proxyKnown));
    if (fits.length === 0) {
      const swap = sr === "esxi" ? "esxi-standalone" : sr === "esxi-standalone" ? "esxi" : null;
      const pathRow = swap ? MATRIX.find((r) => rowFits(r, c, cr, swap, proxyKnown)) : undefined;
      const reverse = MATRIX.find((r) => r.transport === c.transport && r.port === c.server.port && r.client !== "any" &&
        (cr !== null || sr !== null) && roleFits(r.client, sr, proxyKnown) && roleFits(r.server, cr, proxyKnown));
      if (pathRow) single("wrong-path", pathRow.id, c);
      else if (reverse) single("wrong-direction", reverse.id, c);
      else group("unexpected-port", cr === "proxy" || sr === "proxy" ? "warning" : "info", null, null, c);
      continue;
    }
    const exact = (r) => (r.client === cr ? 1 : 0) + (r.server === sr ? 1 : 0);
    const best = Math.max(...fits.map(exact));
    const top = fits.filter((r) => exact(r) === best);
    if (top.length === 1) v.rule = top[0].id;
    else v.ruleOneOf = top.map((r) => r.id);
    const row = top[0]; // every tie here has the same port, expectation and minimum TLS
    const ruleRef = v.rule;
    const oneOf = v.ruleOneOf;

    if (c.outcome === "REJ" || c.outcome === "unreachable") {
      group("refused", "error", ruleRef, oneOf, c);
      continue;
    }
    if (c.outcome === "S0" || c.outcome === "unanswered") {
      group("blocked", "error", ruleRef, oneOf, c);
      continue;
    }
    const p = c.protocol;
    const tlsRow = row.expect === "tls" || row.expect === "vmware-authd";
    if (tlsRow) {
      if (p === "tls" || p === "vmware-authd") {
        if (c.tls && c.tls.version === null) single("tls-not-established", ruleRef, c, oneOf);
        else if (c.tls && c.tls.version && TLS_RANK[c.tls.version] < TLS_RANK[row.minTls]) single("weak-tls", ruleRef, c, oneOf);
      } else if (p === "http" || p === "plaintext" || p === "unknown") single("plaintext-where-tls-required", ruleRef, c, oneOf);
      else if (p !== "none") single("protocol-mismatch", ruleRef, c, oneOf);
    } else if (row.expect !== "any" && row.expect !== "nfs" && p !== "none" && p !== row.expect) {
      single("protocol-mismatch", ruleRef, c, oneOf);
    }
  }

  // missing-expected: for the roles present in the capture's conversations.
  const present = new Map();
  for (const c of convs) {
    const v = per.get(c.id);
    for (const [role, ip] of [[v.clientRole, c.client.ip], [v.serverRole, c.server.ip]]) {
      if (role === null) continue;
      if (!present.has(role)) present.set(role, new Set());
      present.get(role).add(ip);
    }
  }
  const seen = (rowId, serverIp) => convs.some((c) => per.get(c.id).rule === rowId && (serverIp === undefined || c.server.ip === serverIp));
  for (const row of MATRIX) {
    if (row.required === "optional") continue;
    if (row.client !== "any" && !present.has(row.client)) continue;
    if (row.required === "always") {
      if (!seen(row.id)) findings.push({ code: "missing-expected", severity: "warning", rule: row.id, transport: row.transport, client: null, server: null, port: row.port, conversations: [] });
    } else {
      for (const ip of present.get(row.server) ?? []) {
        if (!seen(row.id, ip)) findings.push({ code: "missing-expected", severity: "warning", rule: row.id, transport: row.transport, client: null, server: ip, port: row.port, conversations: [] });
      }
    }
  }

  const verdict = findings.some((f) => f.severity === "error") ? "fail" : findings.some((f) => f.severity === "warning") ? "warn" : "pass";
  return { conversations: per, findings, verdict };
}
