/**
 * `phoenix-netcheck analyze` and the options every report command shares: this file parses them
 * and calls the pipeline (src/pipeline/run.ts), which judges, builds, renders and writes.
 */
import { statSync } from "node:fs";
import path from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { LiveCaptureError } from "../capture/index.js";
import { checkEvidenceDestination, checkEvidenceSources, FIRST_SCREEN_SECTIONS, REPORT_SECTIONS, terminalSafe, type Analysis, type ReportSection } from "../report/index.js";
import { analyzeInputs, finishReport, namerFor, policyFilter, policyInputs, type FailOn, type Format, type RenderChoice, type ReportTail } from "../pipeline/run.js";
import { CAPTURE_EXTENSIONS, openOutput, REPORT_EXTENSIONS, type OutputFile } from "./output.js";
import { Progress } from "./progress.js";

export const FORMATS = ["table", "json", "markdown", "html"] as const satisfies readonly Format[];
export type { Format };

/** The options every report command (analyze, capture) shares. */
export interface ReportCliOptions {
  format?: Format;
  output?: string;
  matrix?: string;
  role: string[];
  roles?: string;
  failOn: FailOn;
  redact?: boolean;
  /** --redact-key FILE: the pseudonym → original table, written apart from the report (implies --redact). */
  redactKey?: string;
  quiet?: boolean;
  /** false with --no-progress. */
  progress?: boolean;
  color: "auto" | "always" | "never";
  reassemblyBytes: number;
  /** Replace an existing -o (and -w) file. */
  force?: boolean;
  /** Every section in the table report (default: the first screen only). */
  verbose?: boolean;
  /** The table report's sections, by name (REPORT_SECTIONS). */
  sections?: ReportSection[];
  /** --evidence FILE.pcapng (src/report/evidence.ts). */
  evidence?: string;
}

export interface AnalyzeCliOptions extends ReportCliOptions {
  filter?: string;
  maxConversations?: number;
  resync?: boolean;
  threads?: number;
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
    .option("-o, --output <file>", "write the report to FILE (.json, .md, .html, .txt choose the format; - is standard output); never over an input, nor over an existing file without --force")
    .option("--force", "replace the -o, --evidence and --redact-key files (and capture's -w file) if they exist")
    .option("--matrix <file>", "a matrix file (JSON or YAML) that extends or replaces the built-in Phoenix matrix (docs/matrix-format.md)")
    .option("--role <name=address>", "give a host's role, e.g. proxy=10.0.0.5 or esxi=10.0.1.0/24 (repeatable; docs/roles.md)", collect, [])
    .option("--roles <file>", 'roles file (JSON or YAML), e.g. {"roles": {"proxy": ["10.0.0.5"]}}')
    .addOption(new Option("--fail-on <severity>", "exit 1 when a finding is at least this severe").choices(["error", "warning", "info", "none"]).default("error"))
    .option("--redact", "replace addresses, MAC addresses, host names, SNI, certificate names, URIs, banners and other strings from the wire with stable pseudonyms (docs/redaction.md)")
    .option("--redact-key <file>", "with --redact (implied): write the pseudonym → original table to FILE (JSON), for you to keep; never attach it to the ticket")
    .option("-q, --quiet", "print nothing but the report (no progress, no notes on standard error)")
    .option("--no-progress", "no progress bar on standard error")
    .addOption(new Option("--color <when>", "colour in the table report (NO_COLOR is honoured with auto)").choices(["auto", "always", "never"]).default("auto"))
    .option("-v, --verbose", "table report: every section (roles, matrix rows, other conversations, captures), not just the verdict, what to fix first, the limits and the findings")
    .option("--sections <list>", `table report: these sections, comma-separated (${REPORT_SECTIONS.join(", ")})`, sectionList)
    .option("--reassembly-bytes <n>", "bytes of each TCP direction kept for protocol detection", positiveInt, 16384)
    .option("--evidence <file.pcapng>", "also write the frames behind every finding (and one conforming example per matrix row) to FILE.pcapng, each with a comment naming finding, row, conversation and source frame; opens in Wireshark (docs/reports.md)");
}

function sectionList(v: string): ReportSection[] {
  const names = v.split(",").map((x) => x.trim()).filter(Boolean);
  const bad = names.filter((n) => !(REPORT_SECTIONS as readonly string[]).includes(n));
  if (bad.length || names.length === 0) throw new InvalidArgumentError(`expected section names from ${REPORT_SECTIONS.join(", ")}, got "${v}"`);
  return names as ReportSection[];
}

/**
 * The terminal width: COLUMNS when set (as `ls` honours it), else the terminal's, else 120 in a
 * pipe; a width of 0 (some terminals report it) falls back to 80.
 */
