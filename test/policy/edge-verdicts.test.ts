/**
 * Issue 18's classes as verdicts (the flow and detect tests assert the facts; these assert what
 * the report then says): a capture that ends right after a ClientHello or an NTP request, one that
 * starts inside a conversation of unrecognised bytes, and the issue's recordings
 * (fixtures/recorded/issue18/). Each has its control: the same bytes with the capture going on
 * past the retransmission timeout are a finding, so the test can fail.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { reportFor } from "../../src/pipeline/index.js";
import type { Report } from "../../src/report/index.js";
import { pcapHeader, pcapRecord } from "../capture/build.js";
import { cat } from "../decode/build.js";
import { clientHello, ntpV4Client, ntpV4Server } from "../detect/fixtures.js";
import { randomBytes, rng } from "../detect/sample.js";
import { analyzeBytes } from "../fuzz/harness.js";
import { F, tcpFrames, udpFrames, type Seg } from "../flow/frames.js";
import { REPO_ROOT } from "../support/corpus.js";

const CI = 1_000_000; // client's ISN
const SI = 5_000_000; // server's ISN

/** A pcap of `frames` at the given seconds after 1_700_000_000 (microsecond stamps). */
function timed(frames: { at: number; frame: Uint8Array }[]): Uint8Array {
  return cat(
    pcapHeader({ le: true, snaplen: 65535, linkType: 1 }),
    ...frames.map(({ at, frame }) => pcapRecord(true, 1_700_000_000 + Math.floor(at), Math.round((at % 1) * 1e6), frame)),
  );
}

/** `frames`, the first at `from` seconds, 1 ms apart. */
const at = (from: number, frames: Uint8Array[]) => frames.map((frame, i) => ({ at: from + i / 1000, frame }));

/** A later, unrelated conversation's packet that keeps the capture going until `t` (a DNS query: infrastructure). */
const laterPacket = (t: number) => ({ at: t, frame: udpFrames(53000, 53, [{ fromA: true, payload: new Array<number>(12).fill(0) }])[0] });

const errorsAndWarnings = (r: Report) => r.findings.filter((f) => f.severity !== "info" && f.code !== "missing-expected").map((f) => f.code);
const on = (r: Report, port: number) => r.conversations.filter((c) => c.server.port === port);

describe("the end of the capture cuts the conversation", () => {
  const hello: Seg[] = [
    { fromA: true, seq: CI, flags: F.SYN },
    { fromA: false, seq: SI, ack: CI + 1, flags: F.SYN | F.ACK },
    { fromA: true, seq: CI + 1, ack: SI + 1, flags: F.ACK },
    { fromA: true, seq: CI + 1, ack: SI + 1, flags: F.ACK | F.PSH, payload: clientHello("backup.example") }, // the last frame of the conversation
  ];

  it("a ClientHello in the capture's last second with nothing after it: end-of-capture, not tls-not-established", async () => {
    const r = await analyzeBytes(timed(at(10, tcpFrames(40001, 3542, hello))));
    expect(on(r, 3542)[0]).toMatchObject({ status: "not-verifiable", limits: ["end-of-capture"], findings: [] });
    expect(errorsAndWarnings(r)).toEqual([]);
  });

  it("control: the same ClientHello with the capture going on 2 s after it is tls-not-established", async () => {
    const r = await analyzeBytes(timed([...at(10, tcpFrames(40001, 3542, hello)), laterPacket(12.1)]));
    expect(on(r, 3542)[0].findings).toEqual(["tls-not-established"]);
  });

  const ntp = (ports: [number, number], ask: boolean, answer: boolean) =>
    udpFrames(ports[0], ports[1], [...(ask ? [{ fromA: true, payload: ntpV4Client }] : []), ...(answer ? [{ fromA: false, payload: ntpV4Server }] : [])]);

  it("an NTP request 0.2 s before the end, after the same server answered an earlier one: not blocked", async () => {
    const r = await analyzeBytes(timed([...at(10, ntp([50001, 123], true, true)), ...at(10.2, ntp([50002, 123], true, false))]));
    const [answered, last] = on(r, 123);
    expect(answered).toMatchObject({ status: "conforming", protocol: "ntp" });
    expect(last).toMatchObject({ status: "not-verifiable", limits: ["end-of-capture"], findings: [] });
    expect(errorsAndWarnings(r)).toEqual([]);
  });

  it("control: the unanswered request with 2 s of capture after it is blocked", async () => {
    const r = await analyzeBytes(timed([...at(10, ntp([50001, 123], true, true)), ...at(10.2, ntp([50002, 123], true, false)), laterPacket(12.3)]));
    expect(on(r, 123)[1].findings).toEqual(["blocked"]);
  });
});

