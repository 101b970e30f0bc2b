/**
 * The pipeline's public surface: what a command (src/cli/) or a test calls. It assembles the
 * folders before it (capture → decode → flow → detect → policy → report); nothing before it
 * imports it (docs/architecture-notes/pipeline.md).
 */
export { CaptureAnalysis, RunBudget } from "./capture-analysis.js";
export { MAX_AGGREGATES } from "./aggregate.js";
export { MAX_LISTED_ERRORS } from "./decode-counts.js";
export { likelyServerPorts } from "./server-ports.js";
export {
  analyzeFiles,
  analyzeInputs,
  EXIT_INCONCLUSIVE,
  exitCodeFor,
  finishReport,
  findingsSoFar,
  namerFor,
  policyFilter,
  policyInputs,
  reportFor,
  reportOf,
  writeRedactionKey,
  writeReport,
  type AnalyzeInputs,
  type AnalyzeOptions,
  type EvidenceChoice,
  type FailOn,
  type Format,
  type PolicyChoice,
  type PolicyFilter,
  type RenderChoice,
  type ReportDestination,
  type ReportTail,
} from "./run.js";
export { VERSION } from "./version.js";
export type { Analysis, CaptureResult } from "../report/record.js";
