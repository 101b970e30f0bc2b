/**
 * The small byte and text helpers the line-oriented detectors share (bounds-checked, never
 * throwing), and the text test the plaintext fallback and the STARTTLS and authd rules use.
 * Kept out of fallback.ts so that file holds only the fallback detectors.
 */
import type { Direction, StreamSample } from "./types.js";

/** How many leading bytes of a direction the text test looks at. */
export const TEXT_WINDOW = 128;
/**
 * Share of text bytes (printable ASCII, TAB, CR, LF, and well-formed UTF-8 sequences) at or above
 * which the window counts as text. Encrypted, compressed or random bytes are about 37 % printable
 * (97 of 256 values) and binary headers carry NULs and small integers, so they stay far below;
 * line protocols (SMTP, FTP, IRC, POP3, a telnet-less shell) are 100 %. 90 % leaves room for a
 * stray control byte or Latin-1 letter in 128 bytes without letting binary through.
 */
export const TEXT_THRESHOLD = 0.9;
/** Longest banner kept, in characters (longer lines are cut and end with "…"). */
export const MAX_BANNER = 256;

// ---- byte helpers (shared by the line-oriented detectors) ----

/** True when `b[at..]` starts with the ASCII string `s` (exact case). Bounds-checked. */
export function startsWithAscii(b: Uint8Array, at: number, s: string): boolean {
  if (at < 0 || at + s.length > b.length) return false;
  for (let i = 0; i < s.length; i++) if (b[at + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** Like startsWithAscii but ASCII letters match either case. */
export function startsWithAsciiNoCase(b: Uint8Array, at: number, s: string): boolean {
  if (at < 0 || at + s.length > b.length) return false;
  for (let i = 0; i < s.length; i++) if (lower(b[at + i]) !== lower(s.charCodeAt(i))) return false;
  return true;
}

/**
 * How `b[at..]` compares with the start of `s`: "match" when all of `s` is there, "prefix" when
 * the bytes run out while still agreeing, "no" when a byte differs.
 */
export function prefixState(b: Uint8Array, at: number, s: string, noCase = false): "match" | "prefix" | "no" {
  const n = Math.min(s.length, Math.max(0, b.length - at));
  for (let i = 0; i < n; i++) {
    const x = b[at + i];
    const y = s.charCodeAt(i);
    if (noCase ? lower(x) !== lower(y) : x !== y) return "no";
  }
  return n === s.length ? "match" : "prefix";
}

function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}

/** Index of the first LF in b[from, min(to, b.length)), or -1. */
export function indexOfLf(b: Uint8Array, from: number, to: number): number {
  const end = Math.min(to, b.length);
  for (let i = Math.max(0, from); i < end; i++) if (b[i] === 0x0a) return i;
  return -1;
}

/** Index of the first occurrence of the ASCII string `s` in b[from, to), or -1. */
export function indexOfAscii(b: Uint8Array, s: string, from: number, to: number): number {
  const end = Math.min(to, b.length) - s.length;
  for (let i = Math.max(0, from); i <= end; i++) if (startsWithAscii(b, i, s)) return i;
  return -1;
}

/**
 * The bytes b[start, end) as a string for people: printable ASCII as is, anything else as \xNN,
 * cut at `max` characters (then "…" is appended). Never throws; clamps the range.
 */
export function asciiString(b: Uint8Array, start: number, end: number, max = MAX_BANNER): string {
  const s = Math.max(0, start);
  const e = Math.min(end, b.length);
  // Fast path: all printable up to the cut, decoded at once (the loop below built one string per
  // byte; detection allocated ~50 MiB here on the bench capture).
  const cut = e - s > max ? s + max : e;
  let plain = true;
  for (let i = s; i < cut; i++) {
    const c = b[i];
    if (c < 0x20 || c >= 0x7f) {
      plain = false;
      break;
    }
  }
  if (plain && cut > s) return LATIN1.decode(b.subarray(s, cut)) + (cut < e ? "…" : "");
  let out = "";
  for (let i = s; i < e; i++) {
    if (out.length >= max) return out + "…";
    const c = b[i];
    out += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : "\\x" + c.toString(16).padStart(2, "0");
  }
  return out;
}

/**
 * The line starting at `start`: its text (without CR LF, escaped by asciiString), where the next
 * line starts, and how it ended. `ending` is "crlf", "lf", or "none" when no LF came within
 * `maxLen` bytes or before the data ended (then `next` is where the search stopped).
 */
export function readLine(
  b: Uint8Array,
  start: number,
  maxLen: number,
): { readonly text: string; end: number; next: number; ending: "crlf" | "lf" | "none" } {
  const lf = indexOfLf(b, start, start + maxLen);
  if (lf < 0) {
    const end = Math.min(b.length, start + maxLen);
    return new Line(b, start, end, end, "none");
  }
  const cr = lf > start && b[lf - 1] === 0x0d;
  const end = cr ? lf - 1 : lf;
  return new Line(b, start, end, lf + 1, cr ? "crlf" : "lf");
}

/** Decodes printable ASCII (every byte is checked first) in one call. */
const LATIN1 = new TextDecoder("latin1");

/** A line found by readLine; its text is built only when read (most callers only need where it ends). */
class Line {
  private t: string | null = null;
  constructor(
    private readonly b: Uint8Array,
    private readonly start: number,
    readonly end: number,
    readonly next: number,
    readonly ending: "crlf" | "lf" | "none",
  ) {}

  get text(): string {
    if (this.t === null) this.t = asciiString(this.b, this.start, this.end);
    return this.t;
  }
}

// ---- text classification ----

/**
 * Share of text bytes in b[start, start+window): printable ASCII, TAB, CR, LF, and every byte of a
 * well-formed UTF-8 multi-byte sequence (so "Grüße" is text). 0 for an empty range.
 */
export function textRatio(b: Uint8Array, start = 0, window = TEXT_WINDOW): number {
  const s = Math.max(0, start);
  const e = Math.min(b.length, s + window);
  if (e <= s) return 0;
  let text = 0;
  let i = s;
  while (i < e) {
    const c = b[i];
    if ((c >= 0x20 && c < 0x7f) || c === 0x09 || c === 0x0a || c === 0x0d) {
      text++;
      i++;
      continue;
    }
    // UTF-8 lead byte: 110xxxxx (2 bytes), 1110xxxx (3), 11110xxx (4); continuation 10xxxxxx.
    const n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    let ok = n > 0 && i + n <= b.length;
    for (let k = 1; ok && k < n; k++) ok = (b[i + k] & 0xc0) === 0x80;
    if (ok) {
      const take = Math.min(n, e - i);
      text += take;
      i += n;
    } else i++;
  }
  return text / (e - s);
}

/** A first line shorter than this is not enough to call a stream text on its own. */
export const MIN_TEXT_LINE = 4;

/**
 * True when the first TEXT_WINDOW bytes from `start` are at least TEXT_THRESHOLD text, or when the
 * first line (ended by LF within the window, at least MIN_TEXT_LINE bytes before it) is. The
 * second rule keeps a text command that switches to binary right after it ("STARTTLS\r\n" and
 * then a ClientHello) as text; random bytes make such a line about 3 times in 10 000.
 */
export function isMostlyText(b: Uint8Array, start = 0): boolean {
  if (b.length <= start) return false;
  if (textRatio(b, start, TEXT_WINDOW) >= TEXT_THRESHOLD) return true;
  const lf = indexOfLf(b, start, start + TEXT_WINDOW);
  return lf - start >= MIN_TEXT_LINE && textRatio(b, start, lf - start + 1) >= TEXT_THRESHOLD;
}

/** The first bytes the first speaker sent: TCP its stream, UDP its first non-empty datagram. */
export function firstBytes(s: StreamSample): { dir: Direction; bytes: Uint8Array; frame?: number } | null {
  if (s.transport === "udp") {
    for (const d of s.datagrams) {
      if (d.data.length > 0) return { dir: d.fromClient ? "client" : "server", bytes: d.data, frame: d.frame };
    }
    return null;
  }
  const order: Direction[] = s.firstSpeaker === "server" ? ["server", "client"] : ["client", "server"];
  for (const dir of order) {
    const b = dir === "client" ? s.client : s.server;
    if (b.length > 0) return { dir, bytes: b };
  }
  return null;
}

/** True when neither side sent a payload byte. */
export function hasNoPayload(s: StreamSample): boolean {
  if (s.transport === "udp") return !s.datagrams.some((d) => d.data.length > 0);
  return s.client.length === 0 && s.server.length === 0;
}

export function firstTextLine(b: Uint8Array): string | null {
  if (!isMostlyText(b)) return null;
  const line = readLine(b, 0, MAX_BANNER + 2);
  return line.text.length > 0 ? line.text : null;
}

/** The server's first text line (its stream, or its first datagram that is text), or null. */
export function serverTextLine(s: StreamSample): string | null {
  if (s.transport === "tcp") return firstTextLine(s.server);
  for (const d of s.datagrams) {
    if (d.fromClient || d.data.length === 0) continue;
    const l = firstTextLine(d.data);
    if (l !== null) return l;
  }
  return null;
}

