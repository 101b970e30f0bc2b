/**
 * Real captures cut the way issue 18's classes cut them (as `editcap -r FILE OUT FROM-TO` or a
 * display filter keeping one direction would), each run through the whole analyzer with no roles:
 * the report must raise no error or warning that the kept bytes do not support, and say what it
 * could not judge. Every cut here raised a false finding before its principle was fixed
 * (`analyze` over cut copies of the corpus, issue 18's verification).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Report } from "../../src/report/index.js";
import { analyzeBytes } from "../fuzz/harness.js";
import { HAVE_JA4, JA4_DIR, REPO_ROOT } from "../support/corpus.js";

const REC = path.join(REPO_ROOT, "fixtures/recorded");

/**
 * Frames `from`..`to` (1-based, inclusive) of a classic little-endian pcap (magic d4 c3 b2 a1):
 * the 24-byte file header, then records of a 16-byte header (seconds, microseconds, captured
 * length at +8, original length) and the captured bytes.
 */
function frames(file: string, from: number, to = Infinity): Uint8Array {
  const b = readFileSync(file);
  expect(b.readUInt32LE(0)).toBe(0xa1b2c3d4);
  const parts: Uint8Array[] = [b.subarray(0, 24)];
  for (let off = 24, n = 1; off + 16 <= b.length && n <= to; n++) {
    const end = off + 16 + b.readUInt32LE(off + 8);
    if (n >= from) parts.push(b.subarray(off, end));
    off = end;
  }
  return Buffer.concat(parts);
}

/** Frames whose source IPv4 address (Ethernet, offset 14 + 12) is `ip`: one direction, as `tshark -Y ip.src==IP` keeps. */
function from(file: string, ip: number[]): Uint8Array {
  const b = readFileSync(file);
  const parts: Uint8Array[] = [b.subarray(0, 24)];
  for (let off = 24; off + 16 <= b.length; ) {
    const end = off + 16 + b.readUInt32LE(off + 8);
    const src = b.subarray(off + 16 + 26, off + 16 + 30);
    if (ip.every((x, i) => src[i] === x)) parts.push(b.subarray(off, end));
    off = end;
  }
  return Buffer.concat(parts);
}

const bad = (r: Report) => r.findings.filter((f) => f.severity !== "info" && f.code !== "missing-expected").map((f) => f.code);

describe("one side missing: a client that went on after its SYN had its SYN-ACK", () => {
  it("issue18/tls-one-way.pcap frames 1–4 (SYN, ACK, ClientHello, ACK, all the client's): not blocked; one-direction", async () => {
    const r = await analyzeBytes(frames(path.join(REC, "issue18/tls-one-way.pcap"), 1, 4));
    expect(bad(r)).toEqual([]);
    expect(r.conversations[0]).toMatchObject({ status: "not-verifiable", limits: ["one-direction"] });
  });

  it("tls12-sni-alpn.pcap, only the client's frames (tshark -Y ip.src==10.77.0.10): not blocked", async () => {
    const r = await analyzeBytes(from(path.join(REC, "tls12-sni-alpn.pcap"), [10, 77, 0, 10]));
    expect(r.conversations[0].packets.server).toBe(0);
    expect(bad(r)).toEqual([]);
    expect(r.conversations[0].limits).toContain("one-direction");
  });
});

describe("the end of the capture cuts the conversation after the server spoke", () => {
  it("vmware-authd.pcap frames 1–6 (banner, then the ClientHello last): end-of-capture, not tls-not-established", async () => {
    const r = await analyzeBytes(frames(path.join(REC, "vmware-authd.pcap"), 1, 6));
    expect(bad(r)).toEqual([]);
    expect(r.conversations[0]).toMatchObject({ protocol: "vmware-authd", status: "not-verifiable", limits: ["end-of-capture"] });
  });

  it("issue17/web-proxy-connect.pcap frames 1–6 (CONNECT answered 200, the TLS after the end): not plaintext-where-tls-required", async () => {
    const r = await analyzeBytes(frames(path.join(REC, "issue17/web-proxy-connect.pcap"), 1, 6));
    expect(bad(r)).toEqual([]);
    expect(r.conversations[0]).toMatchObject({ status: "not-verifiable", limits: ["end-of-capture"] });
  });

  it.skipIf(!HAVE_JA4)("ja4/https-connect.pcap frames 1–4 (CONNECT unanswered) and 1–8 (ClientHello through the tunnel last): not blocked, not tls-not-established", async () => {
    for (const to of [4, 8]) {
      const r = await analyzeBytes(frames(path.join(JA4_DIR, "https-connect.pcap"), 1, to));
      expect(bad(r)).toEqual([]);
      expect(r.conversations[0]).toMatchObject({ status: "not-verifiable", limits: ["end-of-capture"] });
    }
  });

  it("control: web-proxy-connect.pcap whole is judged (the CONNECT refused is blocked)", async () => {
    const r = await analyzeBytes(frames(path.join(REC, "issue17/web-proxy-connect.pcap"), 1));
    expect(bad(r)).toEqual(["blocked"]);
  });
});

describe("the start of the conversation is not in the capture", () => {
  it("rdp-xrdp.pcap from frame 7 and from frame 10 (the X.224 exchange missed, TLS on 3389): not protocol-mismatch", async () => {
    for (const start of [7, 10]) {
      const r = await analyzeBytes(frames(path.join(REC, "rdp-xrdp.pcap"), start));
      expect(r.conversations[0].protocol).toBe("tls");
      expect(bad(r)).toEqual([]);
    }
  });

  it("plaintext-http-on-443.pcap from frame 6 (the server's HTTP response): HTTP, not mid-stream RDP; still plain text on 443", async () => {
    const r = await analyzeBytes(frames(path.join(REC, "plaintext-http-on-443.pcap"), 6));
    expect(r.conversations[0].protocol).toBe("http");
    expect(bad(r)).toEqual(["plaintext-where-tls-required"]);
  });

  it("issue17/web-proxy-connect.pcap from frame 6: the client is still the proxy (3128 is a web proxy's port), not 3128's host", async () => {
    const r = await analyzeBytes(frames(path.join(REC, "issue17/web-proxy-connect.pcap"), 6));
    const c = r.conversations.find((x) => x.client.port === 54258 || x.server.port === 54258)!;
    expect(c).toMatchObject({ client: { ip: "10.77.17.10" }, server: { ip: "10.77.17.30", port: 3128 }, clientBy: "service-port" });
  });
});
