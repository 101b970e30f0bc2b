/**
 * Issue 17's policy side on recordings with real servers (fixtures/record-issue17.sh): nginx
 * serving certificates made with openssl (self-signed, a "FortiGate CA" chain, a VMCA-like chain,
 * expired, not yet valid, a 1024-bit key, a SHA-1 signature, another name) and curl through
 * tinyproxy (HTTP CONNECT, one allowed, one refused by its filter). The oracle is what the
 * recorder made, written by openssl into issue17.expected.json: each verdict is asserted field by
 * field (code, severity, rule, the subject, issuer and dates in the message), with the roles given
 * and inferred.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { reportFor } from "../../src/pipeline/index.js";
import type { Report } from "../../src/report/record.js";
import { HAVE_PUBLIC, PUBLIC_DIR, REPO_ROOT } from "../support/corpus.js";

const DIR = path.join(REPO_ROOT, "fixtures/recorded/issue17");
interface Host { name: string; ip: string; sni: string; role: string; subject: string; issuer: string; notBefore: string; notAfter: string; sha256: string }
const EXP = JSON.parse(readFileSync(path.join(DIR, "issue17.expected.json"), "utf8")) as { proxy: string; webProxy: string; hosts: Host[] };
const host = (name: string) => EXP.hosts.find((h) => h.name === name)!;
/** openssl's RFC 2253 name (last RDN first) in the order the certificate holds it, as the report writes it. */
const dn = (rfc2253: string) => rfc2253.split(",").reverse().join(", ");
const iso = (s: string) => new Date(s).toISOString();
/** The certificate as every certificate message names it. */
const about = (h: Host) => `subject ${dn(h.subject)}, issuer ${dn(h.issuer)}, valid ${iso(h.notBefore)} to ${iso(h.notAfter)}`;

const roleFlags = [`proxy=${EXP.proxy}`, ...EXP.hosts.map((h) => `${h.role}=${h.ip}`)];
const MODES = [
  ["with --role", { role: roleFlags }],
  ["without roles", {}],
] as const;

function findingFor(r: Report, ip: string) {
  const conv = r.conversations.find((c) => c.server.ip === ip)!;
  const found = r.findings.filter((f) => f.conversations.includes(conv.id));
  return { conv, found };
}

