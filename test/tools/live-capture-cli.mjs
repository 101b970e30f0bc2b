#!/usr/bin/env node
// Stand-in for `phoenix-netcheck capture` until src/cli/main.ts calls registerCaptureCommand:
// the same command, registered on a bare program with the report options analyze has today, and
// main.ts's exit-code rules (usage mistakes and errors exit 2). Used by test/capture/live*.test.ts
// and test/bench/live.bench.ts when dist/cli/main.js has no `capture` command yet.
import { Command, CommanderError, Option } from "commander";
import { registerCaptureCommand } from "../../dist/cli/capture.js";

const collect = (v, prev) => [...prev, v];
function addReportOptions(cmd) {
  return cmd
    .addOption(new Option("--format <format>", "report format").choices(["json"]).default("json"))
    .option("-o, --output <file>", "write the report to FILE instead of standard output")
    .option("--matrix <file>", "matrix file")
    .option("--role <name=address>", "a host's role (repeatable)", collect, [])
    .option("--roles <file>", "roles file")
    .addOption(new Option("--fail-on <severity>", "exit 1 at this severity").choices(["error", "warning", "info", "none"]).default("error"))
    .option("--quiet", "no messages on standard error")
    .option("--no-progress", "no live summary");
}

const program = new Command().name("phoenix-netcheck").exitOverride().configureOutput({ outputError: (s, w) => w(s) });
registerCaptureCommand(program, addReportOptions);
try {
  await program.parseAsync(process.argv);
  process.exitCode = typeof process.exitCode === "number" ? process.exitCode : 0;
} catch (e) {
  if (e instanceof CommanderError) process.exitCode = e.exitCode === 0 ? 0 : 2;
  else {
    process.stderr.write(`phoenix-netcheck: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 2;
  }
}
