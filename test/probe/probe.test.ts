/**
 * The probe's parts without a lab: the conversations a check's events make (through the flow
 * layer's TcpTracker and the detectors), the NTP answer's fields, network expansion and its cap,
 * and the TLS check against a real OpenSSL server on loopback (Node's tls server, a certificate
 * made with openssl here).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connState } from "../../src/flow/index.js";
import { parseNtpAnswer, runChecks } from "../../src/probe/checks.js";
import { TcpExchange, UdpExchange } from "../../src/probe/exchange.js";
import { expandNetwork, resolveTargets, TargetError } from "../../src/probe/targets.js";
import { timeoutArg } from "../../src/cli/probe.js";
import { built, lines, run } from "../cli/cli-run.js";

const ends = { clientAddress: "192.0.2.1", clientPort: 40000, serverAddress: "192.0.2.9", serverPort: 22 };
const ascii = (s: string) => new TextEncoder().encode(s);

describe("a check's events as the analyzer's conversation", () => {
  it("a refused connect is REJ (SYN, then RST-ACK)", () => {
    const ex = new TcpExchange(ends);
    ex.outcome = "refused";
    const { conv: c, facts } = ex.conversation(1)!;
    expect(connState(c)).toBe("REJ");
    expect(c.tcp!.history).toBe("Sr");
    expect(facts.protocol).toBe("none");
  });

  it("a filtered connect is S0 (the SYN alone)", () => {
    const ex = new TcpExchange(ends);
    ex.outcome = "filtered";
    const { conv: c, facts } = ex.conversation(1)!;
    expect(connState(c)).toBe("S0");
    expect(c.packetsServer).toBe(0);
  });

  it("an unreachable host is the SYN and the ICMP error the kernel reported", () => {
    const ex = new TcpExchange(ends);
    ex.outcome = "unreachable";
    ex.icmpCode = 1; // RFC 792 host unreachable
    const { conv: c, facts } = ex.conversation(1)!;
    expect([c.icmpType, c.icmpCode, c.icmpCount]).toEqual([3, 1, 1]);
  });

  it("an open connection's bytes reach the SSH detector, and both FINs make SF", () => {
    const ex = new TcpExchange(ends);
    ex.outcome = "open";
    ex.data(false, ascii("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"));
    ex.data(true, ascii("SSH-2.0-phoenix_netcheck_probe\r\n"));
    ex.fin(true);
    ex.fin(false);
    const { conv: c, facts } = ex.conversation(7)!;
    expect(c.id).toBe(7);
    expect(connState(c)).toBe("SF");
    expect(facts.protocol).toBe("ssh");
    expect(facts.ssh!.serverSoftware).toBe("OpenSSH_9.2p1");
  });

  it("an NTP exchange without an answer but with ICMP port unreachable", () => {
    const ex = new UdpExchange({ ...ends, serverPort: 123 });
    const req = new Uint8Array(48);
    req[0] = 0x23; // LI 0, VN 4, mode 3
    ex.datagram(true, req);
    ex.icmpCode = 3;
    const { conv: c, facts } = ex.conversation(1)!;
    expect(c.datagramsClient).toBe(1);
    expect(facts.protocol).toBe("ntp");
    expect([c.icmpType, c.icmpCode]).toEqual([3, 3]);
  });
});

describe("the NTP answer (RFC 5905 §7.3)", () => {
  const NTP_UNIX = 2208988800;
  function answer(o: { li: number; stratum: number; refid: string; t2: number; t3: number }): Uint8Array {
    const b = new Uint8Array(48);
    const v = new DataView(b.buffer);
    b[0] = (o.li << 6) | (4 << 3) | 4; // LI, VN 4, mode 4 (server)
    b[1] = o.stratum;
    for (let i = 0; i < 4; i++) b[12 + i] = o.refid.charCodeAt(i); // reference ID (the kiss code at stratum 0)
    const put = (at: number, ms: number) => {
      v.setUint32(at, Math.floor(ms / 1000) + NTP_UNIX); // seconds since 1900
      v.setUint32(at + 4, ((ms % 1000) / 1000) * 2 ** 32); // fraction
    };
    put(32, o.t2); // receive timestamp
    put(40, o.t3); // transmit timestamp
    return b;
  }
  it("offset and round trip from the four timestamps", () => {
    // Sent at 1000 ms, received by the server at 1600 (its clock 500 ms ahead, 100 ms one way),
    // answered at 1610, back at 1210: offset 500, round trip 200.
    const a = parseNtpAnswer(answer({ li: 0, stratum: 2, refid: "GPS\0", t2: 1_700_000_001_600, t3: 1_700_000_001_610 }), 1_700_000_001_000, 1_700_000_001_210)!;
    expect(a.stratum).toBe(2);
    expect(a.kissCode).toBeNull();
    expect(a.offsetMs).toBeCloseTo(500, 0);
    expect(a.roundTripMs).toBeCloseTo(200, 0);
  });
  it("a kiss-o'-death and an unsynchronised leap indicator", () => {
    const a = parseNtpAnswer(answer({ li: 3, stratum: 0, refid: "RATE", t2: 1_700_000_000_000, t3: 1_700_000_000_000 }), 1_700_000_000_000, 1_700_000_000_000)!;
    expect(a.leap).toBe(3);
    expect(a.kissCode).toBe("RATE");
  });
  it("not an answer: too short, or not mode 4", () => {
    expect(parseNtpAnswer(new Uint8Array(47), 0, 0)).toBeNull();
    const req = new Uint8Array(48);
    req[0] = 0x23;
    expect(parseNtpAnswer(req, 0, 0)).toBeNull();
  });
});

describe("targets", () => {
  it("a /28 is its 14 host addresses, a /31 both, a single address itself", () => {
    const h = expandNetwork("10.0.1.0/28", 256);
    expect(h).toHaveLength(14);
    expect(h[0]).toBe("10.0.1.1");
    expect(h[13]).toBe("10.0.1.14");
    expect(expandNetwork("10.0.1.6/31", 256)).toEqual(["10.0.1.6", "10.0.1.7"]);
    expect(expandNetwork("2001:db8::5", 256)).toEqual(["2001:db8::5"]);
  });
  it("more hosts than the cap is refused, naming --max-hosts", () => {
    expect(() => expandNetwork("10.0.0.0/23", 256)).toThrow(/510 host addresses.*--max-hosts/);
    expect(expandNetwork("10.0.0.0/23", 510)).toHaveLength(510);
  });
  it("the cap holds over all roles together", async () => {
    const t = [
      { role: "esxi", value: "10.0.1.0/25", origin: "x" },
      { role: "guest", value: "10.0.2.0/25", origin: "y" },
    ];
    await expect(resolveTargets(t, 200)).rejects.toThrow(TargetError);
    expect((await resolveTargets(t, 254)).hosts).toHaveLength(252);
  });
  it("a name that does not resolve is listed, not fatal (.invalid never resolves: RFC 6761 §6.4)", async () => {
    const r = await resolveTargets([{ role: "cloud", value: "phoenix.invalid", origin: "--role cloud=phoenix.invalid" }], 256);
    expect(r.hosts).toEqual([]);
    expect(r.unresolved).toEqual([{ role: "cloud", name: "phoenix.invalid", error: expect.any(String) }]);
  });
  it("--timeout takes 3s, 500ms, 1.5s; refuses 0 and words", () => {
    expect(timeoutArg("3s")).toBe(3000);
    expect(timeoutArg("500ms")).toBe(500);
    expect(timeoutArg("1.5s")).toBe(1500);
    expect(() => timeoutArg("0")).toThrow();
    expect(() => timeoutArg("soon")).toThrow();
  });
});

const haveOpenssl = spawnSync("sh", ["-c", "command -v openssl"]).status === 0;

describe.skipIf(!haveOpenssl)("the TLS check against a real OpenSSL server on loopback (needs openssl)", () => {
  let dir = "";
  let server: tls.Server;
  let closed: net.Server;
  let port = 0;
  let closedPort = 0;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "pnc-probe-"));
    const r = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-keyout", `${dir}/k.pem`, "-out", `${dir}/c.pem`,
      "-subj", "/CN=probe-test.example", "-addext", "subjectAltName=DNS:probe-test.example", "-days", "2"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    // Node's defaults: TLS 1.2 and 1.3 only, so the TLS 1.0/1.1 handshakes must be refused.
    server = tls.createServer({ key: readFileSync(`${dir}/k.pem`), cert: readFileSync(`${dir}/c.pem`) }, (s) => {
      s.on("error", () => {});
      s.end();
    });
    server.on("tlsClientError", () => {});
    await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
    port = (server.address() as net.AddressInfo).port;
    // A port certainly closed: bound, then closed again.
    closed = net.createServer();
    await new Promise<void>((res) => closed.listen(0, "127.0.0.1", res));
    closedPort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((res) => closed.close(() => res()));
  });
  afterAll(async () => {
    await new Promise<void>((res) => server.close(() => res()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("negotiates the server's best, reads the chain as ChainCertificate facts, and records TLS 1.0/1.1 as not accepted", async () => {
    const out = await runChecks("tls", { address: "127.0.0.1", port, name: "probe-test.example", role: "guest", row: "guest-3542" }, { timeoutMs: 20_000 });
    expect(out.map((o) => [o.record.check, o.record.result])).toEqual([["tls", "open"], ["tls-1.0", "not-accepted"], ["tls-1.1", "not-accepted"]]);
    expect(out[1].build).toBeNull();
    expect(out[0].record.tls?.protocol).toBe("TLSv1.3");
    const { conv: c, facts } = out[0].build!(1)!;
    const t = facts.tls!;
    expect(facts.protocol).toBe("tls");
    expect(t.versionCode).toBe(0x0304);
    expect(t.sni).toBe("probe-test.example");
    // TLS 1.3: the certificate was encrypted on the wire; the probe, the client, has it.
    expect(t.certificateVisible).toBe(true);
    expect(t.chain).toHaveLength(1);
    expect(t.chain[0].subject).toContain("probe-test.example");
    expect(t.chain[0].selfSigned).toBe(true);
    expect(t.chain[0].keyType).toBe("rsa");
    expect(t.chain[0].keyBits).toBe(2048);
    expect(t.chain[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(t.chainsToPublicRoot).toBe(false);
    expect(connState(c)).toBe("SF");
  });

  it("a closed port is refused, with its elapsed time, and no TLS handshakes follow", async () => {
    const out = await runChecks("tls", { address: "127.0.0.1", port: closedPort, name: null, role: "guest", row: "guest-3542" }, { timeoutMs: 20_000 });
    expect(out).toHaveLength(1);
    expect(out[0].record.result).toBe("refused");
    expect(out[0].record.error).toBe("ECONNREFUSED");
    expect(out[0].record.elapsedMs).toBeGreaterThanOrEqual(0);
    expect(connState(out[0].build!(1)!.conv)).toBe("REJ");
  });
});

describe.skipIf(!built)("the probe command's arguments (built CLI)", () => {
  it("--help names every option and gives examples", () => {
    const r = run(["probe", "--help"]);
    expect(r.code).toBe(0);
    for (const o of ["--role", "--roles", "--timeout", "--concurrency", "--max-hosts", "--evidence", "-o, --output", "--format", "--force", "--fail-on"]) expect(r.stdout).toContain(o);
    expect(r.stdout).toMatch(/Examples:\n {2}phoenix-netcheck probe --role vcenter=/);
  });
  it("no hosts, an unknown role, a network over --max-hosts: exit 2, one line, nothing sent", () => {
    expect(run(["probe"]).stderr).toMatch(/probe needs hosts to check/);
    const bad = run(["probe", "--role", "esx=vc.example.com"]);
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringMatching(/--role esx=vc\.example\.com: expected a role .*got "esx"/)]);
    const big = run(["probe", "--role", "esxi=10.0.0.0/16"]);
    expect([big.code, lines(big.stderr)]).toEqual([2, [expect.stringMatching(/65534 host addresses, more than the 256 .*--max-hosts/)]]);
  });
  it("an existing -o without --force is refused before any check (exit 2, the file untouched)", () => {
    const d = mkdtempSync(path.join(tmpdir(), "pnc-probe-o-"));
    try {
      writeFileSync(`${d}/r.json`, "keep");
      const r = run(["probe", "--role", "guest=192.0.2.7", "-o", `${d}/r.json`]);
      expect(r.code).toBe(2);
      expect(r.stderr).not.toMatch(/checks on/);
      expect(readFileSync(`${d}/r.json`, "utf8")).toBe("keep");
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
