/**
 * Findings the corpus's real captures raised and their bytes did not support (issue 18, found by
 * running `analyze` with no flags over ../shared/captures): an ICMP "fragmentation needed" on an
 * established TLS connection called `refused`, and a MAC that both ends of a conversation send
 * from (rewritten or zeroed MACs) making the server "the proxy's other address", and a CNAME to
 * …elb.amazonaws.com making Sophos's own service the Phoenix cloud (then tls-inspection). Each
 * principle on a capture built frame by frame (fields commented in test/decode/build.ts) and on
 * the real one.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { reportFor } from "../../src/pipeline/index.js";
import type { Report } from "../../src/report/index.js";
import { clientHello, serverHello } from "../detect/fixtures.js";
import { eth, icmp, ipv4, tcp, u16, u32 } from "../decode/build.js";
import { analyzeBytes } from "../fuzz/harness.js";
import { HAVE_JA4, HAVE_PUBLIC, JA4_DIR, PUBLIC_DIR, SKIP_MESSAGE } from "../support/corpus.js";
import { F, HOST_A, HOST_B, pcapOf, tcpFrames, udpFrames, type Seg } from "../flow/frames.js";

const C = 40001; // client port
const S = 443; // server port: the cloud, vCenter and ESXi rows
const CI = 1_000_000; // client's ISN
const SI = 5_000_000; // server's ISN
const ROUTER = [10, 18, 0, 254]; // the router that sends the ICMP errors

/** An ICMP error from ROUTER to HOST_A quoting the IP header and first 8 TCP bytes of `seg` (RFC 792). */
function icmpAbout(seg: Seg, type: number, code: number, rest: number[] = [0, 0, 0, 0]): Uint8Array {
  const quoted = ipv4({ src: HOST_A, dst: HOST_B, proto: 6, payload: tcp({ sport: C, dport: S, seq: seg.seq, ack: seg.ack ?? 0, flags: seg.flags, payload: seg.payload ?? [] }) });
  return eth(0x0800, ipv4({ src: ROUTER, dst: HOST_A, proto: 1, payload: icmp(type, code, quoted.subarray(0, 28), rest) }));
}

/** The client's handshake and hello, the server's answer: TLS 1.2 between HOST_A and HOST_B on 443. */
function tlsSegs(): Seg[] {
  const ch = clientHello("backup.example");
  const sh = serverHello();
  return [
    { fromA: true, seq: CI, flags: F.SYN },
    { fromA: false, seq: SI, ack: CI + 1, flags: F.SYN | F.ACK },
    { fromA: true, seq: CI + 1, ack: SI + 1, flags: F.ACK },
    { fromA: true, seq: CI + 1, ack: SI + 1, flags: F.ACK | F.PSH, payload: ch },
    { fromA: false, seq: SI + 1, ack: CI + 1 + ch.length, flags: F.ACK | F.PSH, payload: sh },
    { fromA: true, seq: CI + 1 + ch.length, ack: SI + 1 + sh.length, flags: F.ACK, payload: new Array<number>(1400).fill(0x17) }, // a big data segment
  ];
}

const codesOf = (r: Report) => r.findings.map((f) => f.code);

const MAC_B = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02]; // HOST_B's own MAC

/** TCP frames as tcpFrames builds them, HOST_B's with its own source MAC (bytes 6–11 of the Ethernet header). */
function twoMacFrames(segs: Seg[]): Uint8Array[] {
  return tcpFrames(C, S, segs).map((f, i) => {
    if (!segs[i].fromA) f.set(MAC_B, 6);
    return f;
  });
}

describe("an ICMP destination unreachable is a refusal only when it answers the attempt", () => {
  it("fragmentation needed (3/4, MTU 1492) on an established TLS connection is path MTU discovery, not refused", async () => {
    const segs = tlsSegs();
    const frames = [...twoMacFrames(segs), icmpAbout(segs[5], 3, 4, [0, 0, ...u16(1492)])]; // unused, next-hop MTU (RFC 1191 §4)
    const r = await analyzeBytes(pcapOf(frames));
    expect(r.conversations).toHaveLength(1);
    expect(r.conversations[0].protocol).toBe("tls");
    expect(codesOf(r)).not.toContain("refused");
    expect(r.conversations[0].status).toBe("ambiguous"); // judged as TLS 1.2 on the four 443 rows
  });

  it("host administratively prohibited (3/13) after the server answered the SYN is not refused", async () => {
    const segs = tlsSegs().slice(0, 3);
    const r = await analyzeBytes(pcapOf([...twoMacFrames(segs), icmpAbout(segs[2], 3, 13)]));
    expect(codesOf(r)).not.toContain("refused");
  });

  it("port unreachable (3/3) answering the SYN, nothing from the server: refused", async () => {
    const syn: Seg = { fromA: true, seq: CI, flags: F.SYN };
    const r = await analyzeBytes(pcapOf([...twoMacFrames([syn]), icmpAbout(syn, 3, 3)]));
    expect(codesOf(r)).toContain("refused");
    expect(r.findings.find((f) => f.code === "refused")!.message).toContain("ICMP port unreachable");
  });

  it.skipIf(!HAVE_JA4)("ja4/latest.pcapng: TLS to 34.212.93.65 with five ICMP fragmentation-needed (frames 32–36) is not refused", async () => {
    const r = await reportFor([path.join(JA4_DIR, "latest.pcapng")]);
    const c = r.conversations.find((x) => x.server.ip === "34.212.93.65" && x.server.port === 443)!;
    expect(c.protocol).toBe("tls");
    expect(c.findings).not.toContain("refused");
    expect(codesOf(r)).not.toContain("refused");
  });
});

