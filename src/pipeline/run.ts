/**
 * The pipeline, assembled once: files (or a live capture, or any other source of conversations)
 * → policy → report → rendered and written, with the exit code. `analyze` and `capture`
 * (src/cli/) parse their options and call these; docs/architecture-notes/pipeline.md has the
 * signatures for a new caller.
 *
 *   analyzeFiles(files, opts)        capture files → Analysis (captures + frozen conversations)
 *   reportOf(analysis, policy)       Analysis → Report: evaluate + buildReport
 *   finishReport(analysis, tail)     Analysis → report (+ evidence) written → exit code
 */
import path from "node:path";
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { CaptureOpenError, readCapture, type CaptureSummary } from "../capture/index.js";
import { compileFilter } from "../decode/filter.js";
import type { DecodedPacket } from "../decode/packet.js";
import { DEFAULT_FLOW_OPTIONS, type FlowTableOptions } from "../flow/index.js";
import { SEVERITY_RANK, type Severity } from "../policy/check.js";
import { evaluate } from "../policy/evaluate.js";
import { builtinMatrix, loadMatrixFile, roleNames, type Matrix } from "../policy/matrix.js";
import { MARKING_NAMER, PLAIN_NAMER, type Namer } from "../policy/namer.js";
import { loadRolesFile, parseRoleArgs, RoleMap } from "../policy/roles.js";
import type { ConnectionView } from "../policy/view.js";
import {
  addEvidence,
  buildReport,
  captureInfos,
  captureSeconds,
  redactReportWithMap,
  htmlPieces,
  jsonPieces,
  renderMarkdown,
  renderTable,
  type Analysis,
  type CaptureResult,
  type RedactionEntry,
  type Report,
  type ReportSection,
} from "../report/index.js";
import { CaptureAnalysis, RunBudget } from "./capture-analysis.js";
import { ShardedCapture, ShardPool } from "./sharded.js";
import { likelyServerPorts } from "./server-ports.js";
import { VERSION } from "./version.js";

// ---- the head: capture files → conversations ----

export interface AnalyzeOptions {
  flow?: Partial<FlowTableOptions>;
  /** A packet filter applied after decoding and before anything is counted (--filter). */
  filter?: (p: DecodedPacket) => boolean;
  onProgress?: (file: string, bytesRead: number, fileSize: number | null, packets: number) => void;
  /**
   * After a corrupt record or block length, look for the next plausible record and read on
   * (listed in the capture's errors with the offsets) instead of stopping. Default false: tshark
   * stops there, and the conformance test holds frame counts of damaged files to tshark's.
   */
  resync?: boolean;
  /** Aborting stops the reading (the current file is marked `interrupted`, later ones are not read). */
  signal?: AbortSignal;
  /**
   * Threads to analyze with (--threads): 1 (the default) keeps everything on this thread; N above
   * 1 shards the conversations over N-1 worker threads while this one reads and decodes
   * (src/pipeline/sharded.ts). The report is the same at every count.
   */
  threads?: number;
  /** Bytes of one batch of a shard's channel (tests vary it; the report does not depend on it). */
  batchBytes?: number;
  /** Bytes per read of a capture (ReadCaptureOptions.chunkSize; tests vary it; the report does not depend on it). */
  chunkSize?: number;
}

/** Analyze capture files one after another into one result. */
export async function analyzeFiles(files: string[], opts: AnalyzeOptions = {}): Promise<Analysis> {
  const flowOpts = { ...DEFAULT_FLOW_OPTIONS, ...opts.flow };
  // One budget for the whole run: the conversation limit, the aggregate cap and the byte budgets
  // hold across all files together, not per file.
  const budget = new RunBudget(flowOpts);
  const captures: CaptureResult[] = [];
  const conversations: ConnectionView[] = [];
  const threads = Math.max(1, Math.floor(opts.threads ?? 1));
  const pool = threads > 1 ? new ShardPool(threads - 1, flowOpts, opts.batchBytes) : null;
  let idBase = 0;
  try {
    for (let ci = 0; ci < files.length; ci++) {
      if (opts.signal?.aborted) break;
      const file = files[ci];
      const ca = pool !== null ? new ShardedCapture(ci, idBase, pool, opts.filter ?? null) : new CaptureAnalysis(ci, idBase, flowOpts, opts.filter ?? null, budget);
      let summary: CaptureSummary;
      try {
        summary = await readCapture(file, (pkt) => ca.packet(pkt), {
          ...(opts.chunkSize ? { chunkSize: opts.chunkSize } : {}),
          resync: opts.resync ?? false,
          signal: opts.signal,
          onProgress: opts.onProgress ? (read, size) => opts.onProgress!(file, read, size, ca.packets) : undefined,
        });
      } catch (e) {
        // Stopped before its first bytes came (a pipe with no writer yet): it and the rest are not read.
        if (e instanceof CaptureOpenError && e.reason === "stopped") break;
        throw e;
      }
      // Detection of what is left in the table can take seconds: signals are handled first.
      await turn();
      captures.push(await ca.finish(summary));
      for (const v of ca.conversations) conversations.push(v);
      idBase = ca.lastId;
    }
  } finally {
    if (pool !== null) await pool.close();
  }
  // Files a signal stopped the run before: the coverage says so (read-stopped), not only stderr.
  const notRead = files.slice(captures.length);
  return { captures, conversations, ...(notRead.length > 0 ? { notRead } : {}) };
}

