/**
 * What --redact recognises in text and keeps of a value: kept top-level labels and public names,
 * the shapes of names, addresses, MACs, e-mail addresses, software versions, banners and quotes,
 * and address helpers (IPv4-mapped addresses as IPv4, special address kinds, reverse-DNS nibbles).
 */
import { formatIp, parseIp } from "../../decode/index.js";
import { CLOUD_NAME_SUFFIXES } from "../../policy/index.js";

// ---------------------------------------------------------------------------------------------
// Names: what stays of a name, and what looks like one.

/** Top-level labels kept after a name's pseudonym: generic, country-code (any two letters) and internal-use suffixes. */
export const KEPT_TLDS = new Set([
  "com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "io", "cloud", "arpa", "local", "localdomain", "lan",
  "home", "internal", "intranet", "corp", "private", "test", "example", "invalid", "localhost",
]);
/** Public service domains kept whole after a pseudonym (the Phoenix cloud's own names). */
export const KEPT_SUFFIXES = [...CLOUD_NAME_SUFFIXES.map((s) => s.replace(/^\./, "")), "in-addr.arpa", "ip6.arpa"].sort((a, b) => b.length - a.length);
/** Names that say nothing about anyone's network and stay as they are. */
export const PUBLIC_NAMES = new Set(["localhost", "localhost.localdomain", ...CLOUD_NAME_SUFFIXES.map((s) => s.replace(/^\./, ""))]);
/** Last labels that are file extensions, not top-level domains: "index.html", "cmd.exe" are not host names. */
export const FILE_EXTENSIONS = new Set([
  "html", "htm", "txt", "exe", "dll", "php", "asp", "aspx", "jsp", "js", "css", "json", "xml", "cgi", "png", "jpg", "jpeg",
  "gif", "ico", "pdf", "log", "cfg", "conf", "ini", "yaml", "yml", "pcap", "pcapng", "gz", "tgz", "iso", "vmdk", "vmx", "ova", "ovf",
]);

export function keptSuffix(name: string): string {
  for (const s of KEPT_SUFFIXES) if (name.endsWith("." + s)) return "." + s;
  const dot = name.lastIndexOf(".");
  if (dot < 0) return "";
  const tld = name.slice(dot + 1);
  return KEPT_TLDS.has(tld) || /^[a-z]{2}$/.test(tld) ? "." + tld : "";
}

/** A host name as RFC 1123 §2.1 writes one (plus "_" for SRV-style labels), lower case: only such a name keeps a suffix. */
export const WELL_FORMED_NAME = /^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
/** SRV-style service and protocol labels (RFC 2782, RFC 6335 §5.1: a service name is at most 15 characters). */
export const SERVICE_LABELS = /^((?:_[a-z0-9-]{1,15}\.)?_(?:tcp|udp|tls|sctp)\.)(.+)$/;

/**
 * A name-shaped run of text: labels joined by dots, the last one alphabetic (or punycode). Labels
 * may run past 63 characters (a name that is not a valid one is still a name to hide), and the
 * name may be followed by "_x", "-x" or a file extension ("acme.com.html"): those are not part of
 * the last label, so they do not keep the name from being seen.
 */
export const NAME_RE =
  /(?<![A-Za-z0-9_.@-])(\*\.)?((?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,250}[A-Za-z0-9_])?\.)+(?:xn--[A-Za-z0-9-]{1,59}|[A-Za-z]{2,63}))(?![A-Za-z0-9]|\.[A-Za-z0-9_-])/g;
