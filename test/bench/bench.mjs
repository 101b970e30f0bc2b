#!/usr/bin/env node
// `npm run bench`: speed and peak memory of a full `analyze` against the floor and other tools, on
// the same files, in one run (so the ratios compare like with like on a shared machine).
//
//   node test/bench/bench.mjs [--runs=N] [--skip-tools] [--json=FILE] [--only=hostile]
//
// --only=hostile runs only the hostile cases below (no recording, no root needed).
//
// Files (cached in .bench-cache/, git-ignored; made on first use):
//   mixed.pcap       real HTTP/TLS/UDP on loopback, ~2 M packets (test/bench/record.sh; needs root,
//                    nginx, tcpdump, openssl, ethtool)
//   mixed.pcapng     the same converted by editcap (wireshark-common)
//   mixed.pcap.gz    the same gzip -1
//   synscan.pcap     1,000,000 SYN-only conversations (test/bench/synscan.mjs)
//   hostile cases (issue 19, test/bench/hostile.mjs): a hash flood and its control, 1 M pcapng
//   IDBs, 1 M never-completing fragments, 20,000 TCP flows with holes (once, three and six times,
//   in every format and with --redact), 20,000 UDP flows; the peak RSS of every case is checked against the bound that
//   docs/performance.md derives from the defaults (memoryBoundMiB below).
// Tools compared when installed: tshark (-q -z conv,tcp), ndpiReader (libndpi-bin), tcpdump -r.
// Peak RSS comes from GNU time (/usr/bin/time, package "time"). Each timing is the median of N runs.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { DEFAULT_FRAGMENT_LIMITS } from "../../dist/decode/fragments.js";
import { DEFAULT_FLOW_OPTIONS } from "../../dist/flow/index.js";
import { MAX_AGGREGATES } from "../../dist/pipeline/aggregate.js";
import { availableParallelism } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const cache = path.join(repo, ".bench-cache");
// "--flag" alone is "1" (a bare flag used to read as absent: --skip-tools did nothing).
const args = Object.fromEntries(process.argv.slice(2).map((a) => { const [k, v] = a.replace(/^--/, "").split("="); return [k, v ?? "1"]; }));
const RUNS = Number(args.runs ?? 3);
const CORES = availableParallelism();
mkdirSync(cache, { recursive: true });

const has = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const f = (name) => path.join(cache, name);

const HOSTILE_ONLY = args.only === "hostile";
const HOSTILE = ["hashflood.pcap", "hashflood-control.pcap", "manyidb.pcapng", "frags.pcap", "holes.pcap", "udp20k.pcap"];
const missing = HOSTILE.filter((n) => !existsSync(f(n)));
if (missing.length > 0) {
  console.error(`writing ${missing.join(", ")} into .bench-cache/ (about a minute)…`);
  execFileSync(process.execPath, [path.join(here, "hostile.mjs"), cache, ...missing], { stdio: "inherit" });
}

/**
 * The documented worst-case peak RSS (docs/performance.md, "The bound"), from the defaults: what
 * may be held, each part at its limit. MiB.
 */
function memoryBoundMiB() {
  const MiB = 1024 * 1024;
  const kept = (DEFAULT_FLOW_OPTIONS.maxHeldBytes + DEFAULT_FLOW_OPTIONS.retainedBytes + DEFAULT_FRAGMENT_LIMITS.maxBytes) / MiB;
  const entries = DEFAULT_FLOW_OPTIONS.maxConversations + MAX_AGGREGATES * 1.1; // listed + aggregate entries
  const objects = (DEFAULT_FLOW_OPTIONS.maxConversations + entries) * 4 / 1024; // in the table + in the report's lists, ~4 KiB each
  const report = (entries * 4) / 1024; // records and JSON text, ~4 KiB per entry
  return Math.round(64 + 2 * kept + objects + 3 + 64 + report);
}

