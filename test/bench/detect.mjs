#!/usr/bin/env node
// Detection micro-bench: the detectors alone, without reading, decoding or tracking in the timing.
//
//   npm run build && node test/bench/detect.mjs [--reps=N] [--runs=N] [capture…]
//
// Every conversation of the given captures (default: ../shared/captures/public and fixtures/,
// when present) is taken through decode and the flow table once; the sample each one hands to
// detection is copied. Then `detect` runs over all the samples `reps` times per run, with one
// certificate cache (so X.509 parsing, node:crypto's work, is paid once and the byte parsers are
// what is timed). Prints the best of `runs`: µs per conversation (wall and CPU) and MB of sample bytes per second.
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { readCapture } from "../../dist/capture/reader/file.js";
import { DecodeContext, decodePacket } from "../../dist/decode/decode.js";
import { FragmentReassembler } from "../../dist/decode/fragments.js";
import { DecodedPacket, IPPROTO_TCP, IPPROTO_UDP } from "../../dist/decode/packet.js";
import { Status } from "../../dist/decode/status.js";
import { detect } from "../../dist/detect/registry.js";
import { CertificateCache } from "../../dist/detect/tls/index.js";
import { DEFAULT_FLOW_OPTIONS, FlowTable } from "../../dist/flow/index.js";
import { sampleOf } from "../../dist/flow/sample.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const argv = process.argv.slice(2);
const opt = (k, d) => Number(argv.find((a) => a.startsWith(`--${k}=`))?.split("=")[1] ?? d);
const REPS = opt("reps", 200);
const RUNS = opt("runs", 5);

function capturesUnder(dir) {
  let out = [];
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names) {
    const p = path.join(dir, n);
    if (statSync(p).isDirectory()) out = out.concat(capturesUnder(p));
    else if (/\.(pcap|pcapng)$/.test(n)) out.push(p);
  }
  return out;
}

const files = argv.filter((a) => !a.startsWith("--"));
if (files.length === 0) files.push(...capturesUnder(path.resolve(repo, "../shared/captures/public")), ...capturesUnder(path.join(repo, "fixtures")));

/** The samples detection would see in `file`, their bytes copied (the table frees its buffers). */
async function samplesOf(file) {
  const samples = [];
  const copy = (b) => Uint8Array.from(b);
  const table = new FlowTable(0, DEFAULT_FLOW_OPTIONS, 0, {
    retire: (c) => {
      const s = sampleOf(c);
      samples.push({ ...s, client: copy(s.client), server: copy(s.server), datagrams: s.datagrams.map((d) => ({ ...d, data: copy(d.data) })) });
    },
    unlisted: () => {},
  });
  const ctx = new DecodeContext(new FragmentReassembler());
  const p = new DecodedPacket();
  try {
    await readCapture(file, (pkt) => {
      if (decodePacket(pkt, p, ctx) !== Status.OK) return;
      if (p.ipProto === IPPROTO_TCP || p.ipProto === IPPROTO_UDP) table.packet(p, pkt.frame, pkt.origLen, pkt.tsSec, pkt.tsNsec);
    });
  } catch {
    // an unreadable fixture (the corrupt ones): whatever was read before counts
  }
  table.finish();
  return samples;
}

const samples = [];
for (const f of files) samples.push(...(await samplesOf(f)));
const bytes = samples.reduce((n, s) => n + s.client.length + s.server.length + s.datagrams.reduce((m, d) => m + d.data.length, 0), 0);
const certificates = new CertificateCache();
for (const s of samples) s.certificates = certificates;

let sink = 0;
const once = () => {
  for (const s of samples) sink += detect(s).anomalies.length;
};
for (let i = 0; i < 20; i++) once(); // warm up (JIT, certificate cache)
// Wall time and this process's CPU time (user + system): on a shared machine the CPU time moves
// less, since waiting for a core is not counted.
let best = Infinity;
let bestCpu = Infinity;
for (let r = 0; r < RUNS; r++) {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  for (let i = 0; i < REPS; i++) once();
  const c = process.cpuUsage(c0);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  best = Math.min(best, s);
  bestCpu = Math.min(bestCpu, (c.user + c.system) / 1e6);
}
const n = samples.length * REPS;
console.log(
  JSON.stringify({ files: files.length, conversations: samples.length, sampleBytes: bytes, reps: REPS, bestSeconds: +best.toFixed(3), usPerConversation: +((best / n) * 1e6).toFixed(2), cpuUsPerConversation: +((bestCpu / n) * 1e6).toFixed(2), MBps: +((bytes * REPS) / best / 1e6).toFixed(1), check: sink }),
);
