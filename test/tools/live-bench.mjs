#!/usr/bin/env node
// Live-capture benchmark (not a test): per-packet CPU cost and loss of each engine at given rates
// on lo, with the bounded UDP sender of test/tools/live-traffic.mjs. Needs root and `npm run build`.
//
//   node test/tools/live-bench.mjs [--rates 20000,100000] [--seconds 3] [--engines cap,tcpdump] [--buffer-size BYTES]
//
// For each engine and rate: capture with the same path as `phoenix-netcheck capture` (decode,
// conversations, pcapng written to a temporary file), flood for --seconds, wait until nothing
// more arrives, stop, and print one table row. CPU is this process's user+system time plus, for
// tcpdump, the child's (counted once it has exited and been reaped). The sender's CPU is not
// counted. Numbers are quoted in docs/live-capture.md.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "../..");
const { captureLive } = await import(join(repo, "dist/capture/live.js"));
const { CaptureAnalysis } = await import(join(repo, "dist/pipeline/index.js"));

const argv = process.argv.slice(2);
const opt = (k, d) => {
  const i = argv.indexOf(`--${k}`);
  return i >= 0 ? argv[i + 1] : d;
};
const rates = opt("rates", "20000,100000").split(",").map(Number);
const seconds = Number(opt("seconds", "3"));
const engines = opt("engines", "cap,tcpdump").split(",");
const bufferSize = opt("buffer-size") ? Number(opt("buffer-size")) : null;

if (process.getuid?.() !== 0) {
  console.error("live-bench: needs root (it captures on lo)");
  process.exit(2);
}

/** This process's reaped children's CPU in ms (/proc/self/stat fields 16 cutime, 17 cstime). */
function childrenCpuMs() {
  const s = readFileSync("/proc/self/stat", "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  const hz = 100; // USER_HZ on Linux
  return ((Number(f[13]) + Number(f[14])) * 1000) / hz;
}

function flood(port, rate) {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [join(here, "live-traffic.mjs"), "flood", "--host", "127.0.0.1", "--port", String(port), "--rate", String(rate), "--seconds", String(seconds)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    c.stdout.on("data", (d) => (out += d));
    c.on("close", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`flood exited ${code}`))));
  });
}

const dir = mkdtempSync(join(tmpdir(), "pnc-live-bench-"));
const rows = [];
try {
  for (const engine of engines) {
    for (const rate of rates) {
      const port = 30000 + Math.floor(Math.random() * 10000);
      const ca = new CaptureAnalysis(0, 0);
      const ac = new AbortController();
      let started;
      const ready = new Promise((r) => (started = r));
      let packets = 0;
      let lastChange = Date.now();
      let flooding = true;
      const cpu0 = process.cpuUsage();
      const child0 = childrenCpuMs();
      const run = captureLive({
        iface: "lo",
        engine,
        filter: `udp port ${port}`,
        bufferSize,
        write: join(dir, `${engine}-${rate}.pcapng`),
        signal: ac.signal,
        onPacket: (p) => ca.packet(p),
        onStarted: () => started(),
        onTick: (t) => {
          if (t.packets !== packets) lastChange = Date.now();
          packets = t.packets;
          if (!flooding && Date.now() - lastChange > 1500) ac.abort("interrupt");
        },
      });
      await ready;
      const f = await flood(port, rate);
      flooding = false;
      const guard = setTimeout(() => ac.abort("interrupt"), 20_000);
      const s = await run;
      clearTimeout(guard);
      const cpu = process.cpuUsage(cpu0);
      const cpuMs = (cpu.user + cpu.system) / 1000 + (childrenCpuMs() - child0);
      const l = s.live;
      rows.push({
        engine,
        "target pkt/s": rate,
        sent: f.sent,
        "sent pkt/s": Math.round(f.sent / f.seconds),
        captured: l.packetsCaptured,
        lost: f.sent - l.packetsCaptured,
        "kernel drops": l.droppedByKernel ?? "unavailable",
        "CPU ms": Math.round(cpuMs),
        "µs/packet": l.packetsCaptured > 0 ? Number(((cpuMs * 1000) / l.packetsCaptured).toFixed(2)) : null,
      });
      process.stderr.write(`${engine} ${rate}: done\n`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

let load = "";
try {
  load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
} catch {}
let tcpdumpVersion = "";
try {
  tcpdumpVersion = execFileSync("tcpdump", ["--version"], { encoding: "utf8" }).split("\n")[0];
} catch {}
console.log(`${new Date().toISOString()}  ${cpus().length} × ${cpus()[0]?.model ?? "?"}  node ${process.version}  ${tcpdumpVersion}  load ${load}`);
console.log(`lo, UDP 64-byte payloads, ${seconds} s per run, buffer ${bufferSize ?? "default (64 MiB)"}, analysis + pcapng writing on`);
console.table(rows);
