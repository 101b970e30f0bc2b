// Golden tests over the lab captures committed in fixtures/lab/ and the bundled sample
// (fixtures/sample.pcapng): each capture analyzed with the lab's roles file and without roles,
// and the report compared with what the lab deliberately did (its *.expected.json, written by
// test/lab/lab.mjs when the capture was recorded; docs/lab.md). No root needed.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { reportFor } from "../../src/pipeline/index.js";
import { compareReport, type LabExpected } from "./compare.mjs";

const FIXTURES = path.resolve(__dirname, "../../fixtures");
const LAB_DIR = path.join(FIXTURES, "lab");


const cases: { name: string; dir: string; exp: LabExpected }[] = [];
if (existsSync(LAB_DIR)) {
  for (const f of readdirSync(LAB_DIR).filter((x) => x.endsWith(".expected.json")).sort()) {
    cases.push({ name: `lab/${f}`, dir: LAB_DIR, exp: JSON.parse(readFileSync(path.join(LAB_DIR, f), "utf8")) as LabExpected });
  }
}
if (existsSync(path.join(FIXTURES, "sample.expected.json"))) {
  cases.push({ name: "sample.expected.json", dir: FIXTURES, exp: JSON.parse(readFileSync(path.join(FIXTURES, "sample.expected.json"), "utf8")) as LabExpected });
}

describe.skipIf(cases.length === 0)("lab captures in fixtures/ (fixtures/lab/*.expected.json, fixtures/sample.expected.json)", () => {
  it("the committed set covers every scenario kind of misconfiguration and all three capture kinds", () => {
    const scenarios = new Set(cases.map((c) => c.exp.scenario));
    for (const s of ["good", "guest-loopback-3545", "plaintext-vcenter-443", "drop-esxi-902", "esxi-443-managed", "combined"]) expect(scenarios, s).toContain(s);
    const kinds = new Set(cases.flatMap((c) => c.exp.files.map((f) => `${f.format}/${f.linkType}`)));
    expect([...kinds].sort()).toEqual(["pcap/1", "pcap/276", "pcapng/1"]);
  });

  for (const { name, dir, exp } of cases) {
    for (const { file, format, linkType } of exp.files) {
      for (const mode of ["explicit", "inferred"] as const) {
        it(`${file} ${mode === "explicit" ? "with --roles" : "without roles"}: as the lab made it (${exp.scenario})`, async () => {
          expect(exp.schema, name).toBe("phoenix-netcheck.lab-expected/v1");
          const report = await reportFor([path.join(dir, file)], mode === "explicit" ? { roles: path.join(dir, exp.rolesFile) } : {});
          expect(report.captures[0].format).toBe(format);
          expect(report.captures[0].linkTypes).toEqual([linkType]);
          expect(report.captures[0].errors).toEqual([]);
          expect(report.conversations.length).toBe(exp.conversations.length);
          expect(compareReport(exp, report, mode)).toEqual([]);
          expect(report.summary.verdict).toBe(exp[mode].verdict);
        });
      }
    }
  }
});
