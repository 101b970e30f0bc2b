// Compares an analyzer report (docs/report-schema.md, docs/findings.md) with what the lab did
// (a *.expected.json written by test/lab/lab.mjs; format in docs/lab.md). Returns one line per
// mismatch, each naming the conversation or finding and saying what was expected and what came.
//
// mode: "explicit" (the report was made with --roles roles.json) or "inferred" (no roles given).
// exitCode: the analyzer's exit code for this report with the default --fail-on, when known.
import { rankOf } from "./lab-model.mjs";

/** Zeek conn_state values that mean the TCP handshake completed. */
const ESTABLISHED = new Set(["SF", "S1", "S2", "S3", "RSTO", "RSTR"]);

const key = (t, cip, cport, sip, sport) => `${t} ${cip}:${cport} > ${sip}:${sport}`;
const show = (v) => JSON.stringify(v);
const sameSet = (a, b) => a.length === b.length && [...a].sort().join("\n") === [...b].sort().join("\n");
const sorted = (a) => [...a].sort();

export function compareReport(expected, report, mode, exitCode) {
  const out = [];
  const want = expected[mode];
  const byKey = new Map();
  // A conversation an earlier capture of the same report already holds is listed with
  // `duplicateOf` (docs/report-schema.md) and not judged: checked apart, below.
  const dups = report.conversations.filter((c) => c.duplicateOf !== undefined && c.duplicateOf !== null);
  for (const c of report.conversations) {
    if (dups.includes(c)) continue;
    const k = key(c.transport, c.client.ip, c.client.port, c.server.ip, c.server.port);
    if (!byKey.has(k)) byKey.set(k, []);
    byKey.get(k).push(c);
  }
  const matched = new Map(); // expected id -> report conversation
  const used = new Set();

  for (const e of expected.conversations) {
    const name = `${e.id} (${key(e.transport, e.client.ip, e.client.port, e.server.ip, e.server.port)})`;
    const r = byKey.get(key(e.transport, e.client.ip, e.client.port, e.server.ip, e.server.port))?.[0];
    if (!r) {
      const rev = byKey.get(key(e.transport, e.server.ip, e.server.port, e.client.ip, e.client.port))?.[0];
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
    if (e.clientProtocol !== undefined && (r.clientProtocol ?? null) !== e.clientProtocol) diff("clientProtocol", e.clientProtocol, r.clientProtocol ?? null);
    // `tls` lists only what this capture shows (a short snap length cuts versions and names;
    // a one-direction capture has no ServerHello); "unchecked" when the documents do not say.
    if (e.tls === "unchecked") {
      /* the documents do not say what TLS facts a ClientHello answered in clear leaves */
    } else if (e.tls) {
      if (!r.tls) diff("tls", e.tls, null);
      else for (const f of Object.keys(e.tls)) if ((r.tls[f] ?? null) !== e.tls[f]) diff(`tls.${f}`, e.tls[f], r.tls[f] ?? null);
    } else if (r.tls) diff("tls", null, { version: r.tls.version, sni: r.tls.sni });
    if (e.state === "established" && !ESTABLISHED.has(r.state)) diff("state", "established (SF, S1-S3, RSTO, RSTR)", r.state);
    if ((e.state === "S0" || e.state === "REJ") && r.state !== e.state) diff("state", e.state, r.state);
    if (r.client.role !== m.clientRole) diff("client.role", m.clientRole, r.client.role);
    if (r.server.role !== m.serverRole) diff("server.role", m.serverRole, r.server.role);
    if (m.ruleAlternatives !== undefined) {
      // written by the current oracle: several candidate rows are rule null + ruleAlternatives
      if (r.rule !== m.rule || !sameSet(r.ruleAlternatives ?? [], m.ruleAlternatives)) {
        diff("rule / ruleAlternatives", { rule: m.rule, ruleAlternatives: sorted(m.ruleAlternatives) }, { rule: r.rule, ruleAlternatives: sorted(r.ruleAlternatives ?? []) });
      }
    } else if (m.ruleOneOf) {
      // an expectation written before the candidate rows of issue 11 (committed fixtures)
      const got = [r.rule, ...(r.ruleAlternatives ?? [])];
      if (!m.ruleOneOf.includes(r.rule) || !sameSet(got, m.ruleOneOf)) diff("rule (one of, the rest as ruleAlternatives)", m.ruleOneOf, { rule: r.rule, ruleAlternatives: r.ruleAlternatives ?? [] });
    } else if (r.rule !== m.rule) diff("rule", m.rule, r.rule);
    if (!sameSet(r.findings ?? [], m.findings)) diff("findings", sorted(m.findings), sorted(r.findings ?? []));
    if (m.status !== undefined) {
      if (r.status !== m.status) diff("status", m.status, r.status);
      if (m.status === "not-verifiable" && !sameSet(r.limits ?? [], m.limits)) diff("limits", sorted(m.limits), sorted(r.limits ?? []));
    }
  }
  // The duplicated capture (both files hold every conversation): each lab conversation once more,
  // as a duplicate of the one counted; any other capture: no duplicate at all.
  for (const d of dups) {
    const k = key(d.transport, d.client.ip, d.client.port, d.server.ip, d.server.port);
    const kept = byKey.get(k)?.[0];
    const what = `report conversation ${d.id} (${k}, duplicateOf ${d.duplicateOf})`;
    if (!expected.together) out.push(`${what}: a duplicate, but the lab gave one capture of this traffic`);
    else if (!kept || kept.id !== d.duplicateOf) out.push(`${what}: expected a duplicate of report conversation ${kept ? kept.id : "(none with this 5-tuple)"}`);
    else {
      if (d.status !== "duplicate") out.push(`${what}: status: expected "duplicate", got ${show(d.status)}`);
      if ((d.findings ?? []).length) out.push(`${what}: findings: expected [], got ${show(d.findings)}`);
    }
  }
  if (expected.together) {
    for (const e of expected.conversations) {
      const k = key(e.transport, e.client.ip, e.client.port, e.server.ip, e.server.port);
      const n = dups.filter((d) => key(d.transport, d.client.ip, d.client.port, d.server.ip, d.server.port) === k).length;
      if (n !== expected.files.length - 1) out.push(`${e.id} (${k}): expected ${expected.files.length - 1} duplicate listing(s) from the other capture(s), got ${n}`);
    }
  }
  for (const r of report.conversations) {
    if (dups.includes(r)) continue;
    if (!used.has(r)) out.push(`report conversation ${r.id} (${key(r.transport, r.client.ip, r.client.port, r.server.ip, r.server.port)}, ${r.protocol}) is not one the lab made${(byKey.get(key(r.transport, r.client.ip, r.client.port, r.server.ip, r.server.port))?.length ?? 0) > 1 ? " (the same 5-tuple listed twice)" : ""}`);
  }

  // Findings: every expected one present once, nothing else.
  const reportIds = (e) => e.conversations.map((id) => matched.get(id)?.id).filter((x) => x !== undefined);
  const left = [...report.findings];
  for (const f of want.findings) {
    const ids = reportIds(f);
    const rulesOf = (g) => g.rules ?? [];
    const i = left.findIndex((g) =>
      g.code === f.code && g.severity === f.severity &&
      (f.ruleOneOf ? f.ruleOneOf.includes(g.rule) : g.rule === f.rule) &&
      (f.rules === undefined || sameSet(rulesOf(g), f.rules)) &&
      sameSet(g.conversations.map(String), ids.map(String)) &&
      (f.code !== "missing-expected" || f.server === null || (g.wiresharkFilter ?? "").includes(f.server)));
    const rowText = f.ruleOneOf ? f.ruleOneOf.join("|") : f.rule ?? (f.rules?.length ? `null, rules ${f.rules.join("|")}` : "null");
    const label = `${f.code} (${f.severity}, rule ${rowText}, ${f.transport} ${f.server ?? "*"}:${f.port}${f.conversations.length ? `, ${f.conversations.join(" ")}` : ""})`;
    if (i < 0) {
      const near = left.filter((g) => g.code === f.code).map((g) => `${g.severity} rule ${g.rule}${g.rules?.length ? ` rules [${g.rules.join(",")}]` : ""} conversations [${g.conversations.join(",")}]`);
      out.push(`finding ${label}: missing${near.length ? `; report has ${f.code}: ${near.join("; ")}` : ""}`);
      continue;
    }
    const g = left.splice(i, 1)[0];
    // Same findings merged: `attempts` counts the conversations behind it (findings.md, "Codes").
    if (f.rules !== undefined && f.conversations.length > 0 && g.attempts !== f.conversations.length) {
      out.push(`finding ${label}: attempts: expected ${f.conversations.length}, got ${show(g.attempts)}`);
    }
  }
  for (const g of left) out.push(`unexpected finding ${g.code} (${g.severity}, rule ${g.rule}${g.rules?.length ? `, rules [${g.rules.join(",")}]` : ""}, conversations [${g.conversations.join(",")}]): ${g.message}`);

  // The order (findings.md, "Order: what to fix first"): ranks never go down the list, and the
  // first finding has the best rank the lab expects. Ties are by first frame, which the lab
  // cannot predict (its clients run in parallel lanes).
  if (want.findings.length && want.findings[0].rules !== undefined) {
    const ranks = report.findings.map(rankOf);
    for (let i = 1; i < ranks.length; i++) {
      if (ranks[i] < ranks[i - 1]) {
        const g = report.findings;
        out.push(`order: finding ${i + 1} (${g[i].code}, ${g[i].severity}, rule ${g[i].rule}) is ranked before finding ${i} (${g[i - 1].code}, ${g[i - 1].severity}, rule ${g[i - 1].rule}) but listed after it`);
        break;
      }
    }
    const first = report.findings[0];
    if (!first || rankOf(first) !== rankOf(want.findings[0])) {
      out.push(`order: the first finding should be ranked like ${want.findings[0].code} (${want.findings[0].severity}, rule ${want.findings[0].rule ?? want.findings[0].rules.join("|")}), got ${first ? `${first.code} (${first.severity}, rule ${first.rule})` : "none"}`);
    }
  }

  if (report.summary?.verdict !== want.verdict) out.push(`summary.verdict: expected ${show(want.verdict)}, got ${show(report.summary?.verdict)}`);
  if (want.coverage !== undefined) {
    const got = (report.summary?.coverage ?? []).map((x) => x.code);
    if (!sameSet(got, want.coverage)) out.push(`summary.coverage codes: expected ${show(sorted(want.coverage))}, got ${show(sorted(got))}`);
  }
  if (want.exitCode !== undefined && exitCode !== undefined && exitCode !== want.exitCode) out.push(`exit code: expected ${want.exitCode}, got ${exitCode}`);

  // Roles: explicit ones as given; inferred ones exactly those the documented evidence gives.
  const source = mode === "explicit" ? "explicit" : "inferred";
  const got = (report.roles ?? []).filter((x) => x.source === source).map((x) => `${x.ip}=${x.role}`);
  const exp = want.roles.filter((x) => (x.source ?? source) === source).map((x) => `${x.ip}=${x.role}`);
  for (const x of exp) if (!got.includes(x)) out.push(`roles: expected ${source} ${x}, not in the report's roles`);
  for (const x of got) if (!exp.includes(x)) out.push(`roles: report has ${source} ${x}, not expected`);
  if (mode === "explicit") {
    // Hosts no --roles entry covers are still inferred (roles.md: into a new map, explicit wins).
    const inferredToo = (report.roles ?? []).filter((x) => x.source !== "explicit");
    const expInferred = want.roles.filter((x) => x.source === "inferred").map((x) => `${x.ip}=${x.role}`);
    for (const x of inferredToo) if (!expInferred.includes(`${x.ip}=${x.role}`)) out.push(`roles: report infers ${x.ip}=${x.role} beside the explicit roles`);
    for (const x of expInferred) if (!inferredToo.some((y) => `${y.ip}=${y.role}` === x)) out.push(`roles: expected inferred ${x} beside the explicit roles, not in the report's roles`);
  }
  return out;
}
