/**
 * Making strings that came off the wire safe to show. A capture is attacker-controlled input: an
 * SNI, a banner, an HTTP Host, a certificate name or a DNS name can carry terminal escape
 * sequences (ECMA-48 CSI "ESC [" and OSC "ESC ]" sequences that clear the screen, retitle the
 * window or hide text), bidi overrides that reorder what a reader sees (Trojan Source,
 * CVE-2021-42574), Markdown that turns into links or HTML, and HTML that runs script. Every
 * renderer passes every such string through one of the functions here, at the point of output.
 *
 * Control characters are made *visible* rather than dropped, so the reader can tell that the
 * server sent an escape sequence: ESC becomes the four characters `\x1b`, U+202E becomes
 * `\u202e`. Once the ESC byte itself is gone, the rest of a sequence ("[2J") is plain text.
 */

/** `\xNN` for code points below 0x100, `\uNNNN` / `\u{NNNNN}` above: what is shown instead of a control. */
function visible(cp: number): string {
  if (cp < 0x100) return "\\x" + cp.toString(16).padStart(2, "0");
  if (cp <= 0xffff) return "\\u" + cp.toString(16).padStart(4, "0");
  return "\\u{" + cp.toString(16) + "}";
}

/**
 * Code points a terminal (or a Markdown/HTML viewer) must not receive as is:
 * - Cc: C0 controls U+0000–U+001F (ESC, BEL, CR, LF, TAB, BS…), DEL U+007F and the C1 controls
 *   U+0080–U+009F (U+009B is a one-character CSI on terminals that honour 8-bit controls);
 * - Cf: format characters, among them the bidi embeddings, overrides and isolates U+202A–U+202E,
 *   U+2066–U+2069, the marks U+200E/U+200F/U+061C, zero-width characters U+200B–U+200D, U+2060,
 *   U+FEFF and the soft hyphen U+00AD — invisible characters that change what a reader sees;
 * - Zl/Zp: U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR (line breaks in disguise);
 * - Cs: lone surrogates (not text; replaced by U+FFFD, not escaped);
 * - Cn: unassigned code points and noncharacters (U+FFFE, U+FFFF, …): a terminal's guess at them
 *   varies, and a later Unicode version may give them a meaning.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cn}]|\p{Cs}/gu;

/**
 * A string a terminal shows as printed: every control, format, separator and unassigned code
 * point is replaced by a visible escape (`\x1b`, `\x07`, `\u202e`), lone surrogates by U+FFFD.
 * Printable Unicode (letters of every script, CJK, emoji, combining marks) is kept.
 */
export function terminalSafe(s: string): string {
  return s.replace(UNSAFE, (ch) => {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0xd800 && cp <= 0xdfff) return "\ufffd";
    return visible(cp);
  });
}

/**
 * What JSON.stringify leaves raw but a terminal or an editor must not get as is (`jq .`, `cat`,
 * `less` show JSON strings decoded or raw): DEL and the C1 controls U+007F–U+009F (U+009B is a
 * one-character CSI), format characters (bidi overrides and isolates, zero-width characters,
 * U+FEFF), U+2028/U+2029 and unassigned code points. C0 controls are escaped by JSON.stringify
 * itself (RFC 8259 §7), and so are lone surrogates (ES2019 well-formed JSON.stringify).
 */
const JSON_UNSAFE = /[\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}\p{Cn}]/gu;

/** `\uXXXX` (a surrogate pair of them above U+FFFF, RFC 8259 §7) for one code point. */
function jsonEscape(ch: string): string {
  let out = "";
  for (let i = 0; i < ch.length; i++) out += "\\u" + ch.charCodeAt(i).toString(16).padStart(4, "0");
  return out;
}

/**
 * JSON text (from JSON.stringify) with every JSON_UNSAFE character `\u`-escaped. Such characters
 * can only stand inside strings (JSON's structure is ASCII), where an escape means the same
 * character: a parser reads back exactly the same values.
 */
export function jsonSafe(json: string): string {
  // Every JSON_UNSAFE character is outside printable ASCII: only runs of such characters go
  // through the Unicode-property expression (over a whole report that costs seconds; a plain
  // character class finds the rare runs in milliseconds). A run holds whole surrogate pairs.
  return json.replace(NON_ASCII_RUN, (run) => run.replace(JSON_UNSAFE, jsonEscape));
}

