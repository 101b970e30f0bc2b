#!/usr/bin/env node
/**
 * phoenix-netcheck command line. Exit codes (docs/report-schema.md): 0 pass, 1 findings at or
 * above --fail-on, 2 the tool could not do its job (bad arguments, unreadable or non-capture file).
 */
import { Command, CommanderError, Option } from "commander";
import { DEFAULT_MAX_CONVERSATIONS } from "../flow/index.js";
import { policyInputs } from "../pipeline/run.js";
import { VERSION } from "../pipeline/version.js";
import { addReportOptions, positiveInt, runAnalyze, tableWidth, type AnalyzeCliOptions } from "./analyze.js";
import { registerCaptureCommand } from "./capture.js";
import { registerProbeCommand } from "./probe.js";
import { renderMatrixTable } from "./matrix.js";
import { terminalSafe } from "../report/index.js";

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("phoenix-netcheck")
    .description("What actually went over the wire between a Druva Phoenix backup proxy and its peers.")
    .version(VERSION, "-V, --version")
    .exitOverride()
    // Commander's messages quote what was typed: escaped like every file name on standard error.
    .configureOutput({ outputError: (str, write) => write(str.split("\n").map(terminalSafe).join("\n")) });

  const analyze = program
    .command("analyze")
    .description("read saved captures (pcap, pcapng, gzip-compressed, or - for standard input), rebuild every conversation, tell what it carried, and check it against the Phoenix matrix")
    .argument("<capture...>", "capture files, read one after another into one report; the format is found from each file's first bytes")
    .option("--filter <expr>", 'analyze only packets that match a tcpdump-style filter: host, net, port, portrange, tcp, udp, icmp, and/or/not (docs/filter.md), e.g. "host 10.0.0.5 and port 902"')
    .option("--max-conversations <n>", `conversations listed one by one and held at once, for the whole run (all files together); past it they are folded into aggregate entries and the report says so (default ${DEFAULT_MAX_CONVERSATIONS})`, positiveInt)
    .option("--resync", "after a corrupt record or block length, search for the next plausible record and read on instead of stopping there (tshark stops)")
    .option("--threads <n>", "threads to analyze with: 1 (the default) reads, decodes and tracks on this one; N above 1 shards the conversations by flow hash over N-1 worker threads while this one reads and decodes (docs/performance.md: on 2 cores it is slower today). The report is the same at every count", positiveInt);
  addReportOptions(analyze)
    .addHelpText(
      "after",
      `
The report lists every conversation (who opened it, packets and bytes each way, Zeek conn_state,
what the bytes really are: TLS with version/SNI/cipher, VMware authd, SSH, RDP, HTTP, NTP, DNS,
plaintext), the matrix row it matches, and findings with the frames and a Wireshark display filter
behind each (docs/findings.md).

Roles not given are inferred from the traffic (each with its reason in the report): the host that
sends the VMware authd banner is an ESXi host, a TLS server named *.druva.com is the cloud, a 3542
server is a guest, an NTP server is ntp, and the host that opens most of the matrix's conversations
is the proxy.

Output: -o FILE never writes over an input (same file, by device and inode) or an existing file
(unless --force), takes .json .md .markdown .html .htm .txt (any other name only with --format, never
a capture's), and is checked before anything is read; the report is written beside it and renamed,
so it appears whole or not at all. -o - is standard output. The first Ctrl-C (or SIGTERM) stops
reading and writes the report of what was read, marked "interrupted"; a second one stops at once.

Exit codes: 0 no finding at or above --fail-on, 1 findings at or above it, 2 the tool could not do
its job (bad arguments, unreadable or non-capture file, invalid matrix, roles or filter, an -o that
must not or cannot be written, a standard output that cannot be written). A reader that closes the
pipe early (| head) does not change the code.

Examples:
  phoenix-netcheck analyze proxy.pcapng
  phoenix-netcheck analyze proxy.pcapng -o report.html
  phoenix-netcheck analyze proxy.pcapng --role proxy=10.0.0.5 --role esxi=10.0.1.0/24 --role esxi-standalone=10.0.2.7
  phoenix-netcheck analyze proxy.pcapng --redact --format markdown -o ticket.md
  phoenix-netcheck analyze proxy.pcapng -o report.html --evidence evidence.pcapng
      (then in Wireshark: frame.comment contains "weak-tls")
  phoenix-netcheck analyze proxy.pcapng --redact-key ~/acme-key.json -o ticket.md   (keep the key; attach only ticket.md)
  tcpdump -i eth0 -w - 'port 443 or port 902' | phoenix-netcheck analyze - --format json
  phoenix-netcheck analyze day1.pcap.gz day2.pcap --filter "not port 53" --fail-on warning`,
    )
    .action(async (files: string[], opts: AnalyzeCliOptions) => {
      process.exitCode = await runAnalyze(files, opts);
    });

  registerCaptureCommand(program);
  registerProbeCommand(program);

  program
    .command("matrix")
    .description("print the matrix conversations are checked against (the built-in Phoenix matrix, or with --matrix a file merged into it)")
    .addOption(new Option("--format <format>", "output format").choices(["table", "json"]).default("table"))
    .option("--matrix <file>", "a matrix file (JSON or YAML) that extends or replaces the built-in matrix")
    .addHelpText(
      "after",
      `
Examples:
  phoenix-netcheck matrix
  phoenix-netcheck matrix --format json
  phoenix-netcheck matrix --matrix nutanix.yaml`,
    )
    .action((opts: { format: string; matrix?: string }) => {
      const { matrix } = policyInputs({ matrix: opts.matrix, role: [] });
      if (opts.format === "json") process.stdout.write(JSON.stringify(matrix, null, 2) + "\n");
      else process.stdout.write(renderMatrixTable(matrix, tableWidth(process.stdout.isTTY === true, process.stdout.columns, process.env)));
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit through here with code 0; usage mistakes are exit 2.
      return e.exitCode === 0 ? 0 : 2;
    }
    // CaptureOpenError, ValidationError, FilterError, OutputError, LiveCaptureError, and anything
    // else: one line, or one problem a line for a list (a roles or matrix file's); each line is
    // made terminal-safe (file names in it may come from anywhere).
    const text = e instanceof Error ? e.message : String(e);
    process.stderr.write(`phoenix-netcheck: ${text.split("\n").map(terminalSafe).join("\n")}\n`);
    return 2;
  }
}

// `phoenix-netcheck analyze … | head` closes the pipe early: that is not an error, and the exit
// code stays the findings' one (writeReport sets process.exitCode before it writes). Any other
// failure to write standard output (`> /dev/full`: ENOSPC) is one line and exit 2, whatever
// --fail-on says: the report was not delivered.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
  try {
    process.stderr.write(`phoenix-netcheck: cannot write the report to standard output: ${terminalSafe(e.message.split("\n")[0])}\n`);
  } catch {
    /* stderr is gone too */
  }
  process.exit(2);
});
process.stderr.on("error", () => {
  // Notes on standard error are not the report: a closed or full stderr must not change the result.
});

main(process.argv).then((code) => {
  process.exitCode = code;
});
