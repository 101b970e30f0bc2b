/**
 * Signals and streams through the built command line (issue 19): Ctrl-C / SIGTERM during a long
 * analyze, a full or closed standard output, clocks that go backwards, hostile file names on
 * standard error. No timing: the tests wait for conditions (a file appears, a write is taken in),
 * never for a time.
 */
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { backwardsCapture, built, cli, lines, run, sample, start, udpCapture } from "./cli-run.js";

function fresh(): string {
  return mkdtempSync(path.join(tmpdir(), "pnc-streams-"));
}

/** Resolves once `dir` holds a file whose name matches `re` (the run's temporary -o file). */
async function appears(dir: string, re: RegExp): Promise<void> {
  while (!readdirSync(dir).some((n) => re.test(n))) await new Promise((r) => setTimeout(r, 20));
}

/** Resolves once the bytes were taken by the pipe's reader (or are in the pipe's buffer). */
function write(s: NodeJS.WritableStream, b: Buffer): Promise<void> {
  return new Promise((resolve, reject) => s.write(b, (e) => (e ? reject(e) : resolve())));
}

describe.skipIf(!built)("signals during analyze (built CLI)", () => {
  if (!built) it.skip("dist/cli/main.js is missing: run npm run build", () => {});

  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    it(`the first ${sig} stops reading and writes the report of what was read, marked interrupted`, async () => {
      const d = fresh();
      const out = path.join(d, "r.json");
      const { child, result } = start(["analyze", "-", "-o", out, "--fail-on", "none"]);
      // The temporary -o file exists only once the signal handlers are in place.
      await appears(d, /^\.r\.json\..*\.tmp$/);
      // 4 MiB of packets: far more than a pipe holds, so when this write is taken in the analyzer
      // is reading; standard input stays open, as a capture that is still coming.
      const cap = udpCapture(40_000); // 10 MB
      await write(child.stdin!, cap.subarray(0, 4 << 20));
      child.kill(sig);
      const r = await result;
      expect(r.signal).toBeNull();
      // A partial read cannot support a verdict: inconclusive, exit 3 (docs/findings.md).
      expect(r.code).toBe(3);
      expect(lines(r.stderr)[0]).toMatch(new RegExp(`^phoenix-netcheck: ${sig === "SIGINT" ? "interrupted" : "terminated"}: reading stops, the report of what was read follows`));
      expect(r.stderr).toMatch(/-: read up to frame \d+ when stopped; the report is partial/);
      const rep = JSON.parse(readFileSync(out, "utf8"));
      expect(rep.captures).toHaveLength(1);
      expect(rep.captures[0].interrupted).toBe(true);
      expect(rep.captures[0].packets).toBeGreaterThan(0);
      expect(rep.captures[0].packets).toBeLessThan(40_000);
      // A record cut in two by the stop is not damage: no "file ends inside a record".
      expect(rep.captures[0].errors).toEqual([]);
      expect(rep.summary.verdict).toBe("inconclusive");
      expect(rep.summary.coverage).toContainEqual(expect.objectContaining({ code: "read-stopped", inconclusive: true }));
      expect(readdirSync(d)).toEqual(["r.json"]);
    });
  }

  it("a first signal before any byte came: the input is not read, and the report says so", async () => {
    const d = fresh();
    const out = path.join(d, "r.json");
    const { child, result } = start(["analyze", "-", "-o", out, "--fail-on", "none"]);
    await appears(d, /^\.r\.json\..*\.tmp$/);
    // Nothing is sent: the analyzer waits for the capture's first bytes; the signal ends the wait.
    child.kill("SIGINT");
    const r = await result;
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("not read: -");
    const rep = JSON.parse(readFileSync(out, "utf8"));
    expect(rep.captures).toEqual([]);
    expect(rep.summary.coverage).toEqual([expect.objectContaining({ code: "read-stopped", inconclusive: true, message: "The analysis was stopped before stdin was read; it is not in this report." })]);
    expect(readdirSync(d)).toEqual(["r.json"]);
  });

  it("a second signal ends the run at once: no report, no temporary file, exit 130 or 143", async () => {
    const d = fresh();
    const { child, result } = start(["analyze", "-", "-o", path.join(d, "r.json")]);
    await appears(d, /^\.r\.json\..*\.tmp$/);
    // Two signals that reach the handlers together, with no time between them for the first one's
    // report: the process is stopped, both are sent (different signals, so the kernel keeps both
    // pending), and it is let go. Which one its threads take first is not fixed: the first one
    // handled starts the report, the other ends the run with its own code.
    child.kill("SIGSTOP");
    child.kill("SIGINT");
    child.kill("SIGTERM");
    child.kill("SIGCONT");
    const r = await result;
    const second = /(interrupted|terminated) again: stopping without a report/.exec(r.stderr);
    expect(second).not.toBeNull();
    const [first, code] = second![1] === "interrupted" ? ["terminated", 130] : ["interrupted", 143];
    expect(r.code).toBe(code);
    expect(lines(r.stderr)[0]).toMatch(new RegExp(`^phoenix-netcheck: ${first}: reading stops`));
    expect(readdirSync(d)).toEqual([]);
  });

  // A FIFO input with no writer: the analyzer holds it open (read end, non-blocking) and waits for
  // bytes. On the old code the open itself blocked in a pool thread, the signal's report came but
  // the process could never exit. The test waits until the FIFO shows among the child's open files.
  it.skipIf(process.platform !== "linux")("a signal while a FIFO input waits for its writer: the report follows, naming what was not read", async () => {
    const d = fresh();
    const fifo = path.join(d, "in.pcap");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    const out = path.join(d, "r.json");
    const { child, result } = start(["analyze", fifo, sample, "-o", out, "--fail-on", "none"]);
    await holdsOpen(child.pid!, fifo);
    child.kill("SIGTERM");
    const r = await result;
    expect(r.signal).toBeNull();
    expect(r.code).toBe(3);
    expect(lines(r.stderr)[0]).toMatch(/^phoenix-netcheck: terminated: reading stops, the report of what was read follows/);
    expect(r.stderr).toContain(`not read: ${fifo}, ${sample}`);
    const rep = JSON.parse(readFileSync(out, "utf8"));
    expect(rep.captures).toEqual([]);
    expect(rep.summary.verdict).toBe("inconclusive");
    const stopped = rep.summary.coverage.filter((c: { code: string }) => c.code === "read-stopped");
    expect(stopped).toHaveLength(1);
    expect(stopped[0].message).toBe(`The analysis was stopped before ${fifo}, ${sample} were read; they are not in this report.`);
    // Nothing was read: not "the capture holds no packet".
    expect(rep.summary.coverage.map((c: { code: string }) => c.code)).not.toContain("undecodable");
  });
});

