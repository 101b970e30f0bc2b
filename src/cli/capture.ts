/**
 * `phoenix-netcheck capture`: capture live on an interface, analyze as the packets come, write the
 * evidence pcapng (-w), and print the same report as `analyze` when the capture stops (Ctrl-C,
 * SIGTERM, --duration or --count). docs/live-capture.md.
 */
import type { Command } from "commander";
import { InvalidArgumentError, Option } from "commander";
import {
  captureLive,
  DEFAULT_BUFFER_SIZE,
  LiveCaptureError,
  listInterfaces,
  parseDuration,
  parseSize,
  type EngineChoice,
  type InterfaceInfo,
  type LiveCaptureInfo,
  type LiveProgress,
  type LiveSummary,
} from "../capture/index.js";
import { DEFAULT_FLOW_OPTIONS } from "../flow/index.js";
import type { Matrix, RoleMap } from "../policy/index.js";
import { jsonSafe, liveEvidenceSource, terminalSafe, type LiveEvidenceSource } from "../report/index.js";
import { CaptureAnalysis } from "../pipeline/capture-analysis.js";
import { finishReport, findingsSoFar as findingsSoFarOf, namerFor, policyInputs } from "../pipeline/run.js";
import { likelyServerPorts } from "../pipeline/server-ports.js";
import { VERSION } from "../pipeline/version.js";
import { addReportOptions, openRedactKey, policyFiles, positiveInt, tailOptions, withLiveOutputs, type Format, type ReportCliOptions } from "./analyze.js";
import type { OutputFile } from "./output.js";

export interface CaptureCliOptions {
  interface?: string;
  filter?: string;
  /** Milliseconds (parsed from "90s", "10m", "1h"). */
  duration?: number;
  count?: number;
  write?: string;
  list?: boolean;
  engine?: EngineChoice;
  snaplen?: number;
  /** Bytes (parsed from "64MiB"). */
  bufferSize?: number;
  // Report options (from addReportOptions; the names the analyze command uses).
  format?: string;
  output?: string;
  matrix?: string;
  role?: string[];
  roles?: string;
  failOn?: "error" | "warning" | "info" | "none";
  reassemblyBytes?: number;
  quiet?: boolean;
  progress?: boolean;
  redact?: boolean;
  redactKey?: string;
  color?: "auto" | "always" | "never";
  force?: boolean;
  /** --evidence FILE.pcapng: picked from the -w file, or from a temporary pcapng without -w. */
  evidence?: string;
}

/** Where runCapture writes and what stops it; the defaults are the process's. */
export interface CaptureIo {
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
  /** When given, SIGINT/SIGTERM handlers are not installed: aborting stops the capture. */
  signal?: AbortSignal;
  /** Called once the engine captures (tests start their traffic then). */
  onStarted?: () => void;
}

function durationArg(v: string): number {
  const ms = parseDuration(v);
  if (ms === null) throw new InvalidArgumentError(`expected a duration such as 90s, 10m, 1h or 1h30m, got "${v}"`);
  return ms;
}

function sizeArg(v: string): number {
  const n = parseSize(v);
  if (n === null) throw new InvalidArgumentError(`expected a size such as 64MiB, 512KiB or 1048576, got "${v}"`);
  return n;
}

