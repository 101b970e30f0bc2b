import { describe, expect, it } from "vitest";
import { displayWidth, escapeHtml, escapeMarkdown, markdownCode, terminalSafe, wrapLine, wrapText } from "../../src/report/sanitize.js";
import { visibleWidth } from "./measure.js";
import { rng } from "../support/random.js";

/** Any code point that a terminal or viewer must not get raw: controls, format, separators, surrogates. */
const DANGEROUS = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;


/** Strings mixing ASCII punctuation, controls, C1, bidi, CJK, emoji, surrogate halves. */
function randomStrings(n: number, seed: number): string[] {
  const r = rng(seed);
  const pool = [
    ..."!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ abcXYZ019",
    "\x00", "\x07", "\x08", "\t", "\n", "\r", "\x1b", "\x7f", "\x85", "\x9b", "\u00ad",
    "\u200b", "\u200e", "\u202a", "\u202e", "\u2066", "\u2069", "\u2028", "\u2029", "\ufeff", "\uffff",
    "中", "한", "😀", "é", "e\u0301", "\ud800", "\udc00", "&amp;", "&lt;", "```", "\\|",
  ];
  return Array.from({ length: n }, () => {
    const len = Math.floor(r() * 24);
    let s = "";
    for (let i = 0; i < len; i++) s += pool[Math.floor(r() * pool.length)];
    return s;
  });
}

