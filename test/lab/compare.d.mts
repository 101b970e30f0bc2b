// Types for compare.mjs (plain JavaScript so `npm run lab` runs it without a build).
import type { Report } from "../../src/report/record.js";

/** A *.expected.json written by test/lab/lab.mjs (docs/lab.md, "Expectations"). */
export interface LabExpected {
  schema: "phoenix-netcheck.lab-expected/v1";
  scenario: string;
  /** Which capture of the traffic: full, one-direction, snaplen, duplicate (absent in older files). */
  capture?: "full" | "one-direction" | "snaplen" | "duplicate" | "filtered";
  /** Options given to analyze for this expectation (`--filter`). */
  analyze?: { filter?: string };
  /** The files are one duplicated capture, given together to one analyze. */
  together?: boolean;
  misconfigurations: string[];
  seed: number;
  rolesFile: string;
  description: string;
  files: { file: string; format: "pcap" | "pcapng"; linkType: number; recordedWith: string }[];
  conversations: LabConversation[];
  explicit: LabVerdict;
  inferred: LabVerdict & { unknown: string[] };
}

export interface LabConversation {
  id: string;
  kind: string;
  transport: "tcp" | "udp";
  ipVersion: 4 | 6;
  client: { host: string; ip: string; port: number };
  server: { host: string; ip: string; port: number };
  protocol: string;
  /** What the client's bytes were when the server spoke something else. */
  clientProtocol?: string | null;
  state: "established" | "S0" | "REJ" | null;
  /** Only the TLS facts this capture shows; "unchecked" where the documents do not say. */
  tls: { clientVersion?: string; version?: string | null; sni?: string | null } | "unchecked" | null;
  outcome: string;
  cause: string | null;
  explicit: LabJudgement;
  inferred: LabJudgement;
  how: string;
}

export interface LabJudgement {
  clientRole: string | null;
  serverRole: string | null;
  rule: string | null;
  /** The candidate rows when several (then rule is null). */
  ruleAlternatives?: string[];
  /** Older expectations only: several rows fit equally, any as rule. */
  ruleOneOf?: string[];
  findings: string[];
  status?: string;
  limits?: string[];
}

export interface LabFinding {
  code: string;
  severity: "error" | "warning" | "info";
  rule: string | null;
  /** The candidate rows when several (then rule is null). */
  rules?: string[];
  ruleOneOf?: string[];
  transport: "tcp" | "udp";
  client: string | null;
  server: string | null;
  port: number;
  conversations: string[];
}

export interface LabVerdict {
  roles: { ip: string; role: string; source?: "explicit" | "inferred" }[];
  verdict: "pass" | "warn" | "fail" | "inconclusive";
  coverage?: string[];
  exitCode?: number;
  findings: LabFinding[];
}

/** One line per difference between the report and what the lab did; [] when they agree. */
export function compareReport(expected: LabExpected, report: Report, mode: "explicit" | "inferred", exitCode?: number): string[];
