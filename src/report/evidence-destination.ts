/**
 * Where `--evidence` may write: refused before any capture is read when the destination cannot
 * or must not be written (not .pcapng, standard input among the sources, a directory, a missing or
 * read-only directory, an input file or the report file itself), and for the capture command the
 * live capture's own file (liveEvidenceSource). The writing itself is evidence.ts.
 */
import { closeSync, linkSync, openSync, renameSync, statSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { CaptureSummary } from "../capture/index.js";

/** Errors of the destination, checked before any capture is read (one line, exit 2). */
export class EvidenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EvidenceError";
  }
}

/**
 * Refuses capture inputs that cannot be read a second time: pipes, FIFOs, sockets and devices
 * (`<(zcat x.gz)`, a mkfifo; standard input, "-", is checkEvidenceDestination's). The evidence is
 * cut from a second read of the sources, which would wait for a writer that never comes again.
 */
export function checkEvidenceSources(captures: readonly string[]): void {
  for (const f of captures) {
    if (f === "-") continue;
    let st;
    try {
      st = statSync(f);
    } catch {
      continue; // not there: the read reports it, with the reason
    }
    if (st.isFIFO() || st.isSocket() || st.isCharacterDevice() || st.isBlockDevice()) {
      throw new EvidenceError(`--evidence re-reads the captures after the analysis, and ${f} is ${st.isFIFO() ? "a pipe" : "a device or socket"}, which cannot be read twice: save it to a file first and analyze the file`);
    }
  }
}

/**
 * Refuses a destination that cannot or must not be written: not `.pcapng`, standard input among
 * the sources (it cannot be read twice), a directory, a missing or read-only directory, one of the
 * input files or the report file itself (same device and inode, whatever the names).
 */
export function checkEvidenceDestination(dest: string, inputs: string[], reportFile: string | null, force = false): void {
  if (dest === "" || dest === "-") throw new EvidenceError(`--evidence needs a file name ending in .pcapng, got "${dest}"`);
  if (path.extname(dest).toLowerCase() !== ".pcapng") throw new EvidenceError(`--evidence writes pcapng: the file name must end in .pcapng, got "${dest}"`);
  if (inputs.includes("-")) {
    throw new EvidenceError("--evidence re-reads the captures after the analysis, and standard input cannot be read twice: save it to a file first (tcpdump -w FILE) and analyze the file");
  }
  const dir = path.dirname(path.resolve(dest));
  let d;
  try {
    d = statSync(dir);
  } catch {
    throw new EvidenceError(`--evidence ${dest}: the directory ${dir} does not exist`);
  }
  if (!d.isDirectory()) throw new EvidenceError(`--evidence ${dest}: ${dir} is not a directory`);
  // Can a file be created there? Try the way the real write will (a temporary name beside it).
  const probe = path.join(dir, `.${path.basename(dest)}.${process.pid}.probe.tmp`);
  try {
    closeSync(openSync(probe, "wx"));
    unlinkSync(probe);
  } catch (e) {
    throw new EvidenceError(`--evidence ${dest}: cannot create a file in ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let st;
  try {
    st = statSync(dest);
  } catch {
    st = null;
  }
  if (reportFile !== null && path.resolve(reportFile) === path.resolve(dest)) throw new EvidenceError(`--evidence ${dest} is also the report file (-o): give them different names`);
  if (st === null) return;
  if (st.isDirectory()) throw new EvidenceError(`--evidence ${dest} is a directory`);
  for (const f of [...inputs, ...(reportFile !== null ? [reportFile] : [])]) {
    let s;
    try {
      s = statSync(f);
    } catch {
      continue;
    }
    if (s.dev === st.dev && s.ino === st.ino) {
      throw new EvidenceError(`--evidence ${dest} is ${f === reportFile ? "the report file" : `the input capture ${f}`}: refusing to write over it`);
    }
  }
  // As for -o and -w (src/cli/output.ts): an existing file is replaced only when asked to.
  if (!force) throw new EvidenceError(`--evidence ${dest} exists: give --force to replace it, or another name`);
}

/**
 * Moves a finished temporary file under its name (every file the tool writes ends here: -o, -w,
 * --evidence, --redact-key). With `replace` (--force): rename(2), an atomic replace. Without:
 * link(2), which fails with EEXIST rather than replace a file that appeared since the name was
 * checked (of two runs racing for one name, the second is refused), then the temporary name goes;
 * on a file system without hard links (vfat, some FUSE), check, then rename. Throws the errno
 * error (EEXIST included); the temporary file is left for the caller to remove.
 */
export function placeFile(tmp: string, dest: string, replace: boolean): void {
  if (replace) return renameSync(tmp, dest);
  try {
    linkSync(tmp, dest);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") throw e;
    let exists = true;
    try {
      statSync(dest);
    } catch {
      exists = false;
    }
    if (exists) throw Object.assign(new Error(`EEXIST: ${dest} already exists`), { code: "EEXIST" });
    return renameSync(tmp, dest);
  }
  unlinkSync(tmp);
}

/** Where `capture --evidence` reads its packets back from: the -w file, or a temporary pcapng. */
export interface LiveEvidenceSource {
  /** The file the live capture writes (-w, or the temporary one). */
  source: string;
  /** The name comments use: the -w file's base name, or "live capture". */
  name: string;
  /** With a temporary file: the summary as it would be without -w (no file named in the report). */
  untemp<S extends CaptureSummary>(summary: S): S;
  /** Removes the temporary file (nothing with -w). */
  cleanup(): void;
}

/**
 * For `capture --evidence`: checks the destination before capturing and chooses the pcapng the
 * capture writes and the evidence is read back from — the -w file, or, without -w, a temporary
 * file (removed afterwards) so the packets can be read a second time.
 */
export function liveEvidenceSource(dest: string, write: string | null, reportFile: string | null, force = false, otherInputs: readonly string[] = []): LiveEvidenceSource {
  checkEvidenceDestination(dest, [...(write !== null ? [write] : []), ...otherInputs], reportFile, force);
  if (write !== null) {
    if (path.resolve(write) === path.resolve(dest)) throw new EvidenceError(`--evidence ${dest} is also the -w file: give them different names`);
    return { source: write, name: path.basename(write), untemp: (s) => s, cleanup: () => {} };
  }
  const tmp = path.join(tmpdir(), `phoenix-netcheck-capture-${process.pid}-${Date.now().toString(36)}.pcapng`);
  return {
    source: tmp,
    name: "live capture",
    untemp: (s) => ({ ...s, file: s.file === tmp ? `live:${s.live?.interface ?? ""}` : s.file, format: "pcap", live: s.live ? { ...s.live, file: null } : s.live }),
    cleanup: () => {
      try {
        unlinkSync(tmp);
      } catch {
        /* never created, or already gone */
      }
    },
  };
}
