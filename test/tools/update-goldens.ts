/**
 * The golden cases of the reports people read, and how each is rendered. Used by
 * test/report/golden.test.ts, which compares the renders with the files in test/report/golden/,
 * or — with UPDATE_GOLDENS=1, which is what `npm run test:update` sets — writes them (and
 * fixtures/hostile/hostile.pcap) instead. The goldens are produced only that way, never edited by
 * hand: after a change that alters a report on purpose, run `npm run test:update` and review the
 * diff like any other change (Zeek's btest -U model).
 *
 * Renders are deterministic: captures are opened by absolute path but shown by their path
 * relative to the repository (as a user would type it), timestamps come from the captures, and
 * no colour is used.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { reportFor } from "../../src/pipeline/index.js";
import { builtinMatrix } from "../../src/policy/matrix.js";
import { renderMarkdown } from "../../src/report/markdown.js";
import type { Report } from "../../src/report/record.js";
import { redactReport } from "../../src/report/redact.js";
import { renderTable } from "../../src/report/table.js";
import { buildHostilePcap } from "./make-hostile.js";

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, "../..");
export const GOLDEN_DIR = path.join(REPO, "test/report/golden");
export const PUBLIC_DIR = path.resolve(REPO, "../shared/captures/public");
export const HOSTILE_PCAP = "fixtures/hostile/hostile.pcap";

export const UPDATE = process.env.UPDATE_GOLDENS === "1";

export interface GoldenCase {
  /** File name stem under test/report/golden/. */
  name: string;
  /** Capture paths relative to the repository, as shown in the report. */
  files: string[];
  /** True when the files are in ../shared (skipped when it is absent). */
  shared: boolean;
  /** Rendered as `--redact` renders it (docs/redaction.md). */
  redact?: boolean;
}

const pub = (f: string) => `../shared/captures/public/${f}`;

export const CASES: GoldenCase[] = [
  { name: "recorded-vmware-authd", files: ["fixtures/recorded/vmware-authd.pcap"], shared: false },
  { name: "recorded-tcp-udp-failures", files: ["fixtures/recorded/tcp-udp-failures.pcap"], shared: false },
  { name: "recorded-plaintext-http-on-443", files: ["fixtures/recorded/plaintext-http-on-443.pcap"], shared: false },
  { name: "recorded-tls10-sni-alpn", files: ["fixtures/recorded/tls10-sni-alpn.pcap"], shared: false },
  { name: "recorded-rdp-xrdp", files: ["fixtures/recorded/rdp-xrdp.pcap"], shared: false },
  { name: "recorded-dns-udp-tcp", files: ["fixtures/recorded/dns-udp-tcp.pcap"], shared: false },
  { name: "recorded-ssh", files: ["fixtures/recorded/ssh.pcap"], shared: false },
  { name: "public-tls12-handshake-failure-alert", files: [pub("tls12-handshake-failure-alert.pcap")], shared: true },
  { name: "public-corrupt-record-length", files: [pub("CORRUPT-bad-record-length-tls12.pcap")], shared: true },
  { name: "public-ipv6-tls12-and-gquic", files: [pub("ipv6-tls12-and-gquic.pcap")], shared: true },
  { name: "public-three-captures", files: [pub("dns-udp.pcap"), pub("http-get.pcap"), pub("ntp-v4.pcap")], shared: true },
  { name: "public-empty", files: [pub("empty-header-only.pcap")], shared: true },
  { name: "hostile", files: [HOSTILE_PCAP], shared: false },
  { name: "redacted-sample", files: ["fixtures/sample.pcapng"], shared: false, redact: true },
  { name: "redacted-plaintext-http-on-443", files: ["fixtures/recorded/plaintext-http-on-443.pcap"], shared: false, redact: true },
];

/** The outputs of one case, by golden file suffix. */
export const OUTPUTS = ["w80.txt", "w200.txt", "md"] as const;
export type Output = (typeof OUTPUTS)[number];

export function goldenPath(c: GoldenCase, o: Output): string {
  return path.join(GOLDEN_DIR, `${c.name}.${o}`);
}

/** Are the case's captures here? (../shared may be absent; fixtures may be mid-recording.) */
export function available(c: GoldenCase): boolean {
  return c.files.every((f) => existsSync(path.resolve(REPO, f)));
}

/** The report for a case, with each capture's `file` as the repository-relative path. */
export async function caseReport(c: GoldenCase): Promise<Report> {
  // Opened by absolute path, named as typed from the repository: no path of this machine in the
  // report (the coverage sentences name the file too).
  const r = await reportFor(c.files.map((f) => path.resolve(REPO, f)), { redact: c.redact, labels: c.files });
  return c.redact ? redactReport(r) : r;
}

export async function renderCase(c: GoldenCase): Promise<Record<Output, string>> {
  const r = await caseReport(c);
  const rows = builtinMatrix().rows;
  return {
    "w80.txt": renderTable(r, { width: 80, color: false }, rows),
    "w200.txt": renderTable(r, { width: 200, color: false }, rows),
    md: renderMarkdown(r, rows),
  };
}

/** Writes the hostile capture from its builder (update mode only). */
export function writeHostilePcap(): void {
  const p = path.join(REPO, HOSTILE_PCAP);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, buildHostilePcap());
}

/** Writes one case's goldens (update mode only). */
export async function writeGoldens(c: GoldenCase): Promise<void> {
  mkdirSync(GOLDEN_DIR, { recursive: true });
  const out = await renderCase(c);
  for (const o of OUTPUTS) writeFileSync(goldenPath(c, o), out[o]);
}
