/**
 * The pipeline's tail (src/pipeline/run.ts) as analyze, capture and probe call it: an Analysis
 * from any source → the report written to a destination, with the exit code. On the repository's
 * sample capture (fixtures/sample.pcapng, its roles in fixtures/sample.roles.json).
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { analyzeFiles, exitCodeFor, finishReport, policyInputs, reportFor, reportOf, type ReportDestination, type ReportTail } from "../../src/pipeline/index.js";
import type { Analysis, Report } from "../../src/report/record.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SAMPLE = path.join(repo, "fixtures/sample.pcapng");
const ROLES = path.join(repo, "fixtures/sample.roles.json");

/** A destination that keeps what is written and whether it was committed. */
function memory(): ReportDestination & { text: string; committed: boolean } {
  const d = { text: "", committed: false, write: (t: string) => void (d.text += t), commit: () => void (d.committed = true) };
  return d;
}

function tail(a: Analysis, out: ReportDestination, extra: Partial<ReportTail> = {}): Promise<number> {
  const { matrix, roles } = policyInputs({ role: [], roles: ROLES });
  return finishReport(a, { matrix, roles, render: { format: "json", width: 120, color: false }, failOn: "warning", reportName: null, out, quiet: true, ...extra });
}

describe("finishReport", () => {
  it("writes the same report reportFor builds, and returns its exit code", async () => {
    const expected = await reportFor([SAMPLE], { roles: ROLES });
    const out = memory();
    const code = await tail(await analyzeFiles([SAMPLE]), out);
    expect(out.committed).toBe(true);
    const written = JSON.parse(out.text) as Report;
    expect(written).toEqual(JSON.parse(JSON.stringify(expected)));
    expect(written.conversations.length).toBeGreaterThan(1);
    expect(code).toBe(exitCodeFor(expected, "warning"));
  });

  it("lets the event loop turn before it writes (a signal that comes while the report is made is handled then)", async () => {
    const a = await analyzeFiles([SAMPLE]);
    let turned = false;
    setImmediate(() => (turned = true));
    let turnedAtWrite: boolean | null = null;
    const d = memory();
    const out: ReportDestination = { write: (t) => ((turnedAtWrite ??= turned), d.write(t)), commit: () => d.commit() };
    await tail(a, out);
    expect(turnedAtWrite).toBe(true);
    expect(d.committed).toBe(true);
  });

  it("exits 2 when the caller says the run failed, with the report written all the same", async () => {
    const out = memory();
    expect(await tail(await analyzeFiles([SAMPLE]), out, { failed: true })).toBe(2);
    expect((JSON.parse(out.text) as Report).schema).toBe("phoenix-netcheck.report/v1");
  });

  it("takes conversations from any source: the report holds exactly the ones it is given", async () => {
    const a = await analyzeFiles([SAMPLE]);
    const { matrix, roles } = policyInputs({ role: [], roles: ROLES });
    const one = a.conversations.slice(0, 1);
    const r = reportOf({ captures: a.captures, conversations: one }, { matrix, roles });
    expect(r.conversations.map((c) => c.id)).toEqual([one[0].id]);
    expect(r.conversations[0].state).toBe(one[0].state);
    expect(r.summary.conversations).toBe(1);
  });
});
