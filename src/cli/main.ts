#!/usr/bin/env node
/**
 * phoenix-netcheck command line. Exit codes (docs/report-schema.md): 0 pass, 1 findings at or
 * above --fail-on, 2 the tool could not do its job (bad arguments, unreadable or non-capture file).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { CaptureOpenError } from "../capture/file.js";
import { runAnalyze } from "./analyze.js";
import { VERSION } from "./version.js";

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
    .description("read saved captures (pcap, pcapng, gzip-compressed, or - for standard input) and report every conversation")
    .argument("<capture...>", "capture files; the format is found from the file's first bytes")
    .addOption(new Option("--format <format>", "report format").choices(["json"]).default("json"))
    .option("-o, --output <file>", "write the report to FILE instead of standard output")
    .option("--reassembly-bytes <n>", "bytes of each TCP direction kept for protocol detection", positiveInt, 16384)
    .addHelpText(
      "after",
      `
Examples:
  phoenix-netcheck analyze proxy.pcapng --format json -o report.json
  tcpdump -i eth0 -w - 'port 443 or port 902' | phoenix-netcheck analyze -
  phoenix-netcheck analyze day1.pcap.gz day2.pcap`,
    )
    .action(async (files: string[], opts: { format: string; output?: string; reassemblyBytes: number }) => {
      process.exitCode = await runAnalyze(files, opts);
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
    if (e instanceof CaptureOpenError) {
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
