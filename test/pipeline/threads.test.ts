/**
 * A run sharded over worker threads (src/pipeline/sharded.ts) gives the report one thread gives,
 * byte for byte (the JSON), at every thread count and batch size: on the public corpus, the
 * recorded fixtures and the lab's captures, with and without roles. The workers run the built
 * code (dist/pipeline/shard-worker.js), so this needs `npm run build` (npm test does it).
 */
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { built, cli, repo, run } from "../cli/cli-run.js";
import { corpusFiles, HAVE_PUBLIC, PUBLIC_DIR, SKIP_MESSAGE } from "../support/corpus.js";

type RunModule = typeof import("../../src/pipeline/run.js");
type ReportModule = typeof import("../../src/report/index.js");

const dist = (p: string) => path.join(repo, "dist", p);
const load = async () => ({
  run: (await import(dist("pipeline/run.js"))) as RunModule,
  report: (await import(dist("report/index.js"))) as ReportModule,
});

/** Capture files under `dir` (recursively), sorted. */
function captures(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...captures(p));
    else if (/\.(pcap|pcapng)(\.gz)?$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

/** The JSON report of `files` (one run, one report) at `threads` and `batchBytes`, and its flow stats. */
async function jsonReport(files: string[], threads: number, batchBytes?: number, extra: { roles?: string; maxConversations?: number } = {}) {
  const { run: r, report } = await load();
  const labels = files.map((f) => path.relative(repo, f));
  const rep = await r.reportFor(files, { threads, ...(batchBytes ? { batchBytes } : {}), labels, ...extra });
  return { text: report.renderJson(rep), report: rep };
}

/** The thread counts and batch sizes each set is run at (1 KiB batches send most data packets on the port instead). */
const CONFIGS: { threads: number; batchBytes?: number }[] = [
  { threads: 2 },
  { threads: 4, batchBytes: 1024 },
  { threads: 3, batchBytes: 64 * 1024 },
];

const SETS: { name: string; files: () => string[]; roles?: string; skip: string | false }[] = [
  { name: "the public corpus", files: () => corpusFiles(PUBLIC_DIR), skip: HAVE_PUBLIC ? false : SKIP_MESSAGE },
  { name: "the recorded fixtures", files: () => captures(path.join(repo, "fixtures/recorded")), skip: false },
  { name: "the lab's captures and the sample", files: () => [...captures(path.join(repo, "fixtures/lab")), path.join(repo, "fixtures/sample.pcapng")], skip: false },
  {
    name: "the lab's captures with their roles",
    files: () => captures(path.join(repo, "fixtures/lab")),
    roles: path.join(repo, "fixtures/lab/roles.json"),
    skip: existsSync(path.join(repo, "fixtures/lab/roles.json")) ? false : "fixtures/lab/roles.json is missing",
  },
];

describe.skipIf(!built)("the report at every thread count and batch size (needs npm run build)", () => {
  for (const set of SETS) {
    it.skipIf(set.skip !== false)(`${set.name}: identical JSON at ${CONFIGS.map((c) => `${c.threads} threads${c.batchBytes ? ` / ${c.batchBytes} B batches` : ""}`).join(", ")}`, async () => {
      const files = set.files();
      expect(files.length).toBeGreaterThan(0);
      const extra = set.roles ? { roles: set.roles } : {};
      const one = await jsonReport(files, 1, undefined, extra);
      // The sets are below every limit of the run: that is where the report must not depend on the shards.
      for (const c of one.report.captures) expect(c.flow?.limitHit).toBe(false);
      expect(one.report.conversations.length).toBeGreaterThan(files.length);
      for (const c of CONFIGS) {
        const many = await jsonReport(files, c.threads, c.batchBytes, extra);
        expect(many.text === one.text ? "identical" : firstDifference(one.text, many.text)).toBe("identical");
      }
    }, 240_000);
  }

  it("past the listing limit the counts are the run's: the same conversations and packets, folded the same number of times", async () => {
    const files = captures(path.join(repo, "fixtures/recorded"));
    const one = await jsonReport(files, 1, undefined, { maxConversations: 40 });
    const many = await jsonReport(files, 3, 4096, { maxConversations: 40 });
    const sum = (r: typeof one.report, k: "conversations" | "listed" | "aggregated") => r.captures.reduce((s, c) => s + (c.flow?.[k] ?? 0), 0);
    expect(sum(one.report, "listed")).toBe(40);
    expect(sum(many.report, "listed")).toBe(40);
    expect(sum(many.report, "conversations")).toBe(sum(one.report, "conversations"));
    expect(sum(many.report, "aggregated")).toBe(sum(one.report, "aggregated"));
    expect(many.report.captures.some((c) => c.flow?.limitHit)).toBe(true);
    const packets = (r: typeof one.report) => r.conversations.reduce((s, c) => s + c.packets.client + c.packets.server, 0);
    expect(packets(many.report)).toBe(packets(one.report));
  }, 120_000);

  it("analyze --threads 2 writes the report --threads 1 writes", () => {
    const sample = path.join(repo, "fixtures/sample.pcapng");
    const a = run(["analyze", sample, "--format", "json", "--threads", "1", "--fail-on", "none"]);
    const b = run(["analyze", sample, "--format", "json", "--threads", "2", "--fail-on", "none"]);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    expect(JSON.parse(a.stdout).conversations.length).toBeGreaterThan(10);
    expect(run(["analyze", sample, "--threads", "0"]).code).toBe(2);
    void cli;
  }, 120_000);
});

/** Where two reports part, for the failure message. */
function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return `differ at ${i}: …${a.slice(Math.max(0, i - 200), i + 200)}… vs …${b.slice(Math.max(0, i - 200), i + 200)}…`;
}