/** Runs of characters outside U+0000–U+007E (DEL and beyond). */
const NON_ASCII_RUN = /[^\u0000-\u007e]+/g;

/**
 * ASCII punctuation that means something to GitHub Flavored Markdown anywhere in a line:
 * `\` escapes, `` ` `` code spans, `*` and `_` emphasis, `[` `]` links and images (so `](javascript:…)`
 * stays text), `|` table cells, `~` strikethrough, `#` headings and issue references, `$` math on
 * GitHub, `!` images. CommonMark §2.4: any ASCII punctuation may be backslash-escaped.
 */
const MD_PUNCT = /[\\`*_[\]|~#$!]/g;
/** HTML's own characters become entities (CommonMark §6.6 would otherwise pass raw HTML through). */
const MD_ENTITY: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;" };

/**
 * Text safe inside a GFM table cell and in running text: terminalSafe first (a Markdown file is
 * also `cat` to terminals), then Markdown's punctuation backslash-escaped and `& < >` as entities,
 * so no link, emphasis, code span, raw HTML or extra table cell can come out of the string.
 * Characters that only mean something at the start of a line (`-`, `+`, `=`, `>`, `1.`) are
 * escaped there too, so the result can start a paragraph.
 */
export function escapeMarkdown(s: string): string {
  let t = terminalSafe(s)
    .replace(MD_PUNCT, (c) => "\\" + c)
    .replace(/[&<>]/g, (c) => MD_ENTITY[c]);
  // GFM's autolink extension (spec §6.9) links bare "www." and "scheme://" text; an escaped dot or
  // colon is not matched, so a hostile SNI or Host does not become a clickable link. (Bare e-mail
  // addresses are still linked as mailto: by GFM renderers: that runs on the text after escapes.)
  t = t.replace(/\b(www)\./gi, "$1\\.").replace(/:\/\//g, "\\://");
  // Block starts, which need a space or the line's end after them: list items (CommonMark §5.2:
  // "-", "+", "1." or "1)" then a space), thematic breaks (§4.1: "---", "- - -") and setext
  // underlines (§4.3: "===", "---"). "*", "_", "#" and ">" are escaped everywhere already.
  t = t
    .replace(/^([-+])(?=[ \t]|$)/, "\\$1")
    .replace(/^([-=])(?=[-= \t]*$)/, "\\$1")
    .replace(/^(\d{1,9})([.)])(?=[ \t]|$)/, "$1\\$2");
  // Four leading spaces would start an indented code block (§4.4): the first becomes an entity.
  return t.replace(/^ /, "&#32;");
}

/**
 * A Markdown code span showing `s` exactly (after terminalSafe), whatever it contains: the fence
 * is one backtick longer than the longest run of backticks inside (CommonMark §6.1), padded with a
 * space when the content starts or ends with a backtick or a space. In a table cell (`inTable`)
 * every `|` is written `\|`: GFM's table parser splits cells before it sees code spans, and
 * removes that backslash again (GFM spec §4.10, example 200).
 */
export function markdownCode(s: string, inTable = false): string {
  let t = terminalSafe(s);
  if (inTable) t = t.replace(/\|/g, "\\|");
  if (t.length === 0) return ""; // CommonMark has no empty code span

  let longest = 0;
  for (const m of t.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  const fence = "`".repeat(longest + 1);
  // One space each side is stripped from the content, unless it is all spaces (§6.1).
  const pad = /^[` ]|[` ]$/.test(t) && !/^ +$/.test(t) ? " " : "";
  return fence + pad + t + pad + fence;
}

const HTML_ENTITY: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/**
 * Text safe in HTML element content and in quoted attribute values: terminalSafe first (controls
 * made visible, bidi overrides removed), then `& < > " '` as entities.
 */
