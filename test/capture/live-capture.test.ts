// Live capture end to end, for each engine: real TLS and NTP traffic on lo and between two network
// namespaces this file creates (pnc-live-<random>-a/-b, veth, 10.88.0.0/24, removed in afterAll by
// name), the report's conversations and protocols, the written pcapng read back by our reader and by
// tshark, SIGINT mid-run, a flood that must be accounted for honestly, and the one-line errors.
//
// Needs root (CI runs as root) and the engine; each part skips with a message otherwise. The
// spawned command is `node dist/cli/main.js capture` once main.ts registers it, else the stand-in
// test/tools/live-capture-cli.mjs (same command, same exit codes); both need `npm run build`.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CaptureAnalysis } from "../../src/pipeline/index.js";
import { capLoadError } from "../../src/capture/engine-cap.js";
import { findTcpdump } from "../../src/capture/engine-tcpdump.js";
import { readCapture } from "../../src/capture/file.js";
import { captureLive, type EngineName } from "../../src/capture/live.js";
import { runCapture } from "../../src/cli/capture.js";

const repo = resolve(__dirname, "../..");
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
const traffic = join(repo, "test/tools/live-traffic.mjs");
const distReady = existsSync(join(repo, "dist/cli/capture.js"));
const mainJs = join(repo, "dist/cli/main.js");
const entry = existsSync(mainJs) && readFileSync(mainJs, "utf8").includes("registerCaptureCommand") ? mainJs : join(repo, "test/tools/live-capture-cli.mjs");

function have(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const haveOpenssl = have("openssl", ["version"]);
const haveTshark = have("tshark", ["-v"]);
const haveIp = have("ip", ["-V"]);
const engines: { name: EngineName; missing: string | null }[] = [
  { name: "cap", missing: capLoadError() === null ? null : "cap is not installed (needs libpcap-dev at npm install)" },
  { name: "tcpdump", missing: findTcpdump() !== null ? null : "tcpdump is not on PATH" },
];

if (!isRoot) console.warn("live-capture tests skipped: they capture on real interfaces and need root (CI runs as root)");
for (const e of engines) if (e.missing) console.warn(`live-capture tests for ${e.name} skipped: ${e.missing}`);
if (!distReady) console.warn("live-capture CLI tests skipped: run `npm run build` first (dist/cli/capture.js is missing)");

const tmp = mkdtempSync(join(tmpdir(), "pnc-live-"));
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  rmSync(tmp, { recursive: true, force: true });
});

let cert = "";
let key = "";
beforeAll(() => {
  if (!isRoot || !haveOpenssl) return;
  cert = join(tmp, "cert.pem");
  key = join(tmp, "key.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=proxy.test", "-days", "1", "-keyout", key, "-out", cert], { stdio: "ignore" });
});

interface Done {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts a process we own; `done` resolves when it exits (killed after `limitMs`). */
function start(cmd: string, args: string[], limitMs = 30_000, env?: NodeJS.ProcessEnv): { child: ChildProcess; done: Promise<Done>; stderrHas: (re: RegExp) => Promise<void> } {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: env ?? process.env });
  children.add(child);
  let stdout = "";
  let stderr = "";
  const waiters: { re: RegExp; res: () => void }[] = [];
  child.stdout!.setEncoding("utf8").on("data", (s: string) => {
    stdout += s;
    for (const w of waiters) if (w.re.test(stdout)) w.res();
  });
  child.stderr!.setEncoding("utf8").on("data", (s: string) => {
    stderr += s;
    for (const w of waiters) if (w.re.test(stderr)) w.res();
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), limitMs);
  const done = new Promise<Done>((res) =>
    child.once("close", (code) => {
      clearTimeout(timer);
      children.delete(child);
      res({ code, stdout, stderr });
    }),
  );
  const stderrHas = (re: RegExp) =>
    new Promise<void>((res, rej) => {
      if (re.test(stderr) || re.test(stdout)) return res();
      waiters.push({ re, res });
      done.then((d) => rej(new Error(`exited (${d.code}) before ${re}: ${d.stderr}`)));
    });
  return { child, done, stderrHas };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const port = () => 20000 + Math.floor(Math.random() * 20000);

