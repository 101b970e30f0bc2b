/**
 * Golden tests of the terminal table (80 and 200 columns) and Markdown reports over whole
 * captures: recorded fixtures, public captures from ../shared (skipped when it is absent) and the
 * hostile capture. The goldens are written only by `npm run test:update` (UPDATE_GOLDENS=1), never
 * by hand; see test/tools/update-goldens.ts.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildHostilePcap } from "../tools/make-hostile.js";
import {
  CASES,
  HOSTILE_PCAP,
  OUTPUTS,
  PUBLIC_DIR,
  REPO,
  UPDATE,
  available,
  goldenPath,
  renderCase,
  writeGoldens,
  writeHostilePcap,
} from "../tools/update-goldens.js";
import { visibleWidth } from "./measure.js";

const HOW = "run `npm run test:update` and review the diff";

describe("hostile capture", () => {
  beforeAll(() => {
    if (UPDATE) writeHostilePcap();
  });
  it("the committed file is what test/tools/make-hostile.ts builds", () => {
    const p = path.join(REPO, HOSTILE_PCAP);
    expect(existsSync(p), `${HOSTILE_PCAP} is missing: ${HOW}`).toBe(true);
    expect(Buffer.from(readFileSync(p)).equals(Buffer.from(buildHostilePcap())), `${HOSTILE_PCAP} differs from its builder: ${HOW}`).toBe(true);
  });
});

for (const c of CASES) {
  const missing = c.shared ? !existsSync(PUBLIC_DIR) : !available(c) && c.name !== "hostile";
  const why = c.shared ? `(skipped: ${PUBLIC_DIR} is absent)` : missing ? "(skipped: capture absent)" : "";
  describe.skipIf(missing)(`golden ${c.name} ${why}`.trim(), () => {
    let out: Awaited<ReturnType<typeof renderCase>>;
    beforeAll(async () => {
      if (UPDATE) {
        if (c.name === "hostile") writeHostilePcap();
        await writeGoldens(c);
      }
      out = await renderCase(c);
    });

    for (const o of OUTPUTS) {
      it(`${o} matches test/report/golden/${c.name}.${o}`, () => {
        const p = goldenPath(c, o);
        expect(existsSync(p), `${p} is missing: ${HOW}`).toBe(true);
        // toBe on whole strings: vitest prints a line diff on failure.
        expect(out[o], `${c.name}.${o} changed: ${HOW}`).toBe(readFileSync(p, "utf8"));
      });
    }

    it("table lines fit 80 and 200 columns; nothing names the machine", () => {
      for (const [o, width] of [["w80.txt", 80], ["w200.txt", 200]] as const) {
        const lines = out[o].split("\n");
        // Wireshark filters stand alone on the line after "Wireshark filter:", never wrapped, to be copied whole.
        const over = lines.filter((l, i) => visibleWidth(l) > width && !(i > 0 && lines[i - 1].endsWith(" filter:")));
        expect(over, `${o}: lines wider than ${width}`).toEqual([]);
      }
      // Deterministic: no absolute path of this checkout, nor of ../shared beside it, in any output.
      const machine = [REPO, path.resolve(REPO, "../shared")];
      for (const o of OUTPUTS) {
        for (const m of machine) expect(out[o].includes(m), `${o} contains ${m}`).toBe(false);
      }
    });
  });
}
