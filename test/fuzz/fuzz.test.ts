/**
 * Fuzzing the whole analyzer (reader → decode → conversations → detection → policy → report) with
 * mutated real captures: bit flips, length fields set to 0, to huge values and off by one,
 * truncation at every block boundary, duplicated and swapped blocks, random link types, spliced
 * garbage. Every case must end without an exception (a CaptureOpenError for bytes that are no
 * longer a capture is a clean refusal, not a crash), within CASE_MS, with the heap bounded.
 *
 * CI runs a small fixed-seed sample. `npm run fuzz` runs FUZZ_CASES (100,000) and saves every
 * failing case to fixtures/fuzz/, which the regression test below replays forever after.
 *   FUZZ_CASES=N FUZZ_SEED=S npx vitest run test/fuzz/fuzz.test.ts
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CaptureOpenError } from "../../src/capture/index.js";
import { analyzeBytes } from "./harness.js";
import { layout, mutate, rng } from "./mutate.js";

const repo = path.resolve(__dirname, "../..");
const fuzzDir = path.join(repo, "fixtures/fuzz");
const publicDir = path.resolve(repo, "../shared/captures/public");
const CASES = Number(process.env.FUZZ_CASES ?? 300);
const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const LONG = CASES > 5000;
/** A case that takes longer than this is a hang (the largest seed analyses in a few ms). */
/**
 * A case slower than this is saved as a possible hang in the long run (`npm run fuzz`, a tool run
 * on a quiet machine). The CI sample asserts no time at all: tests make no timing assumptions on
 * a busy machine; a real hang still ends the test at its timeout.
 */
const CASE_MS = 2000;
/** Heap in use after a case, at most (the seeds are small; a leak or an unbounded buffer shows here). */
const HEAP_LIMIT = 512 * 1024 * 1024;

/** Seed captures: the project's recorded fixtures, plus the public corpus when present (small files). */
function seeds(): { name: string; bytes: Uint8Array }[] {
  const out: { name: string; bytes: Uint8Array }[] = [];
  const add = (dir: string, f: string) => {
    const p = path.join(dir, f);
    if (statSync(p).size <= 200_000) out.push({ name: f, bytes: new Uint8Array(readFileSync(p)) });
  };
  const rec = path.join(repo, "fixtures/recorded");
  for (const f of readdirSync(rec).sort()) if (/\.pcap(ng)?$/.test(f)) add(rec, f);
  if (existsSync(path.join(repo, "fixtures/sample.pcapng"))) add(path.join(repo, "fixtures"), "sample.pcapng");
  if (existsSync(publicDir)) for (const f of readdirSync(publicDir).sort()) if (/\.pcap(ng)?$/.test(f)) add(publicDir, f);
  return out;
}

interface Failure {
  name: string;
  what: string;
  bytes: Uint8Array;
}

/**
 * Flow-table settings per case: one case in three runs with tiny limits, so eviction, retirement,
 * aggregates and the reuse of folded conversations are fuzzed too (the seeds are far below the
 * default limits).
 */
const TIGHT = { maxConversations: 3, finishedTimeout: 1, idleTimeout: 2, retainedBytes: 256 };

async function runOne(name: string, bytes: Uint8Array, chunk: number, tight = false): Promise<Failure | null> {
  const t0 = performance.now();
  try {
    // Every case renders every format, plain and redacted: a renderer that throws is a crash too.
    await analyzeBytes(bytes, { chunk, flow: tight ? TIGHT : undefined, render: true });
  } catch (e) {
    if (!(e instanceof CaptureOpenError)) return { name, what: `threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`, bytes };
  }
  const ms = performance.now() - t0;
  if (LONG && ms > CASE_MS) return { name, what: `took ${ms.toFixed(0)} ms (limit ${CASE_MS})`, bytes };
  return null;
}

function save(f: Failure): string {
  mkdirSync(fuzzDir, { recursive: true });
  const id = createHash("sha256").update(f.bytes).digest("hex").slice(0, 16);
  const file = path.join(fuzzDir, `${id}.cap`);
  writeFileSync(file, f.bytes);
  writeFileSync(file + ".txt", `${f.name}\n${f.what.split("\n").slice(0, 6).join("\n")}\n`);
  return file;
}

