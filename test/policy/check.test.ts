/**
 * The matrix checks on real captures: the project's own recordings (fixtures/recorded/, real
 * servers in network namespaces; client 10.77.0.10 / fd77::10, server 10.77.0.20 / fd77::20) and
 * the public corpus. Each finding code, with and without explicit roles, the filters and frames
 * behind findings, and exit codes.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { exitCodeFor, reportFor } from "../../src/pipeline/index.js";
import type { Report } from "../../src/report/record.js";
import { HAVE_PUBLIC, PUBLIC_DIR, REPO_ROOT } from "../support/corpus.js";

const rec = (f: string) => path.join(REPO_ROOT, "fixtures/recorded", f);
const CLIENT = "10.77.0.10";
const SERVER = "10.77.0.20";

function codes(r: Report): string[] {
  return r.findings.map((f) => f.code).sort();
}

function matrixFile(doc: unknown): string {
  const dir = mkdtempSync(path.join(tmpdir(), "pnc-matrix-"));
  const f = path.join(dir, "m.json");
  writeFileSync(f, JSON.stringify(doc));
  return f;
}

describe("role inference", () => {
  it("authd banner sender is esxi, the client of the matrix-shaped conversations is the proxy, each with a reason", async () => {
    const r = await reportFor([rec("vmware-authd.pcap")]);
    expect(r.roles).toEqual([
      { ip: CLIENT, role: "proxy", source: "inferred", reason: expect.stringContaining("TCP 902") },
      { ip: SERVER, role: "esxi", source: "inferred", reason: expect.stringContaining("authd banner") },
    ]);
    expect(r.conversations[0].rule).toBe("esxi-902");
    expect(r.conversations[0].findings).toEqual([]);
  });

  it("an NTP server that answered in server mode is ntp", async () => {
    const r = await reportFor([rec("ntp.pcap")]);
    expect(r.roles.filter((x) => x.role === "ntp").map((x) => x.ip).sort()).toEqual(["10.77.0.20", "fd77::20"]);
    expect(r.conversations.every((c) => c.rule === "ntp-123")).toBe(true);
  });

  it("explicit roles win over inference and are marked explicit", async () => {
    const r = await reportFor([rec("vmware-authd.pcap")], { role: [`proxy=${CLIENT}`, "esxi=10.77.0.0/24"] });
    const proxy = r.roles.find((x) => x.ip === CLIENT)!;
    expect(proxy.source).toBe("explicit");
    expect(r.roles.find((x) => x.ip === SERVER)).toMatchObject({ role: "esxi", source: "explicit" });
  });

  it("leaves hosts with no evidence unknown", async () => {
    const r = await reportFor([rec("tcp-udp-v4.pcap")]);
    // HTTP on 80 and DNS: nothing matrix-shaped, nothing inferred.
    expect(r.roles).toEqual([]);
    expect(r.conversations.find((c) => c.server.port === 53)!.rule).toBe("dns-53-udp");
  });
});

describe("finding codes on recorded captures", () => {
  it("plaintext-where-tls-required: HTTP on 443 to vCenter", async () => {
    const r = await reportFor([rec("plaintext-http-on-443.pcap")], { role: [`proxy=${CLIENT}`, `vcenter=${SERVER}`] });
    const f = r.findings.find((x) => x.code === "plaintext-where-tls-required")!;
    expect(f).toBeDefined();
    expect(f.severity).toBe("error");
    expect(f.rule).toBe("vcenter-443");
    expect(f.message).toContain(`${SERVER} (vcenter)`);
    expect(f.message).toContain("GET /index.html");
    expect(f.wiresharkFilter).toBe(`ip.addr==${CLIENT} && ip.addr==${SERVER} && tcp.port==443`);
    expect(f.frames[0]).toBe(r.conversations[0].firstFrame);
    expect(r.summary.verdict).toBe("fail");
    expect(exitCodeFor(r, "error")).toBe(1);
  });

  it("weak-tls: TLS 1.0 on 443 names the version, the cipher and what the client offered", async () => {
    const r = await reportFor([rec("tls10-sni-alpn.pcap")], { role: [`proxy=${CLIENT}`, `cloud=${SERVER}`] });
    const f = r.findings.find((x) => x.code === "weak-tls")!;
    expect(f.rule).toBe("cloud-443");
    expect(f.message).toMatch(/negotiated TLS 1\.0 with TLS_\w+; the row requires TLS 1\.2 or newer/);
    expect(codes(r)).toEqual(["missing-expected", "weak-tls"]); // and no NTP from the proxy
  });

  it("TLS 1.2 and 1.3 on 443: the version passes; the cloud row judges the certificate (self-signed in clear, hidden by TLS 1.3)", async () => {
    const r12 = await reportFor([rec("tls12-sni-alpn.pcap")], { role: [`proxy=${CLIENT}`, `cloud=${SERVER}`] });
    expect(codes(r12)).toEqual(["certificate-self-signed", "missing-expected"]);
    const r13 = await reportFor([rec("tls13-sni-alpn.pcap")], { role: [`proxy=${CLIENT}`, `cloud=${SERVER}`] });
    expect(codes(r13)).toEqual(["certificate-not-verifiable", "missing-expected"]);
    // As a vCenter (a private CA or self-signed certificate is normal there) TLS 1.2 conforms.
    const v12 = await reportFor([rec("tls12-sni-alpn.pcap")], { role: [`proxy=${CLIENT}`, `vcenter=${SERVER}`] });
    expect(v12.conversations[0]).toMatchObject({ rule: "vcenter-443", status: "conforming" });
  });

  it("tls-not-established: ClientHello answered by an alert (public corpus)", async () => {
    if (!HAVE_PUBLIC) return;
    const r = await reportFor([path.join(PUBLIC_DIR, "tls12-handshake-failure-alert.pcap")]);
    const f = r.findings.find((x) => x.code === "tls-not-established")!;
    expect(f.message).toContain("fatal handshake_failure alert");
  });

  it("blocked and refused on matrix rows, with attempts and the SYN filter", async () => {
    // A matrix whose rows put the recording's ports on the proxy's path.
    const m = matrixFile({
      rows: [
        { id: "x-8443", client: "proxy", server: "cloud", port: 8443, transport: "tcp", expect: "tls", minTls: "TLS 1.2" },
        { id: "x-8000", client: "proxy", server: "cloud", port: 8000, transport: "tcp", expect: "http" },
        { id: "x-30000", client: "proxy", server: "cloud", port: 30000, transport: "udp", expect: "any" },
      ],
    });
    const r = await reportFor([rec("tcp-udp-failures.pcap")], { matrix: m, role: [`proxy=${CLIENT}`, "proxy=fd77::10"] });
    const blocked = r.findings.find((x) => x.code === "blocked")!;
    expect(blocked.rule).toBe("x-8443");
    expect(blocked.attempts).toBe(1);
    expect(blocked.message).toMatch(/3 SYNs in 1 connection attempt over \d+\.\d s never answered/);
    expect(blocked.wiresharkFilter).toBe(`ip.addr==${CLIENT} && ip.addr==${SERVER} && tcp.port==8443 && tcp.flags.syn==1`);
    expect(blocked.frames.length).toBe(3);
    const refused = r.findings.filter((x) => x.code === "refused").map((x) => x.message);
    expect(refused).toHaveLength(3); // TCP RST on 8000, ICMP and ICMPv6 port unreachable on UDP 30000
    expect(refused.some((m) => m.includes("TCP reset"))).toBe(true);
    expect(refused.some((m) => m.includes("ICMP port unreachable"))).toBe(true);
    expect(refused.some((m) => m.includes("ICMPv6 port unreachable"))).toBe(true);
  });

  it("the same failures off the matrix are unexpected ports, warnings because the proxy is involved", async () => {
    const r = await reportFor([rec("tcp-udp-failures.pcap")], { role: [`proxy=${CLIENT}`] });
    const unexpected = r.findings.filter((x) => x.code === "unexpected-port");
    // The three IPv4 attempts come from the proxy; the IPv6 one from its IPv6 address, which shares
    // its MAC (the recording's client is one host with both addresses).
    expect(unexpected.map((x) => [x.severity, x.message.split(":")[0]])).toEqual([
      ["warning", `TCP 8443 from ${CLIENT} (proxy) to ${SERVER}`],
      ["warning", `TCP 8000 from ${CLIENT} (proxy) to ${SERVER}`],
      ["warning", `UDP 30000 from ${CLIENT} (proxy) to ${SERVER}`],
      ["warning", "UDP 30000 from fd77"],
    ]);
    expect(r.roles.find((x) => x.ip === "fd77::10")).toMatchObject({ role: "proxy", source: "inferred", reason: expect.stringMatching(/^shares MAC [0-9a-f:]{17} with the proxy 10\.77\.0\.10/) });
    expect(unexpected[0].message).toContain("never answered");
    expect(unexpected[1].message).toContain("refused");
    expect(codes(r).filter((c) => c === "blocked" || c === "refused")).toEqual([]);
  });

  it("without a proxy, an unexpected port is only info, and the verdict is inconclusive (no-proxy, exit 3)", async () => {
    const r = await reportFor([rec("tcp-udp-v4.pcap")]);
    expect(r.findings.map((f) => [f.code, f.severity])).toEqual([["unexpected-port", "info"]]);
    expect(r.summary.verdict).toBe("inconclusive");
    expect(r.summary.coverage.map((c) => c.code)).toContain("no-proxy");
    expect(r.summary.coverage.find((c) => c.code === "no-proxy")!.action).toContain("--role proxy=");
    expect(exitCodeFor(r, "error")).toBe(3);
    expect(exitCodeFor(r, "none")).toBe(3);
    // Told which host is the proxy, the same capture has a verdict.
    const r2 = await reportFor([rec("tcp-udp-v4.pcap")], { role: [`proxy=${CLIENT}`] });
    expect(r2.summary.coverage.map((c) => c.code)).not.toContain("no-proxy");
  });

  it("902 to a standalone ESXi host conforms: esxi-902 is expected to every ESXi host", async () => {
    const r = await reportFor([rec("vmware-authd.pcap")], { role: [`proxy=${CLIENT}`, `esxi-standalone=${SERVER}`] });
    expect(codes(r).filter((c) => c !== "missing-expected")).toEqual([]);
    expect(r.conversations[0]).toMatchObject({ rule: "esxi-902", status: "conforming" });
    // … and with no roles at all: the authd host is "ESXi, registration unknown", 902 to it conforms.
    const r2 = await reportFor([rec("vmware-authd.pcap")]);
    expect(r2.roles.find((x) => x.ip === SERVER)).toMatchObject({ role: "esxi", reason: expect.stringContaining("registration unknown") });
    expect(r2.conversations[0]).toMatchObject({ rule: "esxi-902", status: "conforming", findings: [] });
  });

  it("wrong-direction: an ESXi host opening 902 towards the proxy", async () => {
    const r = await reportFor([rec("vmware-authd.pcap")], { role: [`proxy=${SERVER}`, `esxi=${CLIENT}`] });
    expect(r.findings.find((x) => x.code === "wrong-direction")?.rule).toBe("esxi-902");
    expect(codes(r)).not.toContain("unexpected-port");
  });

  it("protocol-mismatch: SSH where the row expects TLS", async () => {
    const m = matrixFile({ mode: "replace", product: "test", rows: [{ id: "x-22", client: "proxy", server: "guest", port: 22, transport: "tcp", expect: "tls", minTls: "TLS 1.2" }] });
    const r = await reportFor([rec("ssh.pcap")], { matrix: m, role: [`proxy=${CLIENT}`] });
    const f = r.findings.find((x) => x.code === "protocol-mismatch")!;
    expect(f.message).toContain("carried SSH; the row expects TLS");
  });

  it("missing-expected: the rows a present role needs, with the capture's duration", async () => {
    const r = await reportFor([rec("vmware-authd.pcap")]);
    const missing = r.findings.filter((x) => x.code === "missing-expected");
    expect(missing.map((x) => x.rule).sort()).toEqual(["cloud-443", "ntp-123"]);
    expect(missing.every((x) => x.severity === "warning" && /in the \d+\.\d s the capture covers/.test(x.message))).toBe(true);
    expect(missing.find((x) => x.rule === "ntp-123")!.wiresharkFilter).toBe(`ip.addr==${CLIENT} && udp.port==123`);
    expect(r.summary.verdict).toBe("warn");
    expect(exitCodeFor(r, "error")).toBe(0);
    expect(exitCodeFor(r, "warning")).toBe(1);
  });

  it("missing-expected per host: no 902 to a known ESXi host", async () => {
    const r = await reportFor([rec("tls12-sni-alpn.pcap")], { role: [`proxy=${CLIENT}`, `esxi=${SERVER}`] });
    const f = r.findings.find((x) => x.code === "missing-expected" && x.rule === "esxi-902")!;
    expect(f.message).toContain(`to ${SERVER} (esxi)`);
    // 443 to a managed ESXi host is the wrong path as well.
    expect(codes(r)).toContain("wrong-path");
  });

  it("a 443 conversation to a host of unknown role is every 443 row at once: no missing-expected for them, no row picked", async () => {
    const r = await reportFor([rec("tls12-sni-alpn.pcap")], { role: [`proxy=${CLIENT}`] });
    expect(r.conversations[0]).toMatchObject({ rule: null, status: "ambiguous" });
    expect(r.conversations[0].ruleAlternatives).toEqual(["cloud-443", "cloudcache-443", "vcenter-443", "esxi-443"]);
    expect(r.findings.some((x) => x.code === "missing-expected" && x.rule === "cloud-443")).toBe(false);
    // Told which host is the cloud, the row is the cloud's (and its self-signed certificate that row's error).
    const r2 = await reportFor([rec("tls12-sni-alpn.pcap")], { role: [`proxy=${CLIENT}`, `cloud=${SERVER}`] });
    expect(r2.conversations[0]).toMatchObject({ rule: "cloud-443", status: "finding" });
    expect(r2.findings.filter((x) => x.rule === "cloud-443").map((x) => x.code)).toEqual(["certificate-self-signed"]);
  });

  it("DNS is infrastructure: matched, never a finding", async () => {
    const r = await reportFor([rec("dns-udp-tcp.pcap")], { role: [`proxy=${CLIENT}`] });
    expect(r.conversations.every((c) => c.ruleKind === "infrastructure" && c.findings.length === 0)).toBe(true);
  });
});

describe.skipIf(!HAVE_PUBLIC)("a SYN scan", () => {
  it("folds a thousand unexpected ports between two hosts into one finding with a short filter", async () => {
    const r = await reportFor([path.join(PUBLIC_DIR, "synscan-incl-902-903-3389-22-443.pcap")]);
    const scan = r.findings.filter((f) => f.code === "unexpected-port");
    expect(scan).toHaveLength(1);
    expect(scan[0].message).toMatch(/^\d{3,} TCP ports/);
    expect(scan[0].wiresharkFilter.length).toBeLessThan(100);
    // The matrix ports in the scan were dropped: blocked, one finding per port.
    const blocked = r.findings.filter((f) => f.code === "blocked").map((f) => f.rule).sort();
    expect(blocked).toContain("esxi-902");
  });
});
