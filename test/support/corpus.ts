/**
 * Access to the shared capture corpus beside the checkout (../shared/captures). CI has it; a
 * checkout without it skips the tests that need it, saying so.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, "../..");
export const SHARED = path.resolve(REPO_ROOT, "../shared");
export const PUBLIC_DIR = path.join(SHARED, "captures/public");
export const JA4_DIR = path.join(SHARED, "captures/ja4");
export const HAVE_PUBLIC = existsSync(PUBLIC_DIR);
export const HAVE_JA4 = existsSync(JA4_DIR);
export const SKIP_MESSAGE = `../shared/captures not found beside the checkout (looked in ${SHARED}); corpus tests skipped`;

if (!HAVE_PUBLIC) console.warn(SKIP_MESSAGE);

/** Capture files in a corpus folder (everything but oracle JSON, manifests and licences). */
export function corpusFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.(pcap|pcapng|cap)$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

export interface OracleConversation {
  a: string;
  a_port: number;
  b: string;
  b_port: number;
  bytes_a_to_b: number;
  bytes_b_to_a: number;
  frames_a_to_b: number;
  frames_b_to_a: number;
  first_frame: number;
  last_frame: number;
  stream: number;
  syn_client?: string | null;
}

/** The tshark 4.0 oracle for a capture (fields: ../shared/captures/README.md). */
export function oracle(file: string): any {
  return JSON.parse(readFileSync(file + ".tshark.json", "utf8"));
}
