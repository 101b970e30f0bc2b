#!/usr/bin/env node
// Re-applies the lab model's row checks (test/lab/lab-model.mjs `check`) to the judgements the
// committed lab captures were recorded with (fixtures/lab/*.expected.json, fixtures/sample.expected.json),
// for a change of the model that only adds a finding to conversations judged conforming — issue
// 17's `certificate-not-verifiable` (TLS 1.3 on a row that checks the certificate). It needs no
// root and records nothing: the captures stay byte for byte; a full re-recording
// (record-fixtures.mjs) gives the same expectations.
//
//   node test/lab/rejudge-fixtures.mjs            (rewrites the files; prints what changed)
//
// A conversation whose candidate rows would now judge anything else than conforming or
// certificate-not-verifiable stops it: that change needs record-fixtures.mjs.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { MATRIX, SEVERITY, check, rankOf } from "./lab-model.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const files = [
  ...fs.readdirSync(path.join(ROOT, "fixtures/lab")).filter((f) => f.endsWith(".expected.json")).map((f) => path.join(ROOT, "fixtures/lab", f)),
  path.join(ROOT, "fixtures/sample.expected.json"),
];

for (const file of files) {
  const exp = JSON.parse(fs.readFileSync(file, "utf8"));
  let changed = 0;
  for (const mode of ["explicit", "inferred"]) {
    const out = exp[mode];
    const before = changed;
    const byKey = new Map(out.findings.map((f) => [[f.code, f.rule ?? "", f.rules.join(","), f.transport, f.client, f.server, f.port].join("|"), f]));
    for (const c of exp.conversations) {
      const v = c[mode];
      if (!(v.status === "conforming" || (v.status === "ambiguous" && v.findings.length === 0))) continue;
      const cands = (v.rule !== null ? [v.rule] : v.ruleAlternatives).map((id) => MATRIX.find((r) => r.id === id));
      if (cands.length === 0 || cands.some((r) => r === undefined)) continue;
      const results = new Set(cands.map((r) => check(r, { ...c, limits: [] })));
      if (results.size === 1 && results.has("conforming")) continue;
      if (results.size !== 1 || !results.has("certificate-not-verifiable")) throw new Error(`${file}: ${c.id} (${mode}) now judges ${[...results].join(", ")}: record again (record-fixtures.mjs)`);
      const code = "certificate-not-verifiable";
      const rule = cands.length === 1 ? cands[0].id : null;
      const rules = cands.length === 1 ? [] : cands.map((r) => r.id);
      const key = [code, rule ?? "", rules.join(","), c.transport, c.client.ip, c.server.ip, c.server.port].join("|");
      if (!byKey.has(key)) {
        const f = { code, severity: SEVERITY[code], rule, rules, transport: c.transport, client: c.client.ip, server: c.server.ip, port: c.server.port, conversations: [] };
        byKey.set(key, f);
        out.findings.push(f);
      }
      byKey.get(key).conversations.push(c.id);
      v.findings = [code];
      v.status = "info";
      changed++;
    }
    if (changed > before && !out.coverage.includes("certificate-not-verifiable")) out.coverage.push("certificate-not-verifiable");
    // Ties keep their order (Array.prototype.sort is stable), as the model's judge sorts.
    out.findings.sort((a, b) => rankOf(a).localeCompare(rankOf(b)));
  }
  fs.writeFileSync(file, JSON.stringify(exp, null, 2) + "\n");
  console.log(`${path.relative(ROOT, file)}: ${changed} judgement${changed === 1 ? "" : "s"} changed`);
}
