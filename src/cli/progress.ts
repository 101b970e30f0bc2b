/**
 * A one-line progress bar on stderr while captures are read:
 *
 *   tcp-udp-v4.pcap [=======>            ]  36%  12.3/34.0 MB  81,204 pkts  41.0 MB/s  270.7k pkt/s  ETA 0:01
 *
 * Redrawn in place with "\r" at most 10 times a second (a terminal is slow, and a capture can
 * deliver a million packets a second), never wider than the terminal less one column (so it cannot
 * wrap and scroll; on a narrow terminal the bar shrinks or goes, and the name is cut from the left),
 * and erased by done(). With no known size (standard input, a pipe) it shows
 * what was read and the rates, without bar, percent or ETA.
 *
 * It writes nothing unless it was enabled AND the stream is a terminal: the CLI passes
 * `enabled: process.stderr.isTTY && !quiet && !noProgress`, and the check on the stream itself
 * keeps a redirected stderr (CI logs, `2> file`) free of carriage-return litter either way.
 */
import path from "node:path";

/** What Progress needs of the stream: process.stderr is one. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  enabled: boolean;
  /** Milliseconds clock; injectable for tests. Default performance.now(). */
  now?: () => number;
  /** Minimum milliseconds between two redraws. Default 100 (10 a second). */
  intervalMs?: number;
}

/** The numbers one line is drawn from. */
export interface ProgressState {
  file: string;
  bytesRead: number;
  fileSize: number | null;
  packets: number;
  /** Milliseconds since this file's first update; rates and ETA need it > 0. */
  elapsedMs: number;
  /** Bytes and packets already counted at this file's first update (not part of the rates). */
  bytesAtStart: number;
  packetsAtStart: number;
}

const DEFAULT_COLUMNS = 80;
const BAR_WIDTH = 20;
const BAR_MIN = 10;
const NAME_FIRST = 24;

/** Decimal units, as disk and network speeds are quoted: 1 MB = 1 000 000 bytes. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${Math.round(n)} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

function formatCount(n: number): string {
  if (n < 1000) return `${Math.round(n)}`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)}k`;
  return `${(n / 1e6).toFixed(1)}M`;
}

/** "12.3/34.0 MB" when both are in the same unit, else "999.0 kB/1.2 MB". */
function bytesOfSize(read: number, size: number): string {
  const a = formatBytes(read);
  const b = formatBytes(size);
  const ua = a.slice(a.indexOf(" "));
  return ua === b.slice(b.indexOf(" ")) ? `${a.slice(0, a.length - ua.length)}/${b}` : `${a}/${b}`;
}

/** Seconds as m:ss, or h:mm:ss from an hour up. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** The progress line for `state`, at most `columns - 1` characters wide. */
export function progressLine(state: ProgressState, columns: number): string {
  const { bytesRead, fileSize, packets, elapsedMs } = state;
  const width = Math.max(10, columns - 1);
  const known = fileSize !== null && fileSize > 0;
  const fraction = known ? Math.min(1, bytesRead / fileSize) : 0;
  const secs = elapsedMs / 1000;
  const byteRate = secs > 0 ? (bytesRead - state.bytesAtStart) / secs : null;
  const pktRate = secs > 0 ? (packets - state.packetsAtStart) / secs : null;

  const parts: string[] = [];
  if (known) parts.push(`${Math.floor(fraction * 100)}%`);
  parts.push(known ? bytesOfSize(bytesRead, fileSize) : formatBytes(bytesRead));
  parts.push(`${packets.toLocaleString("en-US")} pkts`);
  if (byteRate !== null) parts.push(`${formatBytes(byteRate)}/s`);
  if (pktRate !== null) parts.push(`${formatCount(pktRate)} pkt/s`);
  if (known && byteRate !== null && byteRate > 0) parts.push(`ETA ${formatDuration((fileSize - bytesRead) / byteRate)}`);
  const rest = parts.join("  ");

  const name = path.basename(state.file) || state.file;
  // Layout: NAME [BAR]  REST. The numbers come first; then up to NAME_FIRST characters of the
  // name; then the bar (BAR_WIDTH wide, narrower down to BAR_MIN, else none); then the rest of
  // the name, cut from the left so the extension stays.
  const space = width - rest.length - 2;
  let bar = "";
  if (known) {
    const inner = Math.min(BAR_WIDTH, space - Math.min(name.length, NAME_FIRST) - 1 - 2);
    if (inner >= BAR_MIN) {
      const filled = Math.floor(fraction * inner);
      bar = `[${"=".repeat(filled)}${filled < inner ? ">" + " ".repeat(inner - filled - 1) : ""}]`;
    }
  }
  const room = space - (bar ? bar.length + 1 : 0);
  const shown = room < 2 ? "" : name.length <= room ? name : "…" + name.slice(name.length - room + 1);
  const head = shown && bar ? `${shown} ${bar}` : shown || bar;
  const line = head ? `${head}  ${rest}` : rest;
  return line.length <= width ? line : line.slice(0, width);
}

export class Progress {
  private readonly active: boolean;
  private readonly now: () => number;
  private readonly interval: number;
  private lastDraw = -Infinity;
  /** Length of what is on the terminal now (0: nothing drawn). */
  private shownLength = 0;
  private file: string | null = null;
  private start = 0;
  private bytesAtStart = 0;
  private packetsAtStart = 0;

  constructor(
    private readonly stream: ProgressStream,
    opts: ProgressOptions,
  ) {
    this.active = opts.enabled && stream.isTTY === true;
    this.now = opts.now ?? (() => performance.now());
    this.interval = opts.intervalMs ?? 100;
  }

  /** Called for every chunk read; draws when the last draw is at least the interval old (or the file changed). */
  update(file: string, bytesRead: number, fileSize: number | null, packets: number): void {
    if (!this.active) return;
    const t = this.now();
    const newFile = file !== this.file;
    if (newFile) {
      this.file = file;
      this.start = t;
      this.bytesAtStart = bytesRead;
      this.packetsAtStart = packets;
    }
    if (!newFile && t - this.lastDraw < this.interval) return;
    this.lastDraw = t;
    const line = progressLine(
      { file, bytesRead, fileSize, packets, elapsedMs: t - this.start, bytesAtStart: this.bytesAtStart, packetsAtStart: this.packetsAtStart },
      this.stream.columns ?? DEFAULT_COLUMNS,
    );
    // Pad over the tail of a longer previous line instead of relying on an ANSI erase.
    const pad = this.shownLength > line.length ? " ".repeat(this.shownLength - line.length) : "";
    this.stream.write(`\r${line}${pad}`);
    this.shownLength = line.length;
  }

  /** Erase the line (if one was drawn) and leave the cursor at the start of it. */
  done(): void {
    if (!this.active) return;
    if (this.shownLength > 0) this.stream.write(`\r${" ".repeat(this.shownLength)}\r`);
    this.shownLength = 0;
    this.lastDraw = -Infinity;
    this.file = null;
  }
}