/** Adds `capture` to the program, with the options every report command shares (addReportOptions). */
export function registerCaptureCommand(program: Command): void {
  const cmd = program
    .command("capture")
    .description("capture live on the proxy's interface, analyze while capturing, write the evidence pcapng, and report when stopped (Ctrl-C, --duration or --count)")
    .option("-i, --interface <name>", "interface to capture on (see --list); \"any\" for all")
    .option("--filter <bpf>", "capture filter in libpcap (tcpdump) syntax, e.g. \"host 10.0.0.5 and (port 443 or port 902)\"")
    .option("--duration <time>", "stop after this long: 90s, 10m, 1h, 1h30m", durationArg)
    .option("--count <packets>", "stop after this many packets", positiveInt)
    .option("-w, --write <file>", "write every captured packet to FILE.pcapng (opens in Wireshark; valid even after Ctrl-C); never over an existing file without --force")
    .option("--list", "list the interfaces with their addresses and exit")
    .addOption(new Option("--engine <engine>", "capture engine: cap (in-process libpcap), tcpdump (child process), auto (tcpdump if on PATH, else cap)").choices(["auto", "cap", "tcpdump"]).default("auto"))
    .option("--snaplen <bytes>", "bytes kept of each packet (default: cap 65535, tcpdump 262144)", positiveInt)
    .option("--buffer-size <size>", `kernel capture buffer (default ${DEFAULT_BUFFER_SIZE / 1048576}MiB; smaller loses packets under load)`, sizeArg);
  addReportOptions(cmd);
  cmd.addHelpText(
    "after",
    `
Needs root or CAP_NET_RAW. The report is the one analyze writes, plus captures[].live: interface,
filter, engine, start and end, packets captured and received, drops by kernel and by interface,
and "unavailable" naming what the engine cannot tell (cap: kernel timestamps, original lengths,
drop counters). A live summary is shown on standard error when it is a terminal.

Exit codes: 0 no finding at or above --fail-on, 1 findings at or above it, 2 the capture could not
run (no engine, no permission, unknown interface, bad filter, -o or -w not writable), or it broke
off (the interface went away, the engine failed): the report of what was captured is written then.

Examples:
  phoenix-netcheck capture --list
  sudo phoenix-netcheck capture -i eth0 --duration 10m -w proxy.pcapng -o report.json
  sudo phoenix-netcheck capture -i eth0 --filter "port 443 or port 902" --role proxy=10.0.0.5
  sudo phoenix-netcheck capture -i eth0 --engine tcpdump --count 100000 -w evidence.pcapng
  sudo phoenix-netcheck capture -i eth0 --duration 10m -o report.html --evidence findings.pcapng`,
  );
  cmd.action(async (opts: CaptureCliOptions) => {
    // --list is for people: text unless --format was given on the command line.
    if (opts.list && cmd.getOptionValueSource("format") !== "cli") opts = { ...opts, format: undefined };
    process.exitCode = await runCapture(opts);
  });
}

/** `capture --list` as text: one interface a line with state, MAC and addresses. */
export function formatInterfaceList(list: InterfaceInfo[]): string {
  const w = Math.max(4, ...list.map((i) => i.name.length));
  const lines = list.map((i) => {
    const addrs = i.addresses.map((a) => a.cidr).join(" ");
    return `${terminalSafe(i.name).padEnd(w)}  ${i.state.padEnd(7)}  ${(i.mac ?? "-").padEnd(17)}  ${addrs || "(no address)"}`;
  });
  lines.push(`${"any".padEnd(w)}  ${"".padEnd(7)}  ${"".padEnd(17)}  (all interfaces, Linux cooked capture)`);
  return lines.join("\n") + "\n";
}

/** The live summary line (no newline): packets, drops, conversations, findings so far. */
export function liveStatusLine(p: LiveProgress, conversations: number, findings: number | null): string {
  const s = Math.floor(p.elapsedMs / 1000);
  const clock = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  const c = p.counters;
  const drops =
    c === null
      ? p.engine === "cap"
        ? "drops unknown (cap)"
        : "drops -"
      : `dropped ${(c.droppedByKernel ?? 0).toLocaleString("en-US")} by kernel${c.droppedByInterface ? `, ${c.droppedByInterface.toLocaleString("en-US")} by interface` : ""}`;
  const f = findings === null ? "" : `  ${findings} finding${findings === 1 ? "" : "s"} so far`;
  return `${p.iface} (${p.engine}) ${clock}  ${p.packets.toLocaleString("en-US")} packet${p.packets === 1 ? "" : "s"}  ${drops}  ${conversations} conversation${conversations === 1 ? "" : "s"}${f}  — Ctrl-C stops`;
}

