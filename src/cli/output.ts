/**
 * Every file the tool writes (the report with -o, the evidence pcapng with -w) goes through here,
 * so that no command can destroy or half-write a file it was not asked to write (issue 13):
 *
 * - checked before a byte of input is read: the name is not empty, its extension is one we know,
 *   it is not one of the inputs (same device and inode, so a hard link or `./x` is caught too, and
 *   not the other file this run writes), it does not exist unless --force, and its directory takes
 *   a new file — proven by creating the temporary file there right away;
 * - written to that temporary file beside the destination (same directory, so same file system)
 *   and only then moved under the real name: link(2) when the name must not exist (atomic, so of
 *   two runs racing for one name the second gets EEXIST instead of replacing the first), rename(2)
 *   with --force (atomic replace). A crash, a signal or a full disk leaves at most the temporary
 *   file, never a half report under the real name, and the previous file stays whole;
 * - a destination that exists and is not a regular file (a terminal, /dev/null, /dev/full, a FIFO)
 *   is written directly: it cannot be renamed over, and writing to it replaces nothing;
 * - `-` is standard output.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, statSync, unlinkSync, writeSync, type Stats } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import { placeFile, terminalSafe } from "../report/index.js";

/** The destination cannot or must not be written. One line; the CLI exits 2. */
export class OutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OutputError";
  }
}

/** Report formats by -o extension (lower-case). */
export const REPORT_EXTENSIONS: Readonly<Record<string, "json" | "markdown" | "html" | "table">> = {
  ".json": "json", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html", ".txt": "table",
};
/** What -w writes. */
export const CAPTURE_EXTENSIONS = [".pcapng"] as const;
/** Names that look like captures: a report is never written under them, even with --format. */
const CAPTURE_LIKE = /\.(pcap|pcapng|cap|ntar|gz|erf|snoop)$/i;

export interface DestinationRules {
  /** What is written, for messages: "report", "evidence file". */
  what: string;
  /** The option that names it, for messages: "-o", "-w". */
  flag: string;
  /** Extensions accepted (lower-case, with the dot); null = any (an explicit --format). */
  extensions: readonly string[] | null;
  /** Replace an existing file (--force). */
  force: boolean;
  /** Files this run reads ("-" is skipped): never written over. */
  inputs: readonly string[];
  /** Other files this run writes (-w when checking -o): never the same as this one. */
  others?: readonly string[];
  /** The new file's permissions (default 0o644; the redaction key is its owner's only). */
  mode?: number;
}

function show(p: string): string {
  return terminalSafe(p);
}

