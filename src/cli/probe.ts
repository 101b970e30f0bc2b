/**
 * `phoenix-netcheck probe`: check every matrix row from the proxy now (docs/probe.md). Assembles
 * roles/targets → checks (src/probe/) → evaluate (the policy `analyze` uses) → report → render
 * and write (the analyze tail: writeReport, the same -o safety, formats and exit codes).
 */
import type { Command } from "commander";
import { InvalidArgumentError, Option } from "commander";
import { captureLive, type LiveSummary } from "../capture/index.js";
import { formatIp, parseIp } from "../decode/index.js";
import { builtinMatrix, type CaptureInfo, connectionView, evaluate, loadMatrixFile, loadRolesFile, type Matrix, type MatrixRow, parseRoleArgs, PLAIN_NAMER, type RoleEntry, roleExpectation, RoleMap, roleNames } from "../policy/index.js";
import type { ProbeRecord } from "../probe/checks.js";
import { DEFAULT_CONCURRENCY, runProbe, type PlannedCheck, type ProbeRun } from "../probe/run.js";
import { DEFAULT_MAX_HOSTS, isHostName, resolveTargets, type Host, type RoleTarget, type Unresolved } from "../probe/targets.js";
import { buildReport, type ConversationRecord, type Report, REPORT_SECTIONS, type ReportSection, terminalSafe } from "../report/index.js";
import { writeReport } from "../pipeline/run.js";
import { VERSION } from "../pipeline/version.js";
import { FORMATS, positiveInt, tailOptions, withLiveOutputs, type Format, type ReportCliOptions } from "./analyze.js";
import type { OutputFile } from "./output.js";

export interface ProbeCliOptions {
  role: string[];
  roles?: string;
  matrix?: string;
  /** Milliseconds. */
  timeout: number;
  concurrency: number;
  maxHosts: number;
  evidence?: string;
  format?: Format;
  output?: string;
  force?: boolean;
  failOn: ReportCliOptions["failOn"];
  quiet?: boolean;
  progress?: boolean;
  color: "auto" | "always" | "never";
  verbose?: boolean;
  sections?: ReportSection[];
  /** The capture interface for --evidence (default "any"). */
  evidenceInterface?: string;
}

/** The per-check timeout when --timeout is not given. */
export const DEFAULT_TIMEOUT_MS = 3000;
/** Ports of one row's range checked at most (the Phoenix rows name single ports). */
const MAX_PORTS_PER_ROW = 16;

/** "3s", "500ms", "1.5s" → milliseconds (1 ms to 10 min). */
export function timeoutArg(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(v.trim());
  const ms = m ? Number(m[1]) * (m[2] === "ms" ? 1 : 1000) : NaN;
  if (!(ms >= 1 && ms <= 600_000)) throw new InvalidArgumentError(`expected a time such as 3s or 500ms (1 ms to 10 min), got "${v}"`);
  return Math.round(ms);
}

/** The probe's copy of a matrix row's check: what the row expects, as a check kind. */
function kindOf(row: MatrixRow): PlannedCheck["kind"] | null {
  if (row.transport === "udp") return row.expect === "ntp" ? "ntp" : null;
  switch (row.expect) {
    case "tls":
    case "vmware-authd":
    case "rdp":
    case "ssh":
      return row.expect;
    default:
      return "tcp";
  }
}

/** The roles as given: addresses and networks become role entries (the policy's parser), names targets to resolve. */
function rolesGiven(o: ProbeCliOptions, known: readonly string[]): { entries: RoleEntry[]; targets: RoleTarget[] } {
  const fromFile = o.roles ? loadRolesFile(o.roles, known) : [];
  const byName: RoleTarget[] = [];
  const addressArgs: string[] = [];
  for (const text of o.role) {
    const eq = text.indexOf("=");
    const value = eq < 0 ? "" : text.slice(eq + 1).trim();
    const role = text.slice(0, eq).trim();
    const slash = value.indexOf("/");
    if (eq > 0 && parseIp(slash < 0 ? value : value.slice(0, slash)) === null && isHostName(value)) {
      if (!known.includes(role)) throw new Error(`--role ${text}: expected ${roleExpectation(known)}, got "${role}"`);
      byName.push({ role, value, origin: `--role ${text}` });
    } else addressArgs.push(text);
  }
  const entries = [...fromFile, ...parseRoleArgs(addressArgs, known)];
  return { entries, targets: [...entries.map((e) => ({ role: e.role, value: e.text, origin: e.origin })), ...byName] };
}

