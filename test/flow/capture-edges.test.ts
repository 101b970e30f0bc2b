/**
 * Issue 18's flow-layer classes on whole captures built frame by frame (test/flow/frames.ts; every
 * field commented in test/decode/build.ts): a capture that starts mid-conversation, one that saw
 * one side only, keep-alives, frame padding and overlapping copies that disagree. Each runs the
 * analyzer as `analyze` does and asserts the conversation record the policy reads.
 */
import { describe, expect, it } from "vitest";
import { clientHello, serverHello } from "../detect/fixtures.js";
import { record, CT } from "../detect/tls-bytes.js";
import { randomBytes, rng } from "../detect/sample.js";
import { analyzeBytes } from "../fuzz/harness.js";
import { F, pcapOf, tcpFrames, type Seg } from "./frames.js";

const C = 40001; // client port
const S = 3542; // server port (a TLS row of the Phoenix matrix)
const CI = 1_000_000; // client's ISN
const SI = 5_000_000; // server's ISN

async function only(segs: Seg[]) {
  const r = await analyzeBytes(pcapOf(tcpFrames(C, S, segs)));
  expect(r.conversations).toHaveLength(1);
  return r.conversations[0];
}

/** `n` seeded random bytes: what ciphertext looks like. */
const cipher = (n: number, seed = 1): Uint8Array => randomBytes(rng(seed), n);

const names = (c: { anomalies: { name: string }[] }) => c.anomalies.map((a) => a.name);

describe("the start of the conversation is not in the capture", () => {
  it("one encrypted alert from the server and a FIN exchange: tls, both starts missing, the alert encrypted", async () => {
    const alert = record(CT.alert, 0x0303, cipher(26)); // 15 03 03 00 1a + 26 bytes (AES-GCM close_notify)
    const c = await only([
      { fromA: false, seq: SI + 9000, ack: CI + 700, flags: F.ACK | F.PSH, payload: alert }, // server: the encrypted alert
      { fromA: false, seq: SI + 9031, ack: CI + 700, flags: F.ACK | F.FIN }, // server: FIN
      { fromA: true, seq: CI + 700, ack: SI + 9032, flags: F.ACK | F.FIN }, // client: FIN, ACK
      { fromA: false, seq: SI + 9032, ack: CI + 701, flags: F.ACK }, // server: last ACK
    ]);
    expect(c.server.port).toBe(S);
    expect(c.protocol).toBe("tls");
    expect(c.tls?.alerts).toEqual([{ from: "server", level: "encrypted", description: "encrypted_alert" }]);
    expect(c.tcp).toMatchObject({ clientStartMissing: true, serverStartMissing: true, clientUnseen: false, serverUnseen: false });
  });

  it("a zero-length keep-alive at seq − 1 first does not leave a hole before the client's bytes", async () => {
    const appData = record(CT.appData, 0x0303, cipher(64, 2));
    const c = await only([
      { fromA: true, seq: CI - 1, ack: SI, flags: F.ACK }, // client keep-alive: no data, seq = next − 1
      { fromA: false, seq: SI, ack: CI, flags: F.ACK }, // server answers it: ACK = next
      { fromA: true, seq: CI, ack: SI, flags: F.ACK | F.PSH, payload: appData }, // the client's data at next
      { fromA: false, seq: SI, ack: CI + appData.length, flags: F.ACK }, // server ACKs it all
      { fromA: false, seq: SI, ack: CI + appData.length, flags: F.ACK | F.PSH, payload: record(CT.appData, 0x0303, cipher(40, 3)) },
      { fromA: true, seq: CI + appData.length, ack: SI + 45, flags: F.ACK },
    ]);
    expect(c.protocol).toBe("tls");
    expect(c.tcp).toMatchObject({ gaps: 0, clientStartMissing: true });
  });
});

