/**
 * What the capture could not show (docs/findings.md, "Verdict, coverage and exit code"): the
 * bundled sample (recorded by the lab: fixtures/sample.README.md) and captures derived from it the
 * way customers' captures go wrong — a snap length of 96, one direction only, the same traffic
 * given twice, a --filter — plus the public corpus's empty, cut and damaged files. Each asserts the
 * verdict, the exit code, the coverage entries and what comes first.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCapture } from "../../src/capture/index.js";
import { PcapngWriter } from "../../src/capture/index.js";
import type { RawPacket } from "../../src/capture/index.js";
import { exitCodeFor, reportFor } from "../../src/pipeline/index.js";
import type { Report } from "../../src/report/record.js";
import { HAVE_PUBLIC, PUBLIC_DIR, REPO_ROOT } from "../support/corpus.js";

const SAMPLE = path.join(REPO_ROOT, "fixtures/sample.pcapng");
const dir = mkdtempSync(path.join(tmpdir(), "pnc-coverage-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Rewrite a capture packet by packet: keep some, cut each to `snap` bytes (as tcpdump -s does). */
async function derive(name: string, keep: (p: RawPacket) => boolean, snap = Infinity): Promise<string> {
  const out = path.join(dir, name);
  const w = new PcapngWriter(out, { ifName: "eth0", snaplen: Number.isFinite(snap) ? snap : 0 });
  await readCapture(SAMPLE, (p) => {
    if (keep(p)) w.writePacket(p.linkType, p.tsSec, p.tsNsec, p.data, Math.min(p.caplen, snap), p.origLen);
  });
  w.close();
  return out;
}

const codes = (r: Report) => r.summary.coverage.map((c) => c.code);
const errorsOf = (r: Report) => r.findings.filter((f) => f.severity === "error").map((f) => f.code).sort();

let sample: Report;
let proxyMac: number[];
beforeAll(async () => {
  sample = await reportFor([SAMPLE]);
  const mac = sample.conversations.find((c) => c.client.role === "proxy" && c.client.mac)!.client.mac!;
  proxyMac = mac.split(":").map((h) => parseInt(h, 16));
});