/** Every (row, host, port) the matrix's proxy rows ask for, in matrix order. */
export function planChecks(matrix: Matrix, hosts: readonly Host[]): { plan: PlannedCheck[]; skipped: string[] } {
  const plan: PlannedCheck[] = [];
  const skipped: string[] = [];
  for (const row of matrix.rows) {
    if (row.client !== "proxy") continue;
    const kind = kindOf(row);
    const targets = hosts.filter((h) => row.servers.includes(h.role));
    if (targets.length === 0) continue;
    if (kind === null) {
      skipped.push(`${row.id}: the probe cannot speak ${row.transport.toUpperCase()} ${row.expect}`);
      continue;
    }
    const ports: number[] = [];
    for (const r of row.ports) for (let p = r.first; p <= r.last && ports.length < MAX_PORTS_PER_ROW; p++) ports.push(p);
    for (const h of targets) for (const port of ports) plan.push({ kind, address: h.address, port, name: h.name, role: h.role, row: row.id });
  }
  return { plan, skipped };
}

/** The JSON report's top-level `probe` object (docs/report-schema.md). */
export interface ProbeSummary {
  started: string;
  finished: string;
  timeoutMs: number;
  concurrency: number;
  interrupted: boolean;
  /** Planned checks not made because of Ctrl-C. */
  notRun: number;
  targets: { role: string; given: string; name: string | null; addresses: string[]; error: string | null }[];
  checks: ProbeRecord[];
  /** Rows with hosts given that the probe cannot check, and why. */
  skipped: string[];
  /** The --evidence capture's name, when written. */
  evidence: string | null;
}

export type ProbeReport = Report & { probe: ProbeSummary; conversations: (ConversationRecord & { probe?: ProbeRecord })[] };

/**
 * The report: the policy `analyze` runs, on the conversations the checks made. The proxy is the
 * host the checks left from (unless given); a name's addresses have the name's role.
 */
export function probeReport(run: ProbeRun, matrix: Matrix, given: readonly RoleEntry[], hosts: readonly Host[], unresolved: readonly Unresolved[], summary: Omit<ProbeSummary, "checks" | "notRun" | "started" | "finished">): ProbeReport {
  const entries = [...given];
  const known = roleNames(matrix);
  const have = new Set(given.map((e) => e.text));
  // One role per address (RoleMap refuses two): a checked host that is also where the checks left
  // from (loopback, or the proxy probing itself) keeps the role given to it.
  const add = (role: string, address: string, origin: string) => {
    if (have.has(address)) return;
    have.add(address);
    entries.push({ ...parseRoleArgs([`${role}=${address}`], known)[0], origin });
  };
  for (const h of hosts) if (h.name !== null) add(h.role, h.address, `--role ${h.role}=${h.name}`);
  // The proxy is where the checks left from (unless given): the client address of every conversation.
  if (!given.some((e) => e.role === "proxy")) {
    for (const { conv: c } of run.conversations) add("proxy", formatIp(c.clientIp, c.ipVersion), "the address the checks left from");
  }
  const roles = new RoleMap(entries);
  const packets = run.conversations.reduce((s, { conv: c }) => s + c.packetsClient + c.packetsServer, 0);
  const seconds = Math.max(0, (run.endMs - run.startMs) / 1000);
  const info: CaptureInfo = {
    file: "probe", packets, transportPackets: packets, unsupportedLinkPackets: 0, stopped: null,
    interrupted: summary.interrupted, cut: null, resynced: null, bytes: 0, capturedBytes: 0, lastTimestamp: run.endMs / 1000,
  };
  // The same frozen view a capture's conversation gets (src/policy/view.ts), ending when the run did.
  const views = run.conversations.map((p) => connectionView(p.conv, p.facts, null, run.endMs / 1000));
  const policy = evaluate({ conversations: views, captures: [info], matrix, roles, captureSeconds: seconds, namer: PLAIN_NAMER, unresolvedNames: unresolved });
  const report = buildReport({ captures: [], conversations: views }, policy, matrix, VERSION) as ProbeReport;
  report.summary.captureSeconds = Number(seconds.toFixed(6));
  for (const rec of report.conversations) {
    const p = run.records.find((r) => r.conversation === rec.id);
    if (p) rec.probe = p;
  }
  report.probe = {
    started: new Date(run.startMs).toISOString(),
    finished: new Date(run.endMs).toISOString(),
    ...summary,
    notRun: run.notRun,
    checks: run.records,
  };
  return report;
}

/** The progress line on stderr (a terminal: one line rewritten; else nothing until the end). */
function progressLine(done: number, total: number, last: PlannedCheck): string {
  return `probe: ${done}/${total} checks, last ${last.row} ${last.address}:${last.port}`;
}