describe("stream bytes that do not start where they should", () => {
  it("a 1-byte keep-alive (seq = next − 1, garbage byte) after the handshake changes nothing in the kept bytes", async () => {
    const ch = clientHello("proxy.example");
    const sh = serverHello();
    const c = await only([
      { fromA: true, seq: CI, flags: F.SYN },
      { fromA: false, seq: SI, ack: CI + 1, flags: F.SYN | F.ACK },
      { fromA: true, seq: CI + 1, ack: SI + 1, flags: F.ACK },
      { fromA: true, seq: CI + 1, ack: SI + 1, flags: F.ACK | F.PSH, payload: ch },
      { fromA: false, seq: SI + 1, ack: CI + 1 + ch.length, flags: F.ACK | F.PSH, payload: sh },
      { fromA: true, seq: CI + ch.length, ack: SI + 1 + sh.length, flags: F.ACK, payload: [0x00] }, // keep-alive: the last byte again, as 0x00
      { fromA: false, seq: SI + 1 + sh.length, ack: CI + 1 + ch.length, flags: F.ACK },
    ]);
    expect(c.protocol).toBe("tls");
    expect(c.tls).toMatchObject({ clientHelloSeen: true, serverHelloSeen: true, sni: "proxy.example" });
    expect(c.tcp?.inconsistentOverlaps).toBe(0);
    expect(names(c)).not.toContain("tcp_inconsistent_overlap");
  });

  it("Ethernet padding after a pure ACK is not payload (the IP Total Length bounds it)", async () => {
    const ch = clientHello("a.example");
    const c = await only([
      { fromA: true, seq: CI, flags: F.SYN },
      { fromA: false, seq: SI, ack: CI + 1, flags: F.SYN | F.ACK },
      { fromA: true, seq: CI + 1, ack: SI + 1, flags: F.ACK, trailer: [0xde, 0xad, 0, 0, 0, 0] }, // 54-byte frame padded to 60
      { fromA: true, seq: CI + 1, ack: SI + 1, flags: F.ACK | F.PSH, payload: ch },
      { fromA: false, seq: SI + 1, ack: CI + 1 + ch.length, flags: F.ACK, trailer: [0xbe, 0xef, 0, 0, 0, 0] },
    ]);
    expect(c.protocol).toBe("tls");
    expect(c.tcp).toMatchObject({ retransmissions: 0, overlaps: 0, inconsistentOverlaps: 0 });
  });

  it("a pure ACK that carries two stray bytes over the first bytes of the stream: the ClientHello wins, the overlap is flagged", async () => {
    const ch = clientHello("a.example");
    const c = await only([
      { fromA: true, seq: CI, flags: F.SYN },
      { fromA: false, seq: SI, ack: CI + 1, flags: F.SYN | F.ACK },
      { fromA: true, seq: CI + 1, ack: SI + 1, flags: F.ACK, payload: [0x00, 0x00] }, // 2 padding bytes counted inside the IP length
      { fromA: true, seq: CI + 1, ack: SI + 1, flags: F.ACK | F.PSH, payload: ch }, // the real first segment, over them
      { fromA: false, seq: SI + 1, ack: CI + 1 + ch.length, flags: F.ACK | F.PSH, payload: serverHello() },
    ]);
    expect(c.protocol).toBe("tls");
    expect(c.tls).toMatchObject({ clientHelloSeen: true, sni: "a.example" });
    expect(c.tcp?.inconsistentOverlaps).toBe(1);
    const a = c.anomalies.find((x) => x.name === "tcp_inconsistent_overlap");
    expect(a).toMatchObject({ direction: "client", offset: 0, frame: 4 });
  });
});

describe("one side of the conversation is missing", () => {
  it("the client acknowledges server bytes the capture never saw: serverUnseen, possible_split_routing, the client's TLS still read", async () => {
    const ch = clientHello("cloud.example");
    // Client's Finished flight after the (unseen) server flight of 3000 bytes: CKE, CCS, encrypted Finished.
    const flight = new Uint8Array([...record(CT.handshake, 0x0303, cipher(70, 4)), ...record(CT.ccs, 0x0303, new Uint8Array([1])), ...record(CT.handshake, 0x0303, cipher(40, 5))]);
    const c = await only([
      { fromA: true, seq: CI, flags: F.SYN },
      { fromA: true, seq: CI + 1, ack: SI + 1, flags: F.ACK }, // the SYN-ACK went another way
      { fromA: true, seq: CI + 1, ack: SI + 1, flags: F.ACK | F.PSH, payload: ch },
      { fromA: true, seq: CI + 1 + ch.length, ack: SI + 3001, flags: F.ACK }, // ACKs 3000 server bytes never captured
      { fromA: true, seq: CI + 1 + ch.length, ack: SI + 3001, flags: F.ACK | F.PSH, payload: flight },
    ]);
    expect(c.packets.server).toBe(0);
    expect(c.protocol).toBe("tls");
    expect(c.clientProtocol).toBeNull();
    expect(c.tls).toMatchObject({ clientHelloSeen: true, serverHelloSeen: false, sni: "cloud.example" });
    expect(c.tcp).toMatchObject({ serverUnseen: true, clientUnseen: false, serverStartMissing: true, clientStartMissing: false });
    const a = c.anomalies.find((x) => x.name === "possible_split_routing");
    expect(a?.direction).toBe("server");
    expect(a?.message).toContain("3000 bytes");
  });

  it("a server whose data the snap length cut entirely was still seen: not unseen", async () => {
    const ch = clientHello("a.example");
    const sh = serverHello();
    const frames = tcpFrames(C, S, [
      { fromA: true, seq: CI, flags: F.SYN },
      { fromA: false, seq: SI, ack: CI + 1, flags: F.SYN | F.ACK },
      { fromA: true, seq: CI + 1, ack: SI + 1, flags: F.ACK | F.PSH, payload: ch },
      { fromA: false, seq: SI + 1, ack: CI + 1 + ch.length, flags: F.ACK | F.PSH, payload: sh },
      { fromA: true, seq: CI + 1 + ch.length, ack: SI + 1 + sh.length, flags: F.ACK },
    ]);
    const r = await analyzeBytes(pcapOf(frames, 54)); // Ethernet + IPv4 + TCP headers only: every payload cut
    const c = r.conversations[0];
    expect(c.tcp).toMatchObject({ serverUnseen: false, clientUnseen: false });
    expect(names(c)).not.toContain("possible_split_routing");
  });

  it("a conversation whose server answered in the capture is not unseen", async () => {
    const ch = clientHello("a.example");
    const sh = serverHello();
    const c = await only([
      { fromA: true, seq: CI, flags: F.SYN },
      { fromA: false, seq: SI, ack: CI + 1, flags: F.SYN | F.ACK },
      { fromA: true, seq: CI + 1, ack: SI + 1, flags: F.ACK | F.PSH, payload: ch },
      { fromA: false, seq: SI + 1, ack: CI + 1 + ch.length, flags: F.ACK | F.PSH, payload: sh },
      { fromA: true, seq: CI + 1 + ch.length, ack: SI + 1 + sh.length, flags: F.ACK },
    ]);
    expect(c.tcp).toMatchObject({ serverUnseen: false, clientUnseen: false, serverStartMissing: false, clientStartMissing: false });
    expect(names(c)).not.toContain("possible_split_routing");
  });
});
