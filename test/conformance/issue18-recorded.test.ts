/**
 * Issue 18's recorded captures (fixtures/recorded/issue18/, made by fixtures/record-issue18.sh with
 * openssl s_server/s_client in network namespaces) checked against what tshark says of the same
 * frames (NAME.tshark.txt, written by the script: frame | protocols | ip.src | ip.dst | TLS SNI |
 * DTLS SNI | DTLS record versions | TLS content types | DTLS content types | ack_lost_segment).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { reportFor } from "../../src/pipeline/index.js";
import { REPO_ROOT } from "../support/corpus.js";

const DIR = path.join(REPO_ROOT, "fixtures/recorded/issue18");

interface Frame {
  protocols: string[];
  src: string;
  dst: string;
  tlsSni: string;
  dtlsSni: string;
  tlsTypes: number[];
  dtlsTypes: number[];
}

function oracle(name: string): Frame[] {
  const text = readFileSync(path.join(DIR, `${name}.tshark.txt`), "utf8");
  const nums = (s: string) => (s === "" ? [] : s.split(",").map(Number));
  return text.trim().split("\n").map((line) => {
    const f = line.split("|");
    return { protocols: f[1].split(":"), src: f[2], dst: f[3], tlsSni: f[4], dtlsSni: f[5], tlsTypes: nums(f[7]), dtlsTypes: nums(f[8]) };
  });
}

async function only(name: string) {
  const r = await reportFor([path.join(DIR, name)]);
  expect(r.conversations).toHaveLength(1);
  return r.conversations[0];
}

describe("issue 18 recordings agree with tshark", () => {
  it("dtls.pcap: openssl DTLS 1.2 is dtls (tshark: dtls), with tshark's SNI", async () => {
    const frames = oracle("dtls.pcap");
    expect(frames.every((f) => f.protocols.includes("dtls"))).toBe(true);
    const c = await only("dtls.pcap");
    expect(c.transport).toBe("udp");
    expect(c.protocol).toBe("dtls");
    expect(c.ntp).toBeNull();
    const sni = frames.find((f) => f.dtlsSni !== "")!.dtlsSni;
    expect(c.tls?.sni).toBe(sni);
    expect(c.tls).toMatchObject({ clientHelloSeen: true, serverHelloSeen: true, clientVersion: "DTLS 1.2", version: "DTLS 1.2" });
    // tshark's alert records (content type 21) each way are the alerts we report, all encrypted (epoch 1).
    const alerts = frames.filter((f) => f.dtlsTypes.includes(21));
    expect(c.tls?.alerts).toHaveLength(alerts.length);
    expect(c.tls?.alerts.every((a) => a.level === "encrypted")).toBe(true);
  });

  it("tls-midstream.pcap: a capture cut after the handshake is tls (tshark: tls), both starts missing, alerts encrypted", async () => {
    const frames = oracle("tls-midstream.pcap");
    expect(frames.some((f) => f.protocols.includes("tls"))).toBe(true);
    const c = await only("tls-midstream.pcap");
    expect(c.protocol).toBe("tls");
    expect(c.tls).toMatchObject({ clientHelloSeen: false, serverHelloSeen: false });
    expect(c.tcp).toMatchObject({ clientStartMissing: true, serverStartMissing: true, clientUnseen: false, serverUnseen: false });
    const alertFrames = frames.filter((f) => f.tlsTypes.includes(21));
    expect(alertFrames.length).toBeGreaterThan(0);
    expect(c.tls?.alerts).toHaveLength(alertFrames.length);
    expect(c.tls?.alerts.every((a) => a.level === "encrypted" && a.description === "encrypted_alert")).toBe(true);
  });

  it("tls-one-way.pcap: only the client's frames (tshark: one source); the server's side is reported unseen", async () => {
    const frames = oracle("tls-one-way.pcap");
    const sources = new Set(frames.map((f) => f.src));
    expect(sources.size).toBe(1);
    const c = await only("tls-one-way.pcap");
    expect(c.client.ip).toBe([...sources][0]);
    expect(c.packets.server).toBe(0);
    expect(c.protocol).toBe("tls");
    expect(c.tls?.sni).toBe(frames.find((f) => f.tlsSni !== "")!.tlsSni);
    expect(c.tcp).toMatchObject({ serverUnseen: true, clientUnseen: false, serverStartMissing: true, clientStartMissing: false });
    expect(c.anomalies.map((a) => a.name)).toContain("possible_split_routing");
  });
});
