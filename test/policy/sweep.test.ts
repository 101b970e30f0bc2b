/**
 * One unexpected port over many host pairs (a sweep, or a capture of many clients) folds into one
 * finding once there are more than SWEEP_FOLD pairs (src/policy/group.ts), so the report's
 * findings stay few however many hosts a capture holds (issue 19's memory bound); up to
 * SWEEP_FOLD pairs, each pair keeps its own finding. Captures built byte by byte.
 */
import { describe, expect, it } from "vitest";
import { pcapHeader, pcapRecord } from "../capture/build.js";
import { cat, eth, ipv4, tcp } from "../decode/build.js";
import { SWEEP_FOLD } from "../../src/policy/group.js";
import { analyzeBytes } from "../fuzz/harness.js";

/** A MAC per host (the policy takes hosts sharing a MAC for one machine). */
const mac = (ip: number[]) => [0x02, 0, ip[0], ip[1], ip[2], ip[3]];

/** Per pair: SYN, SYN-ACK, ACK on TCP 8080 (no matrix row has 8080), a millisecond apart. */
function sweep(pairs: [number[], number[]][]): Uint8Array {
  const frames: Uint8Array[] = [];
  pairs.forEach(([c, s], i) => {
    const sport = 40000 + i;
    const up = (o: Parameters<typeof tcp>[0]) => eth(0x0800, ipv4({ src: c, dst: s, proto: 6, payload: tcp({ sport, dport: 8080, ...o }) }), mac(s), mac(c));
    const down = (o: Parameters<typeof tcp>[0]) => eth(0x0800, ipv4({ src: s, dst: c, proto: 6, payload: tcp({ sport: 8080, dport: sport, ...o }) }), mac(c), mac(s));
    frames.push(up({ seq: 1000, flags: 0x02 })); // SYN
    frames.push(down({ seq: 5000, ack: 1001, flags: 0x12 })); // SYN-ACK
    frames.push(up({ seq: 1001, ack: 5001, flags: 0x10 })); // ACK
  });
  return cat(pcapHeader({ le: true, snaplen: 65535, linkType: 1 }), ...frames.map((f, i) => pcapRecord(true, 1_700_000_000, i * 1000, f)));
}

const clients = (n: number) => Array.from({ length: n }, (_, i) => [10, 1, 0, i + 1]);
const unexpected = (r: Awaited<ReturnType<typeof analyzeBytes>>) => r.findings.filter((f) => f.code === "unexpected-port");

describe("an unexpected port over many host pairs", () => {
  it(`up to ${SWEEP_FOLD} pairs: one finding per pair, each naming its two hosts`, async () => {
    const r = await analyzeBytes(sweep(clients(SWEEP_FOLD).map((c) => [c, [10, 2, 0, 1]])));
    const f = unexpected(r);
    expect(f).toHaveLength(SWEEP_FOLD);
    expect(f.map((x) => x.message.match(/from (\S+)/)![1]).sort()).toEqual(clients(SWEEP_FOLD).map((c) => c.join(".")).sort());
    expect(f.every((x) => x.conversations.length === 1)).toBe(true);
  });

  it(`${SWEEP_FOLD + 2} clients to one server: one finding that counts them, filtered by the server and the port`, async () => {
    const r = await analyzeBytes(sweep(clients(SWEEP_FOLD + 2).map((c) => [c, [10, 2, 0, 1]])));
    const f = unexpected(r);
    expect(f).toHaveLength(1);
    expect(f[0].message).toMatch(new RegExp(`^TCP 8080 from ${SWEEP_FOLD + 2} clients to 10\\.2\\.0\\.1: no row of the matrix allows it \\(${SWEEP_FOLD + 2} conversations between ${SWEEP_FOLD + 2} host pairs, answered\\)`));
    expect(f[0].wiresharkFilter).toBe("ip.addr==10.2.0.1 && tcp.port==8080");
    expect(f[0].conversations).toHaveLength(SWEEP_FOLD + 2);
    expect(f[0].attempts).toBe(SWEEP_FOLD + 2);
    // Every conversation still names the finding.
    expect(r.conversations.every((c) => c.findings.includes("unexpected-port"))).toBe(true);
  });

  it("many clients to many servers: one finding, filtered by the port alone", async () => {
    const pairs = clients(3 * SWEEP_FOLD).map((c, i): [number[], number[]] => [c, [10, 2, 0, 1 + (i % 4)]]);
    const f = unexpected(await analyzeBytes(sweep(pairs)));
    expect(f).toHaveLength(1);
    expect(f[0].message).toMatch(new RegExp(`^TCP 8080 from ${3 * SWEEP_FOLD} clients to 4 servers: .*between ${3 * SWEEP_FOLD} host pairs`));
    expect(f[0].wiresharkFilter).toBe("tcp.port==8080");
    expect(f[0].frames.slice(0, 3)).toEqual([1, 2, 3]);
  });
});