export function registerProbeCommand(program: Command): void {
  program
    .command("probe")
    .description("check every matrix row from the proxy now: connect to the hosts given for each role, speak each row's protocol, and report with the same findings, formats and exit codes as analyze")
    .option("--role <name=address|cidr|hostname>", "a role's hosts: proxy=10.0.0.5, esxi=10.0.1.0/28, cloud=phoenix.druva.com (repeatable; docs/roles.md)", (v: string, prev: string[]) => [...prev, v], [])
    .option("--roles <file>", 'roles file (JSON or YAML) as analyze takes it, e.g. {"roles": {"esxi": ["10.0.1.0/28"]}}')
    .option("--matrix <file>", "a matrix file (JSON or YAML) that extends or replaces the built-in Phoenix matrix (docs/matrix-format.md)")
    // The default shown as a user writes it ("3s"), not as the milliseconds it is held in.
    .addOption(new Option("--timeout <time>", "per check: connect, banner, handshake, NTP answer (3s, 500ms)").argParser(timeoutArg).default(DEFAULT_TIMEOUT_MS, `${DEFAULT_TIMEOUT_MS / 1000}s`))
    .option("--concurrency <n>", "checks running at once", positiveInt, DEFAULT_CONCURRENCY)
    .option("--max-hosts <n>", `hosts checked at most, all roles together (networks are expanded; more is refused)`, positiveInt, DEFAULT_MAX_HOSTS)
    .option("--evidence <file.pcapng>", "capture the probe's own traffic to FILE.pcapng with tcpdump (root); analyze it to see the same findings from the wire")
    .option("--evidence-interface <name>", "interface --evidence captures on", "any")
    .addOption(new Option("--format <format>", "report format (default: table on a terminal, else json; with -o, from the file's extension)").choices([...FORMATS]))
    .option("-o, --output <file>", "write the report to FILE (.json, .md, .html, .txt choose the format; - is standard output); never over an existing file without --force")
    .option("--force", "replace the -o and --evidence files if they exist")
    .addOption(new Option("--fail-on <severity>", "exit 1 when a finding is at least this severe").choices(["error", "warning", "info", "none"]).default("error"))
    .option("-q, --quiet", "print nothing but the report (no progress, no notes on standard error)")
    .option("--no-progress", "no progress line on standard error")
    .addOption(new Option("--color <when>", "colour in the table report").choices(["auto", "always", "never"]).default("auto"))
    .option("-v, --verbose", "table report: every section")
    .option("--sections <list>", `table report: these sections, comma-separated (${REPORT_SECTIONS.join(", ")})`, (v: string) => {
      const names = v.split(",").map((x) => x.trim()).filter(Boolean);
      if (!names.length || names.some((n) => !(REPORT_SECTIONS as readonly string[]).includes(n))) throw new InvalidArgumentError(`expected section names from ${REPORT_SECTIONS.join(", ")}, got "${v}"`);
      return names as ReportSection[];
    })
    .addHelpText(
      "after",
      `
Only the matrix's rows from the proxy are checked (cloud, vCenter, ESXi 443 and 902, guest 3542,
3389 and 22, NTP), and only on the hosts given; names are resolved with the system resolver and
the addresses used are reported. Each check: the TCP connect (open, refused, filtered when nothing
answers within --timeout, unreachable on an ICMP error), then the row's protocol — TLS (version,
cipher, certificate chain; then one handshake offering only TLS 1.0 and one only TLS 1.1), the
authd banner and TLS on 902, the RDP X.224 negotiation on 3389, the SSH identification on 22, an
NTP request on 123/udp. Nothing is retried. The findings come from the same checks as analyze's
(docs/findings.md); docs/probe.md says what each check sends.

The first Ctrl-C stops starting checks and writes the report of what was checked
(probe.interrupted); a second one stops at once. Exit codes as analyze: 0, 1 (findings at or
above --fail-on), 2 (bad arguments, a name list over --max-hosts, an -o that cannot be written),
3 (nothing could be checked).

Examples:
  phoenix-netcheck probe --role vcenter=vc.corp.local --role esxi=10.0.1.0/28 --role guest=10.0.2.15 \\
      --role ntp=10.0.0.1 --role cloud=phoenix.druva.com -o probe.html
  phoenix-netcheck probe --roles roles.yaml --timeout 3s
  sudo phoenix-netcheck probe --roles roles.yaml --evidence probe.pcapng -o probe.json
      (then: phoenix-netcheck analyze probe.pcapng --roles roles.yaml — the same findings from the wire)
  phoenix-netcheck probe --role esxi=10.0.1.0/23 --max-hosts 512 --concurrency 16 --format json`,
    )
    .action(async (opts: ProbeCliOptions) => {
      process.exitCode = await runProbeCommand(opts);
    });
}

/** `phoenix-netcheck probe`: returns the exit code. */
export async function runProbeCommand(o: ProbeCliOptions): Promise<number> {
  const matrix = o.matrix ? loadMatrixFile(o.matrix) : builtinMatrix();
  const { entries, targets } = rolesGiven(o, roleNames(matrix));
  if (targets.length === 0) throw new Error("probe needs hosts to check: give them with --role NAME=ADDRESS|CIDR|HOSTNAME or --roles FILE");
  // The destinations first: a name that cannot be written must not cost the run.
  return withLiveOutputs(o, { file: o.evidence, flag: "--evidence", dash: "--evidence needs a file name" }, (pcapOut, out) =>
    probeAndReport(o, matrix, entries, targets, pcapOut, out),
  );
}