// ---- inputs ----
if (!HOSTILE_ONLY && !existsSync(f("mixed.pcap"))) {
  console.error("recording .bench-cache/mixed.pcap (about 2 minutes)…");
  execFileSync(path.join(here, "record.sh"), [f("mixed.pcap"), "2000000", "300"], { stdio: "inherit" });
}
if (!HOSTILE_ONLY && !existsSync(f("mixed.pcapng")) && has("editcap")) execFileSync("editcap", ["-F", "pcapng", f("mixed.pcap"), f("mixed.pcapng")]);
if (!HOSTILE_ONLY && !existsSync(f("mixed.pcap.gz"))) execFileSync("sh", ["-c", `gzip -1 -c '${f("mixed.pcap")}' > '${f("mixed.pcap.gz")}'`]);
if (!HOSTILE_ONLY && !existsSync(f("synscan.pcap"))) execFileSync(process.execPath, [path.join(here, "synscan.mjs"), f("synscan.pcap"), "1000000"]);

const cli = path.join(repo, "dist/cli/main.js");
if (!existsSync(cli)) throw new Error("dist/cli/main.js is missing: npm run build first");

const PACKETS = HOSTILE_ONLY ? 0 : JSON.parse(execFileSync(process.execPath, [path.join(here, "floor.mjs"), "walk", f("mixed.pcap")], { encoding: "utf8" })).packets;
const SIZE = HOSTILE_ONLY ? 0 : statSync(f("mixed.pcap")).size;

/** Runs a command RUNS times under GNU time; the median wall time and the largest peak RSS. */
// analyze's exit codes with a report written: 0 pass, 1 findings, 3 inconclusive (the bench
// captures name no proxy, so most runs are 3); 2 is a failure.
function measure(label, cmd, argv, { runs = RUNS, env = {}, okCodes = [0, 1, 3] } = {}) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync("/usr/bin/time", ["-f", "%e %M", cmd, ...argv], {
      env: { ...process.env, ...env },
      encoding: "utf8",
      stdio: ["ignore", "ignore", "pipe"],
      maxBuffer: 1 << 26,
    });
    const last = r.stderr.trim().split("\n").pop() ?? "";
    const m = /^(\d+(?:\.\d+)?) (\d+)$/.exec(last);
    if (!m || !okCodes.includes(r.status ?? -1)) {
      console.error(`${label}: failed (exit ${r.status}): ${r.stderr.slice(-500)}`);
      return null;
    }
    times.push({ s: Number(m[1]), rssMiB: Number(m[2]) / 1024 });
  }
  // The median run (issue 15: medians of 3), and the largest peak RSS of all runs.
  times.sort((a, b) => a.s - b.s);
  const best = { s: times[Math.floor(times.length / 2)].s, rssMiB: Math.max(...times.map((t) => t.rssMiB)) };
  return { label, ...best };
}

const rows = [];
const add = (r, bytes, packets) => r && rows.push({ ...r, bytes, packets });
const node = process.execPath;
const json = ["--format", "json", "-o", "/dev/null"];