/** "%2E" (or "%2e") is a dot in a URL: names written with it are names. */
export const PCT_DOT_NAME_RE = /(?<![A-Za-z0-9_%-])(?:[A-Za-z0-9_-]{1,252}%2[Ee])+[A-Za-z]{2,63}(?![A-Za-z0-9])/g;
/** A MAC written as twelve bare hex digits (with at least one letter and one digit, so it is not a number or a word). */
export const BARE_MAC_RE = /(?<![0-9A-Za-z])(?=[0-9]*[A-Fa-f])(?=[A-Fa-f]*[0-9])[0-9A-Fa-f]{12}(?![0-9A-Za-z])/g;
/** An IPv4 address written as one hex number (0x0a000005). */
export const HEX_V4_RE = /(?<![0-9A-Za-z])0[xX][0-9A-Fa-f]{8}(?![0-9A-Za-z])/g;
/** HTTP methods (RFC 9110 §9, RFC 5789, RFC 4918 §9) kept as they are: they say nothing about anyone. */
export const STANDARD_METHODS = new Set([
  "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK",
]);
/** Request paths that are public API entry points (vSphere's, which role inference names): kept before the pseudonym. */
export const KEPT_PATHS = /^\/(?:sdk|api|rest|ui)(?=[/?]|$)/;
/**
 * A software version as SSH identification strings (RFC 4253 §4.2) and HTTP Server headers
 * (RFC 9110 §10.2.4) write it: a product name and a version that starts with a digit
 * ("OpenSSH_8.9p1", "nginx/1.18.0", "Microsoft-IIS/10.0"). Anything else is replaced whole.
 */
export const SOFTWARE_RE = /^[A-Za-z][A-Za-z0-9]{1,23}(?:[_/-][A-Za-z]{1,12})?[_/-][0-9][A-Za-z0-9.+~]{0,24}$/;
/** The VMware authd greeting and the words its options are made of (test/detect/fixtures.ts AUTHD_LINE). */
export const AUTHD_RE = /^(220 VMware Authentication Daemon Version \d{1,3}(?:\.\d{1,3}){0,3})(.*)$/s;
export const AUTHD_WORDS = new Set(["SSL", "Required", "ServerDaemonProtocol", "SOAP", "MKSDisplayProtocol", "VNC", "VMXARGS", "NFCSSL", "supported", "t", "ssl"]);
/** An HTTP status line (RFC 9112 §4): the version and code stay, and the reason phrase when it is a standard one (RFC 9110 §15). */
export const HTTP_STATUS_RE = /^(HTTP\/\d\.\d \d{3}) (.*)$/s;
export const REASON_PHRASES = new Set([
  "OK", "Created", "Accepted", "No Content", "Moved Permanently", "Found", "See Other", "Not Modified", "Temporary Redirect", "Permanent Redirect",
  "Bad Request", "Unauthorized", "Forbidden", "Not Found", "Method Not Allowed", "Request Timeout", "Internal Server Error", "Not Implemented",
  "Bad Gateway", "Service Unavailable", "Gateway Timeout", "Connection established", "Connection Established",
]);
/** An anomaly's quote of the bytes it saw: `…: "BYTES"`, at the end (maybe before " (frame N)"). */
export const QUOTE_RE = /^(.*?: ")(.*)("(?: \(frame \d+\))?)$/s;
/** Any word that may be a single-label or dotted host name (for names already known). */
export const WORD_RE = /(?<![A-Za-z0-9_.@-])(?:\*\.)?[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?/g;
export const EMAIL_RE = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![A-Za-z0-9-])/g;

/**
 * Addresses in text, in the order tried at each position: an IPv6 literal in brackets (URLs, Host
 * headers), reverse-DNS names (they hold an address backwards), MACs, IPv6 (any form: compressed,
 * expanded, IPv4-mapped, with a zone or a prefix length), then IPv4 with an optional prefix length.
 * Every repetition is bounded, so a long run of hex digits and colons cannot make a match attempt
 * quadratic.
 */