describe("fuzz: mutated real captures through the whole analyzer", () => {
  const all = seeds();

  it("has seeds in both formats", () => {
    expect(all.length).toBeGreaterThanOrEqual(10);
    expect(all.some((s) => layout(s.bytes).format === "pcap")).toBe(true);
    expect(all.some((s) => layout(s.bytes).format === "pcapng")).toBe(true);
  });

  it("truncation at every record/block boundary of every seed", async () => {
    const failures: Failure[] = [];
    let n = 0;
    for (const s of all.slice(0, LONG ? all.length : 6)) {
      for (const b of layout(s.bytes).blocks) {
        for (const cut of [b.start, b.start + 1, b.end - 1]) {
          n++;
          const f = await runOne(`${s.name} cut at ${cut}`, s.bytes.slice(0, cut), 4096);
          if (f) failures.push(f);
        }
      }
    }
    for (const f of failures) save(f);
    expect(n).toBeGreaterThan(50);
    expect(failures.map((f) => `${f.name}: ${f.what}`)).toEqual([]);
  }, 600_000);

  it(`${CASES} random mutations (seed ${SEED}): no crash${LONG ? `, no case over ${CASE_MS} ms` : ""}, heap bounded`, async () => {
    const failures: Failure[] = [];
    const kinds = new Map<string, number>();
    let maxMs = 0;
    let maxHeap = 0;
    const started = performance.now();
    for (let i = 0; i < CASES; i++) {
      const r = rng((SEED ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
      const s = all[Math.floor(r() * all.length)];
      // One to three stacked mutations.
      let bytes = s.bytes;
      const applied: string[] = [];
      const k = 1 + Math.floor(r() * 3);
      for (let j = 0; j < k; j++) {
        const m = mutate(bytes, r);
        bytes = m.bytes;
        applied.push(m.kind);
        kinds.set(m.kind, (kinds.get(m.kind) ?? 0) + 1);
      }
      const chunk = [1, 7, 100, 4096, 65536][Math.floor(r() * 5)];
      const t0 = performance.now();
      const tight = r() < 1 / 3;
      const f = await runOne(`case ${i} seed ${SEED}: ${s.name} ${applied.join("+")} chunk ${chunk}${tight ? " tight limits" : ""}`, bytes, chunk === 1 && bytes.length > 20000 ? 100 : chunk, tight);
      maxMs = Math.max(maxMs, performance.now() - t0);
      if (f) {
        failures.push(f);
        if (LONG) console.log(`FAIL ${f.name}: ${f.what.split("\n")[0]} → ${save(f)}`);
      }
      if (i % 500 === 0) maxHeap = Math.max(maxHeap, process.memoryUsage().heapUsed);
      if (LONG && i > 0 && i % 10_000 === 0) {
        console.log(`${i} cases, ${failures.length} failures, slowest ${maxMs.toFixed(0)} ms, heap max ${(maxHeap / 2 ** 20).toFixed(0)} MiB, ${((performance.now() - started) / 1000).toFixed(0)} s`);
      }
    }
    if (LONG) console.log(`done: ${CASES} cases, ${failures.length} failures, slowest ${maxMs.toFixed(0)} ms, heap max ${(maxHeap / 2 ** 20).toFixed(0)} MiB; by mutation ${JSON.stringify(Object.fromEntries(kinds))}`);
    else for (const f of failures) save(f);
    expect(kinds.size).toBeGreaterThanOrEqual(LONG ? 12 : 8);
    expect(maxHeap).toBeLessThan(HEAP_LIMIT);
    expect(failures.map((f) => `${f.name}: ${f.what}`)).toEqual([]);
  }, LONG ? 0 : 120_000);
});

const kept = existsSync(fuzzDir) ? readdirSync(fuzzDir).filter((f) => f.endsWith(".cap")).sort() : [];

describe.skipIf(kept.length === 0)("fuzz regressions: every case that ever failed (fixtures/fuzz/)", () => {
  it.each(kept)("%s", async (f) => {
    const bytes = new Uint8Array(readFileSync(path.join(fuzzDir, f)));
    for (const chunk of [1, 100, 65536]) {
      for (const tight of [false, true]) {
        const fail = await runOne(f, bytes, chunk === 1 && bytes.length > 20000 ? 100 : chunk, tight);
        expect(fail?.what ?? null).toBeNull();
      }
    }
  });
});
