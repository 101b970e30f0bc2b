/**
 * The free-text scan of --redact: the marks the policy put in its sentences first, then, as a
 * second net, addresses in every written form, e-mail addresses, capture file paths and the names
 * the report holds; in text off the wire also anything shaped like a host name. Each value found
 * is replaced by the pseudonym its field would get (pseudonyms.ts), held behind a private-use
 * placeholder so later passes cannot match inside it.
 */
import { parseIp } from "../../decode/index.js";
import { replaceMarks } from "../../policy/index.js";
import { ADDRESS_RE, BARE_MAC_RE, EMAIL_RE, FILE_EXTENSIONS, HEX_V4_RE, NAME_RE, PCT_DOT_NAME_RE, PH_CLOSE, PH_DIGIT0, PH_OPEN, PH_RE, reverseNibbles, V4_RE, WORD_RE } from "./patterns.js";
import type { Pseudonyms } from "./pseudonyms.js";

/**
 * Replace what identifies a network inside free text. "tool" text is the report's own prose
 * (findings, role reasons, coverage, error messages): the values the policy marked are named by
 * their kind first (src/policy/namer.ts); then, as a second net, what is left is scanned for
 * addresses, file paths, e-mail addresses and the dotted names the report holds — but not for
 * name-shaped words (a Wireshark filter is full of them: ip.addr, tcp.port), and never for a
 * one-label name ("a", "the", "vcenter"): in prose that would replace ordinary words, and a
 * one-label name only ever reaches a sentence through a mark. "data" text came off the wire
 * (anomaly messages, software versions, the --filter text): anything shaped like a host name
 * or e-mail address goes too, names written with %2E dots, hex IPv4, bare MACs, and the names
 * and user names the report holds, one-label ones included. "detector" text (anomaly messages
 * around their quotes) is scanned as "data" except for one-label names and user names.
 */
export function scanText(p: Pseudonyms, s: string, mode: "tool" | "data" | "detector"): string {
  if (s === "") return s;
  const held: string[] = [];
  const hold = (t: string): string => {
    held.push(t);
    let digits = "";
    for (const ch of (held.length - 1).toString(16)) digits += String.fromCharCode(PH_DIGIT0 + parseInt(ch, 16));
    return PH_OPEN + digits + PH_CLOSE;
  };
  let out = mode === "tool" ? replaceMarks(s, (kind, v) => hold(p.marked(kind, v))) : s;
  // Capture file paths (and their base names), exactly as given.
  for (const f of p.files) {
    const base = f.slice(Math.max(f.lastIndexOf("/"), f.lastIndexOf("\\")) + 1);
    for (const form of base !== f && base.length >= 3 ? [f, base] : [f]) {
      if (out.includes(form)) out = out.split(form).join(hold(p.file(f)));
    }
  }
  out = out.replace(EMAIL_RE, (m) => hold(p.email(m)));
  // Names (and user names) the report holds in its fields, as whole words.
  out = out.replace(WORD_RE, (m) => {
    const key = m.toLowerCase();
    const bare = key.startsWith("*.") ? key.slice(2) : key;
    if ((p.knownNames.has(key) || p.knownNames.has(bare)) && (mode === "data" || key.includes("."))) {
      return hold(p.name(m));
    }
    if (mode === "data" && p.knownUsers.has(key)) return hold(p.user(m));
    return m;
  });
  if (mode !== "tool") {
    out = out.replace(PCT_DOT_NAME_RE, (m) => hold(p.name(m.replace(/%2e/gi, "."))));
    out = out.replace(HEX_V4_RE, (m) => {
      const n = parseInt(m.slice(2), 16);
      return hold(p.ipText(`${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`)!);
    });
  }
  out = addresses(p, out, hold);
  if (mode !== "tool") {
    out = out.replace(BARE_MAC_RE, (m) => hold(p.mac(m)));
    out = out.replace(NAME_RE, (m, star: string | undefined, body: string) => {
      let name = body;
      let ext = "";
      // "acme.com.html": the name before a file extension; "index.html" alone is a file.
      const last = name.slice(name.lastIndexOf(".") + 1).toLowerCase();
      if (FILE_EXTENSIONS.has(last)) {
        const before = name.slice(0, name.lastIndexOf("."));
        if (!before.includes(".")) return m;
        ext = name.slice(before.length);
        name = before;
        if (!/^[a-z]{2,63}$|^xn--/i.test(name.slice(name.lastIndexOf(".") + 1))) return m;
      }
      return hold((star ?? "") + p.name(name)) + ext;
    });
  }
  return out.replace(PH_RE, (_m, d: string) => {
    let i = 0;
    for (const ch of d) i = i * 16 + (ch.charCodeAt(0) - PH_DIGIT0);
    return held[i] ?? _m;
  });
}

/** Every address in `s` → a held pseudonym. */
function addresses(p: Pseudonyms, s: string, hold: (t: string) => string): string {
  return s.replace(ADDRESS_RE, (m, ...args) => {
    const g = args[args.length - 1] as Record<string, string | undefined>;
    const r = address(p, m, g);
    if (r !== null) return hold(r);
    // Not an address as a whole ("[a:b]", "10.0.0.1:80:90"): an IPv4 address may still be inside.
    return m.replace(V4_RE, (a) => (parseIp(a) ? hold(p.ipText(a)!) : a));
  });
}

/** One match of ADDRESS_RE → its pseudonym, or null to leave the text as it is. */
function address(p: Pseudonyms, m: string, g: Record<string, string | undefined>): string | null {
  if (g.br !== undefined) {
    const t = p.ipText(g.br);
    return t;
  }
  if (g.rev4 !== undefined) {
    const o = g.rev4.slice(0, -1).split(".");
    const t = p.ipText(`${o[3]}.${o[2]}.${o[1]}.${o[0]}`);
    return t === null ? null : t + ".in-addr.arpa";
  }
  if (g.rev6 !== undefined) return p.ip(reverseNibbles(g.rev6)) + ".ip6.arpa";
  if (g.mac !== undefined || g.cisco !== undefined) return p.mac(m);
  if (g.v6 !== undefined) {
    // Trailing ':' or '.' is punctuation ("… at fd77::20: refused", "… fd77::20."), not address.
    let cand = g.v6;
    let tail = "";
    let a = parseIp(cand);
    while (a === null && /[:.]$/.test(cand) && !cand.endsWith("::")) {
      tail = cand.slice(-1) + tail;
      cand = cand.slice(0, -1);
      a = parseIp(cand);
    }
    if (a === null) {
      // Six hex pairs with colons that are not an IPv6 address: a MAC written inside other text.
      if (/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/.test(cand)) return p.mac(cand) + tail + (g.zone ?? "");
      return null;
    }
    if (tail !== "") return p.ip(a) + tail + m.slice(g.v6.length);
    const zone = g.zone ?? "";
    if (g.len6 !== undefined) {
      const len = Number(g.len6);
      return len <= 128 ? p.network(a, len) + zone : p.ip(a) + zone + `/${g.len6}`;
    }
    return p.ip(a) + zone;
  }
  if (g.v4 !== undefined) {
    const a = parseIp(g.v4);
    if (a === null) return null;
    if (g.len4 !== undefined) {
      const len = Number(g.len4);
      return len <= 32 ? p.network(a, len) : p.ip(a) + `/${g.len4}`;
    }
    return p.ip(a);
  }
  return null;
}
