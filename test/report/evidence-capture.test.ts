// `capture --evidence FILE.pcapng` on lo (root only): a real TCP exchange on a port outside the
// matrix (an unexpected-port finding), captured with tcpdump (or cap), the evidence picked from
// the -w file, or from a temporary pcapng without -w (removed afterwards, and the report then
// names no file), the packets' bytes equal to the captured frames they name.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, connect, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { capLoadError } from "../../src/capture/engine-cap.js";
import { findTcpdump } from "../../src/capture/engine-tcpdump.js";
import { readCapture } from "../../src/capture/file.js";
import { exitCodeFor } from "../../src/pipeline/index.js";
import { runCapture } from "../../src/cli/capture.js";
import type { Report } from "../../src/report/record.js";

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
const engine = findTcpdump() !== null ? "tcpdump" : capLoadError() === null ? "cap" : null;
if (!isRoot) console.warn("capture --evidence tests skipped: live capture needs root (CI runs as root)");
else if (engine === null) console.warn("capture --evidence tests skipped: neither tcpdump nor cap is available");

const dir = mkdtempSync(path.join(tmpdir(), "pnc-evidence-live-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A server we start on lo that echoes what it gets and closes. */
async function echoServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = createServer((s) => s.on("data", (d) => s.end(d)));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** One TCP connection to it: "hello" and the echo back, then closed both ways. */
async function exchange(port: number): Promise<void> {
  await new Promise<void>((res, rej) => {
    const c = connect(port, "127.0.0.1", () => c.write("hello"));
    c.on("data", () => c.end());
    c.on("close", () => res());
    c.on("error", rej);
  });
}

/**
 * Waits (bounded) until the pcapng the capture writes holds both FINs and a packet after them
 * (the last ACK): then every packet of the exchange has reached the analysis too. A condition,
 * not a guess at how long the engine takes.
 */
async function untilClosed(file: () => string | null): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const f = file();
    if (f !== null && existsSync(f)) {
      const flags: number[] = [];
      // lo is link type 1 (Ethernet, zero MACs): TCP flags at 14 (Ethernet) + 20 (IPv4, no options) + 13.
      await readCapture(f, (p) => flags.push(p.data.length > 47 ? p.data[47] : 0)).catch(() => undefined);
      const fins = flags.flatMap((x, n) => (x & 0x01 ? [n] : []));
      if (fins.length >= 2 && fins[1] < flags.length - 1) return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("the capture never saw the exchange end");
}

/** The -w file while the capture runs: written under a hidden temporary name beside it (src/cli/output.ts), moved in place at the end. */
function writing(dest: string): string | null {
  const dir = path.dirname(dest);
  const f = readdirSync(dir).find((x) => x.startsWith(`.${path.basename(dest)}.${process.pid}.`) && x.endsWith(".tmp"));
  return f === undefined ? (existsSync(dest) ? dest : null) : path.join(dir, f);
}

/** The temporary pcapng `capture --evidence` writes without -w (this process's). */
function tempFile(): string | null {
  const f = readdirSync(tmpdir()).find((x) => x.startsWith(`phoenix-netcheck-capture-${process.pid}-`));
  return f === undefined ? null : path.join(tmpdir(), f);
}

async function captureWithEvidence(write: string | null, evidence: string) {
  const out = new PassThrough();
  let json = "";
  out.setEncoding("utf8").on("data", (s: string) => (json += s));
  const ac = new AbortController();
  let started!: () => void;
  const ready = new Promise<void>((r) => (started = r));
  const server = await echoServer();
  const port = server.port;
  const run = runCapture(
    { interface: "lo", engine: engine!, filter: `tcp port ${port}`, ...(write ? { write } : {}), evidence, format: "json", quiet: true, failOn: "none" },
    { stdout: out, stderr: new PassThrough(), signal: ac.signal, onStarted: () => started() },
  );
  await ready;
  await exchange(port);
  await untilClosed(() => (write ? writing(write) : tempFile()));
  await server.close();
  ac.abort("interrupt");
  const code = await run;
  const report = JSON.parse(json) as Report;
  expect(code).toBe(exitCodeFor(report, "none")); // not 2: the evidence was written
  return { report, port };
}

describe.skipIf(!isRoot || engine === null)(`capture --evidence (${engine ?? "no engine"})`, () => {
  it("without -w: the evidence comes from a temporary pcapng, removed afterwards; the report names no capture file", async () => {
    const ev = path.join(dir, "live.pcapng");
    const before = new Set(readdirSync(tmpdir()).filter((f) => f.startsWith("phoenix-netcheck-capture-")));
    const { report, port } = await captureWithEvidence(null, ev);
    const f = report.findings.find((x) => x.conversations.some((id) => report.conversations.find((c) => c.id === id)!.server.port === port));
    expect(f, JSON.stringify(report.findings.map((x) => x.code))).toBeDefined();
    expect(f!.evidenceFrames!.length).toBeGreaterThan(0);
    const bytes = readFileSync(ev);
    expect(report.evidence!.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect(report.captures[0].live!.file).toBeNull();
    expect(report.captures[0].file).toBe("live:lo");
    const after = readdirSync(tmpdir()).filter((x) => x.startsWith("phoenix-netcheck-capture-") && !before.has(x));
    expect(after).toEqual([]);
    let n = 0;
    await readCapture(ev, () => n++);
    expect(n).toBe(report.evidence!.packets);
  });

  it("with -w: the evidence packets are the -w file's frames they name, byte for byte", async () => {
    const w = path.join(dir, "all.pcapng");
    const ev = path.join(dir, "live-w.pcapng");
    const { report } = await captureWithEvidence(w, ev);
    expect(report.captures[0].live!.file).toBe(w);
    const src = new Map<number, string>();
    await readCapture(w, (p) => src.set(p.frame, Buffer.from(p.data).toString("hex")));
    const back: string[] = [];
    await readCapture(ev, (p) => back.push(Buffer.from(p.data).toString("hex")));
    expect(back.length).toBe(report.evidence!.packets);
    // Our comment parser lives in evidence.test.ts; here the frame numbers come from the comments too.
    const text = readFileSync(ev).toString("utf8");
    const named = [...text.matchAll(/— conversation \d+, frame (\d+) of all\.pcapng/g)].map((m) => Number(m[1]));
    expect(named.length).toBeGreaterThanOrEqual(back.length);
    const firstPerPacket = [...new Set(named)];
    expect(firstPerPacket.length).toBe(back.length);
    firstPerPacket.forEach((fr, i) => expect(back[i]).toBe(src.get(fr)));
    expect(existsSync(w)).toBe(true);
  });
});