/**
 * The capture command: returns the exit code (0/1), throws LiveCaptureError, MatrixError or
 * RoleError (exit 2) when it cannot run.
 */
export async function runCapture(o: CaptureCliOptions, io: CaptureIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  if (o.list) {
    const list = listInterfaces();
    stdout.write(o.format === "json" ? jsonSafe(JSON.stringify(list, null, 2)) + "\n" : formatInterfaceList(list));
    return 0;
  }
  if (!o.interface) throw new LiveCaptureError("options", "capture needs -i INTERFACE (phoenix-netcheck capture --list shows them)");

  // Matrix, roles and destinations first (the --evidence file's too): a mistake in them should not cost a capture.
  const ev = o.evidence ? liveEvidenceSource(o.evidence, o.write ?? null, o.output ?? null, o.force === true, policyFiles(o)) : null;
  const { matrix, roles } = policyInputs({ matrix: o.matrix, role: o.role ?? [], roles: o.roles });
  const reportOpts: ReportCliOptions = {
    format: o.format as Format | undefined,
    output: o.output,
    role: o.role ?? [],
    failOn: o.failOn ?? "error",
    redact: o.redact,
    redactKey: o.redactKey,
    color: o.color ?? "auto",
    reassemblyBytes: o.reassemblyBytes ?? 16384,
    force: o.force,
    quiet: o.quiet,
    roles: o.roles,
    matrix: o.matrix,
  };
  // The -w file is an input of the report: the key is never written over it.
  const keyOut = openRedactKey(o.redactKey, [...(o.write ? [o.write] : []), ...policyFiles(o)], o.output, o.force === true, o.evidence ? [o.evidence] : []);
  try {
    return await withLiveOutputs(reportOpts, { file: o.write, flag: "-w", dash: "-w needs a file name (the report, not the packets, can go to standard output)" }, (pcapOut, out) =>
      captureAndReport(o, io, matrix, roles, reportOpts, pcapOut, ev, out, keyOut),
    );
  } finally {
    keyOut?.discard();
  }
}