async function probeAndReport(o: ProbeCliOptions, matrix: Matrix, entries: RoleEntry[], targets: RoleTarget[], pcapOut: OutputFile | null, out: OutputFile | null): Promise<number> {
  const stderr = process.stderr;
  const note = (s: string) => {
    if (!o.quiet) stderr.write(terminalSafe(s) + "\n");
  };
  const { hosts, unresolved } = await resolveTargets(targets, o.maxHosts);
  for (const u of unresolved) note(`phoenix-netcheck: ${u.role} ${u.name} does not resolve: ${u.error}`);
  const { plan, skipped } = planChecks(matrix, hosts);
  for (const s of skipped) note(`phoenix-netcheck: not checked: ${s}`);

  // --evidence: the probe's own traffic, captured by tcpdump while the checks run (started
  // first: no engine or no permission is exit 2 before anything is sent).
  let evidence: { stop: AbortController; done: Promise<LiveSummary> } | null = null;
  if (pcapOut !== null) evidence = await startEvidence(o, hosts, pcapOut);

  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (ac.signal.aborted) {
      stderr.write(`\nphoenix-netcheck: ${sig === "SIGINT" ? "interrupted" : "terminated"} again: stopping without a report\n`);
      process.exit(sig === "SIGINT" ? 130 : 143);
    }
    note(`\nphoenix-netcheck: ${sig === "SIGINT" ? "interrupted" : "terminated"}: no new checks; the report of what was checked follows (again to stop without it)`);
    ac.abort(sig);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const showProgress = !o.quiet && o.progress !== false && stderr.isTTY === true;
  let run: ProbeRun;
  try {
    note(`phoenix-netcheck: ${plan.length} checks on ${new Set(plan.map((p) => p.address)).size} hosts, ${o.concurrency} at a time, ${o.timeout} ms each; nothing is retried`);
    run = await runProbe(plan, {
      timeoutMs: o.timeout, concurrency: o.concurrency, signal: ac.signal,
      onProgress: showProgress ? (d, t, last) => stderr.write(`\r\x1b[K${terminalSafe(progressLine(d, t, last))}`) : undefined,
    });
    if (showProgress) stderr.write("\r\x1b[K");
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  let evidenceError = false;
  if (evidence !== null) {
    evidence.stop.abort("interrupt");
    try {
      const s = await evidence.done;
      pcapOut!.commit();
      note(`phoenix-netcheck: wrote ${o.evidence} (${s.packets} packets of the probe's traffic)`);
    } catch (e) {
      evidenceError = true;
      note(`phoenix-netcheck: no evidence file: ${(e as Error).message}`);
    }
  }
  const addrs = (t: RoleTarget) => hosts.filter((h) => h.role === t.role && h.given === t.value).map((h) => h.address);
  const report = probeReport(run, matrix, entries, hosts, unresolved, {
    timeoutMs: o.timeout, concurrency: o.concurrency, interrupted: ac.signal.aborted,
    targets: targets.map((t) => ({ role: t.role, given: t.value, name: isHostName(t.value) && parseIp(t.value) === null ? t.value : null, addresses: addrs(t), error: unresolved.find((u: Unresolved) => u.role === t.role && u.name === t.value)?.error ?? null })),
    skipped, evidence: evidence !== null && !evidenceError ? o.evidence! : null,
  });
  const reportOpts: ReportCliOptions = { ...o, role: [], reassemblyBytes: 16384 };
  return writeReport(report, { matrix, ...tailOptions(reportOpts, out) }, evidenceError ? { code: 2 } : {});
}

/** Starts tcpdump on --evidence-interface for the hosts checked; resolves once it captures. */
async function startEvidence(o: ProbeCliOptions, hosts: readonly Host[], pcapOut: OutputFile): Promise<{ stop: AbortController; done: Promise<LiveSummary> }> {
  const stop = new AbortController();
  const addresses = [...new Set(hosts.map((h) => h.address))];
  const filter = addresses.length ? addresses.map((a) => `host ${a}`).join(" or ") : null;
  let started: () => void = () => {};
  const ready = new Promise<void>((r) => (started = r));
  const done = captureLive({
    iface: o.evidenceInterface ?? "any", filter, engine: "tcpdump", write: o.evidence!, writeFd: pcapOut.descriptor,
    application: `phoenix-netcheck ${VERSION} probe`, signal: stop.signal, onPacket: () => {}, onStarted: () => started(),
  });
  await Promise.race([ready, done.then(() => undefined)]);
  return { stop, done };
}