export const ADDRESS_RE = new RegExp(
  [
    String.raw`\[(?<br>[0-9A-Fa-f:.]{0,45}:[0-9A-Fa-f:.]{0,45})\]`,
    String.raw`(?<![\w.-])(?<rev4>(?:\d{1,3}\.){4})in-addr\.arpa(?![\w-])`,
    String.raw`(?<![\w.-])(?<rev6>(?:[0-9A-Fa-f]\.){32})ip6\.arpa(?![\w-])`,
    String.raw`(?<![0-9A-Fa-f:.-])(?<mac>[0-9A-Fa-f]{2}(?<sep>[:-])[0-9A-Fa-f]{2}(?:\k<sep>[0-9A-Fa-f]{2}){4})(?![0-9A-Fa-f:-])`,
    String.raw`(?<![0-9A-Fa-f.])(?<cisco>[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4})(?![0-9A-Fa-f.])`,
    String.raw`(?<![0-9A-Za-z_.])(?<v6>(?:[0-9A-Fa-f]{0,4}:){2,8}[0-9A-Fa-f.]{0,15})(?<zone>%[0-9A-Za-z_.-]{1,32})?(?:\/(?<len6>\d{1,3}))?`,
    String.raw`(?<![0-9.])(?<v4>\d{1,3}(?:\.\d{1,3}){3})(?:\/(?<len4>\d{1,2}))?(?![0-9]|\.\d)`,
  ].join("|"),
  "g",
);

export const V4_RE = /(?<![0-9.])\d{1,3}(?:\.\d{1,3}){3}(?![0-9]|\.\d)/g;

/** Private-use characters frame placeholders so that later passes cannot match inside a pseudonym. */
export const PH_OPEN = "\uE000";
export const PH_CLOSE = "\uE001";
export const PH_DIGIT0 = 0xe010;
export const PH_RE = /\uE000([\uE010-\uE01F]+)\uE001/g;

// ---------------------------------------------------------------------------------------------

export interface Ip {
  version: 4 | 6;
  bytes: Uint8Array;
}

/** IPv4-mapped IPv6 (::ffff:a.b.c.d) is the IPv4 address it maps (RFC 4291 §2.5.5.2). */
export function canonical(a: Ip): Ip {
  if (a.version === 6 && a.bytes.subarray(0, 10).every((b) => b === 0) && a.bytes[10] === 0xff && a.bytes[11] === 0xff) {
    const b = new Uint8Array(16);
    b.set(a.bytes.subarray(12, 16));
    return { version: 4, bytes: b };
  }
  return a;
}

/** The kind of a special address, used as its pseudonym's prefix when it has no role. */
export function specialKind(a: Ip): string | null {
  const b = a.bytes;
  if (a.version === 4) {
    if (b[0] === 0 && b[1] === 0 && b[2] === 0 && b[3] === 0) return "unspecified";
    if (b[0] === 255 && b[1] === 255 && b[2] === 255 && b[3] === 255) return "broadcast";
    if (b[0] === 127) return "loopback";
    if (b[0] >= 224 && b[0] <= 239) return "multicast";
    if (b[0] === 169 && b[1] === 254) return "link-local";
    return null;
  }
  if (b.every((x) => x === 0)) return "unspecified";
  if (b.subarray(0, 15).every((x) => x === 0) && b[15] === 1) return "loopback";
  if (b[0] === 0xff) return "multicast";
  if (b[0] === 0xfe && (b[1] & 0xc0) === 0x80) return "link-local";
  return null;
}

export const DN_KINDS: Record<string, string> = {
  CN: "cn", O: "org", OU: "unit", L: "locality", ST: "state", DC: "dc", street: "street", postalCode: "postcode",
  serialNumber: "serial", title: "title", GN: "person", SN: "person", initials: "person", pseudonym: "person", UID: "user",
};

export function canonicalText(ip: string): string {
  const a = parseIp(ip);
  if (!a) return ip;
  const c = canonical(a);
  return formatIp(c.bytes, c.version);
}

/** "4.3.2.1.…" (32 nibbles, least significant first, RFC 3596 §2.5) → the IPv6 address. */
export function reverseNibbles(s: string): Ip {
  const nib = s.split(".").filter((x) => x !== "").reverse();
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = (parseInt(nib[2 * i], 16) << 4) | parseInt(nib[2 * i + 1], 16);
  return { version: 6, bytes };
}