interface Conv {
  transport: string;
  client: { ip: string; port: number };
  server: { ip: string; port: number };
  protocol: string;
  state: string;
  packets: { client: number; server: number };
  tls: { sni: string | null; version: string | null } | null;
}
interface Live {
  interface: string;
  engine: string;
  stopReason: string;
  packetsCaptured: number;
  packetsReceived: number | null;
  droppedByKernel: number | null;
  droppedByInterface: number | null;
  timestamps: string;
  unavailable: string[];
  file: string | null;
}
interface ReportShape {
  captures: { packets: number; linkTypes: number[]; live: Live }[];
  conversations: Conv[];
}

/** Asserts the report shows the client's TLS and NTP exchanges (n of each) to server:tlsPort/udpPort. */
function expectTraffic(r: ReportShape, server: string, tlsPort: number, udpPort: number, n: number): void {
  const tls = r.conversations.filter((c) => c.transport === "tcp" && c.server.ip === server && c.server.port === tlsPort);
  expect(tls).toHaveLength(n);
  for (const c of tls) {
    expect(c.protocol).toBe("tls");
    expect(c.tls?.sni).toBe("proxy.test");
    expect(c.tls?.version).toBe("TLS 1.3");
    expect(c.state).toBe("SF"); // handshake, data, FIN both ways
  }
  const ntp = r.conversations.filter((c) => c.transport === "udp" && c.server.ip === server && c.server.port === udpPort);
  expect(ntp).toHaveLength(n);
  for (const c of ntp) {
    expect(c.protocol).toBe("ntp");
    expect(c.packets).toEqual({ client: 1, server: 1 });
  }
}