describe("terminalSafe", () => {
  it("makes every C0 control, DEL and every C1 control visible as \\xNN", () => {
    for (let cp = 0; cp <= 0x9f; cp++) {
      if (cp >= 0x20 && cp < 0x7f) continue;
      const out = terminalSafe(`a${String.fromCharCode(cp)}b`);
      expect(out).toBe(`a\\x${cp.toString(16).padStart(2, "0")}b`);
      expect(DANGEROUS.test(out)).toBe(false);
    }
  });

  it("keeps printable ASCII as is, space included", () => {
    let all = "";
    for (let cp = 0x20; cp < 0x7f; cp++) all += String.fromCharCode(cp);
    expect(terminalSafe(all)).toBe(all);
  });

  it("defuses CSI and OSC sequences: no ESC, BEL or 8-bit CSI remains, the rest shows as text", () => {
    expect(terminalSafe("\x1b[2J\x1b]0;pwned\x07")).toBe("\\x1b[2J\\x1b]0;pwned\\x07");
    expect(terminalSafe("\x1b[31mred\x1b[0m")).toBe("\\x1b[31mred\\x1b[0m");
    // OSC 8 hyperlink with ST (ESC \) terminator.
    expect(terminalSafe("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\")).toBe("\\x1b]8;;http://x\\x1b\\link\\x1b]8;;\\x1b\\");
    // C1 CSI (0x9b) and OSC (0x9d) as single code points.
    expect(terminalSafe("\x9b2J\x9d0;t\x9c")).toBe("\\x9b2J\\x9d0;t\\x9c");
  });

  it("makes bidi controls, zero-width and other format characters visible as \\uNNNN", () => {
    const cases: [string, string][] = [
      ["\u202e", "\\u202e"], // RIGHT-TO-LEFT OVERRIDE (Trojan Source)
      ["\u202d", "\\u202d"],
      ["\u202a", "\\u202a"],
      ["\u202b", "\\u202b"],
      ["\u202c", "\\u202c"],
      ["\u2066", "\\u2066"], // isolates
      ["\u2067", "\\u2067"],
      ["\u2068", "\\u2068"],
      ["\u2069", "\\u2069"],
      ["\u200e", "\\u200e"], // LRM / RLM / ALM
      ["\u200f", "\\u200f"],
      ["\u061c", "\\u061c"],
      ["\u200b", "\\u200b"], // zero-width space, non-joiner, joiner, word joiner, BOM
      ["\u200c", "\\u200c"],
      ["\u200d", "\\u200d"],
      ["\u2060", "\\u2060"],
      ["\ufeff", "\\ufeff"],
      ["\u00ad", "\\xad"], // soft hyphen (Cf below U+0100)
      ["\u2028", "\\u2028"], // line and paragraph separators
      ["\u2029", "\\u2029"],
      ["\ufffe", "\\ufffe"], // noncharacters
      ["\uffff", "\\uffff"],
      ["\u{e0001}", "\\u{e0001}"], // LANGUAGE TAG (Cf, astral)
    ];
    for (const [input, shown] of cases) expect(terminalSafe(`x${input}y`)).toBe(`x${shown}y`);
    expect(terminalSafe("user\u202egnp.exe")).toBe("user\\u202egnp.exe");
  });

  it("replaces lone surrogates with U+FFFD and keeps pairs", () => {
    expect(terminalSafe("a\ud800b\udc00c")).toBe("a\ufffdb\ufffdc");
    expect(terminalSafe("😀")).toBe("😀");
  });

  it("keeps printable Unicode: accents, combining marks, CJK, emoji, NBSP", () => {
    const s = "héllo e\u0301 中文 한국어 😀 ❤️ Ωμέγα \u00a0 ‐–— «»";
    expect(terminalSafe(s)).toBe(s);
  });

  it("never lets a dangerous code point through (seeded property test)", () => {
    for (const s of randomStrings(2000, 1)) expect(DANGEROUS.test(terminalSafe(s)), JSON.stringify(s)).toBe(false);
  });
});

/**
 * Undo Markdown escaping as CommonMark does for inline text: a backslash before ASCII punctuation
 * stands for that character (§2.4), and entity references stand for their characters (§2.5).
 */
function commonmarkText(md: string): string {
  return md.replace(/\\([!-/:-@[-`{-~])|&(amp|lt|gt|#32);/g, (_m, p: string | undefined, e: string | undefined) => {
    if (p !== undefined) return p;
    return { amp: "&", lt: "<", gt: ">", "#32": " " }[e!]!;
  });
}

describe("escapeMarkdown", () => {
  it("backslash-escapes Markdown punctuation and writes & < > as entities", () => {
    expect(escapeMarkdown("a|b")).toBe("a\\|b");
    expect(escapeMarkdown("`x`")).toBe("\\`x\\`");
    expect(escapeMarkdown("*a* _b_ ~c~ $d$")).toBe("\\*a\\* \\_b\\_ \\~c\\~ \\$d\\$");
    expect(escapeMarkdown("[x](javascript:alert(1))")).toBe("\\[x\\](javascript:alert(1))");
    expect(escapeMarkdown("![i](x)")).toBe("\\!\\[i\\](x)");
    expect(escapeMarkdown("#1 <b>&amp;")).toBe("\\#1 &lt;b&gt;&amp;amp;");
    expect(escapeMarkdown("a\\b")).toBe("a\\\\b");
  });

  it("keeps bare URLs from becoming links (GFM autolinks)", () => {
    expect(escapeMarkdown("www.evil.example")).toBe("www\\.evil.example");
    expect(escapeMarkdown("see WWW.evil.example")).toBe("see WWW\\.evil.example");
    expect(escapeMarkdown("https://evil.example/x")).toBe("https\\://evil.example/x");
    expect(escapeMarkdown("10.0.0.1:443")).toBe("10.0.0.1:443");
  });

  it("escapes what would start a block only at the start", () => {
    expect(escapeMarkdown("- item")).toBe("\\- item");
    expect(escapeMarkdown("+ item")).toBe("\\+ item");
    expect(escapeMarkdown("1. item")).toBe("1\\. item");
    expect(escapeMarkdown("2) item")).toBe("2\\) item");
    expect(escapeMarkdown("---")).toBe("\\---");
    expect(escapeMarkdown("===")).toBe("\\===");
    expect(escapeMarkdown(">quote")).toBe("&gt;quote");
    expect(escapeMarkdown("    code")).toBe("&#32;   code");
    // Not block starts: left alone.
    expect(escapeMarkdown("10.0.0.1")).toBe("10.0.0.1");
    expect(escapeMarkdown("-x and a - b")).toBe("-x and a - b");
  });

  it("makes controls visible first, and the backslash of \\x1b is itself escaped", () => {
    expect(escapeMarkdown("a\x1bb\nc")).toBe("a\\\\x1bb\\\\x0ac");
    expect(commonmarkText(escapeMarkdown("a\x1bb\nc"))).toBe("a\\x1bb\\x0ac");
  });

  it("leaves no raw <, >, unescaped | or newline, and reads back as terminalSafe(s) (property)", () => {
    for (const s of randomStrings(2000, 2)) {
      const md = escapeMarkdown(s);
      expect(md).not.toMatch(/[<>\n\r]/);
      expect(md).not.toMatch(/(^|[^\\])(\\\\)*\|/);
      expect(DANGEROUS.test(md)).toBe(false);
      expect(commonmarkText(md).replace(/^ /, " "), JSON.stringify(s)).toBe(terminalSafe(s));
    }
  });
});

describe("markdownCode", () => {
  /** The text a code span shows (CommonMark §6.1): strip the fence and one space each side. */
  function spanContent(span: string): string {
    const fence = /^`+/.exec(span)![0];
    expect(span.endsWith(fence)).toBe(true);
    const raw = span.slice(fence.length, span.length - fence.length);
    // The fence must not occur inside (it would end the span early), nor touch a backtick.
    expect(raw.includes(fence)).toBe(false);
    expect(raw.startsWith("`") || raw.endsWith("`")).toBe(false);
    return raw.startsWith(" ") && raw.endsWith(" ") && raw.trim() !== "" ? raw.slice(1, -1) : raw;
  }

  it("shows any text verbatim, backticks included", () => {
    for (const s of ["a", "`", "``", "a`b", "a``b```c", "`start", "end`", " spaced ", "x || y", "<b>&amp;"]) {
      expect(spanContent(markdownCode(s))).toBe(s);
    }
  });

  it("in a table cell, writes every | as \\| (the table parser removes the backslash)", () => {
    const span = markdownCode("ip.addr==1.2.3.4 || tcp.port==443", true);
    expect(span).toBe("`ip.addr==1.2.3.4 \\|\\| tcp.port==443`");
    expect(spanContent(span).replace(/\\\|/g, "|")).toBe("ip.addr==1.2.3.4 || tcp.port==443");
  });

  it("makes controls visible and never contains a newline (property)", () => {
    expect(markdownCode("")).toBe("");
    for (const s of randomStrings(1000, 3)) {
      if (s === "") continue;
      const span = markdownCode(s, true);
      expect(span).not.toMatch(/[\n\r]/);
      expect(DANGEROUS.test(span)).toBe(false);
      expect(span).not.toMatch(/(^|[^\\])\|/);
      expect(spanContent(span).replace(/\\\|/g, "|")).toBe(terminalSafe(s));
    }
  });
});

describe("escapeHtml", () => {
  it("escapes & < > \" ' and makes controls visible", () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe("&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
    expect(escapeHtml("<script>\x1b[2J\x07")).toBe("&lt;script&gt;\\x1b[2J\\x07");
  });

  it("leaves no markup character or control (property)", () => {
    for (const s of randomStrings(1000, 4)) {
      const h = escapeHtml(s);
      expect(h).not.toMatch(/[<>"']/);
      expect(h).not.toMatch(/&(?!(amp|lt|gt|quot|#39);)/);
      expect(DANGEROUS.test(h)).toBe(false);
    }
  });
});

describe("displayWidth and wrapping", () => {
  it("counts wide characters 2, combining marks and SGR codes 0", () => {
    expect(displayWidth("abc")).toBe(3);
    expect(displayWidth("中文")).toBe(4);
    expect(displayWidth("😀")).toBe(2);
    expect(displayWidth("e\u0301")).toBe(1);
    expect(displayWidth("\x1b[1;31mFAIL\x1b[0m")).toBe(4);
    expect(displayWidth("→–…\ufffd")).toBe(4);
  });

  it("wraps at spaces and never exceeds the width, keeping every character", () => {
    const text = "the client sent a TLS ClientHello for " + "x".repeat(70) + ".example but 中文中文中文 😀😀 no ServerHello came";
    // From 2 columns: a wide character cannot fit in 1.
    for (const width of [2, 3, 5, 10, 17, 40]) {
      const lines = wrapLine(text, width);
      for (const l of lines) expect(visibleWidth(l)).toBeLessThanOrEqual(width);
      expect(lines.join("").replace(/ /g, "")).toBe(text.replace(/ /g, ""));
    }
  });

  it("breaks a long address or path after punctuation before breaking inside a run", () => {
    expect(wrapLine("../shared/captures/public/ipv6-tls12.pcap", 20)).toEqual(["../shared/captures/", "public/ipv6-tls12.", "pcap"]);
    expect(wrapLine("[2a00:d40:1:3:7aac:c0ff:fea7:d4c]:45931", 24)).toEqual(["[2a00:d40:1:3:7aac:c0ff:", "fea7:d4c]:45931"]);
  });

  it("keeps the lines of a multi-line text apart", () => {
    expect(wrapText("one two\nthree", 20)).toEqual(["one two", "three"]);
    expect(wrapText("", 20)).toEqual([""]);
  });
});