describe("the start of the conversation is not in the capture", () => {
  const cipher = (n: number, seed: number) => randomBytes(rng(seed), n);
  const midstream = (start: boolean): Seg[] => [
    ...(start ? [{ fromA: true, seq: CI - 1, flags: F.SYN }, { fromA: false, seq: SI - 1, ack: CI, flags: F.SYN | F.ACK }] : []),
    { fromA: true, seq: CI, ack: SI, flags: F.ACK | F.PSH, payload: cipher(300, 1) }, // bytes that are no protocol we know
    { fromA: false, seq: SI, ack: CI + 300, flags: F.ACK | F.PSH, payload: cipher(500, 2) },
    { fromA: true, seq: CI + 300, ack: SI + 500, flags: F.ACK },
  ];

  it("unrecognised bytes both ways on 3542, no handshake captured: not-verifiable (start-missing), never plain text", async () => {
    const r = await analyzeBytes(timed(at(10, tcpFrames(40001, 3542, midstream(false)))));
    expect(on(r, 3542)[0]).toMatchObject({ protocol: "unknown", status: "not-verifiable", limits: ["start-missing"], findings: [] });
    expect(errorsAndWarnings(r)).toEqual([]);
  });

  it("control: the same bytes after a captured SYN and SYN-ACK are protocol-mismatch (not TLS), still not plain text", async () => {
    const r = await analyzeBytes(timed(at(10, tcpFrames(40001, 3542, midstream(true)))));
    expect(on(r, 3542)[0].findings).toEqual(["protocol-mismatch"]);
  });
});

describe("issue 18's recordings: what the report says", () => {
  const DIR = path.join(REPO_ROOT, "fixtures/recorded/issue18");

  it("tls-midstream.pcap: no error or warning on the conversation; not-verifiable (start-missing), counted in the coverage", async () => {
    const r = await reportFor([path.join(DIR, "tls-midstream.pcap")]);
    expect(r.conversations[0]).toMatchObject({ status: "not-verifiable", limits: ["start-missing"], findings: [] });
    expect(errorsAndWarnings(r)).toEqual([]);
    expect(r.summary.coverage.find((c) => c.code === "not-verifiable")?.message).toContain("start-missing");
  });

  it("tls-one-way.pcap: no tls-not-established; not-verifiable (one-direction), and the coverage says which side is missing", async () => {
    const r = await reportFor([path.join(DIR, "tls-one-way.pcap")]);
    expect(r.conversations[0]).toMatchObject({ status: "not-verifiable", findings: [] });
    expect(r.conversations[0].limits).toContain("one-direction");
    expect(errorsAndWarnings(r)).toEqual([]);
    expect(r.summary.coverage.map((c) => c.code)).toContain("one-direction");
  });

  it("dtls.pcap: DTLS on UDP 4433 is dtls, not NTP, and only an info (unexpected-port between hosts of no role)", async () => {
    const r = await reportFor([path.join(DIR, "dtls.pcap")]);
    expect(r.conversations[0].protocol).toBe("dtls");
    expect(r.findings.map((f) => [f.code, f.severity])).toEqual([["unexpected-port", "info"]]);
  });
});