function statOrNull(p: string): Stats | null {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

function errText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const reasons: Record<string, string> = {
    ENOENT: "no such directory",
    EACCES: "permission denied",
    EPERM: "permission denied",
    EROFS: "read-only file system",
    ENOSPC: "no space left on device",
    EDQUOT: "disk quota exceeded",
    ENOTDIR: "a part of the path is not a directory",
    EISDIR: "is a directory",
    EEXIST: "already exists",
    EIO: "input/output error",
  };
  return (err.code && reasons[err.code]) ? `${reasons[err.code]} (${err.code})` : (err.message ?? String(e)).split("\n")[0];
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/**
 * An output file being written: created (as a temporary file beside `path`, or `path` itself for
 * a device) by openOutput, written with write(), and put in place by commit() — or thrown away by
 * discard(), which also runs when the process exits before commit.
 */
export class OutputFile {
  /** Where the bytes go until commit (the temporary file, or the device itself). */
  readonly tempPath: string | null;
  private fd: number | null;
  private done = false;

  constructor(
    readonly path: string,
    private readonly force: boolean,
    readonly direct: boolean,
    mode = 0o644,
  ) {
    const dest = path;
    if (direct) {
      this.tempPath = null;
      try {
        this.fd = openSync(dest, "w");
      } catch (e) {
        throw new OutputError(`cannot write ${show(dest)}: ${errText(e)}`);
      }
    } else {
      const dir = dirname(dest);
      // Hidden, beside the destination (a rename within one file system is atomic), and unique.
      const tmp = join(dir, `.${basename(dest)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
      try {
        this.fd = openSync(tmp, "wx", mode);
      } catch (e) {
        throw new OutputError(`cannot create ${show(dest)}: ${errText(e)} (directory ${show(dir)})`);
      }
      this.tempPath = tmp;
      live.add(this);
    }
  }

  /** The open descriptor (for writers that write as they go, like the pcapng writer). */
  get descriptor(): number {
    if (this.fd === null) throw new Error("output file is closed");
    return this.fd;
  }

  /** Writes all of `data`; throws OutputError (the destination is left as it was). */
  write(data: string | Uint8Array): void {
    const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let off = 0;
    try {
      while (off < buf.length) off += writeSync(this.descriptor, buf, off, buf.length - off);
    } catch (e) {
      this.discard();
      throw new OutputError(`cannot write ${show(this.path)}: ${errText(e)}${this.direct ? "" : `; ${show(this.path)} was not changed`}`);
    }
  }

  /** Flushes to disk, closes and moves the file under its name; throws OutputError. */
  commit(): void {
    if (this.done) return;
    const fd = this.fd;
    this.fd = null;
    try {
      if (fd !== null) {
        if (!this.direct) fsyncSync(fd);
        closeSync(fd);
      }
    } catch (e) {
      this.discard();
      throw new OutputError(`cannot write ${show(this.path)}: ${errText(e)}${this.direct ? "" : `; ${show(this.path)} was not changed`}`);
    }
    this.done = true;
    if (this.tempPath === null) return;
    live.delete(this);
    try {
      placeFile(this.tempPath, this.path, this.force);
    } catch (e) {
      removeQuietly(this.tempPath);
      if ((e as NodeJS.ErrnoException).code === "EEXIST") {
        throw new OutputError(`${show(this.path)} was created by something else while this ran; it was left as it is (use --force to replace it)`);
      }
      throw new OutputError(`cannot write ${show(this.path)}: ${errText(e)}`);
    }
  }

  /** Closes and removes the temporary file; the destination is untouched. Idempotent. */
  discard(): void {
    if (this.fd !== null) {
      try {
        closeSync(this.fd);
      } catch {
        /* closing a failed file */
      }
      this.fd = null;
    }
    if (!this.done && this.tempPath !== null) removeQuietly(this.tempPath);
    this.done = true;
    live.delete(this);
  }
}

function removeQuietly(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    /* already gone */
  }
}

/** Temporary files not yet committed: removed if the process exits first (error, second Ctrl-C). */
const live = new Set<OutputFile>();
process.on("exit", () => {
  for (const f of [...live]) f.discard();
});

/**
 * Checks `dest` against the rules and creates its temporary file; returns null for "-" (standard
 * output). Throws OutputError with one line saying what is wrong and what to do.
 */
export function openOutput(dest: string, rules: DestinationRules): OutputFile | null {
  if (dest === "") throw new OutputError(`${rules.flag} needs a file name${rules.flag === "-o" ? " (or - for standard output)" : ""}`);
  if (dest === "-") return null;
  const st = statOrNull(dest);
  const resolved = resolve(dest);
  // Inputs first: of everything wrong with a destination, overwriting the capture is the worst.
  for (const input of rules.inputs) {
    if (input === "-") continue;
    const ist = statOrNull(input);
    if ((st !== null && ist !== null && sameFile(st, ist)) || resolve(input) === resolved) {
      throw new OutputError(`${rules.flag} ${show(dest)} is the input ${show(input)}: refusing to write the ${rules.what} over it`);
    }
  }
  for (const other of rules.others ?? []) {
    const ost = statOrNull(other);
    if ((st !== null && ost !== null && sameFile(st, ost)) || resolve(other) === resolved) {
      throw new OutputError(`${rules.flag} ${show(dest)} is also the file ${show(other)} this run writes: give them different names`);
    }
  }
  if (st !== null && st.isDirectory()) throw new OutputError(`${rules.flag} ${show(dest)} is a directory: give a file name`);
  // A device or FIFO (/dev/null, /dev/full, a terminal) has no extension to check and nothing to replace.
  if (st !== null && !st.isFile()) return new OutputFile(dest, true, true);
  const base = basename(dest).toLowerCase();
  const ext = extname(base);
  if (rules.extensions !== null && !rules.extensions.includes(ext)) {
    const known = rules.extensions.join(", ");
    throw new OutputError(
      `${rules.flag} ${show(dest)}: ${ext === "" ? "no extension" : `unknown extension ${show(ext)}`} for the ${rules.what}; use one of ${known}${rules.flag === "-o" ? " (or give --format)" : ""}`,
    );
  }
  if (rules.extensions === null && rules.flag === "-o" && CAPTURE_LIKE.test(base)) {
    throw new OutputError(`${rules.flag} ${show(dest)}: that is a capture file's name, not a report's; use .json, .md, .html or .txt`);
  }
  if (st !== null && !rules.force) throw new OutputError(`${show(dest)} already exists: use --force to replace it, or choose another name`);
  return new OutputFile(dest, rules.force, false, rules.mode);
}
