/**
 * What the checks produce (docs/findings.md): findings, each conversation's verdict, the "what
 * to fix first" lines, and the context the checks run in. check.ts re-exports these.
 */
import type { ConversationData } from "../flow/index.js";
import type { FindingCode, Limit, Severity } from "./judge.js";
import type { Matrix, MatrixRow } from "./matrix.js";
import type { Namer } from "./namer.js";
import type { RoleMap } from "./roles.js";

export interface Finding {
  code: FindingCode;
  severity: Severity;
  /** One or two sentences: what was seen, between which hosts (with roles) on which port. */
  message: string;
  /** What to change, where that can be said. */
  fix: string | null;
  /** The matrix row concerned (matched, or the one that should have been seen), else null. */
  rule: string | null;
  /** The candidate rows, when the conversations could be several (then `rule` is null). */
  rules: string[];
  /** Conversation ids behind the finding. */
  conversations: number[];
  /** Frame numbers behind the finding (the first few of each conversation, anomalies, ICMP). */
  frames: number[];
  /** The same frames by capture file (index into the report's captures): "frame 72" of which file. */
  framesIn: { capture: number; frames: number[] }[];
  /** A Wireshark display filter that shows exactly the traffic behind the finding. */
  wiresharkFilter: string;
  /** How many conversations (attempts) the finding stands for, and over how long. */
  attempts?: number;
  durationSeconds?: number;
}

/** What the checks decided for one conversation (conversations[].status, docs/findings.md). */
export type ConversationStatus = "conforming" | "finding" | "info" | "ambiguous" | "not-verifiable" | "infrastructure" | "related" | "unexpected" | "duplicate";

export interface ConversationVerdict {
  clientRole: string | null;
  serverRole: string | null;
  /** The row (matrix, infrastructure or related entry) when it is one, else null. */
  rule: string | null;
  ruleKind: "matrix" | "infrastructure" | "related" | null;
  /** The candidate rows when there are several (then `rule` is null). */
  alternatives: string[];
  /** Codes of the findings that name this conversation. */
  findings: FindingCode[];
  status: ConversationStatus;
  /** Why it could not be judged (status not-verifiable). */
  limits: Limit[];
}

/** One line of "what to fix first": a host, what to change, and what fails until then. */
export interface FixFirst {
  host: string;
  role: string | null;
  action: string;
  /** The row's `impact`, when the finding has a row. */
  impact: string | null;
  code: FindingCode;
  severity: Severity;
  text: string;
}

export interface CheckContext {
  matrix: Matrix;
  roles: RoleMap;
  /** Seconds between the first and last packet over all captures (for missing-expected). */
  captureSeconds: number;
  /** Most of the capture shows one direction only. */
  oneDirection: boolean;
  /** False for a row the --filter excluded (not missing: not in the filter). */
  rowInFilter: (row: MatrixRow) => boolean;
  /** A read stopped before the end of a file (corrupt length, Ctrl-C): what is absent may be in the part not read, so nothing is missing-expected. */
  partial?: boolean;
  /** How sentences name addresses and wire strings (PLAIN_NAMER unless given; docs/redaction.md). */
  namer?: Namer;
}

export interface PolicyResult {
  verdicts: Map<ConversationData, ConversationVerdict>;
  findings: Finding[];
  fixFirst: FixFirst[];
  /** The role map the checks used: the given roles and the inferred ones. */
  roles: RoleMap;
  summary: {
    verdict: "pass" | "warn" | "fail" | "inconclusive";
    findings: Record<Severity, number>;
    conversations: number;
    matched: number;
  };
}

export const PROXY = "proxy";
export const REQUIRED_RANK = { always: 0, "if-present": 1, optional: 2 } as const;