async function captureAndReport(
  o: CaptureCliOptions,
  io: CaptureIo,
  matrix: Matrix,
  roles: RoleMap,
  reportOpts: ReportCliOptions,
  pcapOut: OutputFile | null,
  ev: LiveEvidenceSource | null,
  out: OutputFile | null,
  keyOut: OutputFile | null,
): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const flowOpts = {
    ...DEFAULT_FLOW_OPTIONS,
    ...(o.reassemblyBytes ? { reassemblyCap: o.reassemblyBytes } : {}),
    // The matrix's server ports orient conversations, as in analyze (src/pipeline/server-ports.ts).
    likelyServerPorts: likelyServerPorts(matrix),
  };
  const ca = new CaptureAnalysis(0, 0, flowOpts, null);

  let signal = io.signal;
  const ac = new AbortController();
  const stopping = (reason: string) => {
    if (ac.signal.aborted) return;
    if (!o.quiet) stderr.write(`${stderr.isTTY ? "\r\x1b[K" : ""}stopping (${reason}); the report follows\n`);
    ac.abort(reason);
  };
  const onInt = () => stopping("interrupt");
  const onTerm = () => stopping("terminate");
  if (signal === undefined) {
    signal = ac.signal;
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
  }

  const showStatus = stderr.isTTY === true && !o.quiet && o.progress !== false;
  let findingsSoFar: number | null = null;
  let lastPolicy = 0;
  let policyCost = 0;
  const onTick = showStatus
    ? (p: LiveProgress) => {
        // Findings so far from ports, roles and states only: content checks need the detectors,
        // which run once the capture ends. Re-evaluated at most once a second (less when slow).
        const now = Date.now();
        if (now - lastPolicy >= Math.max(1000, policyCost * 20)) {
          lastPolicy = now;
          const t0 = Date.now();
          findingsSoFar = findingsSoFarOf(ca.viewsSoFar(), matrix, roles, p.elapsedMs / 1000);
          policyCost = Date.now() - t0;
        }
        stderr.write(`\r\x1b[K${liveStatusLine(p, ca.table.conversations.length, findingsSoFar)}`);
      }
    : undefined;

  let summary: LiveSummary;
  try {
    summary = await captureLive({
      iface: o.interface!,
      filter: o.filter ?? null,
      engine: o.engine ?? "auto",
      snaplen: o.snaplen ?? null,
      bufferSize: o.bufferSize ?? null,
      durationMs: o.duration ?? null,
      count: o.count ?? null,
      write: ev?.source ?? o.write ?? null,
      writeFd: pcapOut?.descriptor ?? null,
      application: `phoenix-netcheck ${VERSION}`,
      signal,
      onPacket: (p) => ca.packet(p),
      onStarted: () => {
        if (!o.quiet) {
          const writing = pcapOut ? `, writing ${o.write}${pcapOut.tempPath ? ` (as ${pcapOut.tempPath} until the capture stops)` : ""}` : "";
          stderr.write(terminalSafe(`capturing on ${o.interface}${o.filter ? ` (filter: ${o.filter})` : ""}${writing}; Ctrl-C stops`) + "\n");
        }
        io.onStarted?.();
      },
      onTick,
    });
  } catch (e) {
    ev?.cleanup();
    throw e;
  } finally {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
    if (showStatus) stderr.write("\r\x1b[K");
  }

  // The -w file is complete (the writer closed it at its last whole block): in place now.
  // If that fails the report is still written, and says so.
  let evidenceFailed = false;
  try {
    pcapOut?.commit();
  } catch (e) {
    evidenceFailed = true;
    stderr.write(`phoenix-netcheck: ${terminalSafe((e as Error).message)}\n`);
  }
  if (ev !== null) summary = ev.untemp(summary);
  const result = ca.finish(summary);
  if (!o.quiet) {
    stderr.write(terminalSafe(stopLine(summary.live)) + "\n");
    for (const e of summary.errors) {
      stderr.write(`phoenix-netcheck: ${terminalSafe(e.message)}${e.fatal ? " (the report covers what was captured before)" : ""}\n`);
    }
  }
  // A capture that broke off (interface gone, engine failed) or whose evidence could not be
  // written did not do its job: exit 2, with the report of what it captured written all the same.
  return finishReport(
    { captures: [result], conversations: ca.conversations },
    {
      ...tailOptions(reportOpts, out, stdout, keyOut),
      matrix,
      roles,
      namer: namerFor(o),
      stderr,
      failed: evidenceFailed || summary.errors.some((e) => e.fatal),
      // --evidence: the frames behind the findings, read back from the -w file (or the temporary pcapng).
      evidence: ev !== null && !evidenceFailed ? { file: o.evidence!, sources: [ev.source], names: [ev.name], replace: o.force === true } : null,
      afterEvidence: (error) => {
        // Without -w the temporary pcapng is the only copy of the packets: kept when the evidence failed.
        if (error === null) ev!.cleanup();
        else if (ev!.source !== o.write) stderr.write(`phoenix-netcheck: the whole capture is kept in ${ev!.source}\n`);
      },
    },
  );
}

/** One line on stderr when the capture stops: why, how many, drops, the file. */
export function stopLine(l: LiveCaptureInfo): string {
  const why: Record<LiveCaptureInfo["stopReason"], string> = {
    interrupt: "interrupted",
    terminate: "terminated",
    duration: "duration reached",
    count: "count reached",
    "engine-exit": `${l.engine} stopped by itself`,
    "interface-gone": `interface ${l.interface} went away`,
  };
  const drops =
    l.droppedByKernel === null ? "drops unknown with cap" : `${l.droppedByKernel} dropped by kernel, ${l.droppedByInterface ?? "?"} by interface`;
  return `capture stopped (${why[l.stopReason]}): ${l.packetsCaptured} packets on ${l.interface} with ${l.engine}, ${drops}${l.file ? `; wrote ${l.file}` : ""}`;
}
