/**
 * A run sharded over worker threads (src/pipeline/sharded.ts) gives the report one thread gives,
 * byte for byte (the JSON), at every thread count and batch size: on the public corpus, the
 * recorded fixtures and the lab's captures, with and without roles. The workers run the built
 * code (dist/pipeline/shard-worker.js), so this needs `npm run build` (npm test does it).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { built, cli, repo, run } from "../cli/cli-run.js";
import { corpusFiles, HAVE_PUBLIC, PUBLIC_DIR, SKIP_MESSAGE } from "../support/corpus.js";
import { pcapHeader, pcapRecord } from "../capture/build.js";
import { cat, eth, ipv4, tcp, udp } from "../decode/build.js";

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
async function jsonReport(files: string[], threads: number, batchBytes?: number, extra: { roles?: string; maxConversations?: number; chunkSize?: number } = {}) {
  const { run: r, report } = await load();
  const labels = files.map((f) => path.relative(repo, f));
  const rep = await r.reportFor(files, { threads, ...(batchBytes ? { batchBytes } : {}), labels, ...extra });
  return { text: report.renderJson(rep), report: rep };
}

/**
 * The thread counts, batch sizes and read sizes each set is run at (1 KiB batches send most data
 * packets on the port instead; reads of 1,000 and 4,096 bytes cut records, pcapng blocks and gzip
 * input in two at every few packets, where the default 1 MiB reads cut them rarely).
 */
const CONFIGS: { threads: number; batchBytes?: number; chunkSize?: number }[] = [
  { threads: 2 },
  { threads: 4, batchBytes: 1024 },
  { threads: 3, batchBytes: 64 * 1024 },
  { threads: 1, chunkSize: 1000 },
  { threads: 2, chunkSize: 4096 },
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
    it.skipIf(set.skip !== false)(`${set.name}: identical JSON at ${CONFIGS.map((c) => `${c.threads} threads${c.batchBytes ? ` / ${c.batchBytes} B batches` : ""}${c.chunkSize ? ` / ${c.chunkSize} B reads` : ""}`).join(", ")}`, async () => {
      const files = set.files();
      expect(files.length).toBeGreaterThan(0);
      const extra = set.roles ? { roles: set.roles } : {};
      const one = await jsonReport(files, 1, undefined, extra);
      // The sets are below every limit of the run: that is where the report must not depend on the shards.
      for (const c of one.report.captures) expect(c.flow?.limitHit).toBe(false);
      expect(one.report.conversations.length).toBeGreaterThan(files.length);
      for (const c of CONFIGS) {
        const many = await jsonReport(files, c.threads, c.batchBytes, { ...extra, ...(c.chunkSize ? { chunkSize: c.chunkSize } : {}) });
        expect(many.text === one.text ? "identical" : firstDifference(one.text, many.text)).toBe("identical");
      }
    }, 240_000);
  }

  it("a shard's conversations expire on the other shards' packets' time, as in one table", async () => {
    // Eight TCP sessions (each: SYN, SYN-ACK, ACK, 1,000 bytes, FIN, FIN) at t = 0–1 s, each from
    // its own client port (so they spread over the shards), then one UDP datagram of another
    // flow at t = 20 s, then each session's late ACK at t = 60 s. One table retires all eight early
    // on the datagram's time (finished and quiet past 5 s), before their late ACKs: retiredEarly 8.
    // A shard whose next packet is a late ACK must first retire its sessions on the time the
    // other shards' packets brought, or the ACK would find them still open.
    const A = [192, 0, 2, 1];
    const B = [192, 0, 2, 2];
    const frames: { t: number; f: Uint8Array }[] = [];
    for (let i = 0; i < 8; i++) {
      const sport = 40000 + 7 * i;
      const c = (o: Parameters<typeof tcp>[0]) => eth(0x0800, ipv4({ src: A, dst: B, proto: 6, payload: tcp({ sport, dport: 8080, ...o }) }));
      const sv = (o: Parameters<typeof tcp>[0]) => eth(0x0800, ipv4({ src: B, dst: A, proto: 6, payload: tcp({ sport: 8080, dport: sport, ...o }) }));
      frames.push(
        { t: 0, f: c({ seq: 100, flags: 0x02 }) }, // SYN
        { t: 0, f: sv({ seq: 900, ack: 101, flags: 0x12 }) }, // SYN-ACK
        { t: 0, f: c({ seq: 101, ack: 901, flags: 0x10 }) }, // ACK
        { t: 0, f: c({ seq: 101, ack: 901, flags: 0x18, payload: new Uint8Array(1000).fill(0x41) }) }, // data
        { t: 1, f: c({ seq: 1101, ack: 901, flags: 0x11 }) }, // FIN
        { t: 1, f: sv({ seq: 901, ack: 1102, flags: 0x11 }) }, // FIN
      );
    }
    frames.push({ t: 20, f: eth(0x0800, ipv4({ src: [192, 0, 2, 9], dst: [192, 0, 2, 10], proto: 17, payload: udp({ sport: 5000, dport: 6000, payload: [1, 2, 3] }) })) });
    // Then each session's late last ACK (t = 60): in one table it joins a session already retired.
    for (let i = 0; i < 8; i++) {
      frames.push({ t: 60, f: eth(0x0800, ipv4({ src: A, dst: B, proto: 6, payload: tcp({ sport: 40000 + 7 * i, dport: 8080, seq: 1102, ack: 902, flags: 0x10 }) })) });
    }
    const dir = mkdtempSync(path.join(tmpdir(), "pnc-threads-"));
    try {
      const file = path.join(dir, "expiry.pcap");
      writeFileSync(file, cat(pcapHeader({ le: true, snaplen: 65535, linkType: 1 }), ...frames.map((x) => pcapRecord(true, 1_700_000_000 + x.t, 0, x.f))));
      const one = await jsonReport([file], 1);
      expect(one.report.captures[0].flow?.retiredEarly).toBe(8);
      for (const threads of [2, 4]) {
        const many = await jsonReport([file], threads);
        expect(many.report.captures[0].flow?.retiredEarly).toBe(8);
        expect(many.text).toBe(one.text);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

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
