import { renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { analyzeFiles } from "../analyze.js";
import { compileFilter } from "../decode/filter.js";
import { SEVERITY_RANK, type Severity } from "../policy/check.js";
import { evaluate } from "../policy/evaluate.js";
import { builtinMatrix, loadMatrixFile, roleNames, type Matrix } from "../policy/matrix.js";
import { MARKING_NAMER, PLAIN_NAMER, type Namer } from "../policy/namer.js";
import { loadRolesFile, parseRoleArgs, RoleMap } from "../policy/roles.js";
import { renderHtml } from "../report/html.js";
import { renderJson } from "../report/json.js";
import { renderMarkdown } from "../report/markdown.js";
import { buildReport, captureInfos, captureSeconds, type Report } from "../report/record.js";
import { type RedactionEntry, redactReportWithMap } from "../report/redact.js";
import { renderTable } from "../report/table.js";
import { Progress } from "./progress.js";
import { VERSION } from "./version.js";

export const FORMATS = ["table", "json", "markdown", "html"] as const;
export type Format = (typeof FORMATS)[number];

/** The options every report command (analyze, capture) shares. */
export interface ReportCliOptions {
  format?: Format;
  output?: string;
  matrix?: string;
  role: string[];
  roles?: string;
  failOn: "error" | "warning" | "info" | "none";
  redact?: boolean;
  /** --redact-key FILE: the pseudonym → original table, written apart from the report (implies --redact). */
  redactKey?: string;
  quiet?: boolean;
  /** false with --no-progress. */
  progress?: boolean;
  color: "auto" | "always" | "never";
  reassemblyBytes: number;
}

export interface AnalyzeCliOptions extends ReportCliOptions {
  filter?: string;
  maxConversations?: number;
  resync?: boolean;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

export function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive whole number, got "${v}"`);
  return n;
}

/** Adds the report options to a command (analyze, capture). */
export function addReportOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("--format <format>", "report format (default: table on a terminal, else json; with -o, from the file's extension)").choices([...FORMATS]),
    )
    .option("-o, --output <file>", "write the report to FILE (.json, .md, .html, .txt choose the format)")
    .option("--matrix <file>", "a matrix file (JSON or YAML) that extends or replaces the built-in Phoenix matrix (docs/matrix-format.md)")
    .option("--role <name=address>", "give a host's role, e.g. proxy=10.0.0.5 or esxi=10.0.1.0/24 (repeatable; docs/roles.md)", collect, [])
    .option("--roles <file>", 'roles file (JSON or YAML), e.g. {"roles": {"proxy": ["10.0.0.5"]}}')
    .addOption(new Option("--fail-on <severity>", "exit 1 when a finding is at least this severe").choices(["error", "warning", "info", "none"]).default("error"))
    .option("--redact", "replace addresses, MAC addresses, host names, SNI, certificate names, URIs, banners and other strings from the wire with stable pseudonyms (docs/redaction.md)")
    .option("--redact-key <file>", "with --redact (implied): write the pseudonym → original table to FILE (JSON), for you to keep; never attach it to the ticket")
    .option("-q, --quiet", "print nothing but the report (no progress, no notes on standard error)")
    .option("--no-progress", "no progress bar on standard error")
    .addOption(new Option("--color <when>", "colour in the table report (NO_COLOR is honoured with auto)").choices(["auto", "always", "never"]).default("auto"))
    .option("--reassembly-bytes <n>", "bytes of each TCP direction kept for protocol detection", positiveInt, 16384);
}

/** The matrix and roles the options ask for; throws MatrixError / RoleError (exit 2). */
export function policyInputs(o: { matrix?: string; role: string[]; roles?: string }): { matrix: Matrix; roles: RoleMap } {
  const matrix = o.matrix ? loadMatrixFile(o.matrix) : builtinMatrix();
  const known = roleNames(matrix);
  const entries = [...(o.roles ? loadRolesFile(o.roles, known) : []), ...parseRoleArgs(o.role, known)];
  return { matrix, roles: new RoleMap(entries) };
}

/** 0 pass; 1 a finding at or above --fail-on; the caller maps errors to 2. */
/** docs/findings.md: 3 when the capture cannot support a verdict (whatever --fail-on says), else 1 for findings at or above --fail-on, else 0. */
export const EXIT_INCONCLUSIVE = 3;

export function exitCodeFor(report: Report, failOn: ReportCliOptions["failOn"]): number {
  if (report.summary.verdict === "inconclusive") return EXIT_INCONCLUSIVE;
  if (failOn === "none") return 0;
  const bar = SEVERITY_RANK[failOn as Severity];
  return report.findings.some((f) => SEVERITY_RANK[f.severity] >= bar) ? 1 : 0;
}

const EXTENSIONS: Record<string, Format> = {
  ".json": "json", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html", ".txt": "table",
};

/** --format, else the output file's extension, else table on a terminal and JSON in a pipe. */
export function resolveFormat(o: { format?: Format; output?: string }, stdoutIsTty: boolean): Format {
  if (o.format) return o.format;
  if (o.output) return EXTENSIONS[path.extname(o.output).toLowerCase()] ?? "json";
  return stdoutIsTty ? "table" : "json";
}

export interface WriteIo {
  stdout?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env?: NodeJS.ProcessEnv;
}

/** Render and write a report as the options say; returns the exit code (0 or 1). */
export function writeReport(report: Report, matrix: Matrix, o: ReportCliOptions, io: WriteIo = {}): number {
  const stdout = io.stdout ?? process.stdout;
  const env = io.env ?? process.env;
  const toTerminal = !o.output && stdout.isTTY === true;
  const format = resolveFormat(o, toTerminal);
  let shown = report;
  if (o.redact || o.redactKey) {
    const { report: red, map } = redactReportWithMap(report);
    shown = red;
    if (o.redactKey) writeRedactionKey(o.redactKey, map, o.output ?? null);
  }
  let text: string;
  switch (format) {
    case "json":
      text = renderJson(shown);
      break;
    case "markdown":
      text = renderMarkdown(shown, matrix.rows);
      break;
    case "html":
      text = renderHtml(shown, { matrixRows: matrix.rows });
      break;
    default: {
      // NO_COLOR (no-color.org): any non-empty value turns colour off unless asked for.
      const color = o.color === "always" || (o.color === "auto" && toTerminal && !env.NO_COLOR);
      const width = toTerminal ? (stdout.columns ?? 80) : Number(env.COLUMNS) > 0 ? Number(env.COLUMNS) : 120;
      text = renderTable(shown, { width, color }, matrix.rows);
    }
  }
  if (o.output) writeFileSync(o.output, text);
  else stdout.write(text);
  return exitCodeFor(report, o.failOn);
}

/** The namer the policy writes its sentences with: marks for --redact (and --redact-key), else plain values. */
export function namerFor(o: { redact?: boolean; redactKey?: string }): Namer {
  return o.redact || o.redactKey ? MARKING_NAMER : PLAIN_NAMER;
}

/** Device and inode of an existing file, or null. */
function fileId(p: string): string | null {
  try {
    const s = statSync(p);
    return `${s.dev}:${s.ino}`;
  } catch {
    return null;
  }
}

/**
 * Refuse (exit 2, before anything is read) a --redact-key path that is one of the inputs or the
 * report itself: the same path, or the same file under another name (device and inode).
 */
export function checkRedactKeyPath(key: string | undefined, inputs: readonly string[], output: string | undefined): void {
  if (key === undefined) return;
  if (key === "" || key === "-") throw new Error(`--redact-key needs a file name (the key must not go to standard output with the report)`);
  const id = fileId(key);
  for (const [what, p] of [...inputs.map((f) => ["an input", f] as const), ...(output !== undefined ? [["the report", output] as const] : [])]) {
    if (path.resolve(p) === path.resolve(key) || (id !== null && fileId(p) === id)) {
      throw new Error(`--redact-key ${key} is ${what} (${p}): the key must be a file of its own`);
    }
  }
}

/** The redaction key file: JSON, written beside and then renamed over FILE, readable by its owner only. */
export function writeRedactionKey(file: string, map: readonly RedactionEntry[], report: string | null): void {
  const key = {
    schema: "phoenix-netcheck.redaction-key/v1",
    note: "The originals behind the pseudonyms of one redacted report. Keep this file; never attach it to the ticket.",
    report: report === null ? null : path.basename(report),
    entries: map.map((e) => ({ pseudonym: e.pseudonym, kind: e.kind, original: e.original })),
  };
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, JSON.stringify(key, null, 2) + "\n", { mode: 0o600, flag: "wx" });
    renameSync(tmp, file);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
    throw e;
  }
}

/** The whole pipeline for a list of files: read, decode, rebuild, detect, check, report. */
export async function reportFor(
  files: string[],
  o: AnalyzeInputs = {},
): Promise<Report> {
  return (await analyzeToReport(files, o)).report;
}

export interface AnalyzeInputs {
  matrix?: string;
  role?: string[];
  roles?: string;
  reassemblyBytes?: number;
  maxConversations?: number;
  filter?: string;
  resync?: boolean;
  onProgress?: Progress;
  /** Write the policy's sentences with marks, for redaction (namerFor). */
  redact?: boolean;
}

async function analyzeToReport(files: string[], o: AnalyzeInputs): Promise<{ report: Report; matrix: Matrix }> {
  const { matrix, roles } = policyInputs({ matrix: o.matrix, role: o.role ?? [], roles: o.roles });
  const filter = o.filter ? compileFilter(o.filter) : undefined;
  const progress = o.onProgress;
  const analysis = await analyzeFiles(files, {
    flow: {
      ...(o.reassemblyBytes ? { reassemblyCap: o.reassemblyBytes } : {}),
      ...(o.maxConversations ? { maxConversations: o.maxConversations } : {}),
    },
    filter,
    resync: o.resync ?? false,
    onProgress: progress ? (file, read, size, packets) => progress.update(file, read, size, packets) : undefined,
  });
  progress?.done();
  const policy = evaluate({
    conversations: analysis.conversations,
    captures: captureInfos(analysis),
    matrix,
    roles,
    captureSeconds: captureSeconds(analysis),
    filter: filter && o.filter ? { text: o.filter, accepts: filter } : null,
    namer: namerFor(o),
  });
  return { report: buildReport(analysis, policy, matrix, VERSION, o.filter ?? null), matrix };
}

/** `phoenix-netcheck analyze`: returns the process exit code. */
export async function runAnalyze(files: string[], o: AnalyzeCliOptions): Promise<number> {
  checkRedactKeyPath(o.redactKey, files, o.output);
  const progress = new Progress(process.stderr, { enabled: !o.quiet && o.progress !== false && process.stderr.isTTY === true });
  const { report, matrix } = await analyzeToReport(files, { ...o, redact: o.redact || o.redactKey !== undefined, onProgress: progress });
  if (!o.quiet) {
    for (const c of report.captures) {
      for (const e of c.errors.filter((x) => x.fatal)) process.stderr.write(`phoenix-netcheck: ${c.file}: ${e.message} (the report covers what was read before)\n`);
    }
  }
  return writeReport(report, matrix, o);
}
