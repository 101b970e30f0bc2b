/**
 * Runs the whole analyzer on capture bytes held in memory, as `analyze` would on a file: reader
 * (fed in chunks), decode, conversations, detection, roles and matrix checks, report record and
 * JSON. Used by the fuzz tests and the hostile-file tests.
 */
import { readCaptureFrom, type CaptureSummary } from "../../src/capture/index.js";
import { CaptureAnalysis, type Analysis } from "../../src/pipeline/index.js";
import { DEFAULT_FLOW_OPTIONS, type FlowTableOptions } from "../../src/flow/index.js";
import { evaluate } from "../../src/policy/evaluate.js";
import { builtinMatrix } from "../../src/policy/matrix.js";
import { RoleMap } from "../../src/policy/roles.js";
import { MARKING_NAMER } from "../../src/policy/namer.js";
import { renderHtml } from "../../src/report/html/page.js";
import { renderJson } from "../../src/report/json.js";
import { renderMarkdown } from "../../src/report/markdown.js";
import { buildReport, captureInfos, captureSeconds } from "../../src/report/record-build.js";
import type { Report } from "../../src/report/record.js";
import { redactReportWithMap } from "../../src/report/redact.js";
import { FIRST_SCREEN_SECTIONS } from "../../src/report/view/index.js";
import { renderTable } from "../../src/report/table.js";

async function* chunked(bytes: Uint8Array, chunk: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, Math.min(bytes.length, i + chunk));
}

/** Every format, as `analyze` writes them (a throw here is a crash of the run too). */
function renderAll(r: Report, matrix: ReturnType<typeof builtinMatrix>): void {
  renderJson(r);
  renderTable(r, { width: 80, color: true, sections: FIRST_SCREEN_SECTIONS }, matrix.rows);
  renderTable(r, { width: 200, color: false }, matrix.rows);
  renderMarkdown(r, matrix.rows);
  renderHtml(r, { matrixRows: matrix.rows });
}

/**
 * The report for `bytes` (rejects with CaptureOpenError when they are not a capture at all).
 * With `render`, every format is also written, plain and as `--redact` writes it (the policy's
 * sentences with marks, then redaction by field).
 */
export async function analyzeBytes(bytes: Uint8Array, opts: { chunk?: number; flow?: Partial<FlowTableOptions>; render?: boolean } = {}): Promise<Report> {
  const ca = new CaptureAnalysis(0, 0, { ...DEFAULT_FLOW_OPTIONS, ...opts.flow });
  const summary: CaptureSummary = await readCaptureFrom(chunked(bytes, opts.chunk ?? 65536), "fuzz", (p) => ca.packet(p), { fileSize: bytes.length, resync: true });
  const analysis: Analysis = { captures: [ca.finish(summary)], conversations: ca.conversations };
  const matrix = builtinMatrix();
  const roles = new RoleMap([]);
  const policy = evaluate({ conversations: analysis.conversations, captures: captureInfos(analysis), matrix, roles, captureSeconds: captureSeconds(analysis) });
  const report = buildReport(analysis, policy, matrix, "fuzz");
  // Rendering is part of the run: a report that cannot be serialised is a crash too.
  JSON.stringify(report);
  if (opts.render) {
    renderAll(report, matrix);
    const marked = evaluate({ conversations: analysis.conversations, captures: captureInfos(analysis), matrix, roles, captureSeconds: captureSeconds(analysis), namer: MARKING_NAMER });
    renderAll(redactReportWithMap(buildReport(analysis, marked, matrix, "fuzz")).report, matrix);
  }
  return report;
}