if (!HOSTILE_ONLY) {
add(measure("floor: pcap record walk (node)", node, [path.join(here, "floor.mjs"), "walk", f("mixed.pcap")]), SIZE, PACKETS);
add(measure("floor: walk + L2-L4 decode (node)", node, [path.join(here, "floor.mjs"), "decode", f("mixed.pcap")]), SIZE, PACKETS);
add(measure("analyze mixed.pcap", node, [cli, "analyze", f("mixed.pcap"), ...json]), SIZE, PACKETS);
add(measure(`analyze mixed.pcap --threads ${CORES}`, node, [cli, "analyze", f("mixed.pcap"), "--threads", String(CORES), ...json]), SIZE, PACKETS);
if (existsSync(f("mixed.pcapng"))) add(measure("analyze mixed.pcapng", node, [cli, "analyze", f("mixed.pcapng"), ...json]), statSync(f("mixed.pcapng")).size, PACKETS);
add(measure("analyze mixed.pcap.gz", node, [cli, "analyze", f("mixed.pcap.gz"), ...json]), SIZE, PACKETS);
add(measure("analyze synscan.pcap (1 M conversations)", node, [cli, "analyze", f("synscan.pcap"), ...json], { runs: 1 }), statSync(f("synscan.pcap")).size, 1_000_000);
if (args["skip-tools"] === undefined) {
  if (has("tshark")) add(measure("tshark -q -z conv,tcp", "tshark", ["-r", f("mixed.pcap"), "-q", "-z", "conv,tcp"], { runs: 1 }), SIZE, PACKETS);
  if (has("ndpiReader")) add(measure("ndpiReader -i", "ndpiReader", ["-i", f("mixed.pcap"), "-q"], { okCodes: [0, 1] }), SIZE, PACKETS);
  if (has("tcpdump")) add(measure("tcpdump -r (TZ=UTC)", "sh", ["-c", `tcpdump -n -r '${f("mixed.pcap")}' > /dev/null 2>&1`], { env: { TZ: "UTC" } }), SIZE, PACKETS);
}
}

// ---- hostile cases (issue 19): time ~linear in the input, peak RSS under the documented bound ----
const hostile = [];
const BOUND = memoryBoundMiB();
// Every case counts against the bound: the issue's "any number and shape of inputs". `format`:
// the report's format (the holes file is rendered in each, and with --redact, since each
// renderer makes its own text and --redact its own copy of the report).
const hcase = (label, files, packets, format = json) => {
  const r = measure(label, node, [cli, "analyze", ...files.map(f), ...format, "--fail-on", "none"], { runs: 1 });
  if (r === null) return;
  const bytes = files.reduce((s, n) => s + statSync(f(n)).size, 0);
  hostile.push({ ...r, bytes, packets });
};
const asFormat = (name, ...more) => ["--format", name, "-o", "/dev/null", ...more];
hcase("hash flood: 19,000 colliding IPv6 flows", ["hashflood.pcap"], 133_000);
hcase("hash flood control: ordinary addresses", ["hashflood-control.pcap"], 133_000);
hcase("pcapng: 1,000,000 IDBs, link types changing", ["manyidb.pcapng"], 1000);
hcase("1,000,000 never-completing IPv4 fragments", ["frags.pcap"], 1_000_000);
hcase("20,000 TCP flows with holes", ["holes.pcap"], 140_000);
const holes3 = ["holes.pcap", "holes.pcap", "holes.pcap"];
hcase("the same file three times", holes3, 420_000);
hcase("the same file three times, table", holes3, 420_000, asFormat("table"));
hcase("the same file three times, markdown", holes3, 420_000, asFormat("markdown"));
hcase("the same file three times, html", holes3, 420_000, asFormat("html"));
hcase("the same file three times, json --redact", holes3, 420_000, asFormat("json", "--redact"));
hcase("the same file six times", [...holes3, ...holes3], 840_000);
hcase("the same file six times, html", [...holes3, ...holes3], 840_000, asFormat("html"));
hcase("the same file six times, json --redact", [...holes3, ...holes3], 840_000, asFormat("json", "--redact"));
hcase("holes, UDP and hash flood together, html", ["holes.pcap", "udp20k.pcap", "hashflood.pcap"], 453_000, asFormat("html"));
hcase("20,000 UDP flows, 8 × 2 KiB samples each", ["udp20k.pcap"], 180_000);

