// Live capture faults through the built CLI (issue 19, "Live capture"): the interface removed or
// brought down mid-capture, a --duration past setTimeout's limit, and a full disk under -w. Each
// case runs in a network namespace it creates (pnc-lf-<random>, a veth pair inside it, removed by
// name in afterAll) or in a mount namespace of its own (the small tmpfs). Needs root and tcpdump.
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findTcpdump } from "../../src/capture/live/engine-tcpdump.js";
import { readCapture } from "../../src/capture/reader/file.js";
import { MAX_TIMEOUT_MS, parseDuration, selectEngine } from "../../src/capture/index.js";

const repo = resolve(__dirname, "../..");
const cli = join(repo, "dist/cli/main.js");
const isRoot = process.getuid?.() === 0;
const haveIp = spawnSync("ip", ["-V"]).status === 0;
const unshare = ["/usr/bin/unshare", "/bin/unshare"].find((p) => existsSync(p));
const tcpdump = findTcpdump() !== null;
const why = !isRoot ? "needs root" : !haveIp ? "needs ip(8)" : !tcpdump ? "needs tcpdump" : !existsSync(cli) ? "run npm run build first" : null;
if (why) console.warn(`live-faults tests skipped: ${why}`);

const ns = `pnc-lf-${randomBytes(3).toString("hex")}`;
const children = new Set<ChildProcess>();
let nsReady = false;