export function escapeHtml(s: string): string {
  return terminalSafe(s).replace(/[&<>"']/g, (c) => HTML_ENTITY[c]);
}

// ---------------------------------------------------------------------------------------------
// Widths, for laying out terminal tables.

/** East Asian Wide and Fullwidth ranges (UAX #11), as cli-table3's string-width counts them. */
function isWide(cp: number): boolean {
  return (
    cp >= 0x1100 &&
    (cp <= 0x115f ||
      cp === 0x2329 ||
      cp === 0x232a ||
      (cp >= 0x2e80 && cp <= 0x3247 && cp !== 0x303f) ||
      (cp >= 0x3250 && cp <= 0x4dbf) ||
      (cp >= 0x4e00 && cp <= 0xa4c6) ||
      (cp >= 0xa960 && cp <= 0xa97c) ||
      (cp >= 0xac00 && cp <= 0xd7a3) ||
      (cp >= 0xf900 && cp <= 0xfaff) ||
      (cp >= 0xfe10 && cp <= 0xfe19) ||
      (cp >= 0xfe30 && cp <= 0xfe6b) ||
      (cp >= 0xff01 && cp <= 0xff60) ||
      (cp >= 0xffe0 && cp <= 0xffe6) ||
      (cp >= 0x1b000 && cp <= 0x1b001) ||
      (cp >= 0x1f200 && cp <= 0x1f251) ||
      (cp >= 0x20000 && cp <= 0x3fffd))
  );
}

const SGR = /\x1b\[[0-9;]*m/g;
const EMOJI_PRESENTATION = /\p{Emoji_Presentation}/u;
const PICTOGRAPHIC = /\p{Extended_Pictographic}/u;

/**
 * Columns a string takes on a terminal, counted as the string-width package that cli-table3 pads
 * with counts them (so our wrapping and its padding agree): SGR colour codes, controls and the
 * combining marks U+0300–U+036F count 0; East Asian wide and fullwidth characters and emoji shown
 * as emoji (Emoji_Presentation, or a pictograph followed by VS16 U+FE0F) count 2; the rest 1.
 */
export function displayWidth(s: string): number {
  let w = 0;
  let prevPicto = false;
  for (const ch of s.replace(SGR, "")) {
    const cp = ch.codePointAt(0)!;
    if (cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0x300 && cp <= 0x36f)) continue;
    if (cp === 0xfe0f) {
      // VS16 turns a text-style pictograph into a two-column emoji.
      if (prevPicto) w += 1;
      prevPicto = false;
      continue;
    }
    const picto = PICTOGRAPHIC.test(ch);
    const emoji = EMOJI_PRESENTATION.test(ch) && cp > 0xff;
    w += isWide(cp) || emoji ? 2 : 1;
    prevPicto = picto && !emoji;
  }
  return w;
}

/** Split points inside a long word: after path, address and list punctuation. */
const BREAK_AFTER = /(?<=[/.:\-_,=&|?])/u;

/**
 * Word-wrap one paragraph (no newlines) to `width` columns: break at spaces, and break a word
 * longer than a line (a JA4, a long SNI, a filter) wherever it must, so no line is wider than
 * `width` (as displayWidth counts). Returns at least one line.
 */
export function wrapLine(s: string, width: number): string[] {
  const w = Math.max(1, width);
  const out: string[] = [];
  let line = "";
  let lineW = 0;
  for (const word of s.split(/ +/)) {
    if (word === "") continue;
    const ww = displayWidth(word);
    if (lineW > 0 && lineW + 1 + ww <= w) {
      line += " " + word;
      lineW += 1 + ww;
      continue;
    }
    if (lineW > 0) out.push(line);
    line = "";
    lineW = 0;
    if (ww <= w) {
      line = word;
      lineW = ww;
      continue;
    }
    // A word wider than a whole line (an IPv6 address, a path, a JA4, a filter): break it after
    // punctuation where possible, else wherever it must.
    for (const piece of word.split(BREAK_AFTER).filter((p) => p !== "")) {
      const pw = displayWidth(piece);
      if (lineW > 0 && lineW + pw > w) {
        out.push(line);
        line = "";
        lineW = 0;
      }
      for (const ch of piece) {
        const cw = displayWidth(ch);
        if (lineW + cw > w && lineW > 0) {
          out.push(line);
          line = "";
          lineW = 0;
        }
        line += ch;
        lineW += cw;
      }
    }
  }
  if (lineW > 0 || out.length === 0) out.push(line);
  return out;
}

/** wrapLine over each line of a multi-line text. */
export function wrapText(s: string, width: number): string[] {
  return s.split("\n").flatMap((p) => wrapLine(p, width));
}
