/**
 * The report folder's public surface: the documented record and how it is built, the renderers
 * (table, Markdown, JSON, HTML), --redact, --evidence, the output escapers and the section names.
 * Code outside src/report/ imports from here; the files behind it (view/, html/, redact/) are the
 * folder's own. docs/architecture-notes/report.md describes the layout.
 */
export { buildReport, captureInfos, captureRecord, captureSeconds, conversationRecord } from "./record-build.js";
export {
  REPORT_SCHEMA,
  type AggregateRecord,
  type Analysis,
  type CaptureRecord,
  type CaptureResult,
  type ConversationRecord,
  type EndpointRecord,
  type EvidenceRecord,
  type Report,
  type ReportFinding,
  type RoleRecord,
  type Summary,
} from "./record.js";
export { REDACTION_FIELDS, redactionOf, type Handling } from "./record-redaction.js";
export { REDACTION_NOTE, redactReport, redactReportWithMap, unmarkReport, type RedactionEntry } from "./redact.js";
export { columnWidths, renderTable, type TableOptions } from "./table.js";
export { renderMarkdown } from "./markdown.js";
export { jsonPieces, renderJson } from "./json.js";
export { htmlPieces, jsonForScript, renderHtml, type HtmlOptions } from "./html/page.js";
export {
  EVIDENCE_CONFORMING,
  EVIDENCE_CONVERSATIONS_PER_FINDING,
  EVIDENCE_FRAMES_PER_CONVERSATION,
  EVIDENCE_PINNED_FRAMES,
  EVIDENCE_TAIL_FRAMES,
  addEvidence,
  evidenceComment,
  withEvidence,
  writeEvidence,
  type EvidenceOptions,
  type EvidenceResult,
} from "./evidence.js";
export { EvidenceError, checkEvidenceDestination, checkEvidenceSources, liveEvidenceSource, placeFile, type LiveEvidenceSource } from "./evidence-destination.js";
export { displayWidth, escapeHtml, escapeMarkdown, jsonSafe, markdownCode, terminalSafe, wrapLine, wrapText } from "./sanitize.js";
export { FIRST_SCREEN_SECTIONS, REPORT_SECTIONS, type ReportSection } from "./view/sections.js";
export { evidenceFramesText } from "./view/findings.js";