interface Done {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A capture run in the namespace; `started` resolves once it says it is capturing. */
function capture(args: string[], pre: string[] = ["ip", "netns", "exec", ns]): { child: ChildProcess; started: Promise<void>; done: Promise<Done> } {
  const child = spawn(pre[0], [...pre.slice(1), process.execPath, cli, "capture", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let stdout = "";
  let stderr = "";
  let onStart: () => void = () => {};
  const started = new Promise<void>((r) => (onStart = r));
  child.stdout!.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  child.stderr!.setEncoding("utf8").on("data", (s: string) => {
    stderr += s;
    if (/capturing on /.test(stderr)) onStart();
  });
  const done = new Promise<Done>((res) =>
    child.once("close", (code) => {
      children.delete(child);
      onStart();
      res({ code, stdout, stderr });
    }),
  );
  return { child, started, done };
}

const inNs = (...a: string[]) => execFileSync("ip", ["netns", "exec", ns, ...a], { stdio: ["ignore", "ignore", "pipe"] });

/** A fresh veth pair `name`/`name`p, both up, addressed so traffic can be sent through it. */
function veth(name: string, net: number): void {
  inNs("ip", "link", "add", name, "type", "veth", "peer", "name", `${name}p`);
  inNs("ip", "addr", "add", `10.89.${net}.1/24`, "dev", name);
  inNs("ip", "link", "set", name, "up");
  inNs("ip", "link", "set", `${name}p`, "up");
}

describe("durations past setTimeout's limit", () => {
  it("600h is more than setTimeout takes in one go", () => {
    expect(parseDuration("600h")).toBe(600 * 3_600_000);
    expect(parseDuration("600h")!).toBeGreaterThan(MAX_TIMEOUT_MS);
  });

  it.skipIf(!tcpdump)("auto picks tcpdump when it is on PATH", () => {
    expect(selectEngine("auto").name).toBe("tcpdump");
  });
});

describe.skipIf(why !== null)("live capture faults (tcpdump engine, built CLI, network namespace)", () => {
  beforeAll(() => {
    execFileSync("ip", ["netns", "add", ns]);
    nsReady = true;
    inNs("ip", "link", "set", "lo", "up");
  });
  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    if (nsReady) execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  });

  it("a removed interface: tcpdump's own error, the report, the evidence file in place, exit 2", async () => {
    veth("gone0", 1);
    const dir = mkdtempSync(join(tmpdir(), "pnc-lf-"));
    const file = join(dir, "gone.pcapng");
    const c = capture(["-i", "gone0", "--engine", "tcpdump", "-w", file, "--format", "json", "--fail-on", "none"]);
    await c.started;
    inNs("ip", "link", "del", "gone0");
    const d = await c.done;
    expect(d.code, d.stderr).toBe(2);
    expect(d.stderr).not.toMatch(/phoenix-netcheck: .*listening on/);
    expect(d.stderr).toMatch(/^phoenix-netcheck: tcpdump stopped: pcap_loop: The interface disappeared \(exit 1\) \(the report covers what was captured before\)$/m);
    const r = JSON.parse(d.stdout);
    expect(r.captures[0].live.stopReason).toBe("interface-gone");
    expect(r.captures[0].errors).toContainEqual(expect.objectContaining({ fatal: true, message: expect.stringMatching(/The interface disappeared/) }));
    // The evidence file is under its name, whole, with the packets the report counts.
    expect(readdirSync(dir)).toEqual(["gone.pcapng"]);
    const s = await readCapture(file, () => {});
    expect(s.errors).toEqual([]);
    expect(s.packets).toBe(r.captures[0].packets);
  });

  it("an interface brought down mid-capture: a note that nothing could be captured while it was", async () => {
    veth("down0", 2);
    const c = capture(["-i", "down0", "--engine", "tcpdump", "--format", "json", "--fail-on", "none"]);
    await c.started;
    inNs("ip", "link", "set", "down0", "down");
    c.child.kill("SIGINT");
    const d = await c.done;
    // Nothing captured: no verdict can be given (inconclusive, exit 3), and the note says why.
    expect(d.code, d.stderr).toBe(3);
    // "for the whole capture" or "for N s of the M s capture", depending on how soon it went down.
    const note = /interface down0 was down for .*nothing could be captured.*\(ip link set down0 up\)/;
    expect(d.stderr).toMatch(note);
    const r = JSON.parse(d.stdout);
    expect(r.captures[0].live.stopReason).toBe("interrupt");
    expect(r.captures[0].errors).toContainEqual(expect.objectContaining({ fatal: false, message: expect.stringMatching(note) }));
  });

  it("--duration 600h runs until stopped (no setTimeout overflow)", async () => {
    const c = capture(["-i", "lo", "--engine", "tcpdump", "--duration", "600h", "--format", "json", "--fail-on", "none"]);
    await c.started;
    c.child.kill("SIGINT");
    const d = await c.done;
    // Next to nothing captured on the namespace's lo: inconclusive, exit 3.
    expect(d.code, d.stderr).toBe(3);
    // An overflowed timer fires at once: the stop would then be "duration", before the SIGINT.
    expect(JSON.parse(d.stdout).captures[0].live.stopReason).toBe("interrupt");
  });

  // A 64 KiB tmpfs in a mount namespace of its own fills up after a few hundred packets; the file
  // is read back inside that namespace once the capture has ended (VERIFY line on stderr).
  it.skipIf(!unshare)("a full disk under -w: the file ends at a whole block, the report names a frame and offset inside it", async () => {
    veth("full0", 3);
    const dir = mkdtempSync(join(tmpdir(), "pnc-lf-full-"));
    const verify = `import("${join(repo, "dist/capture/index.js")}").then(async (m) => { const s = await m.readCapture(process.argv[1], () => {}); const { size } = await import("node:fs").then((f) => f.statSync(process.argv[1])); console.error("VERIFY " + JSON.stringify({ packets: s.packets, errors: s.errors.length, size })); })`;
    const script = `mount -t tmpfs -o size=64k tmpfs "$1" && ip netns exec "$2" "$3" "$4" capture -i full0 --engine tcpdump -w "$1/full.pcapng" --format json --fail-on none --count 2000; "$3" -e '${verify}' "$1/full.pcapng"`;
    const c = capture([], [unshare!, "-m", "--propagation", "private", "sh", "-c", script, "sh", dir, ns, process.execPath, cli]);
    await c.started;
    // 2000 UDP datagrams of 200 bytes out of full0 (to a static neighbour, so no ARP): ~500 KB of
    // pcapng, far past 64 KiB.
    inNs("ip", "neigh", "add", "10.89.3.2", "lladdr", "02:00:00:00:00:02", "dev", "full0");
    const send = `const s = require("node:dgram").createSocket("udp4"); const b = Buffer.alloc(200, 0x61); let n = 0; const next = () => n++ < 2000 ? s.send(b, 9, "10.89.3.2", next) : s.close(); next();`;
    inNs(process.execPath, "-e", send);
    const d = await c.done;
    const r = JSON.parse(d.stdout);
    const err = r.captures[0].errors.find((e: { message: string }) => /writing .*full\.pcapng failed/.test(e.message));
    expect(err, d.stderr).toBeDefined();
    expect(err.message).toMatch(/no space left on device|ENOSPC/i);
    const v = JSON.parse(/^VERIFY (.*)$/m.exec(d.stderr)![1]) as { packets: number; errors: number; size: number };
    // The file is a whole pcapng (no error reading it) of exactly the frames before the one named.
    expect(v.errors).toBe(0);
    expect(v.packets).toBe(err.frame - 1);
    expect(err.offset).toBeLessThanOrEqual(v.size);
    expect(err.message).toContain(`the file ends after frame ${err.frame - 1}, at offset ${err.offset}`);
    // What fitted is kept: the last write stopped part way, and the blocks it wrote whole stay
    // (~250 EPBs of 252 bytes fit in 64 KiB; cutting back to the last flush kept none of them).
    expect(v.packets).toBeGreaterThan(100);
    expect(r.captures[0].packets).toBeGreaterThan(v.packets);
    // The report is not lost either: exit 0 (no fatal error), the whole capture analyzed.
    expect(d.code, d.stderr).toBe(0);
  });
});
