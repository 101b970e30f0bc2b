/**
 * Who is the client (src/flow/orientation.ts): the protocol's own roles beat "first packet seen"
 * (issue 18). Packets are built byte by byte (test/decode/build.ts, test/detect/fixtures.ts); the
 * whole-capture tests run the analyzer as `analyze` does (test/fuzz/harness.ts).
 */
import { describe, expect, it } from "vitest";
import { decodeOnce, eth, ipv4, tcp, udp, type Bytes } from "../decode/build.js";
import { dnsQuery, dnsResponse, ntpControlRequest, ntpControlResponse, ntpMonlist, ntpV4Client, ntpV4Server } from "../detect/fixtures.js";
import { analyzeBytes } from "../fuzz/harness.js";
import { isServicePort, orient, udpSenderIsClient } from "../../src/flow/orientation.js";
import { likelyServerPorts } from "../../src/pipeline/server-ports.js";
import { F, HOST_A, HOST_B, pcapOf, tcpFrames, udpFrames } from "./frames.js";

function udpPacket(sport: number, dport: number, payload: Bytes) {
  return decodeOnce(eth(0x0800, ipv4({ proto: 17, payload: udp({ sport, dport, payload }) }))).p;
}
function tcpPacket(sport: number, dport: number, flags: number) {
  return decodeOnce(eth(0x0800, ipv4({ proto: 6, payload: tcp({ sport, dport, flags }) }))).p;
}

describe("orient: TCP", () => {
  it("the SYN's sender is the client, the SYN-ACK's receiver is", () => {
    expect(orient(tcpPacket(40000, 443, F.SYN))).toEqual({ srcIsClient: true, by: "syn" });
    expect(orient(tcpPacket(443, 40000, F.SYN | F.ACK))).toEqual({ srcIsClient: false, by: "syn-ack" });
  });
  it("midstream: a service port on the sender's side only flips the roles", () => {
    expect(orient(tcpPacket(443, 40000, F.ACK))).toEqual({ srcIsClient: false, by: "service-port" });
    expect(orient(tcpPacket(40000, 443, F.ACK))).toEqual({ srcIsClient: true, by: "first-packet" });
    expect(orient(tcpPacket(40000, 40001, F.ACK))).toEqual({ srcIsClient: true, by: "first-packet" });
  });
});

describe("orient: UDP roles from the protocol", () => {
  it("NTP mode 3 is the client and mode 4 the server, also 123 ↔ 123", () => {
    expect(orient(udpPacket(123, 123, ntpV4Server))).toEqual({ srcIsClient: false, by: "protocol" });
    expect(orient(udpPacket(123, 123, ntpV4Client))).toEqual({ srcIsClient: true, by: "protocol" });
    expect(orient(udpPacket(123, 40000, ntpV4Server))).toEqual({ srcIsClient: false, by: "protocol" });
    expect(orient(udpPacket(40000, 123, ntpV4Client))).toEqual({ srcIsClient: true, by: "protocol" });
  });
  it("NTP modes 6 and 7: the response bit marks the server", () => {
    expect(orient(udpPacket(123, 40000, ntpControlResponse)).srcIsClient).toBe(false);
    expect(orient(udpPacket(40000, 123, ntpControlRequest)).srcIsClient).toBe(true);
    expect(orient(udpPacket(40000, 123, ntpMonlist)).srcIsClient).toBe(true);
    const monlistReply = Uint8Array.from(ntpMonlist);
    monlistReply[0] |= 0x80; // R 1: a response
    expect(orient(udpPacket(123, 40000, monlistReply)).srcIsClient).toBe(false);
  });
  it("bytes on 123 that are not NTP say nothing: the older rules decide", () => {
    // A DTLS record (content type 22, version fe fd) on 123: VN 2, mode 6, but 13 bytes only of header… ours is 4 bytes: too short.
    expect(udpSenderIsClient(123, 40000, Uint8Array.from([0x16, 0xfe, 0xfd, 0x00]), 0, 4)).toBeNull();
    expect(orient(udpPacket(123, 40000, [0x16, 0xfe, 0xfd, 0x00]))).toEqual({ srcIsClient: false, by: "service-port" });
  });
  it("DHCP: 67 is the server, 68 the client; DHCPv6 547 and 546", () => {
    expect(orient(udpPacket(67, 68, [2]))).toEqual({ srcIsClient: false, by: "protocol" });
    expect(orient(udpPacket(68, 67, [1]))).toEqual({ srcIsClient: true, by: "protocol" });
    expect(orient(udpPacket(547, 546, [7]))).toEqual({ srcIsClient: false, by: "protocol" });
  });
  it("DNS: the QR bit of a response marks its sender as the server, whatever the ports", () => {
    expect(orient(udpPacket(53, 40000, dnsResponse))).toEqual({ srcIsClient: false, by: "protocol" });
    expect(orient(udpPacket(53, 53, dnsResponse))).toEqual({ srcIsClient: false, by: "protocol" });
    expect(orient(udpPacket(53, 53, dnsQuery))).toEqual({ srcIsClient: true, by: "protocol" });
    // Shorter than the 12-byte header: not a DNS message.
    expect(udpSenderIsClient(53, 40000, Uint8Array.from([0x12, 0x34, 0x81]), 0, 3)).toBeNull();
  });
});

