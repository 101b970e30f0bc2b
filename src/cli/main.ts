#!/usr/bin/env node
/**
 * phoenix-netcheck command line. Exit codes (docs/report-schema.md): 0 pass, 1 findings at or
 * above --fail-on, 2 the tool could not do its job (bad arguments, unreadable or non-capture file).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { CaptureOpenError } from "../capture/file.js";
import { ValidationError } from "../policy/validate.js";
import { policyInputs, runAnalyze, type AnalyzeCliOptions } from "./analyze.js";
import { renderMatrixTable } from "./matrix.js";
import { VERSION } from "./version.js";

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive whole number, got "${v}"`);
  return n;
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("phoenix-netcheck")
    .description("What actually went over the wire between a Druva Phoenix backup proxy and its peers.")
    .version(VERSION, "-V, --version")
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) });

  program
    .command("analyze")
    .description("read saved captures (pcap, pcapng, gzip-compressed, or - for standard input), rebuild every conversation, tell what it carried, and check it against the Phoenix matrix")
    .argument("<capture...>", "capture files; the format is found from the file's first bytes")
    .addOption(new Option("--format <format>", "report format").choices(["json"]).default("json"))
    .option("-o, --output <file>", "write the report to FILE instead of standard output")
    .option("--matrix <file>", "a matrix file (JSON or YAML) that extends or replaces the built-in Phoenix matrix (docs/matrix-format.md)")
    .option("--role <name=address>", "give a host's role, e.g. proxy=10.0.0.5 or esxi=10.0.1.0/24 (repeatable; docs/roles.md)", collect, [])
    .option("--roles <file>", "roles file (JSON or YAML), e.g. {\"roles\": {\"proxy\": [\"10.0.0.5\"]}}")
    .addOption(
      new Option("--fail-on <severity>", "exit 1 when a finding is at least this severe").choices(["error", "warning", "info", "none"]).default("error"),
    )
    .option("--reassembly-bytes <n>", "bytes of each TCP direction kept for protocol detection", positiveInt, 16384)
    .addHelpText(
      "after",
      `
Roles not given are inferred from the traffic (each with its reason in the report): the host that
sends the VMware authd banner is an ESXi host, a TLS server named *.druva.com is the cloud, a 3542
server is a guest, an NTP server is ntp, and the host that opens most of the matrix's conversations
is the proxy.

Exit codes: 0 no finding at or above --fail-on, 1 findings at or above it, 2 the tool could not do
its job (bad arguments, unreadable or non-capture file, invalid matrix or roles file).

Examples:
  phoenix-netcheck analyze proxy.pcapng --format json -o report.json
  phoenix-netcheck analyze proxy.pcapng --role proxy=10.0.0.5 --role esxi=10.0.1.0/24 --role esxi-standalone=10.0.2.7
  tcpdump -i eth0 -w - 'port 443 or port 902' | phoenix-netcheck analyze -
  phoenix-netcheck analyze day1.pcap.gz day2.pcap --fail-on warning`,
    )
    .action(async (files: string[], opts: AnalyzeCliOptions) => {
      process.exitCode = await runAnalyze(files, opts);
    });

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
      else process.stdout.write(renderMatrixTable(matrix, process.stdout.columns ?? 80));
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
    if (e instanceof CaptureOpenError || e instanceof ValidationError) {
      process.stderr.write(`phoenix-netcheck: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`phoenix-netcheck: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
}

main(process.argv).then((code) => {
  process.exitCode = code;
});
