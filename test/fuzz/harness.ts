/**
 * Runs the whole analyzer on capture bytes held in memory, as `analyze` would on a file: reader
 * (fed in chunks), decode, conversations, detection, roles and matrix checks, report record and
 * JSON. Used by the fuzz tests and the hostile-file tests.
 */
import { readCaptureFrom, type CaptureSummary } from "../../src/capture/file.js";
import { CaptureAnalysis, type Analysis } from "../../src/analyze.js";
import { DEFAULT_FLOW_OPTIONS, type FlowTableOptions } from "../../src/flow/table.js";
import { evaluate } from "../../src/policy/evaluate.js";
import { builtinMatrix } from "../../src/policy/matrix.js";
import { RoleMap } from "../../src/policy/roles.js";
import { buildReport, captureInfos, captureSeconds, type Report } from "../../src/report/record.js";

async function* chunked(bytes: Uint8Array, chunk: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, Math.min(bytes.length, i + chunk));
}

/** The report for `bytes` (rejects with CaptureOpenError when they are not a capture at all). */
export async function analyzeBytes(bytes: Uint8Array, opts: { chunk?: number; flow?: Partial<FlowTableOptions> } = {}): Promise<Report> {
  const ca = new CaptureAnalysis(0, 0, { ...DEFAULT_FLOW_OPTIONS, ...opts.flow });
  const summary: CaptureSummary = await readCaptureFrom(chunked(bytes, opts.chunk ?? 65536), "fuzz", (p) => ca.packet(p), { fileSize: bytes.length, resync: true });
  const analysis: Analysis = { captures: [ca.finish(summary)], conversations: ca.table.conversations };
  const matrix = builtinMatrix();
  const roles = new RoleMap([]);
  const policy = evaluate({ conversations: analysis.conversations, captures: captureInfos(analysis), matrix, roles, captureSeconds: captureSeconds(analysis) });
  const report = buildReport(analysis, policy, matrix, "fuzz");
  // Rendering is part of the run: a report that cannot be serialised is a crash too.
  JSON.stringify(report);
  return report;
}
