/**
 * policy/'s public surface: what report, pipeline and cli may use. The frozen connection view
 * (view.ts), the matrix and its loading (matrix.ts), roles given and inferred (roles.ts,
 * infer.ts), the evaluation of every conversation against the matrix (evaluate.ts, check.ts) and
 * the namer that writes the findings' sentences (namer.ts). docs/findings.md, docs/matrix-format.md.
 */
export {
  SEVERITY_RANK,
  type ConversationStatus,
  type ConversationVerdict,
  type Finding,
  type FindingCode,
  type FixFirst,
  type Limit,
  type Severity,
} from "./check.js";
export { evaluate, type CaptureInfo, type CoverageEntry, type Evaluation } from "./evaluate.js";
export { CLOUD_NAME_SUFFIXES } from "./infer.js";
export { builtinMatrix, formatPorts, loadMatrixFile, roleNames, rowServerText, type Matrix, type MatrixRow } from "./matrix.js";
export { MARKING_NAMER, PLAIN_NAMER, replaceMarks, type MarkKind, type Namer } from "./namer.js";
export { loadRolesFile, parseRoleArgs, roleExpectation, RoleMap, STANDARD_ROLES, type RoleEntry } from "./roles.js";
export { connectionView, type AggregateInfo, type AggregateLevel, type ConnectionView, type EndpointView } from "./view.js";
