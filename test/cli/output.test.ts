/**
 * Output safety through the built command line (issue 13, "Output safety"): the report never goes
 * over an input, over an existing file without --force, under an unknown extension or half
 * written; where it cannot go is said in one line, exit 2, before any input is read.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { built, isRoot, lines, run, sample, start } from "./cli-run.js";

const sha = (f: string): string => createHash("sha256").update(readFileSync(f)).digest("hex");
const unshare = ["/usr/bin/unshare", "/bin/unshare"].find((p) => existsSync(p));
const mkfifo = ["/usr/bin/mkfifo", "/bin/mkfifo"].find((p) => existsSync(p));

function fresh(): string {
  return mkdtempSync(path.join(tmpdir(), "pnc-output-"));
}

/** Exit 2, nothing on stdout, exactly one line on stderr matching `re`. */
function refused(r: { code: number | null; stdout: string; stderr: string }, re: RegExp): void {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe("");
  const l = lines(r.stderr);
  expect(l).toHaveLength(1);
  expect(l[0]).toMatch(/^phoenix-netcheck: /);
  expect(l[0]).toMatch(re);
}

/** The directory's entries: no temporary file may be left behind. */
function entries(dir: string): string[] {
  return readdirSync(dir).sort();
}

describe.skipIf(!built)("-o never destroys a file it was not asked to write (built CLI)", () => {
  if (!built) it.skip("dist/cli/main.js is missing: run npm run build", () => {});

  it("refuses to write over the input: same name, another spelling, a hard link (device and inode)", () => {
    const d = fresh();
    const v = path.join(d, "victim.pcap");
    copyFileSync(sample, v);
    const before = sha(v);
    refused(run(["analyze", v, "-o", v]), /victim\.pcap is the input .*victim\.pcap: refusing to write the report over it$/);
    refused(run(["analyze", "victim.pcap", "-o", "./victim.pcap"], { cwd: d }), /is the input/);
    linkSync(v, path.join(d, "same.json"));
    refused(run(["analyze", v, "-o", path.join(d, "same.json"), "--force"]), /same\.json is the input .*victim\.pcap/);
    expect(sha(v)).toBe(before);
    expect(entries(d)).toEqual(["same.json", "victim.pcap"]);
  });

  it("capture -w X -o X is refused before any capture starts", () => {
    const d = fresh();
    const x = path.join(d, "x.pcapng");
    // No capture engine or privilege is needed to be refused: the names are checked first.
    const r = run(["capture", "-i", "lo", "-w", x, "-o", x, "--format", "json"]);
    expect(r.code).toBe(2);
    expect(lines(r.stderr).at(-1)).toMatch(/-o .*x\.pcapng: that is a capture file's name|is also the file .*x\.pcapng/);
    expect(entries(d)).toEqual([]);
    const y = path.join(d, "y.json");
    refused(run(["capture", "-i", "lo", "-w", y, "-o", y]), /-w .*y\.json: unknown extension \.json for the evidence file; use one of \.pcapng$/);
    const z = path.join(d, "z.pcapng");
    writeFileSync(z, "earlier evidence");
    refused(run(["capture", "-i", "lo", "-w", z]), /z\.pcapng already exists: use --force to replace it/);
    refused(run(["capture", "-i", "lo", "-w", ""]), /-w needs a file name$/);
    expect(readFileSync(z, "utf8")).toBe("earlier evidence");
    expect(entries(d)).toEqual(["z.pcapng"]);
  });

  it("refuses to replace an existing file unless --force, then replaces it whole", () => {
    const d = fresh();
    const r1 = path.join(d, "r.json");
    writeFileSync(r1, "previous report\n");
    refused(run(["analyze", sample, "-o", r1]), /r\.json already exists: use --force to replace it/);
    expect(readFileSync(r1, "utf8")).toBe("previous report\n");
    const ok = run(["analyze", sample, "-o", r1, "--force", "--fail-on", "none"]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(readFileSync(r1, "utf8")).schema).toMatch(/phoenix-netcheck/);
    expect(entries(d)).toEqual(["r.json"]);
  });

  it("refuses unknown extensions, naming the known ones; --format still writes any other name", () => {
    const d = fresh();
    refused(run(["analyze", sample, "-o", path.join(d, "r.pdf")]), /unknown extension \.pdf for the report; use one of \.json, \.md, \.markdown, \.html, \.htm, \.txt/);
    refused(run(["analyze", sample, "-o", path.join(d, "x.pcap")]), /unknown extension \.pcap/);
    refused(run(["analyze", sample, "-o", path.join(d, "noext")]), /no extension for the report/);
    refused(run(["analyze", sample, "--format", "json", "-o", path.join(d, "x.pcapng")]), /that is a capture file's name/);
    const log = path.join(d, "report.log");
    expect(run(["analyze", sample, "--format", "markdown", "-o", log, "--fail-on", "none"]).code).toBe(0);
    expect(readFileSync(log, "utf8")).toMatch(/^## /m);
    expect(entries(d)).toEqual(["report.log"]);
  });

  it("-o - is standard output (no file named -); -o '' is an error", () => {
    const d = fresh();
    const r = run(["analyze", sample, "-o", "-", "--fail-on", "none"], { cwd: d });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).captures).toHaveLength(1);
    expect(entries(d)).toEqual([]);
    refused(run(["analyze", sample, "-o", ""], { cwd: d }), /-o needs a file name \(or - for standard output\)$/);
  });

  // A FIFO with no writer: opening it for reading would block, so an exit 2 proves that the
  // destination was checked before the input was opened.
  it.skipIf(!mkfifo)("a missing directory, or a file where a directory should be (-o, --redact-key): one line, before reading a byte", () => {
    const d = fresh();
    const fifo = path.join(d, "in.pcap");
    expect(spawnSync(mkfifo!, [fifo]).status).toBe(0);
    refused(run(["analyze", fifo, "-o", path.join(d, "nodir", "r.json")]), /cannot create .*nodir\/r\.json: no such directory \(ENOENT\)/);
    writeFileSync(path.join(d, "afile"), "x");
    refused(run(["analyze", fifo, "-o", path.join(d, "afile", "r.json")]), /cannot create .*afile\/r\.json: a part of the path is not a directory \(ENOTDIR\)/);
    refused(run(["analyze", fifo, "-o", d]), /is a directory: give a file name$/);
    // --redact-key goes through the same writer: its directory is checked as early.
    refused(run(["analyze", fifo, "--redact-key", path.join(d, "nodir", "k.json")]), /cannot create .*nodir\/k\.json: no such directory \(ENOENT\)/);
    refused(run(["analyze", fifo, "--redact-key", path.join(d, "afile", "k.json")]), /cannot create .*afile\/k\.json: a part of the path is not a directory \(ENOTDIR\)/);
    expect(entries(d)).toEqual(["afile", "in.pcap"]);
  });

  it("the --roles and --matrix files are inputs too: no report or key over them (by name or inode), even with --force", () => {
    const d = fresh();
    const roles = path.join(d, "roles.json");
    writeFileSync(roles, '{"roles": {"proxy": ["10.66.0.142"]}}\n');
    const matrix = path.join(d, "matrix.json");
    writeFileSync(matrix, '{"rows": []}\n');
    const before = [sha(roles), sha(matrix)];
    refused(run(["analyze", sample, "--roles", roles, "-o", roles, "--force"]), /-o .*roles\.json is the input .*roles\.json: refusing to write the report over it$/);
    refused(run(["analyze", sample, "--matrix", matrix, "-o", matrix, "--force"]), /-o .*matrix\.json is the input .*matrix\.json/);
    linkSync(roles, path.join(d, "same.json"));
    refused(run(["analyze", sample, "--roles", roles, "-o", path.join(d, "same.json"), "--force"]), /same\.json is the input .*roles\.json/);
    refused(run(["analyze", sample, "--roles", roles, "--redact-key", path.join(d, "same.json"), "--force"]), /--redact-key .*same\.json is an input \(.*roles\.json\)/);
    // probe and capture check the same before any host is checked or any interface opened.
    refused(run(["probe", "--roles", roles, "-o", roles, "--force"]), /-o .*roles\.json is the input/);
    refused(run(["capture", "-i", "pnc-no-such-if0", "--roles", roles, "-o", path.join(d, "same.json"), "--force"]), /same\.json is the input .*roles\.json/);
    expect([sha(roles), sha(matrix)]).toEqual(before);
    expect(entries(d)).toEqual(["matrix.json", "roles.json", "same.json"]);
  });

  // Root ignores permission bits: a read-only bind mount, in a mount namespace of its own so
  // nothing outside the test sees it.
  it.skipIf(!isRoot || !unshare || !mkfifo)("a read-only directory: one line, before reading a byte", () => {
    const d = fresh();
    const ro = path.join(d, "ro");
    mkdirSync(ro);
    const fifo = path.join(d, "in.pcap");
    expect(spawnSync(mkfifo!, [fifo]).status).toBe(0);
    const script = `mount --bind -o ro "$1" "$1" && exec "$2" "$3" analyze "$4" -o "$1/r.json"`;
    const r = spawnSync(unshare!, ["-m", "--propagation", "private", "sh", "-c", script, "sh", ro, process.execPath, path.join(__dirname, "../../dist/cli/main.js"), fifo], {
      encoding: "utf8",
      timeout: 60_000,
    });
    refused({ code: r.status, stdout: r.stdout, stderr: r.stderr }, /cannot create .*ro\/r\.json: read-only file system \(EROFS\)/);
    expect(entries(ro)).toEqual([]);
  });

  it("a full device (/dev/full): one line, exit 2", () => {
    refused(run(["analyze", sample, "-o", "/dev/full", "--fail-on", "none"]), /cannot write \/dev\/full: no space left on device \(ENOSPC\)$/);
  });

  // A small tmpfs, filled up, in a mount namespace of its own.
  it.skipIf(!isRoot || !unshare)("a full disk leaves the previous report whole and no temporary file", () => {
    const d = fresh();
    const script = [
      `mount -t tmpfs -o size=256k tmpfs "$1"`,
      `printf 'previous report\\n' > "$1/r.json"`,
      `dd if=/dev/zero of="$1/filler" bs=4k 2>/dev/null`,
      `"$2" "$3" analyze "$4" -o "$1/r.json" --force --fail-on none; echo "exit=$?"`,
      `cat "$1/r.json"`,
      `ls -A "$1"`,
    ].join("; ");
    const r = spawnSync(unshare!, ["-m", "--propagation", "private", "sh", "-c", script, "sh", d, process.execPath, path.join(__dirname, "../../dist/cli/main.js"), sample], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/^phoenix-netcheck: cannot write .*r\.json: no space left on device \(ENOSPC\); .*r\.json was not changed$/)]);
    expect(lines(r.stdout)).toEqual(["exit=2", "previous report", "filler", "r.json"]);
  });

  it("two runs writing one -o at once never leave a mixed file", async () => {
    const d = fresh();
    const out = path.join(d, "r.json");
    // The two reports differ (one is redacted); each run must leave one of them whole.
    const plain = run(["analyze", sample, "--format", "json", "--fail-on", "none"]).stdout;
    const redacted = run(["analyze", sample, "--format", "json", "--fail-on", "none", "--redact"]).stdout;
    expect(plain).not.toBe(redacted);
    for (let round = 0; round < 3; round++) {
      const a = start(["analyze", sample, "-o", out, "--force", "--fail-on", "none"]);
      const b = start(["analyze", sample, "-o", out, "--force", "--fail-on", "none", "--redact"]);
      const [ra, rb] = await Promise.all([a.result, b.result]);
      expect([ra.code, rb.code]).toEqual([0, 0]);
      expect([plain, redacted]).toContain(readFileSync(out, "utf8"));
    }
    // Without --force exactly one of two racing runs writes; the other is refused.
    const out2 = path.join(d, "once.json");
    const a = start(["analyze", sample, "-o", out2, "--fail-on", "none"]);
    const b = start(["analyze", sample, "-o", out2, "--fail-on", "none", "--redact"]);
    const codes = (await Promise.all([a.result, b.result])).map((r) => r.code).sort();
    expect(codes).toEqual([0, 2]);
    expect([plain, redacted]).toContain(readFileSync(out2, "utf8"));
    expect(entries(d)).toEqual(["once.json", "r.json"]);
  });
});
