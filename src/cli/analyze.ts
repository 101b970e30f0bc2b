import { writeFileSync } from "node:fs";
import { analyzeFiles } from "../analyze.js";
import { SEVERITY_RANK, type Severity } from "../policy/check.js";
import { evaluate } from "../policy/evaluate.js";
import { builtinMatrix, loadMatrixFile, roleNames, type Matrix } from "../policy/matrix.js";
import { loadRolesFile, parseRoleArgs, RoleMap } from "../policy/roles.js";
import { buildReport, captureSeconds, type Report } from "../report/record.js";
import { renderJson } from "../report/json.js";
import { VERSION } from "./version.js";

export interface AnalyzeCliOptions {
  format: string;
  output?: string;
  reassemblyBytes: number;
  matrix?: string;
  role: string[];
  roles?: string;
  failOn: "error" | "warning" | "info" | "none";
}

/** The matrix and roles the options ask for; throws MatrixError / RoleError (exit 2). */
export function policyInputs(o: { matrix?: string; role: string[]; roles?: string }): { matrix: Matrix; roles: RoleMap } {
  const matrix = o.matrix ? loadMatrixFile(o.matrix) : builtinMatrix();
  const known = roleNames(matrix);
  const entries = [...(o.roles ? loadRolesFile(o.roles, known) : []), ...parseRoleArgs(o.role, known)];
  return { matrix, roles: new RoleMap(entries) };
}

/** 0 pass; 1 a finding at or above --fail-on; the caller maps errors to 2. */
export function exitCodeFor(report: Report, failOn: AnalyzeCliOptions["failOn"]): number {
  if (failOn === "none") return 0;
  const bar = SEVERITY_RANK[failOn as Severity];
  return report.findings.some((f) => SEVERITY_RANK[f.severity] >= bar) ? 1 : 0;
}

/** The whole pipeline for a list of files: read, decode, rebuild, detect, check, report. */
export async function reportFor(
  files: string[],
  o: { matrix?: string; role?: string[]; roles?: string; reassemblyBytes?: number } = {},
): Promise<Report> {
  const { matrix, roles } = policyInputs({ matrix: o.matrix, role: o.role ?? [], roles: o.roles });
  const analysis = await analyzeFiles(files, o.reassemblyBytes ? { flow: { reassemblyCap: o.reassemblyBytes } } : {});
  const policy = evaluate({ conversations: analysis.conversations, matrix, roles, captureSeconds: captureSeconds(analysis) });
  return buildReport(analysis, policy, matrix, roles, VERSION);
}

/** `phoenix-netcheck analyze`: returns the process exit code. */
export async function runAnalyze(files: string[], o: AnalyzeCliOptions): Promise<number> {
  const report = await reportFor(files, o);
  const text = renderJson(report);
  if (o.output) writeFileSync(o.output, text);
  else process.stdout.write(text);
  return exitCodeFor(report, o.failOn);
}