describe.each(MODES)("certificates.pcap %s", (_mode, opts) => {
  let r: Report;
  const load = async () => (r ??= await reportFor([path.join(DIR, "certificates.pcap")], opts));

  it("the chain facts are openssl's (the SHA-256 fingerprint of each leaf)", async () => {
    await load();
    for (const h of EXP.hosts.filter((x) => x.name !== "target")) {
      const c = r.conversations.find((x) => x.server.ip === h.ip)!;
      expect(c.tls?.chain[0].sha256, h.name).toBe(h.sha256);
    }
  });

  const cases: [string, string, "error" | "warning", string, (h: Host) => string][] = [
    ["inspected", "tls-inspection", "error", "cloud-443", (h) =>
      `the certificate was issued by ${dn(h.issuer)} (Fortinet FortiGate), and its chain leads to no public root (${about(h)}; top of the chain sent: ${dn(h.issuer)}): a TLS-inspecting firewall or proxy re-signs this connection — the most common cause of cloud uploads failing behind a corporate firewall.`],
    ["selfsigned", "certificate-self-signed", "error", "cloud-443", (h) => `the certificate is self-signed (${about(h)}): it leads to no public root.`],
    ["expired", "certificate-expired", "warning", "vcenter-443", (h) => `the certificate expired on ${iso(h.notAfter)}, before the capture (`],
    ["notyet", "certificate-not-yet-valid", "warning", "vcenter-443", (h) => `the certificate is not valid until ${iso(h.notBefore)}, after the capture (`],
    ["weakkey", "certificate-weak-key", "warning", "vcenter-443", (h) => `the certificate has a 1024-bit RSA key, below 2048-bit RSA or P-256 (${about(h)}).`],
    ["sha1", "certificate-weak-signature", "warning", "vcenter-443", (h) => `the certificate is signed with sha1WithRSAEncryption, a broken hash (${about(h)}).`],
    ["mismatch", "certificate-name-mismatch", "warning", "vcenter-443", (h) =>
      `the certificate is not for ${h.sni}, the name the client asked for: it names vcenter-mismatch.pnc.test (${about(h)}).`],
  ];
  it.each(cases)("%s: %s (%s, row %s), naming the certificate", async (name, code, severity, rule, text) => {
    await load();
    const h = host(name);
    const { conv, found } = findingFor(r, h.ip);
    expect(found.map((f) => f.code)).toEqual([code]);
    const f = found[0];
    expect(f).toMatchObject({ code, severity, rule, rules: [] });
    expect(f.message.startsWith(`TCP 443 from ${EXP.proxy} (proxy) to ${h.ip} (${h.role}) (row ${rule}): `)).toBe(true);
    expect(f.message).toContain(text(h));
    expect(f.message).toContain(about(h));
    expect(f.wiresharkFilter).toBe(`ip.addr==${EXP.proxy} && ip.addr==${h.ip} && tcp.port==443 && tls.handshake.type==11`);
    expect(f.frames.length).toBeGreaterThan(0);
    expect(conv).toMatchObject({ rule, status: "finding", findings: [code] });
  });

  it("the VMCA-like private chain on a vCenter is normal: conforming, no finding", async () => {
    await load();
    const { conv, found } = findingFor(r, host("vmca").ip);
    expect(found).toEqual([]);
    expect(conv).toMatchObject({ rule: "vcenter-443", status: "conforming" });
    expect(conv.tls?.chainsToPublicRoot).toBe(false);
  });

  it("fix first: TLS inspection on the cloud row comes first, then the self-signed cloud certificate", async () => {
    await load();
    expect(r.summary.verdict).toBe("fail");
    expect(r.findings[0].code).toBe("tls-inspection");
    expect(r.summary.fixFirst[0].text).toBe(
      `Phoenix cloud ${host("inspected").ip}: exempt the Phoenix cloud's names from TLS inspection (the certificate on TCP 443 is re-signed) — backups and restores cannot reach the Phoenix cloud: every job of this proxy fails`);
    expect(r.summary.fixFirst[1].code).toBe("certificate-self-signed");
  });
});

