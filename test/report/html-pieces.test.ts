/**
 * The HTML report is written in pieces (htmlPieces, src/report/html/page.ts): the conversations'
 * rows a slice at a time, so a large report is never one string with its copies (issue 19's
 * memory bound; `npm run bench` measures it). The pieces joined are renderHtml's page.
 */
import { describe, expect, it } from "vitest";
import { pcapHeader, pcapRecord } from "../capture/build.js";
import { cat, eth, ipv4, tcp } from "../decode/build.js";
import { htmlPieces, renderHtml } from "../../src/report/index.js";
import { builtinMatrix } from "../../src/policy/index.js";
import { analyzeBytes } from "../fuzz/harness.js";

const FLOWS = 1200;

/** FLOWS handshakes (SYN, SYN-ACK, ACK) from 10.1.x.y to 10.2.0.1 port 8080, each from its own client. */
function flows(): Uint8Array {
  const frames: Uint8Array[] = [];
  for (let i = 0; i < FLOWS; i++) {
    const c = [10, 1, i >> 8, i & 255];
    const s = [10, 2, 0, 1];
    const up = (o: Parameters<typeof tcp>[0]) => eth(0x0800, ipv4({ src: c, dst: s, proto: 6, payload: tcp({ sport: 40000, dport: 8080, ...o }) }));
    const down = (o: Parameters<typeof tcp>[0]) => eth(0x0800, ipv4({ src: s, dst: c, proto: 6, payload: tcp({ sport: 8080, dport: 40000, ...o }) }));
    frames.push(up({ seq: 1000, flags: 0x02 })); // SYN
    frames.push(down({ seq: 5000, ack: 1001, flags: 0x12 })); // SYN-ACK
    frames.push(up({ seq: 1001, ack: 5001, flags: 0x10 })); // ACK
  }
  return cat(pcapHeader({ le: true, snaplen: 65535, linkType: 1 }), ...frames.map((f, i) => pcapRecord(true, 1_700_000_000 + Math.floor(i / 1000), (i % 1000) * 1000, f)));
}

describe("the HTML report in pieces", () => {
  it("joined, the pieces are renderHtml's page; no piece holds more than a slice of the rows", async () => {
    const r = await analyzeBytes(flows());
    expect(r.conversations).toHaveLength(FLOWS);
    const o = { matrixRows: builtinMatrix().rows };
    const pieces = [...htmlPieces(r, o)];
    const whole = renderHtml(r, o);
    expect(pieces.join("")).toBe(whole);
    // The page up to the conversations, their heading, three slices of rows (500, 500, 200), the table's end, the rest.
    expect(pieces.length).toBe(4 + Math.ceil(FLOWS / 500));
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan(whole.length / 2);
    expect(pieces[2].match(/<tr data-id=/g)).toHaveLength(500);
    expect(pieces[4].match(/<tr data-id=/g)).toHaveLength(FLOWS - 1000);
  });
});
