/**
 * Conformance against tshark 4.0 on the real public corpus: for every file, the frame count, and
 * per TCP/UDP conversation (aggregated by address/port pair, as Wireshark's Conversations window
 * shows them) the frames and bytes each way.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { reportFor } from "../../src/pipeline/index.js";
import { corpusFiles, HAVE_PUBLIC, oracle, PUBLIC_DIR, SKIP_MESSAGE, type OracleConversation } from "../support/corpus.js";

/**
 * Files where our numbers may legitimately differ from tshark's, and why. Keep this short.
 */
const KNOWN_DIFFERENCES: Record<string, string> = {};

interface Pair {
  frames: [number, number];
  bytes: [number, number];
}

/** Aggregate conversations by the unordered address/port pair; key sides in sorted order. */
function aggregate(rows: { proto: string; a: string; ap: number; b: string; bp: number; fab: number; fba: number; bab: number; bba: number }[]) {
  const m = new Map<string, Pair>();
  for (const r of rows) {
    const ka = `${r.a}#${r.ap}`;
    const kb = `${r.b}#${r.bp}`;
    const flip = ka > kb;
    const key = `${r.proto} ${flip ? kb : ka} ${flip ? ka : kb}`;
    const cur = m.get(key) ?? { frames: [0, 0], bytes: [0, 0] };
    cur.frames[0] += flip ? r.fba : r.fab;
    cur.frames[1] += flip ? r.fab : r.fba;
    cur.bytes[0] += flip ? r.bba : r.bab;
    cur.bytes[1] += flip ? r.bab : r.bba;
    m.set(key, cur);
  }
  return Object.fromEntries([...m.entries()].sort());
}

describe.skipIf(!HAVE_PUBLIC)(`tshark conformance on ${PUBLIC_DIR}`, () => {
  if (!HAVE_PUBLIC) it.skip(SKIP_MESSAGE, () => {});
  for (const file of corpusFiles(PUBLIC_DIR)) {
    const name = path.basename(file);
    it.skipIf(name in KNOWN_DIFFERENCES)(name, async () => {
      const o = oracle(file);
      const report = await reportFor([file]);
      const cap = report.captures[0];
      expect(cap.frames, "frame count").toBe(o.frame_count);
      if (o.read.error) expect(cap.errors.length, "a damaged file reports an error").toBeGreaterThan(0);

      const ours = aggregate(
        report.conversations.map((c) => ({
          proto: c.transport, a: c.client.ip, ap: c.client.port, b: c.server.ip, bp: c.server.port,
          fab: c.packets.client, fba: c.packets.server, bab: c.bytes.client, bba: c.bytes.server,
        })),
      );
      const theirs = aggregate(
        (["tcp", "udp"] as const).flatMap((proto) =>
          (o.conversations[proto] as OracleConversation[]).map((c) => ({
            proto, a: c.a, ap: c.a_port, b: c.b, bp: c.b_port,
            fab: c.frames_a_to_b, fba: c.frames_b_to_a, bab: c.bytes_a_to_b, bba: c.bytes_b_to_a,
          })),
        ),
      );
      expect(ours).toEqual(theirs);

      // Conversations split as Wireshark splits them (tcp.stream / udp.stream), and the client of
      // every TCP conversation whose SYN was seen is the SYN's sender.
      for (const proto of ["tcp", "udp"] as const) {
        const mine = report.conversations.filter((c) => c.transport === proto);
        const ws = o.conversations[proto] as OracleConversation[];
        expect(mine.length, `${proto} conversations`).toBe(ws.length);
        for (const w of ws) {
          const c = mine.find((m) => m.firstFrame === w.first_frame);
          expect(c, `${proto} stream ${w.stream} starting at frame ${w.first_frame}`).toBeDefined();
          expect(c!.lastFrame).toBe(w.last_frame);
          expect(c!.stream, `${proto}.stream of the conversation starting at frame ${w.first_frame}`).toBe(w.stream);
          if (w.syn_client === "a" || w.syn_client === "b") {
            const client = w.syn_client === "a" ? [w.a, w.a_port] : [w.b, w.b_port];
            expect([c!.client.ip, c!.client.port], `client of ${proto} stream ${w.stream}`).toEqual(client);
          }
        }
      }
    });
  }
});