describe.skipIf(!built)("standard output full or closed (built CLI)", () => {
  it("a full standard output: one line and exit 2, even with --fail-on none", () => {
    const fd = openSync("/dev/full", "w");
    try {
      const r = run(["analyze", sample, "--fail-on", "none"], { stdio: ["ignore", fd, "pipe"] });
      expect(r.code).toBe(2);
      expect(lines(r.stderr)).toEqual(["phoenix-netcheck: cannot write the report to standard output: ENOSPC: no space left on device, write"]);
    } finally {
      closeSync(fd);
    }
  });

  // The sample's findings exit 1 with the default --fail-on error; the code must survive the pipe
  // closing early (EPIPE), whether the reader quits before the report is written or in the middle.
  for (const reader of ["true", "head -c 10 >/dev/null"]) {
    it(`a closed pipe (| ${reader}) keeps the findings' exit code`, () => {
      for (const [fail, want] of [["error", 1], ["none", 0]] as const) {
        // A large report (table, all sections, 200 columns) so the pipe fills and closes under it.
        const sh = `"${process.execPath}" "${cli}" analyze "${sample}" "${sample}" "${sample}" --format markdown --fail-on ${fail} | ${reader}; echo "exit=\${PIPESTATUS[0]}"`;
        const r = spawnSync("bash", ["-c", sh], { encoding: "utf8", timeout: 60_000 });
        expect(r.stdout.trim().split("\n").at(-1)).toBe(`exit=${want}`);
        expect(r.stderr).toBe("");
      }
    });
  }
});

describe.skipIf(!built)("clocks that go backwards (built CLI)", () => {
  it("give no negative duration and no 82-year capture span", () => {
    const d = fresh();
    const f = path.join(d, "stepped.pcap");
    // SYN in 2093, SYN-ACK and ACK in 2011 (the clock stepped back 82 years).
    writeFileSync(f, backwardsCapture());
    const normal = path.join(d, "normal.pcap");
    writeFileSync(normal, udpCapture(3));
    const r = run(["analyze", f, normal, "--format", "json", "--fail-on", "none"]);
    // 192.0.2.1 opened TCP 443: the proxy, judged with --fail-on none (exit 0; the exit is not what
    // is tested here). Both ends' frames carry one MAC, which links no other address to the proxy.
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    // stepped.pcap covers 0 s (its last packet is before its first), normal.pcap 2 s.
    expect(rep.summary.captureSeconds).toBe(2);
    for (const finding of rep.findings) if (finding.durationSeconds !== undefined) expect(finding.durationSeconds).toBeGreaterThanOrEqual(0);
    const md = run(["analyze", f, normal, "--format", "markdown", "--fail-on", "none"]).stdout;
    expect(md).not.toMatch(/-\d+(\.\d+)? s\b/);
    expect(md).toMatch(/in the 2\.0 s the capture covers/);
  });
});

describe.skipIf(!built)("file names on standard error (built CLI)", () => {
  it("escape sequences and bidi overrides in a file name are shown escaped", () => {
    const d = fresh();
    const name = path.join(d, "evil\u001b[2J\u202e.pcap");
    writeFileSync(name, "not a capture at all");
    const r = run(["analyze", name]);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(/[\u001b\u202e]/);
    expect(lines(r.stderr)).toEqual([expect.stringContaining("evil\\x1b[2J\\u202e.pcap: not a capture file")]);
  });

  it("a list of problems (--role, a roles or matrix file) is one problem a line, not one line with \\x0a in it", () => {
    const r = run(["analyze", sample, "--role", "dns=10.0.0.1", "--role", "esxi=10.0.1.0/33"]);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual([
      "phoenix-netcheck: --role: 2 problems:",
      expect.stringMatching(/^ {2}--role dns=10\.0\.0\.1: expected a role \(proxy, /),
      "  --role esxi=10.0.1.0/33: expected an IPv4 prefix length 0-32, got 33",
    ]);
  });
});

/** Resolves once process `pid` has `file` open (a link in /proc/PID/fd points to it). */
async function holdsOpen(pid: number, file: string): Promise<void> {
  for (;;) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      throw new Error(`process ${pid} is gone`);
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === file) return;
      } catch {
        // closed while looking
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
