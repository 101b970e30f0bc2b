/**
 * Inputs that are not captures, through the built command line (`node dist/cli/main.js analyze`,
 * as a user runs it): each gives exactly one clear line on stderr, nothing on stdout, and exit 2.
 * Needs `npm run build` first (npm test does it); skipped with a message when dist/ is missing.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";

const repo = path.resolve(__dirname, "../..");
const cli = path.join(repo, "dist/cli/main.js");
const built = existsSync(cli);
const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => existsSync(p));
const isRoot = process.getuid?.() === 0;

function run(args: string[], input?: Buffer, asNobody = false): { code: number | null; stdout: string; stderr: string } {
  const cmd = asNobody ? setpriv! : process.execPath;
  const argv = asNobody ? ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, cli, "analyze", ...args] : [cli, "analyze", ...args];
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

  // Root reads any file, so an unreadable one needs an unprivileged user (setpriv, util-linux).
  it.skipIf(isRoot && !setpriv)("an unreadable file (permission denied)", () => {
    const f = path.join(dir, "secret.pcap");
    writeFileSync(f, Buffer.from([0xd4, 0xc3, 0xb2, 0xa1]));
    chmodSync(f, 0o000);
    chmodSync(dir, 0o755);
    expectOneLine(run([f], undefined, isRoot), /secret\.pcap: permission denied$/);
  });
});