describe.each(MODES)("web-proxy-connect.pcap %s", (_mode, opts) => {
  let r: Report;
  const load = async () => (r ??= await reportFor([path.join(DIR, "web-proxy-connect.pcap")], opts));
  const [wpIp, wpPort] = EXP.webProxy.split(":");

  it("the CONNECT tinyproxy allowed is judged as cloud-443 with the TLS inside: TLS 1.3, so certificate-not-verifiable; the web proxy's port is not unexpected", async () => {
    await load();
    const conv = r.conversations.find((c) => c.tls?.sni === "backup.pnc17.druva.com")!;
    expect(conv).toMatchObject({ protocol: "tls", rule: "cloud-443", status: "info" });
    expect(conv.server).toMatchObject({ ip: wpIp, port: Number(wpPort), role: null });
    // The record says how the stream got to TLS and where it leads (the report's tunnel field).
    expect(conv.tunnel).toEqual({ via: "http-connect", target: "backup.pnc17.druva.com", targetPort: 443, accepted: true });
    expect(conv.findings.sort()).toEqual(["certificate-not-verifiable", "via-web-proxy"]);
    expect(r.findings.some((f) => f.code === "unexpected-port")).toBe(false);
    const via = r.findings.find((f) => f.code === "via-web-proxy" && f.conversations.includes(conv.id))!;
    expect(via).toMatchObject({ severity: "info", rule: null });
    expect(via.message).toBe(`TCP 443 to backup.pnc17.druva.com from ${EXP.proxy} (proxy) through the web proxy ${wpIp} port ${wpPort}: the path to backup.pnc17.druva.com:443 went through the web proxy ${wpIp} port ${wpPort} (HTTP CONNECT); the tunnelled TLS is judged against the matrix row of backup.pnc17.druva.com:443.`);
    const nv = r.findings.find((f) => f.code === "certificate-not-verifiable")!;
    expect(nv).toMatchObject({ severity: "info", rule: "cloud-443", conversations: [conv.id] });
    expect(r.summary.coverage.map((c) => c.code)).toEqual(["certificate-not-verifiable"]);
  });

  it("the CONNECT tinyproxy refused (403) is the cloud row's blocked, naming the web proxy and its status; fix first names the web proxy", async () => {
    await load();
    const conv = r.conversations.find((c) => c.http?.uri?.startsWith("denied.pnc17.druva.com"))!;
    expect(conv).toMatchObject({ rule: "cloud-443", status: "finding" });
    expect(conv.tunnel).toEqual({ via: "http-connect", target: "denied.pnc17.druva.com", targetPort: 443, accepted: false });
    const f = r.findings.find((x) => x.code === "blocked")!;
    expect(f).toMatchObject({ severity: "error", rule: "cloud-443", conversations: [conv.id] });
    expect(f.message).toBe(`TCP 443 to denied.pnc17.druva.com from ${EXP.proxy} (proxy) through the web proxy ${wpIp} port ${wpPort} (row cloud-443): the web proxy ${wpIp} port ${wpPort} refused the HTTP CONNECT to denied.pnc17.druva.com:443 with HTTP 403: the path to the cloud is blocked at the web proxy.`);
    expect(f.wiresharkFilter).toBe(`ip.addr==${EXP.proxy} && ip.addr==${wpIp} && tcp.port==${wpPort}`);
    expect(r.summary.fixFirst[0].text).toBe(`Web proxy ${wpIp}: allow the HTTP CONNECT to denied.pnc17.druva.com:443 from the proxy ${EXP.proxy} — backups and restores cannot reach the Phoenix cloud: every job of this proxy fails`);
  });
});

describe.skipIf(!HAVE_PUBLIC)("QUIC from the proxy (public corpus)", () => {
  it("is an info unexpected-port that says what it is and that blocking UDP 443 is harmless", async () => {
    const r = await reportFor([path.join(PUBLIC_DIR, "ipv6-tls12-and-gquic.pcap")]);
    const quic = r.conversations.find((c) => c.protocol === "quic")!;
    const f = r.findings.find((x) => x.code === "unexpected-port" && x.conversations.includes(quic.id))!;
    expect(f.severity).toBe("info");
    expect(f.fix).toBeNull();
    expect(f.message).toContain("It is QUIC: Phoenix uploads to the cloud over TCP 443 only, so this is another program on the host (a browser, an updater). Blocking UDP 443 is harmless: QUIC clients fall back to TCP.");
  });
});

describe("certificate findings under --redact", () => {
  it("name the subject and issuer part by part by pseudonyms: no name, address or organisation of the certificates is left", async () => {
    const r = await reportFor([path.join(DIR, "certificates.pcap")], { redact: true });
    const text = JSON.stringify(r.findings);
    for (const h of EXP.hosts) {
      for (const s of [h.ip, h.sni, ...dn(h.subject).split(", "), ...dn(h.issuer).split(", ")].filter((x) => !/^C=/.test(x))) expect(text, s).not.toContain(s);
    }
    const f = r.findings.find((x) => x.code === "tls-inspection")!;
    // The product is ours (inspecting-issuers.json), and the dates are not identifying: both stay.
    expect(f.message).toContain("(Fortinet FortiGate)");
    expect(f.message).toContain(`valid ${iso(host("inspected").notBefore)} to ${iso(host("inspected").notAfter)}`);
  });
});
