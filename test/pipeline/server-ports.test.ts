/**
 * The one set of likely server ports (src/pipeline/server-ports.ts): derived from the detectors'
 * declared ports, the matrix's server ports and the table of undetected services; and what it
 * does to who is the client (src/flow/orientation.ts rule 3). Packets are built byte by byte
 * (test/flow/frames.ts); the captures run the analyzer as `analyze` does (test/fuzz/harness.ts).
 */
import { describe, expect, it } from "vitest";
import { detectorServerPorts } from "../../src/detect/index.js";
import { builtinMatrix, parseMatrixText } from "../../src/policy/matrix.js";
import { likelyServerPorts, MAX_MATRIX_RANGE, UNDETECTED_SERVICE_PORTS } from "../../src/pipeline/server-ports.js";
import { analyzeBytes } from "../fuzz/harness.js";
import { F, HOST_A, HOST_B, pcapOf, tcpFrames } from "../flow/frames.js";

/** Every port of a matrix's rows, related and infrastructure entries (all are narrow in the built-in one). */
function matrixPorts(m: ReturnType<typeof builtinMatrix>): number[] {
  const out: number[] = [];
  for (const e of [...m.rows, ...m.related, ...m.infrastructure]) {
    for (const r of e.ports) for (let p = r.first; p <= r.last; p++) out.push(p);
  }
  return out;
}

/** A matrix file on top of the built-in one, adding one TCP row on `port` ("a-b" for a range). */
function withRow(port: number | string) {
  return parseMatrixText(
    JSON.stringify({ rows: [{ id: "extra", client: "proxy", server: "cloud", port, transport: "tcp", expect: "tls", minTls: "TLS 1.2" }] }),
    "extra.json",
  );
}

/**
 * A conversation the capture joins after its handshake: the first segment is the server's
 * (on `serverPort`) to the client's 50000, then the client's ACK.
 */
function serverSpeaksFirst(serverPort: number): Uint8Array {
  return pcapOf(tcpFrames(serverPort, 50000, [
    { fromA: true, seq: 5000, ack: 9000, flags: F.ACK | F.PSH, payload: [0x48, 0x54, 0x54, 0x50] }, // "HTTP", mid-stream
    { fromA: false, seq: 9000, ack: 5004, flags: F.ACK },
  ]));
}

describe("likelyServerPorts: one derived set", () => {
  const set = likelyServerPorts();

  it("holds every port a detector declares, TCP and UDP", () => {
    const declared = [...detectorServerPorts()];
    expect(declared.length).toBeGreaterThan(10);
    expect(declared.filter((p) => !set.has(p))).toEqual([]);
    // The ones the hand list missed (squid, SOCKS, DTLS/QUIC test and TURN-over-TLS ports) are in.
    for (const p of [3128, 1080, 4433, 5349]) expect(set.has(p)).toBe(true);
  });

  it("holds every server port of the built-in matrix: rows, related and infrastructure entries", () => {
    const ports = matrixPorts(builtinMatrix());
    expect(ports).toEqual(expect.arrayContaining([902, 903, 3389, 3542, 3545, 2049]));
    expect(ports.filter((p) => !set.has(p))).toEqual([]);
  });

  it("holds the undetected common services, each once and with a reason", () => {
    const ports = UNDETECTED_SERVICE_PORTS.map(([p]) => p);
    expect(new Set(ports).size).toBe(ports.length);
    for (const [p, why] of UNDETECTED_SERVICE_PORTS) {
      expect(set.has(p)).toBe(true);
      expect(p).toBeGreaterThan(1023); // below 1024 every port counts already (RFC 6335 §6)
      expect(why.length).toBeGreaterThan(2);
    }
    for (const p of [1433, 1521, 3306, 5900, 6379, 27017]) expect(set.has(p)).toBe(true);
  });

  it("holds nothing else: no client's ephemeral port", () => {
    const expected = new Set<number>([...detectorServerPorts(), ...matrixPorts(builtinMatrix()), ...UNDETECTED_SERVICE_PORTS.map(([p]) => p)]);
    expect([...set].sort((a, b) => a - b)).toEqual([...expected].sort((a, b) => a - b));
    expect(set.has(50000)).toBe(false);
  });

  it("follows the run's matrix: a row's port joins, a dynamic range does not", () => {
    expect(likelyServerPorts(withRow(9000)).has(9000)).toBe(true);
    expect(set.has(9000)).toBe(false);
    const narrow = likelyServerPorts(withRow(`7000-${7000 + MAX_MATRIX_RANGE - 1}`));
    expect(narrow.has(7000) && narrow.has(7000 + MAX_MATRIX_RANGE - 1)).toBe(true);
    const wide = likelyServerPorts(withRow("1024-65535"));
    expect(wide.has(50000)).toBe(false);
    expect(wide.has(1024)).toBe(false);
  });
});

describe("who is the client when the capture starts with the server's segment", () => {
  it("a detector's port (3128, squid) names its side the server", async () => {
    const r = await analyzeBytes(serverSpeaksFirst(3128));
    expect(r.conversations).toHaveLength(1);
    expect(r.conversations[0]).toMatchObject({ server: { ip: HOST_A.join("."), port: 3128 }, client: { ip: HOST_B.join("."), port: 50000 }, clientBy: "service-port" });
  });

  it("an undetected service's port (3306, MySQL) too", async () => {
    const r = await analyzeBytes(serverSpeaksFirst(3306));
    expect(r.conversations[0]).toMatchObject({ server: { port: 3306 }, client: { port: 50000 }, clientBy: "service-port" });
  });

  it("a port no one names stays with the first sender; the run's matrix can name it", async () => {
    const plain = await analyzeBytes(serverSpeaksFirst(9000));
    expect(plain.conversations[0]).toMatchObject({ client: { port: 9000 }, server: { port: 50000 }, clientBy: "first-packet" });
    const withMatrix = await analyzeBytes(serverSpeaksFirst(9000), { flow: { likelyServerPorts: likelyServerPorts(withRow(9000)) } });
    expect(withMatrix.conversations[0]).toMatchObject({ server: { port: 9000 }, client: { port: 50000 }, clientBy: "service-port" });
  });
});
