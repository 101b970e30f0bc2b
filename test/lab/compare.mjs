// Compares an analyzer report (docs/report-schema.md, docs/findings.md) with what the lab did
// (a *.expected.json written by test/lab/lab.mjs; format in docs/lab.md). Returns one line per
// mismatch, each naming the conversation or finding and saying what was expected and what came.
//
// mode: "explicit" (the report was made with --roles roles.json) or "inferred" (no roles given).

/** Zeek conn_state values that mean the TCP handshake completed. */
const ESTABLISHED = new Set(["SF", "S1", "S2", "S3", "RSTO", "RSTR"]);

const key = (t, cip, cport, sip, sport) => `${t} ${cip}:${cport} > ${sip}:${sport}`;
const show = (v) => JSON.stringify(v);
const sameSet = (a, b) => a.length === b.length && [...a].sort().join("\n") === [...b].sort().join("\n");

export function compareReport(expected, report, mode) {
  const out = [];
  const want = expected[mode];
  const byKey = new Map(report.conversations.map((c) => [key(c.transport, c.client.ip, c.client.port, c.server.ip, c.server.port), c]));
  const matched = new Map(); // expected id -> report conversation
  const used = new Set();

  for (const e of expected.conversations) {
    const name = `${e.id} (${key(e.transport, e.client.ip, e.client.port, e.server.ip, e.server.port)})`;
    let r = byKey.get(key(e.transport, e.client.ip, e.client.port, e.server.ip, e.server.port));
    if (!r) {
      const rev = byKey.get(key(e.transport, e.server.ip, e.server.port, e.client.ip, e.client.port));
      if (rev) {
        out.push(`${name}: client and server swapped in the report (report conversation ${rev.id})`);
        used.add(rev);
      } else out.push(`${name}: conversation not found in the report`);
      continue;
    }
    used.add(r);
    matched.set(e.id, r);
    const m = e[mode];
    const diff = (what, exp, got) => out.push(`${name}: ${what}: expected ${show(exp)}, got ${show(got)}`);

    if (r.protocol !== e.protocol) diff("protocol", e.protocol, r.protocol);
    if (e.tls) {
      if (!r.tls) diff("tls", e.tls, null);
      else {
        if (r.tls.version !== e.tls.version) diff("tls.version", e.tls.version, r.tls.version);
        if (r.tls.clientVersion !== e.tls.clientVersion) diff("tls.clientVersion", e.tls.clientVersion, r.tls.clientVersion);
        if ((r.tls.sni ?? null) !== e.tls.sni) diff("tls.sni", e.tls.sni, r.tls.sni ?? null);
      }
    } else if (r.tls) diff("tls", null, { version: r.tls.version, sni: r.tls.sni });
    if (e.state === "established" && !ESTABLISHED.has(r.state)) diff("state", "established (SF, S1-S3, RSTO, RSTR)", r.state);
    if ((e.state === "S0" || e.state === "REJ") && r.state !== e.state) diff("state", e.state, r.state);
    if (r.client.role !== m.clientRole) diff("client.role", m.clientRole, r.client.role);
    if (r.server.role !== m.serverRole) diff("server.role", m.serverRole, r.server.role);
    if (m.ruleOneOf) {
      const got = [r.rule, ...(r.ruleAlternatives ?? [])];
      if (!m.ruleOneOf.includes(r.rule) || !sameSet(got, m.ruleOneOf)) diff("rule (one of, the rest as ruleAlternatives)", m.ruleOneOf, { rule: r.rule, ruleAlternatives: r.ruleAlternatives ?? [] });
    } else if (r.rule !== m.rule) diff("rule", m.rule, r.rule);
    if (!sameSet(r.findings ?? [], m.findings)) diff("findings", [...m.findings].sort(), [...(r.findings ?? [])].sort());
  }
  for (const r of report.conversations) {
    if (!used.has(r)) out.push(`report conversation ${r.id} (${key(r.transport, r.client.ip, r.client.port, r.server.ip, r.server.port)}, ${r.protocol}) is not one the lab made`);
  }

  // Findings: every expected one present once, nothing else.
  const reportIds = (e) => e.conversations.map((id) => matched.get(id)?.id).filter((x) => x !== undefined);
  const left = [...report.findings];
  for (const f of want.findings) {
    const ids = reportIds(f);
    const i = left.findIndex((g) =>
      g.code === f.code && g.severity === f.severity &&
      (f.ruleOneOf ? f.ruleOneOf.includes(g.rule) : g.rule === f.rule) &&
      sameSet(g.conversations.map(String), ids.map(String)) &&
      (f.code !== "missing-expected" || f.server === null || (g.wiresharkFilter ?? "").includes(f.server)));
    const label = `${f.code} (${f.severity}, rule ${f.ruleOneOf ? f.ruleOneOf.join("|") : f.rule}, ${f.transport} ${f.server ?? "*"}:${f.port}${f.conversations.length ? `, ${f.conversations.join(" ")}` : ""})`;
    if (i < 0) {
      const near = left.filter((g) => g.code === f.code).map((g) => `${g.severity} rule ${g.rule} conversations [${g.conversations.join(",")}]`);
      out.push(`finding ${label}: missing${near.length ? `; report has ${f.code}: ${near.join("; ")}` : ""}`);
    } else left.splice(i, 1);
  }
  for (const g of left) out.push(`unexpected finding ${g.code} (${g.severity}, rule ${g.rule}, conversations [${g.conversations.join(",")}]): ${g.message}`);

  if (report.summary?.verdict !== want.verdict) out.push(`summary.verdict: expected ${show(want.verdict)}, got ${show(report.summary?.verdict)}`);

  // Roles: explicit ones as given; inferred ones exactly those the documented evidence gives.
  const source = mode === "explicit" ? "explicit" : "inferred";
  const got = (report.roles ?? []).filter((x) => x.source === source).map((x) => `${x.ip}=${x.role}`);
  const exp = want.roles.map((x) => `${x.ip}=${x.role}`);
  for (const x of exp) if (!got.includes(x)) out.push(`roles: expected ${source} ${x}, not in the report's roles`);
  for (const x of got) if (!exp.includes(x)) out.push(`roles: report has ${source} ${x}, not expected`);
  if (mode === "explicit") {
    const inferredToo = (report.roles ?? []).filter((x) => x.source !== "explicit");
    for (const x of inferredToo) if (!exp.some((y) => y.startsWith(`${x.ip}=`))) out.push(`roles: report infers ${x.ip}=${x.role} beside the explicit roles`);
  }
  return out;
}
