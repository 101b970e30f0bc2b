/**
 * The TLS facts tshark's oracle gives for one stream (`tls[]` / `tls_forced_decode.streams[]` of
 * `<file>.tshark.json`), in our report's spelling, and the same six facts of ours, so a test
 * compares them with one toEqual.
 */
import { analyzeFiles } from "../../src/pipeline/index.js";

/** A retention budget no test capture reaches: every conversation keeps its bytes after detection. */
export const KEEP_ALL_BYTES = 1 << 30;
import { cipherName, tlsVersionName } from "../../src/detect/tls/index.js";
import type { TlsFacts } from "../../src/detect/types.js";
import type { ConnectionView } from "../../src/policy/view.js";

const runs = new Map<string, Promise<readonly ConnectionView[]>>();

/** The conversations of one capture through the whole pipeline, analysed once per test file. */
export function conversationsOf(file: string): Promise<readonly ConnectionView[]> {
  let r = runs.get(file);
  if (r === undefined) {
    // The tests re-parse the kept bytes (sampleOf), so they ask for them to be retained.
    r = analyzeFiles([file], { flow: { retainedBytes: KEEP_ALL_BYTES } }).then((a) => a.conversations);
    runs.set(file, r);
  }
  return r;
}

export interface OracleTlsEntry {
  transport: string;
  stream: number;
  sni: string | null;
  max_offered_version: string | null;
  negotiated_version: string | null;
  cipher_suite: string | null;
  ja3: string | null;
  ja3s: string | null;
  client_hellos?: unknown[];
}

export interface ComparedTls {
  clientVersion: string | null;
  version: string | null;
  sni: string | null;
  cipher: string | null;
  ja3: string | null;
  ja3s: string | null;
}

export function tsharkTls(e: OracleTlsEntry): ComparedTls {
  return {
    clientVersion: e.max_offered_version ? tlsVersionName(parseInt(e.max_offered_version, 16)) : null,
    version: e.negotiated_version ? tlsVersionName(parseInt(e.negotiated_version, 16)) : null,
    sni: e.sni ?? null,
    cipher: e.cipher_suite ? cipherName(parseInt(e.cipher_suite, 16)) : null,
    ja3: e.ja3 ?? null,
    ja3s: e.ja3s ?? null,
  };
}

export function ourTls(t: TlsFacts | null): ComparedTls {
  return {
    clientVersion: t?.clientVersion ?? null,
    version: t?.version ?? null,
    sni: t?.sni ?? null,
    cipher: t?.cipher ?? null,
    ja3: t?.ja3 ?? null,
    ja3s: t?.ja3s ?? null,
  };
}