describe("whole captures that start with the answer", () => {
  it("an NTP capture beginning with the mode-4 reply keeps the time server as the server (123 ↔ 123)", async () => {
    const r = await analyzeBytes(pcapOf(udpFrames(123, 123, [
      { fromA: true, payload: ntpV4Server }, // A (the time server) answers first: the request was before the capture
      { fromA: false, payload: ntpV4Client }, // B asks again
      { fromA: true, payload: ntpV4Server },
    ])));
    expect(r.conversations).toHaveLength(1);
    const c = r.conversations[0];
    expect(c.server.ip).toBe(HOST_A.join("."));
    expect(c.client.ip).toBe(HOST_B.join("."));
    expect(c.clientBy).toBe("protocol");
    expect(c.protocol).toBe("ntp");
    expect(c.ntp).toMatchObject({ clientMode: 3, serverMode: 4 });
    expect(c.history).toBe("^dD");
  });
  it("DHCP 67 → 68 first: the DHCP server is the server", async () => {
    const r = await analyzeBytes(pcapOf(udpFrames(67, 68, [{ fromA: true, payload: new Array(240).fill(0) }])));
    expect(r.conversations[0]).toMatchObject({ server: { ip: HOST_A.join("."), port: 67 }, client: { port: 68 }, clientBy: "protocol" });
  });
});

describe("orient: the service-port rule and the injected likely server ports", () => {
  const rdp = new Set([3389]);
  it("a well-known port (1–1023) is a service port without any set; 0 and 1024 are not", () => {
    expect([isServicePort(1), isServicePort(443), isServicePort(1023)]).toEqual([true, true, true]);
    expect([isServicePort(0), isServicePort(1024), isServicePort(3389)]).toEqual([false, false, false]);
    expect(isServicePort(3389, rdp)).toBe(true);
  });
  it("above 1023 the roles flip only for a port in the set the caller passes", () => {
    // A midstream ACK from 3389 to 40000 (below the dynamic range): without the set the first sender stays the client.
    expect(orient(tcpPacket(3389, 40000, F.ACK))).toEqual({ srcIsClient: true, by: "first-packet" });
    expect(orient(tcpPacket(3389, 40000, F.ACK), rdp)).toEqual({ srcIsClient: false, by: "service-port" });
    // Towards the service port the first sender is the client anyway.
    expect(orient(tcpPacket(50000, 3389, F.ACK), rdp)).toEqual({ srcIsClient: true, by: "first-packet" });
  });
  it("neither a service port: a first receiver on a dynamic port (49152–65535, RFC 6335 §6) is the client", () => {
    // Google's 5228 (mtalk) answering a client's 60142: the capture began after the SYN.
    expect(orient(tcpPacket(5228, 60142, F.ACK))).toEqual({ srcIsClient: false, by: "service-port" });
    expect(orient(tcpPacket(60142, 5228, F.ACK))).toEqual({ srcIsClient: true, by: "first-packet" });
    // Both dynamic, or both below the range: nothing tells, the first sender is the client.
    expect(orient(tcpPacket(50000, 60000, F.ACK))).toEqual({ srcIsClient: true, by: "first-packet" });
    expect(orient(tcpPacket(5228, 40000, F.ACK))).toEqual({ srcIsClient: true, by: "first-packet" });
    // A service port on the receiver's side still wins: 60142 → 443 keeps 443 the server.
    expect(orient(tcpPacket(60142, 443, F.ACK))).toEqual({ srcIsClient: true, by: "first-packet" });
  });
  it("service ports on both sides, or on neither: the first sender is the client", () => {
    expect(orient(tcpPacket(443, 3389, F.ACK), rdp)).toEqual({ srcIsClient: true, by: "first-packet" });
    expect(orient(tcpPacket(53, 443, F.ACK))).toEqual({ srcIsClient: true, by: "first-packet" });
    expect(orient(udpPacket(40000, 40001, [1, 2, 3, 4]), rdp)).toEqual({ srcIsClient: true, by: "first-packet" });
  });
  it("a SYN or SYN-ACK beats the ports: a SYN from 443 makes 443 the client", () => {
    expect(orient(tcpPacket(443, 40000, F.SYN), rdp)).toEqual({ srcIsClient: true, by: "syn" });
    expect(orient(tcpPacket(40000, 3389, F.SYN | F.ACK), rdp)).toEqual({ srcIsClient: false, by: "syn-ack" });
  });
  it("UDP without a protocol role: a service port on the sender's side flips, else the first speaker is the client", () => {
    expect(orient(udpPacket(3389, 50000, [0xff, 0xff, 0xff, 0xff]), rdp)).toEqual({ srcIsClient: false, by: "service-port" });
    expect(orient(udpPacket(50000, 3389, [0xff, 0xff, 0xff, 0xff]), rdp)).toEqual({ srcIsClient: true, by: "first-packet" });
  });
  it("the pipeline passes its set: a capture that starts with 3389's reply names 3389 the server", async () => {
    expect(likelyServerPorts().has(3389)).toBe(true);
    const r = await analyzeBytes(pcapOf(tcpFrames(3389, 50000, [
      { fromA: true, seq: 5000, ack: 9000, flags: F.ACK | F.PSH, payload: [3, 0, 0, 11, 6, 0xd0, 0, 0, 0x12, 0x34, 0] }, // the server's X.224 CC first
      { fromA: false, seq: 9000, ack: 5011, flags: F.ACK },
    ])));
    expect(r.conversations).toHaveLength(1);
    expect(r.conversations[0]).toMatchObject({ server: { ip: HOST_A.join("."), port: 3389 }, client: { ip: HOST_B.join("."), port: 50000 }, clientBy: "service-port" });
  });
});