/** Reads the pcapng back with our reader: packet count, no errors, time never goes backwards. */
async function expectFileMatches(file: string, r: ReportShape): Promise<void> {
  let n = 0;
  let lastNs = -1;
  let ordered = true;
  const s = await readCapture(file, (p) => {
    n++;
    const ns = p.tsSec * 1e9 + p.tsNsec;
    if (ns < lastNs) ordered = false;
    lastNs = ns;
  });
  expect(s.format).toBe("pcapng");
  expect(s.errors).toEqual([]);
  expect(n).toBe(r.captures[0].packets);
  expect(s.linkTypes).toEqual(r.captures[0].linkTypes);
  expect(ordered).toBe(true);
  if (!haveTshark) return;
  const frames = execFileSync("tshark", ["-r", file, "-T", "fields", "-e", "frame.number"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  expect(frames.trim() === "" ? 0 : frames.trim().split("\n").length).toBe(n);
  // tshark's own TCP conversation table must agree with ours, conversation by conversation.
  const conv = execFileSync("tshark", ["-r", file, "-q", "-z", "conv,tcp"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  const rows = [...conv.matchAll(/^(\S+):(\d+)\s+<->\s+(\S+):(\d+)\s+(\d+) \S+ \S+\s+(\d+) \S+ \S+\s+(\d+) /gm)].map((m) => ({
    ports: [Number(m[2]), Number(m[4])].sort((a, b) => a - b).join("-"),
    frames: Number(m[7]),
  }));
  const ours = r.conversations
    .filter((c) => c.transport === "tcp")
    .map((c) => ({ ports: [c.client.port, c.server.port].sort((a, b) => a - b).join("-"), frames: c.packets.client + c.packets.server }));
  expect(rows.sort((a, b) => a.ports.localeCompare(b.ports))).toEqual(ours.sort((a, b) => a.ports.localeCompare(b.ports)));
}

function expectLiveFacts(l: Live, engine: EngineName): void {
  expect(l.engine).toBe(engine);
  if (engine === "tcpdump") {
    expect(l.timestamps).toBe("kernel");
    expect(l.unavailable).toEqual([]);
    expect(l.droppedByKernel).toBe(0); // a few dozen packets: nothing to drop
    expect(l.droppedByInterface).not.toBeNull();
    expect(l.packetsReceived).toBeGreaterThanOrEqual(l.packetsCaptured);
  } else {
    expect(l.timestamps).toBe("arrival");
    expect(l.packetsReceived).toBeNull();
    expect(l.droppedByKernel).toBeNull();
    expect(l.droppedByInterface).toBeNull();
    expect(l.unavailable).toEqual(expect.arrayContaining(["timestamps", "originalLength", "droppedByKernel", "droppedByInterface"]));
  }
}

/** Sum of the kernel's backlog drops (/proc/net/softnet_stat, 2nd column, hex): lost before any tap. */
function softnetDrops(): number {
  try {
    return readFileSync("/proc/net/softnet_stat", "utf8")
      .trim()
      .split("\n")
      .reduce((s, l) => s + parseInt(l.trim().split(/\s+/)[1], 16), 0);
  } catch {
    return 0;
  }
}

for (const eng of engines) {
  describe.skipIf(!isRoot || eng.missing !== null)(`live capture with ${eng.name}`, () => {
    it.skipIf(!haveOpenssl)("on lo: TLS and NTP conversations in the report, the pcapng read back by us and tshark", async () => {
      const tlsPort = port();
      const udpPort = tlsPort + 1;
      const srv = start(process.execPath, [traffic, "server", "--bind", "127.0.0.1", "--tls-port", String(tlsPort), "--udp-port", String(udpPort), "--cert", cert, "--key", key, "--seconds", "30"]);
      await srv.stderrHas(/ready/);
      const file = join(tmp, `lo-${eng.name}.pcapng`);
      const out = new PassThrough();
      let json = "";
      out.setEncoding("utf8").on("data", (s: string) => (json += s));
      const ac = new AbortController();
      let started!: () => void;
      const ready = new Promise<void>((r) => (started = r));
      const capture = runCapture(
        { interface: "lo", engine: eng.name, filter: `port ${tlsPort} or port ${udpPort}`, write: file, quiet: true, failOn: "none" },
        { stdout: out, stderr: new PassThrough(), signal: ac.signal, onStarted: () => started() },
      );
      await ready;
      const cli = start(process.execPath, [traffic, "client", "--host", "127.0.0.1", "--tls-port", String(tlsPort), "--udp-port", String(udpPort), "--count", "3"]);
      const c = await cli.done;
      expect(JSON.parse(c.stdout)).toEqual({ tls: 3, ntp: 3 });
      await sleep(200);
      ac.abort("interrupt");
      // Test traffic between two ports of 127.0.0.1 has no backup proxy in it: the capture worked,
      // and its verdict is inconclusive (coverage no-proxy), exit 3 whatever --fail-on says.
      expect(await capture).toBe(3);
      srv.child.kill("SIGTERM");
      const r = JSON.parse(json) as ReportShape;
      expectTraffic(r, "127.0.0.1", tlsPort, udpPort, 3);
      expect(r.captures[0].live).toMatchObject({ interface: "lo", stopReason: "interrupt", file, packetsCaptured: r.captures[0].packets });
      expectLiveFacts(r.captures[0].live, eng.name);
      await expectFileMatches(file, r);
    });

    it.skipIf(!distReady)("--count stops after exactly that many packets", async () => {
      const p = port();
      const cap = start(process.execPath, [entry, "capture", "-i", "lo", "--engine", eng.name, "--count", "5", "--filter", `udp port ${p}`, "--duration", "20s"]);
      await cap.stderrHas(/capturing on lo/);
      const flood = start(process.execPath, [traffic, "flood", "--host", "127.0.0.1", "--port", String(p), "--rate", "200", "--seconds", "1"]);
      await flood.done;
      const d = await cap.done;
      // UDP to a random port: nothing of the matrix, so the verdict is inconclusive (exit 3).
      expect(d.code).toBe(3);
      const r = JSON.parse(d.stdout) as ReportShape;
      expect(r.captures[0].packets).toBe(5);
      expect(r.captures[0].live.stopReason).toBe("count");
    });

    it("a flood on lo: every packet sent is captured or counted as dropped (tcpdump), or drops are named unavailable (cap)", async () => {
      const p = port();
      const before = softnetDrops();
      let packets = 0;
      let lastChange = Date.now();
      let flooding = true;
      const ac = new AbortController();
      let started!: () => void;
      const ready = new Promise<void>((r) => (started = r));
      const ca = new CaptureAnalysis(0, 0);
      const run = captureLive({
        iface: "lo",
        engine: eng.name,
        filter: `udp port ${p}`,
        signal: ac.signal,
        onPacket: (pkt) => ca.packet(pkt),
        onStarted: () => started(),
        onTick: (t) => {
          if (t.packets !== packets) lastChange = Date.now();
          packets = t.packets;
          // Stop once the flood is over and nothing more came for 1.5 s (the kernel ring drained).
          if (!flooding && Date.now() - lastChange > 1500) ac.abort("interrupt");
        },
      });
      await ready;
      const f = await start(process.execPath, [traffic, "flood", "--host", "127.0.0.1", "--port", String(p), "--rate", "50000", "--seconds", "3"]).done;
      flooding = false;
      const sent = (JSON.parse(f.stdout) as { sent: number }).sent;
      const stopTimer = setTimeout(() => ac.abort("interrupt"), 15_000); // bound, whatever happens
      const s = await run;
      clearTimeout(stopTimer);
      const lostBeforeTap = softnetDrops() - before;
      const l = s.live;
      expect(sent).toBeGreaterThan(10_000);
      expect(l.packetsCaptured).toBe(s.packets);
      expect(l.packetsCaptured).toBeLessThanOrEqual(sent); // nothing invented
      expect(ca.counts.udp).toBe(l.packetsCaptured);
      if (eng.name === "tcpdump") {
        // libpcap's counters: received counts dropped ones too; every packet sent was either
        // captured or dropped (lo shows each packet twice to the kernel: out and in).
        expect(l.droppedByKernel).not.toBeNull();
        expect(l.packetsReceived!).toBeGreaterThanOrEqual(l.packetsCaptured + l.droppedByKernel!);
        expect(l.packetsCaptured + l.droppedByKernel! + lostBeforeTap).toBeGreaterThanOrEqual(sent);
      } else {
        expect(l.droppedByKernel).toBeNull();
        expect(l.packetsReceived).toBeNull();
        expect(l.unavailable).toContain("droppedByKernel");
      }
    });

    it("a kernel buffer too small for the rate: tcpdump reports the drops, cap loses packets silently and says drops are unavailable", async () => {
      const p = port();
      const ac = new AbortController();
      let started!: () => void;
      const ready = new Promise<void>((r) => (started = r));
      const run = captureLive({
        iface: "lo", engine: eng.name, filter: `udp port ${p}`, bufferSize: 64 * 1024, signal: ac.signal,
        onPacket: () => {}, onStarted: () => started(),
      });
      await ready;
      const f = await start(process.execPath, [traffic, "flood", "--host", "127.0.0.1", "--port", String(p), "--rate", "50000", "--seconds", "2"]).done;
      const sent = (JSON.parse(f.stdout) as { sent: number }).sent;
      await sleep(1500);
      ac.abort("interrupt");
      const l = (await run).live;
      if (eng.name === "tcpdump") {
        expect(l.droppedByKernel).toBeGreaterThan(0);
        expect(l.packetsCaptured + l.droppedByKernel!).toBeGreaterThanOrEqual(Math.floor(sent * 0.99));
      } else {
        expect(l.packetsCaptured).toBeLessThan(sent); // lost…
        expect(l.droppedByKernel).toBeNull(); // …and cap cannot say how many
        expect(l.unavailable).toContain("droppedByKernel");
      }
    });
  });
}

// --- between two namespaces, through the built CLI, stopped with SIGINT -------------------------

const nsBase = `pnc-live-${randomBytes(3).toString("hex")}`;
const nsA = `${nsBase}-a`; // client, 10.88.0.1
const nsB = `${nsBase}-b`; // server and capture, 10.88.0.2
let nsReady = false;

describe.skipIf(!isRoot || !haveIp || !haveOpenssl || !distReady)("live capture in a network namespace, stopped with SIGINT", () => {
  beforeAll(() => {
    const ip = (...a: string[]) => execFileSync("ip", a, { stdio: ["ignore", "ignore", "pipe"] });
    ip("netns", "add", nsA);
    ip("netns", "add", nsB);
    nsReady = true;
    // The veth pair is created inside the namespaces: nothing is added to the root namespace.
    ip("-n", nsA, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", nsB);
    for (const [ns, addr] of [[nsA, "10.88.0.1/24"], [nsB, "10.88.0.2/24"]]) {
      // No IPv6 housekeeping (router solicitations, DAD) in the capture: only what the test sends.
      execFileSync("ip", ["netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]);
      ip("-n", ns, "addr", "add", addr, "dev", "eth0");
      ip("-n", ns, "link", "set", "lo", "up");
      ip("-n", ns, "link", "set", "eth0", "up");
    }
  });
  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    if (!nsReady) return;
    for (const ns of [nsA, nsB]) {
      try {
        execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
      } catch {
        /* already gone */
      }
    }
  });

  for (const eng of engines) {
    it.skipIf(eng.missing !== null)(`${eng.name}: Ctrl-C mid-run still gives the full report and a valid file`, async () => {
      const file = join(tmp, `netns-${eng.name}.pcapng`);
      const srv = start("ip", ["netns", "exec", nsB, process.execPath, traffic, "server", "--bind", "10.88.0.2", "--tls-port", "4433", "--udp-port", "123", "--cert", cert, "--key", key, "--seconds", "30"]);
      await srv.stderrHas(/ready/);
      const cap = start("ip", ["netns", "exec", nsB, process.execPath, entry, "capture", "-i", "eth0", "--engine", eng.name, "-w", file, "--fail-on", "none"]);
      await cap.stderrHas(/capturing on eth0/);
      const cli = start("ip", ["netns", "exec", nsA, process.execPath, traffic, "client", "--host", "10.88.0.2", "--tls-port", "4433", "--udp-port", "123", "--count", "2"]);
      const c = await cli.done;
      expect(c.stderr).toBe("");
      expect(JSON.parse(c.stdout)).toEqual({ tls: 2, ntp: 2 });
      await sleep(300);
      cap.child.kill("SIGINT"); // `ip netns exec` execs node: this pid is the capture itself
      const d = await cap.done;
      srv.child.kill("SIGTERM");
      expect(d.code, d.stderr).toBe(0);
      expect(d.stderr).toMatch(/stopping \(interrupt\)/);
      const r = JSON.parse(d.stdout) as ReportShape;
      expectTraffic(r, "10.88.0.2", 4433, 123, 2);
      expect(r.captures[0].linkTypes).toEqual([1]); // Ethernet on a veth
      expect(r.captures[0].live).toMatchObject({ interface: "eth0", stopReason: "interrupt", file, packetsCaptured: r.captures[0].packets });
      expectLiveFacts(r.captures[0].live, eng.name);
      await expectFileMatches(file, r);
    });
  }
});

// --- one clear line and exit 2 when the capture cannot run ---------------------------------------

describe.skipIf(!isRoot || !distReady)("capture errors: one line, exit 2", () => {
  const cli = (args: string[], env?: NodeJS.ProcessEnv, pre: string[] = []) =>
    start(pre.length ? pre[0] : process.execPath, [...pre.slice(1), ...(pre.length ? [process.execPath] : []), entry, "capture", ...args], 20_000, env).done;

  it("an interface that does not exist", async () => {
    const d = await cli(["-i", "pnc-nosuch0", "--duration", "1s"]);
    expect(d.code).toBe(2);
    expect(d.stderr).toBe('phoenix-netcheck: no interface named "pnc-nosuch0" here (phoenix-netcheck capture --list shows them)\n');
    expect(d.stdout).toBe("");
  });

  it("tcpdump asked for but not on PATH", async () => {
    const d = await cli(["-i", "lo", "--engine", "tcpdump", "--duration", "1s"], { ...process.env, PATH: "" });
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/^phoenix-netcheck: tcpdump is not on PATH: apt-get install tcpdump \(or use --engine cap\)\n$/);
  });

  it("a bad --duration is a usage error", async () => {
    const d = await cli(["-i", "lo", "--duration", "soon"]);
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/expected a duration such as 90s/);
  });

  for (const eng of engines) {
    it.skipIf(eng.missing !== null)(`${eng.name}: a filter libpcap cannot compile`, async () => {
      const d = await cli(["-i", "lo", "--engine", eng.name, "--filter", "port 443 and", "--duration", "2s"]);
      expect(d.code).toBe(2);
      expect(d.stderr).toMatch(/^phoenix-netcheck: bad capture filter "port 443 and": .*syntax error\n$/);
      expect(d.stdout).toBe("");
    });

    it.skipIf(eng.missing !== null || !have("setpriv", ["--version"]))(`${eng.name}: not root and no CAP_NET_RAW`, async (ctx) => {
      // The unprivileged user must be able to read the checkout (a CI clone under /root may not be).
      if (!have("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, "-e", `require("fs").accessSync(${JSON.stringify(entry)})`])) {
        ctx.skip();
      }
      const d = await cli(["-i", "lo", "--engine", eng.name, "--duration", "1s"], undefined, ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]);
      expect(d.code).toBe(2);
      expect(d.stderr).toMatch(/^phoenix-netcheck: capturing on lo needs root or the CAP_NET_RAW capability: run with sudo, or grant it once with `setcap cap_net_raw,cap_net_admin=eip \$\(command -v (node|tcpdump)\)`\n$/);
    });
  }
});