describe("a MAC that both ends of one conversation send from links nothing", () => {
  it("TLS to 443 where both sides' frames carry the same source MAC: the server is not the proxy, no unexpected-port", async () => {
    // tcpFrames writes the same source MAC both ways, as a capture with rewritten MACs has.
    const r = await analyzeBytes(pcapOf(tcpFrames(C, S, tlsSegs().slice(0, 5))));
    expect(r.roles.map((x) => [x.ip, x.role])).toEqual([["10.18.0.1", "proxy"]]);
    expect(codesOf(r)).not.toContain("unexpected-port");
    expect(r.conversations[0].rule === "cloud-443" || r.conversations[0].ruleAlternatives.includes("cloud-443")).toBe(true);
  });

  it.skipIf(!HAVE_PUBLIC)("public/ntp-modes.pcap (both ends from 00:12:13:14:15:17): the NTP server is ntp, its conversations conform", async () => {
    const r = await reportFor([path.join(PUBLIC_DIR, "ntp-modes.pcap")]);
    expect(r.roles.find((x) => x.ip === "192.168.100.1")?.role).toBe("ntp");
    expect(codesOf(r)).not.toContain("unexpected-port");
    expect(r.findings.filter((f) => f.code === "missing-expected").map((f) => f.rule)).toEqual(["cloud-443"]);
    expect(r.conversations.every((c) => c.rule === "ntp-123" && c.status === "conforming")).toBe(true);
  });

  it.skipIf(!HAVE_PUBLIC)("public/tls13-chrome-x25519-kyber.pcap (all-zero MACs): 142.250.200.14 is not the proxy", async () => {
    const r = await reportFor([path.join(PUBLIC_DIR, "tls13-chrome-x25519-kyber.pcap")]);
    expect(r.roles.find((x) => x.ip === "142.250.200.14")).toBeUndefined();
    expect(codesOf(r)).not.toContain("unexpected-port");
  });
});

/** A DNS name as labels (RFC 1035 §3.1): length, bytes, …, 0. */
function dnsName(name: string): number[] {
  return [...name.split(".").flatMap((l) => [l.length, ...Buffer.from(l)]), 0];
}

/** A DNS response (RFC 1035 §4.1): `asked` IN A, answered by a CNAME to `target` and target's A record `address`. */
function dnsAnswer(asked: string, target: string, address: number[]): number[] {
  const cname = dnsName(target);
  return [
    ...u16(0x1234), // ID
    ...u16(0x8180), // flags: QR 1 (response), RD, RA, RCODE 0
    ...u16(1), ...u16(2), ...u16(0), ...u16(0), // QDCOUNT 1, ANCOUNT 2, NSCOUNT, ARCOUNT
    ...dnsName(asked), ...u16(1), ...u16(1), // question: QNAME, QTYPE A, QCLASS IN
    ...dnsName(asked), ...u16(5), ...u16(1), ...u32(60), ...u16(cname.length), ...cname, // asked CNAME target, TTL 60
    ...cname, ...u16(1), ...u16(1), ...u32(60), ...u16(4), ...address, // target A address
  ];
}

describe("the cloud by a DNS answer: the name asked for must be a cloud name too", () => {
  /** A DNS answer from HOST_B naming HOST_B itself, then the client's TCP handshake to HOST_B:443 (no SNI). */
  async function roleAfter(asked: string) {
    const dns = udpFrames(53000, 53, [{ fromA: false, payload: dnsAnswer(asked, "lb-1216884911.eu-west-1.elb.amazonaws.com", HOST_B) }]);
    const r = await analyzeBytes(pcapOf([...dns, ...tcpFrames(C, S, tlsSegs().slice(0, 3))]));
    return r.roles.find((x) => x.ip === HOST_B.join("."));
  }

  it("a query for another service's name whose CNAME ends in elb.amazonaws.com does not make its address the cloud", async () => {
    expect(await roleAfter("mcs2-cloudstation.prod.hydra.sophos.com")).toBeUndefined();
  });

  it("control: a query for a Phoenix name, CNAME to the same load balancer: the cloud, by the DNS answer", async () => {
    expect(await roleAfter("phoenix.druva.com")).toMatchObject({ role: "cloud", reason: expect.stringContaining("DNS answer") });
  });

  it.skipIf(!HAVE_JA4)("ja4/ssh2.pcapng: Sophos's own service at 34.248.242.11 (CNAME …elb.amazonaws.com) is not the cloud, so no tls-inspection", async () => {
    const r = await reportFor([path.join(JA4_DIR, "ssh2.pcapng")]);
    expect(r.roles.find((x) => x.ip === "34.248.242.11")).toBeUndefined();
    expect(r.findings.filter((f) => f.severity === "error").map((f) => f.code)).toEqual([]);
  });
});

if (!HAVE_PUBLIC) console.warn(SKIP_MESSAGE);