export function tableWidth(toTerminal: boolean, columns: number | undefined, env: NodeJS.ProcessEnv): number {
  const fromEnv = Number(env.COLUMNS);
  if (fromEnv > 0) return fromEnv;
  if (toTerminal) return columns && columns > 0 ? columns : 80;
  return 120;
}

/** --format, else the output file's extension, else table on a terminal and JSON in a pipe. */
export function resolveFormat(o: { format?: Format; output?: string }, stdoutIsTty: boolean): Format {
  if (o.format) return o.format;
  if (toFile(o)) return REPORT_EXTENSIONS[path.extname(o.output!).toLowerCase()] ?? "json";
  return stdoutIsTty ? "table" : "json";
}

/** True when -o names a file (not absent, not "-"). */
function toFile(o: { output?: string }): boolean {
  return o.output !== undefined && o.output !== "-";
}

/**
 * Checks -o before anything is read and creates its temporary file (output.ts); null when the
 * report goes to standard output. `inputs` are the files read, `others` the other files written.
 */
export function openReportOutput(o: { output?: string; format?: Format; force?: boolean }, inputs: readonly string[], others: readonly string[] = []): OutputFile | null {
  if (o.output === undefined) return null;
  return openOutput(o.output, {
    what: "report",
    flag: "-o",
    extensions: o.format ? null : Object.keys(REPORT_EXTENSIONS),
    force: o.force === true,
    inputs,
    others,
  });
}

/**
 * A live command's two destinations — the pcapng of the packets it sends or sees (`capture -w`,
 * `probe --evidence`) and the report's -o — checked and opened before anything is captured or
 * sent, then `run` with both; whatever `run` did not commit is discarded (never half-written).
 */
export async function withLiveOutputs(
  o: { output?: string; format?: Format; force?: boolean; roles?: string; matrix?: string },
  pcap: { file: string | undefined; flag: string; dash: string },
  run: (pcapOut: OutputFile | null, out: OutputFile | null) => Promise<number>,
): Promise<number> {
  let pcapOut: OutputFile | null = null;
  let out: OutputFile | null = null;
  try {
    if (pcap.file !== undefined) {
      if (pcap.file === "-") throw new LiveCaptureError("options", pcap.dash);
      pcapOut = openOutput(pcap.file, { what: "evidence file", flag: pcap.flag, extensions: CAPTURE_EXTENSIONS, force: o.force === true, inputs: policyFiles(o) });
    }
    out = openReportOutput(o, policyFiles(o), pcap.file !== undefined ? [pcap.file] : []);
    return await run(pcapOut, out);
  } finally {
    pcapOut?.discard();
    out?.discard();
  }
}

/**
 * How the report is rendered, from the options and where it goes: the format (resolveFormat),
 * and for the table the width (tableWidth), colour (--color; NO_COLOR, no-color.org: any
 * non-empty value turns colour off unless asked for) and sections (--sections, -v).
 */
export function renderChoice(
  o: Pick<ReportCliOptions, "format" | "output" | "color" | "sections" | "verbose">,
  out: OutputFile | null,
  stdout: { isTTY?: boolean; columns?: number } = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): RenderChoice {
  const toTerminal = out === null && stdout.isTTY === true;
  return {
    format: resolveFormat(o, toTerminal),
    width: tableWidth(toTerminal, stdout.columns, env),
    color: o.color === "always" || (o.color === "auto" && toTerminal && !env.NO_COLOR),
    sections: o.sections ?? (o.verbose ? undefined : FIRST_SCREEN_SECTIONS),
  };
}

