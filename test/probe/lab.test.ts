/**
 * `probe` against real servers in our own network namespaces (test/probe/lab.sh: nginx, openssl
 * s_server, authd.py, xrdp, sshd, chronyd, a stopped NTP server, an nftables drop, a closed port):
 * each check's result and finding, nothing on the conforming hosts, and an --evidence capture of
 * the same run through `analyze` giving the same findings. Root only; skipped with the reason
 * otherwise. The timeout is long (a busy machine must not turn an open port into "filtered"); only
 * the dropped port waits for it.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { built, cli, isRoot } from "../cli/cli-run.js";

const NEEDED = ["ip", "nft", "ss", "openssl", "nginx", "/usr/sbin/sshd", "ssh-keygen", "xrdp", "chronyd", "python3", "tcpdump"];
const missing = NEEDED.filter((b) => spawnSync("sh", ["-c", `command -v ${b}`]).status !== 0);
const skip = !isRoot ? "not root" : !built ? "dist/cli/main.js missing (npm run build)" : missing.length ? `missing: ${missing.join(", ")}` : null;

const PREFIX = `pnc-probe-${process.pid}`;
const LAB = path.join(__dirname, "lab.sh");
const ROLES = [
  "guest=10.79.0.10", "guest=10.79.0.11", "esxi=10.79.0.12", "esxi=10.79.0.13", "esxi=10.79.0.18",
  "ntp=10.79.0.14", "ntp=10.79.0.15", "vcenter=10.79.0.16", "cloud=10.79.0.17",
].flatMap((r) => ["--role", r]);

interface Json {
  findings: { code: string; severity: string; conversations: number[] }[];
  conversations: { id: number; client: { port: number }; server: { ip: string; port: number }; state: string; protocol: string; status: string; findings: string[];
    tls: { versionCode: number | null; chain: { notAfter: string; selfSigned: boolean }[]; chainsToPublicRoot: boolean | null; certificateVisible: boolean | null } | null;
    banner: string | null; rdp: { selectedProtocol: string | null } | null; ssh: { serverSoftware: string | null } | null; ntp: { stratum: number | null } | null;
    probe?: { check: string; result: string; address: string; port: number } }[];
  probe: { checks: { check: string; result: string; address: string; port: number; localPort: number; conversation: number | null; ntp?: { stratum: number; leap: number; kissCode: string | null } | null }[]; interrupted: boolean; evidence: string | null };
  summary: { verdict: string };
}

/** Runs in the proxy's namespace; resolves with exit code and output. */
function inProxy(args: string[], timeoutS = 240): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("ip", ["netns", "exec", `${PREFIX}-p`, "timeout", String(timeoutS), process.execPath, cli, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** "code address:port" of every finding, through its conversations. */
function keyed(r: Json, skipConversation: (id: number) => boolean = () => false): string[] {
  const byId = new Map(r.conversations.map((c) => [c.id, c]));
  const out = new Set<string>();
  for (const f of r.findings) {
    for (const id of f.conversations) {
      if (skipConversation(id)) continue;
      const c = byId.get(id)!;
      out.add(`${f.code} ${c.server.ip}:${c.server.port}`);
    }
  }
  return [...out].sort();
}

describe.skipIf(skip !== null)(`probe in the lab's namespaces${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let dir = "";
  let probe: Json;
  let run: { code: number | null; stderr: string };
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "pnc-probe-lab-"));
    const up = spawnSync("bash", [LAB, "up", PREFIX, dir], { encoding: "utf8", timeout: 90_000 });
    if (up.stdout.trim() !== "ready") throw new Error(`lab.sh up failed: ${up.stderr}`);
    const r = await inProxy(["probe", ...ROLES, "--timeout", "8s", "--evidence", `${dir}/probe.pcapng`, "-o", `${dir}/probe.json`]);
    run = r;
    probe = JSON.parse(readFileSync(`${dir}/probe.json`, "utf8")) as Json;
  });
  afterAll(() => {
    spawnSync("bash", [LAB, "down", PREFIX], { timeout: 60_000 });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const check = (kind: string, address: string, port: number) => probe.probe.checks.find((c) => c.check === kind && c.address === address && c.port === port);
  const conv = (address: string, port: number, kind: string) => {
    const id = check(kind, address, port)?.conversation;
    return probe.conversations.find((c) => c.id === id)!;
  };

  it("exits 1 (errors found) and says on stderr what it does", () => {
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/checks on 9 hosts, 8 at a time, 8000 ms each; nothing is retried/);
    expect(probe.summary.verdict).toBe("fail");
  });

  it("each check's result", () => {
    const got = probe.probe.checks.map((c) => `${c.check} ${c.address}:${c.port} ${c.result}`).sort();
    expect(got).toEqual([
      "ntp 10.79.0.14:123 answered",
      "ntp 10.79.0.15:123 refused",
      "rdp 10.79.0.10:3389 open",
      "rdp 10.79.0.11:3389 refused",
      "ssh 10.79.0.10:22 open",
      "ssh 10.79.0.11:22 refused",
      "tls 10.79.0.10:3542 open",
      "tls 10.79.0.11:3542 open",
      "tls 10.79.0.16:443 open",
      "tls 10.79.0.17:443 open",
      "tls-1.0 10.79.0.10:3542 not-accepted",
      "tls-1.0 10.79.0.11:3542 accepted",
      "tls-1.0 10.79.0.16:443 not-accepted",
      "tls-1.0 10.79.0.17:443 not-accepted",
      "tls-1.1 10.79.0.10:3542 not-accepted",
      "tls-1.1 10.79.0.11:3542 accepted",
      "tls-1.1 10.79.0.16:443 not-accepted",
      "tls-1.1 10.79.0.17:443 not-accepted",
      "vmware-authd 10.79.0.12:902 open",
      "vmware-authd 10.79.0.13:902 open",
      "vmware-authd 10.79.0.18:902 filtered",
    ]);
  });

  it("the findings: TLS 1.0/1.1 still accepted, no authd banner, the dropped port, the closed ports, the stopped NTP server, the cloud's self-signed and vCenter's expired certificate", () => {
    expect(keyed(probe)).toEqual([
      "blocked 10.79.0.18:902",
      "certificate-expired 10.79.0.16:443",
      "certificate-self-signed 10.79.0.17:443",
      "protocol-mismatch 10.79.0.13:902",
      "refused 10.79.0.11:22",
      "refused 10.79.0.11:3389",
      "refused 10.79.0.15:123",
      "weak-tls 10.79.0.11:3542",
    ]);
  });

  it("nothing on the conforming hosts' checks", () => {
    for (const [a, p, k] of [["10.79.0.10", 3542, "tls"], ["10.79.0.10", 3389, "rdp"], ["10.79.0.10", 22, "ssh"], ["10.79.0.12", 902, "vmware-authd"], ["10.79.0.14", 123, "ntp"]] as const) {
      const c = conv(a, p, k);
      expect({ at: `${a}:${p}`, status: c.status, findings: c.findings }).toEqual({ at: `${a}:${p}`, status: "conforming", findings: [] });
    }
  });

  it("the facts each protocol's detector read from the probe's bytes", () => {
    expect(conv("10.79.0.12", 902, "vmware-authd").banner).toMatch(/^220 VMware Authentication Daemon Version 1\.10: SSL Required/);
    expect(conv("10.79.0.12", 902, "vmware-authd").tls?.versionCode).toBeGreaterThanOrEqual(0x0303);
    expect(conv("10.79.0.10", 3389, "rdp").rdp?.selectedProtocol).toBe("ssl");
    expect(conv("10.79.0.10", 22, "ssh").ssh?.serverSoftware).toMatch(/^OpenSSH_/);
    expect(conv("10.79.0.14", 123, "ntp").ntp?.stratum).toBe(8);
    expect(check("ntp", "10.79.0.14", 123)?.ntp).toMatchObject({ stratum: 8, leap: 0, kissCode: null });
    expect(conv("10.79.0.11", 3542, "tls-1.0").tls?.versionCode).toBe(0x0301);
    expect(conv("10.79.0.15", 123, "ntp").state).toBe("S0");
    expect(conv("10.79.0.18", 902, "vmware-authd").state).toBe("S0");
    expect(conv("10.79.0.11", 22, "ssh").state).toBe("REJ");
  });

  it("the certificate facts the policy's certificate findings read: the expired one, the self-signed one off any public root", () => {
    const vc = conv("10.79.0.16", 443, "tls").tls!;
    expect(vc.certificateVisible).toBe(true);
    expect(Date.parse(vc.chain[0].notAfter)).toBeLessThan(Date.now());
    const cloud = conv("10.79.0.17", 443, "tls").tls!;
    expect(cloud.chain[0].selfSigned).toBe(true);
    expect(cloud.chainsToPublicRoot).toBe(false);
  });

  it("Ctrl-C: no new checks, the one in progress cut short without a conversation, the report of what was checked written (exit 3)", async () => {
    const child = spawn("ip", ["netns", "exec", `${PREFIX}-p`, process.execPath, cli, "probe", "--role", "esxi=10.79.0.18", "--role", "guest=10.79.0.10",
      "--timeout", "120s", "--concurrency", "1", "--format", "json"], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    // Four checks planned (902, then 3542, 3389, 22), one at a time. The signal once the run has
    // begun (its first line on stderr); the dropped 902 cannot finish within 120 s.
    child.stderr.setEncoding("utf8").on("data", (s: string) => {
      stderr += s;
      if (/checks on 2 hosts/.test(stderr) && !child.killed) child.kill("SIGINT");
    });
    const code = await new Promise<number | null>((res) => child.once("close", (c) => res(c)));
    expect(stderr).toMatch(/interrupted: no new checks/);
    expect(code).toBe(3);
    const r = JSON.parse(stdout) as Json;
    expect(r.probe.interrupted).toBe(true);
    const esx = r.probe.checks.find((c) => c.address === "10.79.0.18")!;
    expect(esx).toMatchObject({ result: "interrupted", conversation: null });
    expect(r.findings.map((f) => f.code)).not.toContain("blocked");
    expect((r.probe as unknown as { notRun: number }).notRun).toBe(4 - r.probe.checks.filter((c) => c.check !== "tls-1.0" && c.check !== "tls-1.1").length);
  });

  it("--evidence: analyze of the probe's own traffic gives the same findings (and tls-not-established on the refused TLS 1.0/1.1 handshakes)", () => {
    expect(probe.probe.evidence).toBe(`${dir}/probe.pcapng`);
    expect(existsSync(`${dir}/probe.pcapng`)).toBe(true);
    const a = spawnSync(process.execPath, [cli, "analyze", `${dir}/probe.pcapng`, ...ROLES, "--role", "proxy=10.79.0.1", "--format", "json"], { encoding: "utf8", timeout: 120_000 });
    expect(a.status).toBe(1);
    const analyzed = JSON.parse(a.stdout) as Json;
    // The handshakes the servers refused: a conforming server's answer, a probe measurement, not
    // a conversation of the probe's report — but a capture shows them as any refused ClientHello.
    const refusedPorts = new Set(probe.probe.checks.filter((c) => c.result === "not-accepted").map((c) => c.localPort));
    expect(refusedPorts.size).toBe(6);
    const byId = new Map(analyzed.conversations.map((c) => [c.id, c]));
    const downgrade = (id: number) => refusedPorts.has(byId.get(id)!.client.port);
    for (const f of analyzed.findings.filter((x) => x.conversations.some(downgrade))) expect(f.code).toBe("tls-not-established");
    // What only a client can see (certificates under TLS 1.3) is the probe's alone.
    const clientOnly = (k: string) => k.startsWith("certificate-") || k.startsWith("tls-inspection");
    expect(keyed(analyzed, downgrade).filter((k) => !clientOnly(k))).toEqual(keyed(probe).filter((k) => !clientOnly(k)));
  });
});