describe("coverage on the bundled sample and captures derived from it", () => {
  it("the sample as recorded: its three problems, the most damaging first, and no limit but the certificates TLS 1.3 hides", () => {
    expect(sample.summary.verdict).toBe("fail");
    expect(sample.findings.filter((f) => f.severity !== "info").map((f) => f.code)).toEqual(["blocked", "weak-tls", "unexpected-port"]);
    // Without roles the standalone ESXi host's 443 is a question (its registration is not on the wire), not a problem.
    // The cloud's TLS 1.3 hides its certificates: said, never passed as checked (one per cloud host).
    expect(sample.findings.filter((f) => f.severity === "info").map((f) => [f.code, f.rule])).toEqual([
      ["certificate-not-verifiable", "cloud-443"],
      ["certificate-not-verifiable", "cloud-443"],
      ["ambiguous-role", "esxi-443"],
    ]);
    expect(sample.summary.fixFirst).toHaveLength(3);
    expect(sample.summary.fixFirst[0].text).toMatch(/^ESXi \S+: allow TCP 902 from the proxy \S+ — NBD\/NBDSSL backups/);
    expect(codes(sample)).toEqual(["certificate-not-verifiable"]);
    expect(sample.summary.coverage[0]).toMatchObject({ inconclusive: false, message: expect.stringMatching(/^2 conversations on rows that check the server's certificate negotiated TLS 1\.3/) });
    expect(exitCodeFor(sample, "error")).toBe(1);
  });

  it("snap length 96: the TLS handshakes are not verifiable, never clean; coverage says how to capture again", async () => {
    const r = await reportFor([await derive("snap96.pcapng", () => true, 96)]);
    expect(codes(r)).toContain("snaplen");
    expect(r.summary.coverage.find((c) => c.code === "snaplen")!.action).toContain("-s 0");
    // The TLS 1.0 ServerHello is cut, but its legacy_version (0x0301) is in the 96 bytes, and only
    // 0x0303 can hide TLS 1.3 (RFC 8446 §4.1.3): weak-tls stands. The TLS 1.2/1.3 handshakes cannot
    // be told apart from their cut hellos: not verifiable, never clean.
    const weakId = sample.conversations.find((x) => x.findings.includes("weak-tls"))!.id;
    expect(r.conversations.find((c) => c.id === weakId)).toMatchObject({ status: "finding", findings: ["weak-tls"] });
    // The standalone ESXi host's 443 stays the question the whole sample asks (its registration is
    // not on the wire; the cut banner still says ESXi): as esxi-standalone its TLS is not verifiable.
    const askedId = sample.conversations.find((x) => x.findings.includes("ambiguous-role"))!.id;
    const asked = r.findings.find((f) => f.code === "ambiguous-role")!;
    expect(asked.conversations).toEqual([askedId]);
    expect(asked.message).toContain("as esxi-standalone (registered directly), row esxi-443, not verifiable");
    const cutTls = r.conversations.filter((c) => c.protocol === "tls" && c.id !== weakId && c.id !== askedId && c.duplicateOf === null);
    expect(cutTls.length).toBeGreaterThan(2);
    expect(cutTls.every((c) => c.status === "not-verifiable" && c.limits.includes("snaplen"))).toBe(true);
    expect(r.summary.coverage.find((c) => c.code === "not-verifiable")!.message).toContain("snaplen");
    expect(r.conversations.filter((c) => c.status === "not-verifiable").length).toBeGreaterThan(0);
    expect(r.conversations.filter((c) => c.protocol === "tls" && c.status === "conforming" && c.tls?.version === null)).toEqual([]);
    // The sample's errors and nothing else: the standalone ESXi host's authd banner is cut to
    // "220 VMware Authentication Daem" (30 bytes), which is authd's, not plain text on esxi-902.
    expect(errorsOf(r)).toEqual(errorsOf(sample));
    const authd = sample.conversations.filter((c) => c.protocol === "vmware-authd").map((c) => c.id);
    expect(authd.length).toBeGreaterThan(0);
    for (const id of authd) {
      expect(r.conversations.find((c) => c.id === id)).toMatchObject({ protocol: "vmware-authd", status: "not-verifiable", limits: ["snaplen"], findings: [] });
    }
  });

  it("one direction only (the proxy's own packets): no tls-not-established or blocked from the missing side", async () => {
    const fromProxy = (p: RawPacket) => proxyMac.every((b, i) => p.data[6 + i] === b);
    const r = await reportFor([await derive("one-way.pcapng", fromProxy)]);
    expect(codes(r)).toContain("one-direction");
    // The dropped 902 SYNs are the only unanswered TCP attempts that stay blocked: everything else was answered.
    expect(errorsOf(r).filter((c) => c !== "blocked")).toEqual([]);
    expect(r.findings.filter((f) => f.code === "blocked").map((f) => f.rule)).toEqual(["esxi-902"]);
    expect(r.conversations.filter((c) => c.limits.includes("one-direction")).length).toBeGreaterThan(3);
  });

  it("the same traffic given twice is counted once, with a duplicate-capture note", async () => {
    const r = await reportFor([SAMPLE, SAMPLE]);
    expect(codes(r)).toContain("duplicate-capture");
    expect(r.findings.map((f) => [f.code, f.attempts])).toEqual(sample.findings.map((f) => [f.code, f.attempts]));
    const dups = r.conversations.filter((c) => c.duplicateOf !== null);
    expect(dups.length).toBe(sample.conversations.length);
    expect(dups.every((c) => c.capture === 1 && c.status === "duplicate")).toBe(true);
  });

  it("a --filter is recorded, and the rows it excludes are not missing", async () => {
    const filter = "port 443 or port 902";
    const r = await reportFor([SAMPLE], { filter });
    expect(r.summary.filter).toBe(filter);
    expect(codes(r)).toContain("filtered");
    expect(r.summary.coverage.find((c) => c.code === "filtered")!.message).toContain("ntp-123");
    expect(r.findings.filter((f) => f.code === "missing-expected").map((f) => f.rule)).not.toContain("ntp-123");
    expect(r.summary.verdict).toBe("fail");
  });

  it("a --filter that leaves nothing of the matrix: inconclusive, exit 3", async () => {
    const r = await reportFor([SAMPLE], { filter: "udp port 53" });
    expect(r.summary.verdict).toBe("inconclusive");
    expect(r.summary.coverage.find((c) => c.code === "filtered")!.inconclusive).toBe(true);
    expect(exitCodeFor(r, "none")).toBe(3);
  });

  it("a corrupt block length read past with --resync: the verdict stands, and the lost part is on the first screen", async () => {
    // The sample rewritten as pcapng, then the 60th Enhanced Packet Block's Block Total Length
    // (pcapng §3.1: type u32, then length u32, little-endian as PcapngWriter writes) set to 0x7ffffff0.
    const file = await derive("damaged.pcapng", () => true);
    const b = readFileSync(file);
    let off = 0;
    let epbs = 0;
    while (off + 8 <= b.length) {
      const type = b.readUInt32LE(off);
      if (type === 6 && ++epbs === 60) break; // EPB block type 6 (§4.3)
      off += b.readUInt32LE(off + 4);
    }
    expect(epbs).toBe(60);
    b.writeUInt32LE(0x7ffffff0, off + 4);
    writeFileSync(file, b);
    const stopped = await reportFor([file]);
    expect(codes(stopped)).toContain("read-stopped");
    expect(stopped.summary.verdict).toBe("inconclusive");
    // NTP and the cloud come after frame 60: the part not read may hold them, so they are not missing-expected.
    expect(sample.findings.filter((f) => f.code === "missing-expected")).toEqual([]);
    expect(stopped.findings.filter((f) => f.code === "missing-expected")).toEqual([]);
    const r = await reportFor([file], { resync: true });
    // One packet lost: the sample's errors all stay, judged on the rest.
    expect(errorsOf(r)).toEqual(errorsOf(sample));
    const e = r.summary.coverage.find((c) => c.code === "read-resynced")!;
    expect(e).toMatchObject({ inconclusive: false });
    expect(e.message).toMatch(/is damaged at frame 60 \(byte \d+\): --resync read on after it/);
    expect(e.action).toContain("new copy");
    expect(codes(sample)).not.toContain("read-resynced");
  });

  it("a --filter that matches nothing: inconclusive because of the filter, not an undecodable capture", async () => {
    const r = await reportFor([SAMPLE], { filter: "port 9999" });
    expect(r.summary.verdict).toBe("inconclusive");
    // The packets were Ethernet, IP, TCP and UDP: only the filter left nothing.
    expect(codes(r)).toEqual(["filtered"]);
    const e = r.summary.coverage[0];
    expect(e.inconclusive).toBe(true);
    expect(e.message).toMatch(/^The filter "port 9999" left no TCP or UDP packet of the \d+ in the capture/);
    expect(e.action).toContain("without it");
    expect(exitCodeFor(r, "error")).toBe(3);
  });
});

describe.skipIf(!HAVE_PUBLIC)("coverage on the public corpus (skipped: ../shared/captures/public is not beside the checkout)", () => {
  it("an empty capture is inconclusive, never PASS", async () => {
    const r = await reportFor([path.join(PUBLIC_DIR, "empty-header-only.pcap")]);
    expect(r.summary.verdict).toBe("inconclusive");
    expect(codes(r)).toEqual(["undecodable"]);
    expect(exitCodeFor(r, "error")).toBe(3);
  });

  it("a corrupt record length stops the read: inconclusive, with --resync as the way on", async () => {
    const r = await reportFor([path.join(PUBLIC_DIR, "CORRUPT-bad-record-length-tls12.pcap")]);
    expect(r.summary.verdict).toBe("inconclusive");
    const e = r.summary.coverage.find((c) => c.code === "read-stopped")!;
    expect(e.inconclusive).toBe(true);
    expect(e.action).toContain("--resync");
    // What the unread part may hold is not called missing.
    expect(r.findings.filter((f) => f.code === "missing-expected")).toEqual([]);
  });

  it("a file cut mid-record says so on the first screen (file-cut), without hiding the verdict", async () => {
    const r = await reportFor([path.join(PUBLIC_DIR, "TRUNCATED-file-mid-record-dns.pcap")]);
    const e = r.summary.coverage.find((c) => c.code === "file-cut")!;
    expect(e.message).toContain("ends inside a record header");
    expect(e.inconclusive).toBe(false);
  });
});