/** The parts of the pipeline's tail the report options decide. */
export function tailOptions(o: ReportCliOptions, out: OutputFile | null, stdout?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }, keyOut: OutputFile | null = null): Pick<ReportTail, "render" | "failOn" | "redact" | "redactKey" | "reportName" | "out" | "quiet" | "stdout"> {
  return {
    render: renderChoice(o, out, stdout),
    failOn: o.failOn,
    redact: o.redact || keyOut !== null,
    redactKey: keyOut,
    reportName: o.output ?? null,
    out,
    quiet: o.quiet,
    ...(stdout ? { stdout } : {}),
  };
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

/** The files a run reads besides its captures (--roles, --matrix): inputs too, never written over. */
export function policyFiles(o: { roles?: string; matrix?: string }): string[] {
  return [o.roles, o.matrix].filter((f): f is string => f !== undefined && f !== "");
}

/**
 * Checks --redact-key before anything is read and creates its temporary file (output.ts, owner
 * only), as -o: refused (exit 2) when it is one of the inputs or the report itself (the same path,
 * or the same file under another name: device and inode), when it exists without --force, or when
 * its directory takes no new file. Null without --redact-key.
 */
export function openRedactKey(key: string | undefined, inputs: readonly string[], output: string | undefined, force = false, others: readonly string[] = []): OutputFile | null {
  if (key === undefined) return null;
  if (key === "" || key === "-") throw new Error(`--redact-key needs a file name (the key must not go to standard output with the report)`);
  const id = fileId(key);
  for (const [what, p] of [...inputs.map((f) => ["an input", f] as const), ...(output !== undefined ? [["the report", output] as const] : [])]) {
    if (path.resolve(p) === path.resolve(key) || (id !== null && fileId(p) === id)) {
      throw new Error(`--redact-key ${key} is ${what} (${p}): the key must be a file of its own`);
    }
  }
  // As for -o and -w (src/cli/output.ts): an existing file is replaced only when asked to.
  if (id !== null && !force) throw new Error(`--redact-key ${key} exists: give --force to replace it, or another name`);
  return openOutput(key, { what: "redaction key", flag: "--redact-key", extensions: null, force, inputs, others, mode: 0o600 });
}

/** `phoenix-netcheck analyze`: returns the process exit code. */
export async function runAnalyze(files: string[], o: AnalyzeCliOptions): Promise<number> {
  const inputs = [...files, ...policyFiles(o)];
  if (o.evidence) {
    checkEvidenceDestination(o.evidence, inputs, o.output ?? null, o.force === true);
    checkEvidenceSources(files);
  }
  const progress = new Progress(process.stderr, { enabled: !o.quiet && o.progress !== false && process.stderr.isTTY === true });
  // The first Ctrl-C or SIGTERM stops the reading and the report of what was read follows; a
  // second one ends the process at once (the temporary -o file is removed on exit).
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (ac.signal.aborted) {
      process.stderr.write(`\nphoenix-netcheck: ${sig === "SIGINT" ? "interrupted" : "terminated"} again: stopping without a report\n`);
      process.exit(sig === "SIGINT" ? 130 : 143);
    }
    progress.done();
    if (!o.quiet) process.stderr.write(`phoenix-netcheck: ${sig === "SIGINT" ? "interrupted" : "terminated"}: reading stops, the report of what was read follows (again to stop without it)\n`);
    ac.abort(sig);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let out: OutputFile | null = null;
  let keyOut: OutputFile | null = null;
  let analysis: Analysis;
  let t: ReportTail;
  try {
    // The destinations first: a name that cannot be written must not cost the analysis.
    keyOut = openRedactKey(o.redactKey, inputs, o.output, o.force === true, o.evidence ? [o.evidence] : []);
    out = openReportOutput(o, inputs);
    const { matrix, roles } = policyInputs({ matrix: o.matrix, role: o.role ?? [], roles: o.roles });
    const filter = policyFilter(o.filter);
    analysis = await analyzeInputs(files, { ...o, onProgress: progress, signal: ac.signal }, filter, matrix);
    t = { ...tailOptions(o, out, undefined, keyOut), matrix, roles, filter, namer: namerFor(o) };
  } catch (e) {
    out?.discard();
    keyOut?.discard();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    throw e;
  }
  // The handlers stay while the report is made (finishReport lets signals in between its steps):
  // without them a Ctrl-C there would end the process by the default action, leaving the
  // temporary -o file behind and saying nothing.
  try {
    // --evidence: the frames behind the findings, read again from the inputs (not after Ctrl-C: the
    // report is partial and the user asked to stop).
    if (o.evidence && ac.signal.aborted && !o.quiet) process.stderr.write(`phoenix-netcheck: no evidence file written: the analysis was interrupted\n`);
    const code = await finishReport(analysis, {
      ...t,
      evidence: o.evidence && !ac.signal.aborted ? { file: o.evidence, sources: files, filter: t.filter?.accepts ?? null, resync: o.resync, replace: o.force === true } : null,
      beforeWrite: (report) => {
        if (o.quiet) return;
        for (const c of report.captures) {
          for (const e of c.errors.filter((x) => x.fatal)) process.stderr.write(`phoenix-netcheck: ${terminalSafe(c.file)}: ${terminalSafe(e.message)} (the report covers what was read before)\n`);
          if (c.interrupted) process.stderr.write(`phoenix-netcheck: ${terminalSafe(c.file)}: read up to frame ${c.frames} when stopped; the report is partial\n`);
        }
        const notRead = files.slice(report.captures.length);
        if (notRead.length > 0) process.stderr.write(`phoenix-netcheck: not read: ${notRead.map(terminalSafe).join(", ")}\n`);
      },
    });
    if (ac.signal.aborted) {
      // A read left waiting on a pipe or FIFO would keep the process alive: the report is out, end.
      setImmediate(() => process.exit(typeof process.exitCode === "number" ? process.exitCode : code));
    }
    return code;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
