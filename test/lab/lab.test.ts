// The end-to-end lab (docs/lab.md): real servers and clients in network namespaces, recorded on
// the proxy's interface, then the analyzer's report compared with what the lab deliberately did.
// Needs root and the Debian packages in docs/lab.md; skipped, saying why, without them.
//
// Seeds: PNC_LAB_SEEDS="1,2" picks them; by default seed 1 and one drawn at random (printed in
// the test names, so a failing run can be repeated with `node test/lab/lab.mjs --seed N --check`).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exitCodeFor, reportFor } from "../../src/pipeline/index.js";
// Plain JavaScript modules shared with `npm run lab` (test/lab/*.mjs).
import { compareReport, type LabExpected } from "./compare.mjs";
import { splitKnown } from "./known-mismatches.mjs";
import { missingBinaries, SCENARIOS } from "./lab.mjs";

const LAB = path.resolve(__dirname, "lab.mjs");

function skipReason(): string | null {
  if (process.platform !== "linux") return "the lab needs Linux network namespaces";
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return "the lab needs root (network namespaces, tcpdump)";
  const missing = missingBinaries();
  if (missing.length) return `missing ${missing.join(", ")} (apt-get install list in docs/lab.md)`;
  return null;
}

const reason = skipReason();
if (reason) console.warn(`lab tests skipped: ${reason}`);

const seeds = (process.env.PNC_LAB_SEEDS ?? `1,${2 + Math.floor(Math.random() * 100_000)}`)
  .split(",")
  .filter(Boolean)
  .map(Number);

/** Runs `node test/lab/lab.mjs --seed N --out DIR`; resolves with its output, rejects on failure. */
function recordLab(seed: number, out: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LAB, "--seed", String(seed), "--out", out], { stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout.on("data", (d) => (text += d));
    child.stderr.on("data", (d) => (text += d));
    child.on("close", (code) => (code === 0 ? resolve(text) : reject(new Error(`lab --seed ${seed} exited ${code}:\n${text}`))));
  });
}


describe.skipIf(reason !== null)(`Phoenix lab${reason ? ` (skipped: ${reason})` : ""}`, () => {
  const outs = new Map<number, string>();
  const logs = new Map<number, string>();

  beforeAll(async () => {
    // Both seeds record at once: the lab mostly waits (handshakes, dropped SYNs, capture flushes).
    await Promise.all(
      seeds.map(async (seed) => {
        const out = mkdtempSync(path.join(tmpdir(), `pnc-lab-test-s${seed}.`));
        outs.set(seed, out);
        logs.set(seed, await recordLab(seed, out));
      }),
    );
  }, 320_000);

  afterAll(() => {
    if (process.env.PNC_LAB_KEEP) return;
    for (const out of outs.values()) rmSync(out, { recursive: true, force: true });
  });

  for (const seed of seeds) {
    describe(`seed ${seed}`, () => {
      for (const scenario of Object.keys(SCENARIOS)) {
        it(`${scenario}: every conversation found, classified and judged as the lab made it, no other finding`, async () => {
          const out = outs.get(seed)!;
          const expFiles = readdirSync(out).filter((f) => f.startsWith(`${scenario}.`) && f.endsWith(".expected.json"));
          expect(expFiles.length, `no expectation written for ${scenario}:\n${logs.get(seed)}`).toBeGreaterThan(0);
          const mismatches: string[] = [];
          const knownLines: string[] = [];
          let compared = 0;
          for (const ef of expFiles) {
            const exp = JSON.parse(readFileSync(path.join(out, ef), "utf8")) as LabExpected;
            expect(exp.conversations.length).toBeGreaterThan(0);
            for (const f of exp.files) expect(existsSync(path.join(out, f.file)), f.file).toBe(true);
            // A duplicated capture is its files given together to one analyze; otherwise each alone.
            const runs = exp.together ? [exp.files] : exp.files.map((f) => [f]);
            for (const files of runs) {
              const file = `${files.map((f) => f.file).join("+")}${exp.analyze?.filter ? ` --filter '${exp.analyze.filter}'` : ""}`;
              for (const mode of ["explicit", "inferred"] as const) {
                const report = await reportFor(files.map((f) => path.join(out, f.file)), {
                  ...(mode === "explicit" ? { roles: path.join(out, exp.rolesFile) } : {}),
                  ...(exp.analyze?.filter ? { filter: exp.analyze.filter } : {}),
                });
                // The exit code `analyze` would give with the default --fail-on (docs/findings.md).
                const lines = compareReport(exp, report, mode, exitCodeFor(report, "error")).map((m) => `${file} [${mode}] ${m}`);
                files.forEach(({ format, linkType }, i) => {
                  const cap = report.captures[i];
                  if (cap.format !== format || cap.linkTypes.join() !== String(linkType)) lines.push(`${file} [${mode}] capture ${i}: expected ${format} with link type ${linkType}, got ${cap.format} ${cap.linkTypes.join(",")}`);
                  if (cap.errors.length) lines.push(`${file} [${mode}] capture ${i} errors: ${JSON.stringify(cap.errors.slice(0, 3))}`);
                });
                // Analyzer bugs already reported (test/lab/known-mismatches.mjs) are listed, not
                // failed on; an entry that no longer matches fails, so it gets removed.
                const { known, unknown, stale } = splitKnown(exp.scenario, mode, lines);
                knownLines.push(...known.map((k) => `${k.id}: ${k.line}`));
                mismatches.push(...unknown, ...stale.map((id) => `${file} [${mode}] known mismatch ${id} no longer occurs: remove it from test/lab/known-mismatches.mjs`));
                compared++;
              }
            }
          }
          if (knownLines.length) console.warn(`seed ${seed}, ${scenario}: known analyzer mismatches (test/lab/known-mismatches.mjs):\n  ${knownLines.join("\n  ")}`);
          // pcap, pcapng and -i any (SLL2) of the proxy, each with and without roles (proxy-vlan:
          // eth0 only, docs/lab.md)
          expect(compared).toBeGreaterThanOrEqual(scenario === "proxy-vlan" ? 4 : 6);
          expect(mismatches).toEqual([]);
        });
      }
    });
  }
});
