// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function, top N.
//   node test/bench/profile-top.mjs FILE.cpuprofile [N]
import { readFileSync } from "node:fs";
const prof = JSON.parse(readFileSync(process.argv[2], "utf8"));
const n = Number(process.argv[3] ?? 25);
const byId = new Map(prof.nodes.map((x) => [x.id, x]));
const self = new Map();
const dt = prof.timeDeltas;
for (let i = 0; i < prof.samples.length; i++) {
  const node = byId.get(prof.samples[i]);
  const f = node.callFrame;
  const key = `${f.functionName || "(anon)"} ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, n)) {
  console.log(`${(v / 1000).toFixed(0).padStart(7)} ms ${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`);
}
console.log(`${(total / 1000).toFixed(0).padStart(7)} ms total`);

// Inclusive time of the functions named in PROFILE_INCLUSIVE (comma-separated), e.g.
// PROFILE_INCLUSIVE=detectFacts,decodePacket
if (process.env.PROFILE_INCLUSIVE) {
  const names = new Set(process.env.PROFILE_INCLUSIVE.split(","));
  const parent = new Map();
  for (const x of prof.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  const incl = new Map();
  for (let i = 0; i < prof.samples.length; i++) {
    const seen = new Set();
    for (let id = prof.samples[i]; id !== undefined; id = parent.get(id)) {
      const fn = byId.get(id).callFrame.functionName;
      if (names.has(fn) && !seen.has(fn)) {
        seen.add(fn);
        incl.set(fn, (incl.get(fn) ?? 0) + (dt[i] ?? 0));
      }
    }
  }
  for (const [k, v] of incl) console.log(`inclusive ${(v / 1000).toFixed(0).padStart(7)} ms  ${k}`);
}