// ---- table ----
if (hostile.length > 0) {
  const pad = (s, n) => String(s).padEnd(n);
  const lpad = (s, n) => String(s).padStart(n);
  console.log(`\nhostile inputs (1 run each); documented peak RSS bound from the defaults: ${BOUND} MiB\n`);
  console.log(`${pad("case", 46)} ${lpad("MB", 6)} ${lpad("seconds", 8)} ${lpad("peak RSS", 10)}  bound`);
  for (const r of hostile) {
    const verdict = r.rssMiB <= BOUND ? "under" : "OVER";
    console.log(`${pad(r.label, 46)} ${lpad((r.bytes / 1e6).toFixed(0), 6)} ${lpad(r.s.toFixed(2), 8)} ${lpad(r.rssMiB.toFixed(0) + " MiB", 10)}  ${verdict}`);
  }
  const flood = hostile.find((r) => r.label.startsWith("hash flood:"));
  const control = hostile.find((r) => r.label.startsWith("hash flood control"));
  if (flood && control) console.log(`  hash flood vs control: ${(flood.s / control.s).toFixed(2)}× the time (before issue 19, on this machine: 20×)`);
  if (hostile.some((r) => r.rssMiB > BOUND)) process.exitCode = 1;
}
if (HOSTILE_ONLY) {
  if (args.json) writeFileSync(args.json, JSON.stringify({ date: new Date().toISOString(), node: process.version, bound: BOUND, hostile }, null, 2));
  process.exit();
}
const floor = rows.find((r) => r.label.startsWith("floor: pcap record walk"));
const an = rows.find((r) => r.label === "analyze mixed.pcap");
const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);
console.log(`\nfile: mixed.pcap ${(SIZE / 1e6).toFixed(0)} MB, ${PACKETS.toLocaleString("en-US")} packets; node ${process.version}; ${RUNS} run(s), median; ${CORES} cores; analyze at its default (one thread) and at --threads ${CORES}\n`);
console.log(`${pad("tool", 44)} ${lpad("seconds", 8)} ${lpad("MB/s", 8)} ${lpad("packets/s", 11)} ${lpad("peak RSS", 10)} ${lpad("vs floor", 9)}`);
for (const r of rows) {
  const ratio = floor ? (r.bytes / r.s / (SIZE / floor.s)).toFixed(2) : "";
  console.log(
    `${pad(r.label, 44)} ${lpad(r.s.toFixed(2), 8)} ${lpad((r.bytes / 1e6 / r.s).toFixed(0), 8)} ${lpad(Math.round(r.packets / r.s).toLocaleString("en-US"), 11)} ${lpad(r.rssMiB.toFixed(0) + " MiB", 10)} ${lpad(ratio, 9)}`,
  );
}
if (an && floor) {
  const ts = rows.find((r) => r.label.startsWith("tshark"));
  const nd = rows.find((r) => r.label.startsWith("ndpiReader"));
  const many = rows.find((r) => r.label === `analyze mixed.pcap --threads ${CORES}`);
  const ng = rows.find((r) => r.label === "analyze mixed.pcapng");
  const gz = rows.find((r) => r.label === "analyze mixed.pcap.gz");
  console.log(`\ntargets (issue 15; ${CORES} cores):`);
  console.log(`  ratio to the record walk: ${(floor.s / an.s).toFixed(2)}× (stretch: ≥ 0.5× on 4+ cores)`);
  if (many) console.log(`  --threads ${CORES} vs 1: ${(an.s / many.s).toFixed(2)}× as fast`);
  if (nd) console.log(`  analyze faster than ndpiReader: ${(nd.s / an.s).toFixed(2)}×${many ? `, at --threads ${CORES} ${(nd.s / many.s).toFixed(2)}×` : ""} (met when > 1)`);
  if (ng) console.log(`  pcapng within 1.3× of the pcap: ${(ng.s / an.s).toFixed(2)}×`);
  if (gz) console.log(`  gzip within 1.3× of the pcap: ${(gz.s / an.s).toFixed(2)}×`);
  if (ts) console.log(`  vs tshark conv,tcp: ${(ts.s / an.s).toFixed(1)}× faster`);
  for (const r of rows.filter((x) => x.label.startsWith("analyze"))) console.log(`  peak RSS < 256 MiB, ${r.label}: ${r.rssMiB.toFixed(0)} MiB`);
}
if (args.json) writeFileSync(args.json, JSON.stringify({ date: new Date().toISOString(), node: process.version, size: SIZE, packets: PACKETS, rows, bound: BOUND, hostile }, null, 2));
