/**
 * Inputs that are not captures, through the built command line (`node dist/cli/main.js analyze`,
 * as a user runs it): each gives exactly one clear line on stderr, nothing on stdout, and exit 2.
 * Needs `npm run build` first (npm test does it); skipped with a message when dist/ is missing.
 * The permission case runs the CLI as user 65534, from a copy it can reach when the clone is in a
 * private directory.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";

const repo = path.resolve(__dirname, "../..");
const cli = path.join(repo, "dist/cli/main.js");
const built = existsSync(cli);
const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => existsSync(p));
const isRoot = process.getuid?.() === 0;

const AS_NOBODY = ["--reuid=65534", "--regid=65534", "--clear-groups"];

/** True when user 65534 can read `file` (every directory above it must let them through). */
function nobodyCanRead(file: string): boolean {
  const r = spawnSync(setpriv!, [...AS_NOBODY, process.execPath, "-e", "require('fs').accessSync(process.argv[1], require('fs').constants.R_OK)", file]);
  return r.status === 0;
}

/** Opens `dir` to others and checks that user 65534 can then read a file in it. */
function nobodyCanReach(dir: string): boolean {
  if (!setpriv) return false;
  chmodSync(dir, 0o755);
  const probe = path.join(dir, "probe");
  writeFileSync(probe, "");
  return nobodyCanRead(probe);
}

/** The package and its production dependencies, recursively (what `node dist/cli/main.js` loads). */
function productionPackages(dir: string, seen = new Set<string>()): Set<string> {
  const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
  for (const name of Object.keys(pkg.dependencies ?? {})) {
    if (seen.has(name) || !existsSync(path.join(repo, "node_modules", name))) continue;
    seen.add(name);
    productionPackages(path.join(repo, "node_modules", name), seen);
  }
  return seen;
}

/**
 * The CLI as the unprivileged user can run it. A clone under a private directory (a home with mode
 * 700, `mktemp -d`) is closed to them: then dist/ and the production packages are copied to a
 * world-readable directory under the temporary directory. Null (the case is skipped) when even
 * that is closed to them.
 */
function cliForNobody(): string | null {
  if (!setpriv) return null;
  if (nobodyCanRead(cli)) return cli;
  const copy = mkdtempSync(path.join(tmpdir(), "pnc-cli-nobody-"));
  chmodSync(copy, 0o755);
  cpSync(path.join(repo, "dist"), path.join(copy, "dist"), { recursive: true });
  cpSync(path.join(repo, "package.json"), path.join(copy, "package.json"));
  for (const name of productionPackages(repo)) {
    cpSync(path.join(repo, "node_modules", name), path.join(copy, "node_modules", name), { recursive: true, dereference: true });
  }
  const copied = path.join(copy, "dist/cli/main.js");
  return nobodyCanRead(copied) ? copied : null;
}

function run(args: string[], input?: Buffer, nobodyCli: string | null = null): { code: number | null; stdout: string; stderr: string } {
  const asNobody = nobodyCli !== null;
  const cmd = asNobody ? setpriv! : process.execPath;
  const argv = asNobody ? [...AS_NOBODY, process.execPath, nobodyCli, "analyze", ...args] : [cli, "analyze", ...args];
  const r = spawnSync(cmd, argv, { input: input ?? Buffer.alloc(0), encoding: "utf8", timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectOneLine(r: { code: number | null; stdout: string; stderr: string }, pattern: RegExp): void {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe("");
  const lines = r.stderr.split("\n").filter((l) => l.length > 0);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^phoenix-netcheck: /);
  expect(lines[0]).toMatch(pattern);
}

describe.skipIf(!built)("analyze on inputs that are not captures (built CLI)", () => {
  if (!built) it.skip("dist/cli/main.js is missing: run npm run build", () => {});
  const dir = mkdtempSync(path.join(tmpdir(), "pnc-cli-inputs-"));

  it("a zero-byte file", () => {
    const f = path.join(dir, "zero.pcap");
    writeFileSync(f, new Uint8Array(0));
    expectOneLine(run([f]), /zero\.pcap: empty \(0 bytes\), not a capture file$/);
  });

  it("empty input: nothing on standard input, and gzip that decompresses to nothing", () => {
    expectOneLine(run(["-"]), /stdin: empty \(0 bytes\), not a capture file$/);
    const f = path.join(dir, "empty.pcap.gz");
    writeFileSync(f, gzipSync(Buffer.alloc(0)));
    expectOneLine(run([f]), /empty\.pcap\.gz: gzip data decompresses to 0 bytes, not a capture file$/);
  });

  it("a directory", () => {
    const d = path.join(dir, "captures.pcap");
    mkdirSync(d, { recursive: true });
    expectOneLine(run([d]), /captures\.pcap: is a directory, not a capture file$/);
  });

  it("a missing file", () => {
    expectOneLine(run([path.join(dir, "nope.pcap")]), /nope\.pcap: no such file$/);
  });

  it("not a capture: text, HTML behind gzip, three bytes", () => {
    const t = path.join(dir, "notes.txt");
    writeFileSync(t, "HTTP/1.1 200 OK\r\n\r\nhello\n");
    expectOneLine(run([t]), /notes\.txt: not a capture file \(starts with 48 54 54 50; expected a pcap, pcapng or gzip magic\)$/);
    const g = path.join(dir, "page.gz");
    writeFileSync(g, gzipSync(Buffer.from("<html><body>x</body></html>")));
    expectOneLine(run([g]), /page\.gz: not a capture file after gzip decompression/);
    const s = path.join(dir, "short.pcap");
    writeFileSync(s, Buffer.from([0xd4, 0xc3, 0xb2]));
    expectOneLine(run([s]), /short\.pcap: not a capture file \(only 3 bytes: d4 c3 b2/);
  });

  // Root reads any file, so an unreadable one needs an unprivileged user (setpriv, util-linux),
  // who must be able to reach the CLI and the file's directory.
  const nobodyCli = built && isRoot ? cliForNobody() : null;
  const cannot = isRoot && (nobodyCli === null || !nobodyCanReach(dir));
  it.skipIf(cannot)(
    "an unreadable file (permission denied)" + (cannot ? " — skipped: no setpriv, or user 65534 cannot reach the CLI or the temporary directory" : ""),
    () => {
      const f = path.join(dir, "secret.pcap");
      writeFileSync(f, Buffer.from([0xd4, 0xc3, 0xb2, 0xa1]));
      chmodSync(f, 0o000);
      expectOneLine(run([f], undefined, isRoot ? nobodyCli : null), /secret\.pcap: permission denied$/);
    },
  );
});