// ---- the tail: conversations → policy → report → written ----

/** The matrix and roles the options ask for; throws MatrixError / RoleError (exit 2). */
export function policyInputs(o: { matrix?: string; role: string[]; roles?: string }): { matrix: Matrix; roles: RoleMap } {
  const matrix = o.matrix ? loadMatrixFile(o.matrix) : builtinMatrix();
  const known = roleNames(matrix);
  const entries = [...(o.roles ? loadRolesFile(o.roles, known) : []), ...parseRoleArgs(o.role, known)];
  return { matrix, roles: new RoleMap(entries) };
}

/** The namer the policy writes its sentences with: marks for --redact (and --redact-key), else plain values. */
export function namerFor(o: { redact?: boolean; redactKey?: string }): Namer {
  return o.redact || o.redactKey ? MARKING_NAMER : PLAIN_NAMER;
}

/** A --filter the packets went through: its text and the compiled test. */
export interface PolicyFilter {
  text: string;
  accepts: (p: DecodedPacket) => boolean;
}

/** What the policy judges by. */
export interface PolicyChoice {
  matrix: Matrix;
  /** The explicit roles (--role, --roles); the policy infers more into a new map. */
  roles: RoleMap;
  filter?: PolicyFilter | null;
  namer?: Namer;
}

