import { writeFileSync } from "node:fs";
import { analyzeFiles } from "../analyze.js";
import { buildReport } from "../report/record.js";
import { renderJson } from "../report/json.js";
import { VERSION } from "./version.js";

export interface AnalyzeCliOptions {
  format: string;
  output?: string;
  reassemblyBytes: number;
}

/** `phoenix-netcheck analyze`: returns the process exit code. */
export async function runAnalyze(files: string[], o: AnalyzeCliOptions): Promise<number> {
  const analysis = await analyzeFiles(files, { flow: { reassemblyCap: o.reassemblyBytes } });
  const report = buildReport(analysis, VERSION);
  const text = renderJson(report);
  if (o.output) writeFileSync(o.output, text);
  else process.stdout.write(text);
  return 0;
}