/** Between long synchronous steps: a full collection when the heap is large (collectIfLarge), then the event loop runs (signal handlers, timers). */
function turn(): Promise<void> {
  collectIfLarge();
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Above this much heap in use, a step of the tail starts with a full collection (collectIfLarge).
 * 96 MiB: on mixed.pcap (17,015 conversations, 63–88 MiB live) the heap reached 201 MiB in use
 * before V8 collected by itself, for a 342–376 MiB peak RSS; collecting from 96 MiB takes two
 * full collections (60–115 ms each) and the peak to 268–284 MiB (docs/performance.md).
 */
const LARGE_HEAP = 96 * 1024 * 1024;
let fullGc: (() => void) | null | undefined;

/**
 * Between the long steps of a large run (a file read, the policy, the report record, writing),
 * a full collection: V8 lets its heap grow to a multiple of what survived its last one before it
 * collects again, and each step leaves the last one's garbage (the flow table, the views' inputs),
 * so the peak was that headroom over the live set (docs/performance.md, "The bound": 125–170 MiB
 * on the holes file three times). Below LARGE_HEAP nothing is done: a small capture pays
 * nothing. `gc` is exposed at run time (node:v8's flag, read through node:vm).
 */
function collectIfLarge(): void {
  if (getHeapStatistics().used_heap_size < LARGE_HEAP) return;
  if (fullGc === undefined) {
    try {
      setFlagsFromString("--expose-gc");
      fullGc = runInNewContext("gc") as () => void;
    } catch {
      fullGc = null;
    }
  }
  fullGc?.();
}

/** Conversations and captures → the report: evaluate against the matrix, then the documented record. */
export function reportOf(a: Analysis, p: PolicyChoice): Report {
  return buildReport(a, evaluatePolicy(a, p), p.matrix, VERSION, p.filter?.text ?? null);
}

/** Conversations and captures judged against the matrix. */
function evaluatePolicy(a: Analysis, p: PolicyChoice): ReturnType<typeof evaluate> {
  return evaluate({
    conversations: a.conversations,
    captures: captureInfos(a),
    notRead: a.notRead ?? [],
    matrix: p.matrix,
    roles: p.roles,
    captureSeconds: captureSeconds(a),
    filter: p.filter ?? null,
    namer: p.namer ?? PLAIN_NAMER,
  });
}

/**
 * The live status line's count: warnings and errors among the conversations so far, from ports,
 * roles and states (content checks need the detectors, which run as conversations leave), not
 * counting missing-expected (the capture is not over). `roles`: the explicit ones, copied.
 */
export function findingsSoFar(views: readonly ConnectionView[], matrix: Matrix, roles: RoleMap, seconds: number): number {
  const res = evaluate({ conversations: views, captures: [], matrix, roles: new RoleMap(roles.explicit), captureSeconds: seconds });
  return res.findings.filter((f) => f.code !== "missing-expected" && f.severity !== "info").length;
}

/** docs/findings.md: 3 when the capture cannot support a verdict (whatever --fail-on says), else 1 for findings at or above --fail-on, else 0. */
export const EXIT_INCONCLUSIVE = 3;

export type FailOn = "error" | "warning" | "info" | "none";

export function exitCodeFor(report: Report, failOn: FailOn): number {
  if (report.summary.verdict === "inconclusive") return EXIT_INCONCLUSIVE;
  if (failOn === "none") return 0;
  const bar = SEVERITY_RANK[failOn as Severity];
  return report.findings.some((f) => SEVERITY_RANK[f.severity] >= bar) ? 1 : 0;
}

export type Format = "table" | "json" | "markdown" | "html";

/** How the report is rendered (the cli works these out from the options and the terminal). */
export interface RenderChoice {
  format: Format;
  /** Table: the width to wrap to, colour, and the sections (all when absent). */
  width: number;
  color: boolean;
  sections?: readonly ReportSection[];
}

/** Where a report goes: an -o file opened (and checked) before the analysis (src/cli/output.ts's OutputFile), or standard output. */
export interface ReportDestination {
  write(text: string): void;
  commit(): void;
}

/** The --evidence pcapng: where, and what to read the frames back from (src/report/evidence.ts). */
export interface EvidenceChoice {
  file: string;
  sources: string[];
  /** How the sources are named in the file's comments, when not as given. */
  names?: string[];
  filter?: ((p: DecodedPacket) => boolean) | null;
  resync?: boolean;
  /** --force: replace a file of that name. */
  replace?: boolean;
}

export interface ReportTail extends PolicyChoice {
  render: RenderChoice;
  failOn: FailOn;
  /** --redact or --redact-key: the report is redacted before it is rendered (the policy's namer should be MARKING_NAMER). */
  redact?: boolean;
  /** --redact-key FILE, opened (and checked) before the analysis as -o is: the pseudonym → original table, written apart from the report. */
  redactKey?: ReportDestination | null;
  /** The -o name as given (the redaction key and the evidence file name it), or null for standard output. */
  reportName: string | null;
  out: ReportDestination | null;
  evidence?: EvidenceChoice | null;
  /** After the evidence was written (error null) or not (the sentence why). */
  afterEvidence?: (error: string | null) => void;
  /** With the report as it will be written: the caller's notes on standard error. */
  beforeWrite?: (report: Report) => void;
  /** The run did not do its job (capture broke off, evidence not written): exit 2 whatever the findings. */
  failed?: boolean;
  quiet?: boolean;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

/**
 * The tail of every report command: the policy judges the conversations, the report is built,
 * the --evidence file written, then the report rendered and written. Returns the exit code (0,
 * 1 or 3 from the findings and --fail-on; 2 when `failed` or the evidence could not be written).
 * Throws OutputError (exit 2) when the -o file cannot be written; it is then left as it was.
 */
export async function finishReport(a: Analysis, t: ReportTail): Promise<number> {
  const stderr = t.stderr ?? process.stderr;
  // Between the tail's long steps the event loop turns, so a Ctrl-C or SIGTERM that comes while
  // the report is made is handled then (the CLI's second signal ends the run) instead of waiting
  // for the end or finding no handler.
  await turn();
  const policy = evaluatePolicy(a, t);
  await turn();
  let report = buildReport(a, policy, t.matrix, VERSION, t.filter?.text ?? null);
  await turn();
  let evidenceError: string | null = null;
  if (t.evidence) {
    const ev = t.evidence;
    const r = await addEvidence(report, ev.file, {
      sources: ev.sources, ...(ev.names ? { names: ev.names } : {}), reportFile: t.reportName, ...(ev.filter !== undefined ? { filter: ev.filter } : {}),
      ...(ev.resync !== undefined ? { resync: ev.resync } : {}), application: `phoenix-netcheck ${VERSION}`, redact: t.redact, quiet: t.quiet, stderr, replace: ev.replace === true,
    });
    report = r.report;
    evidenceError = r.error;
    t.afterEvidence?.(r.error);
  }
  t.beforeWrite?.(report);
  return writeReport(report, t, { code: t.failed || evidenceError !== null ? 2 : undefined });
}

/**
 * Render and write a report; returns the exit code (the findings' one, or `code`). Throws
 * OutputError (exit 2) when the -o file cannot be written; the file is then left as it was.
 */
export function writeReport(report: Report, t: Pick<ReportTail, "matrix" | "render" | "failOn" | "redact" | "redactKey" | "reportName" | "out" | "stdout">, o: { code?: number } = {}): number {
  const stdout = t.stdout ?? process.stdout;
  let shown = report;
  if (t.redact || t.redactKey) {
    const { report: red, map } = redactReportWithMap(report);
    shown = red;
    if (t.redactKey) writeRedactionKey(t.redactKey, map, t.reportName);
    collectIfLarge();
  }
  const rows = t.matrix.rows;
  let text: string | Iterable<string>;
  switch (t.render.format) {
    case "json":
      // Written as it is made (a large report is never one string).
      text = jsonPieces(shown);
      break;
    case "markdown":
      text = renderMarkdown(shown, rows);
      break;
    case "html":
      // Written a piece at a time, as the JSON is (the conversations' rows a slice at a time).
      text = htmlPieces(shown, { matrixRows: rows });
      break;
    default:
      text = renderTable(shown, { width: t.render.width, color: t.render.color, sections: t.render.sections }, rows);
  }
  const code = o.code ?? exitCodeFor(report, t.failOn);
  const pieces = typeof text === "string" ? [text] : text;
  if (t.out !== null) {
    for (const piece of pieces) t.out.write(piece);
    t.out.commit();
  } else {
    // A reader that closes the pipe early (`| head`) ends the process from main.ts's EPIPE
    // handler, which exits with process.exitCode: set it first, so the findings' code is kept.
    if (stdout === process.stdout) process.exitCode = code;
    for (const piece of pieces) stdout.write(piece);
  }
  return code;
}

/** The redaction key file: JSON, into the destination the CLI opened (a temporary file moved under FILE, readable by its owner only). */
export function writeRedactionKey(dest: ReportDestination, map: readonly RedactionEntry[], report: string | null): void {
  const key = {
    schema: "phoenix-netcheck.redaction-key/v1",
    note: "The originals behind the pseudonyms of one redacted report. Keep this file; never attach it to the ticket.",
    report: report === null ? null : path.basename(report),
    entries: map.map((e) => ({ pseudonym: e.pseudonym, kind: e.kind, original: e.original })),
  };
  dest.write(JSON.stringify(key, null, 2) + "\n");
  dest.commit();
}

// ---- the whole pipeline for a list of files ----

export interface AnalyzeInputs {
  matrix?: string;
  role?: string[];
  roles?: string;
  reassemblyBytes?: number;
  maxConversations?: number;
  filter?: string;
  resync?: boolean;
  onProgress?: { update(file: string, read: number, size: number | null, packets: number): void; done(): void };
  /** Aborting stops the reading; the report covers what was read (captures[].interrupted). */
  signal?: AbortSignal;
  /** Write the policy's sentences with marks, for redaction (namerFor). */
  redact?: boolean;
  /** How each file is named in the report, when not as given (the goldens show repository-relative paths). */
  labels?: string[];
  /** Worker threads (AnalyzeOptions.threads); default 1. */
  threads?: number;
  /** A shard channel's batch size (AnalyzeOptions.batchBytes). */
  batchBytes?: number;
  /** Bytes per read of a capture (AnalyzeOptions.chunkSize). */
  chunkSize?: number;
}

/**
 * Files → Analysis, with the options' flow limits, filter and labels; the policy inputs are the
 * caller's. `matrix`: the one the run checks against, whose server ports orient conversations
 * (server-ports.ts); the built-in one when not given.
 */
export async function analyzeInputs(files: string[], o: AnalyzeInputs, filter: PolicyFilter | null, matrix?: Matrix): Promise<Analysis> {
  const progress = o.onProgress;
  const analysis = await analyzeFiles(files, {
    flow: {
      likelyServerPorts: likelyServerPorts(matrix),
      ...(o.reassemblyBytes ? { reassemblyCap: o.reassemblyBytes } : {}),
      ...(o.maxConversations ? { maxConversations: o.maxConversations } : {}),
    },
    filter: filter?.accepts,
    resync: o.resync ?? false,
    signal: o.signal,
    threads: o.threads ?? 1,
    ...(o.batchBytes ? { batchBytes: o.batchBytes } : {}),
    ...(o.chunkSize ? { chunkSize: o.chunkSize } : {}),
    onProgress: progress ? (file, read, size, packets) => progress.update(file, read, size, packets) : undefined,
  });
  progress?.done();
  o.labels?.forEach((label, i) => {
    if (analysis.captures[i]) analysis.captures[i].summary.file = label;
  });
  return analysis;
}

/** The --filter text compiled, or null. */
export function policyFilter(text: string | undefined): PolicyFilter | null {
  return text ? { text, accepts: compileFilter(text) } : null;
}

/** The whole pipeline for a list of files: read, decode, rebuild, detect, check, report. */
export async function reportFor(files: string[], o: AnalyzeInputs = {}): Promise<Report> {
  const { matrix, roles } = policyInputs({ matrix: o.matrix, role: o.role ?? [], roles: o.roles });
  const filter = policyFilter(o.filter);
  const analysis = await analyzeInputs(files, o, filter, matrix);
  return reportOf(analysis, { matrix, roles, filter, namer: namerFor(o) });
}
