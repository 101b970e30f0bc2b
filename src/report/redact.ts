/**
 * `--redact`: a copy of the report in which every address, host name, server name, certificate
 * name, user name and capture file name is replaced by a pseudonym, so a customer can attach the
 * report to a ticket without showing their network. docs/redaction.md says exactly what is
 * replaced and what is kept.
 *
 * Pseudonyms are numbered per report, in order of first appearance ([proxy-1], [esxi-1],
 * [host-3], [name-2].local, [user-1], …): the same value gets the same pseudonym everywhere in one
 * report, two values never share one, and the role of an address stays in its pseudonym. They are
 * NOT a hash of the value, so nobody can recover an address or name by hashing candidates (a
 * dictionary attack on 2^32 IPv4 addresses takes seconds); the flip side is that two reports
 * redacted separately number their hosts independently.
 *
 * Redaction is by field. Every string in the report is visited, and a field whose meaning is
 * known is replaced by what it is, whatever it looks like: an SNI, a DNS name, a Host header, a
 * request target, a banner, an RDP cookie, a MAC is replaced as a whole (an SNI of
 * `evil.example<script>` is still one SNI). The report's own sentences (findings, fixes, role
 * reasons, coverage, "fix first", Wireshark filters) are written by the policy through a Namer
 * (src/policy/namer.ts): under --redact every value in them is a mark saying what it is, and the
 * mark is replaced here by the same pseudonym its field gets, so no sentence is scanned to find
 * what it quotes. The free-text scan (addresses in every written form, e-mail addresses, file
 * paths, dotted names the report holds, and in text off the wire anything shaped like a host
 * name) runs only as a second net: on what is left of a sentence, on anomaly messages around
 * their quotes, on software versions kept. A field this module does not know (added later) is
 * treated as text off the wire, the strictest treatment.
 */
import { formatIp, parseIp } from "../decode/addr.js";
import { CLOUD_NAME_SUFFIXES } from "../policy/infer.js";
import { type MarkKind, replaceMarks } from "../policy/namer.js";
import { STANDARD_ROLES } from "../policy/roles.js";
import type { Report } from "./record.js";

/** One value replaced, for a private map the customer keeps (never attached with the report). */
export interface RedactionEntry {
  kind: "address" | "network" | "mac" | "name" | "user" | "email" | "file" | "certificate" | "text";
  original: string;
  pseudonym: string;
}

/** The redacted copy; the input is not touched. */
export function redactReport(r: Report): Report {
  return redactReportWithMap(r).report;
}

/** What a redacted report says of itself (`redaction` in the JSON; the renderers label the filters). */
export const REDACTION_NOTE =
  "Addresses, names and strings from the wire are pseudonyms ([proxy-1], [name-2].local, [banner-1], …) numbered for this report only. " +
  "The Wireshark filters use them too: put the addresses back (from the --redact-key file) before running one.";

/**
 * The redacted copy and what was replaced by what (in order of first appearance). Give it the
 * report built with MARKING_NAMER (src/policy/namer.ts), as `--redact` does, so that its
 * sentences are named by field; a report built with PLAIN_NAMER gets only the second net there.
 */
export function redactReportWithMap(r: Report): { report: Report; map: RedactionEntry[] } {
  const copy = structuredClone(r);
  delete copy.redaction;
  const p = new Pseudonyms();
  p.collect(copy);
  const out = p.rewrite(copy, []) as Report;
  out.redaction = { note: REDACTION_NOTE };
  return { report: out, map: p.entries };
}

/** The report as PLAIN_NAMER would have written it: every mark replaced by its original value. */
export function unmarkReport(r: Report): Report {
  const un = (v: unknown): unknown =>
    typeof v === "string" ? replaceMarks(v, (_k, x) => x) : Array.isArray(v) ? v.map(un) : v !== null && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, un(x)])) : v;
  return un(r) as Report;
}

// ---------------------------------------------------------------------------------------------
// What each field is. Paths are property names joined with "." (array indices left out).

type Handling =
  | "keep" | "ip" | "mac" | "nameOrIp" | "hostPort" | "uri" | "method" | "user" | "dn" | "cn" | "file" | "banner" | "software" | "quote" | "tool" | "data";

/** How a value the policy marked (src/policy/namer.ts) is named: as the field it came from. */
const MARK_HANDLING: Record<MarkKind, Handling> = {
  address: "ip", mac: "mac", file: "file", typed: "data", name: "nameOrIp", host: "hostPort", uri: "uri", method: "method", banner: "banner", cn: "cn", dn: "dn",
};

const FIELDS: Record<string, Handling> = {
  schema: "keep",
  "generator.name": "keep",
  "generator.version": "keep",
  "matrix.product": "keep",
  "matrix.version": "keep",
  "captures.file": "file",
  "captures.format": "keep",
  "captures.firstTimestamp": "keep",
  "captures.lastTimestamp": "keep",
  "captures.errors.message": "tool",
  "roles.ip": "ip",
  "roles.role": "keep",
  "roles.source": "keep",
  "roles.reason": "tool",
  "conversations.transport": "keep",
  "conversations.client.ip": "ip",
  "conversations.server.ip": "ip",
  "conversations.client.role": "keep",
  "conversations.server.role": "keep",
  "conversations.clientBy": "keep",
  "conversations.start": "keep",
  "conversations.end": "keep",
  "conversations.state": "keep",
  "conversations.history": "keep",
  "conversations.protocol": "keep",
  "conversations.clientProtocol": "keep",
  "conversations.tls.clientVersion": "keep",
  "conversations.tls.clientVersionCode": "keep",
  "conversations.tls.versionCode": "keep",
  "conversations.tls.version": "keep",
  "conversations.tls.sni": "nameOrIp",
  "conversations.tls.alpn": "keep",
  "conversations.tls.alpnSelected": "keep",
  "conversations.tls.cipher": "keep",
  "conversations.tls.ja3": "keep",
  "conversations.tls.ja3s": "keep",
  "conversations.tls.ja4": "keep",
  "conversations.tls.certificate.subject": "dn",
  "conversations.tls.certificate.issuer": "dn",
  "conversations.tls.certificate.notBefore": "keep",
  "conversations.tls.certificate.notAfter": "keep",
  "conversations.tls.certificate.san": "nameOrIp",
  "conversations.tls.chain.subject": "dn",
  "conversations.tls.chain.issuer": "dn",
  "conversations.tls.chain.notBefore": "keep",
  "conversations.tls.chain.notAfter": "keep",
  "conversations.tls.chain.san": "nameOrIp",
  "conversations.tls.chain.keyType": "keep",
  "conversations.tls.chain.curve": "keep",
  "conversations.tls.chain.signatureAlgorithm": "keep",
  "conversations.tls.chain.sha256": "keep",
  "conversations.tls.truncated.from": "keep",
  "conversations.tls.truncated.message": "keep",
  "conversations.tls.truncated.reason": "tool",
  "conversations.tls.alerts.from": "keep",
  "conversations.tls.alerts.level": "keep",
  "conversations.tls.alerts.description": "keep",
  "conversations.banner": "banner",
  "conversations.ssh.clientBanner": "banner",
  "conversations.ssh.serverBanner": "banner",
  "conversations.ssh.clientSoftware": "software",
  "conversations.ssh.serverSoftware": "software",
  "conversations.http.server": "software",
  "conversations.rdp.cookie": "user",
  "conversations.rdp.requestedProtocols": "keep",
  "conversations.rdp.selectedProtocol": "keep",
  "conversations.rdp.failure": "keep",
  "conversations.rdp.udp.clientVersion": "keep",
  "conversations.rdp.udp.serverVersion": "keep",
  "conversations.rdp.udp.correlationId": "keep",
  "conversations.http.method": "method",
  "conversations.http.uri": "uri",
  "conversations.http.host": "hostPort",
  "conversations.quic.version": "keep",
  "conversations.quic.offeredVersions": "keep",
  "conversations.quic.dcid": "keep",
  "conversations.quic.sni": "nameOrIp",
  "conversations.quic.truncated.from": "keep",
  "conversations.quic.close.from": "keep",
  "conversations.quic.close.error": "keep",
  "conversations.quic.close.tlsAlert": "keep",
  "conversations.quic.close.reason": "data",
  "conversations.dns.queries": "nameOrIp",
  "conversations.dns.rcodes": "keep",
  "conversations.anomalies.name": "keep",
  "conversations.anomalies.direction": "keep",
  "conversations.anomalies.message": "quote",
  "conversations.rule": "keep",
  "conversations.ruleKind": "keep",
  "conversations.ruleAlternatives": "keep",
  "conversations.findings": "keep",
  "findings.code": "keep",
  "findings.severity": "keep",
  "findings.rule": "keep",
  "findings.message": "tool",
  "findings.fix": "tool",
  "findings.wiresharkFilter": "tool",
  "summary.verdict": "keep",
  "conversations.client.mac": "mac",
  "conversations.server.mac": "mac",
  "conversations.status": "keep",
  "conversations.limits": "keep",
  "conversations.vlan": "keep",
  "conversations.duplicateOf": "keep",
  "conversations.dns.answers.name": "nameOrIp",
  "conversations.dns.answers.address": "ip",
  "findings.rules": "keep",
  "findings.framesIn.capture": "keep",
  "findings.framesIn.frames": "keep",
  "summary.coverage.code": "keep",
  "summary.coverage.message": "tool",
  "summary.coverage.action": "tool",
  "summary.coverage.inconclusive": "keep",
  "summary.coverage.rows": "keep",
  "summary.fixFirst.host": "tool",
  "summary.fixFirst.role": "keep",
  "summary.fixFirst.code": "keep",
  "summary.fixFirst.severity": "keep",
  "summary.fixFirst.action": "tool",
  "summary.fixFirst.impact": "keep",
  "summary.fixFirst.text": "tool",
  "summary.filter": "data",
};

// ---------------------------------------------------------------------------------------------
// Names: what stays of a name, and what looks like one.

/** Top-level labels kept after a name's pseudonym: generic, country-code (any two letters) and internal-use suffixes. */
const KEPT_TLDS = new Set([
  "com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "io", "cloud", "arpa", "local", "localdomain", "lan",
  "home", "internal", "intranet", "corp", "private", "test", "example", "invalid", "localhost",
]);
/** Public service domains kept whole after a pseudonym (the Phoenix cloud's own names). */
const KEPT_SUFFIXES = [...CLOUD_NAME_SUFFIXES.map((s) => s.replace(/^\./, "")), "in-addr.arpa", "ip6.arpa"].sort((a, b) => b.length - a.length);
/** Names that say nothing about anyone's network and stay as they are. */
const PUBLIC_NAMES = new Set(["localhost", "localhost.localdomain", ...CLOUD_NAME_SUFFIXES.map((s) => s.replace(/^\./, ""))]);
/** Last labels that are file extensions, not top-level domains: "index.html", "cmd.exe" are not host names. */
const FILE_EXTENSIONS = new Set([
  "html", "htm", "txt", "exe", "dll", "php", "asp", "aspx", "jsp", "js", "css", "json", "xml", "cgi", "png", "jpg", "jpeg",
  "gif", "ico", "pdf", "log", "cfg", "conf", "ini", "yaml", "yml", "pcap", "pcapng", "gz", "tgz", "iso", "vmdk", "vmx", "ova", "ovf",
]);

function keptSuffix(name: string): string {
  for (const s of KEPT_SUFFIXES) if (name.endsWith("." + s)) return "." + s;
  const dot = name.lastIndexOf(".");
  if (dot < 0) return "";
  const tld = name.slice(dot + 1);
  return KEPT_TLDS.has(tld) || /^[a-z]{2}$/.test(tld) ? "." + tld : "";
}

/** A host name as RFC 1123 §2.1 writes one (plus "_" for SRV-style labels), lower case: only such a name keeps a suffix. */
const WELL_FORMED_NAME = /^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
/** SRV-style service and protocol labels (RFC 2782, RFC 6335 §5.1: a service name is at most 15 characters). */
const SERVICE_LABELS = /^((?:_[a-z0-9-]{1,15}\.)?_(?:tcp|udp|tls|sctp)\.)(.+)$/;

/**
 * A name-shaped run of text: labels joined by dots, the last one alphabetic (or punycode). Labels
 * may run past 63 characters (a name that is not a valid one is still a name to hide), and the
 * name may be followed by "_x", "-x" or a file extension ("acme.com.html"): those are not part of
 * the last label, so they do not keep the name from being seen.
 */
const NAME_RE =
  /(?<![A-Za-z0-9_.@-])(\*\.)?((?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,250}[A-Za-z0-9_])?\.)+(?:xn--[A-Za-z0-9-]{1,59}|[A-Za-z]{2,63}))(?![A-Za-z0-9]|\.[A-Za-z0-9_-])/g;
/** "%2E" (or "%2e") is a dot in a URL: names written with it are names. */
const PCT_DOT_NAME_RE = /(?<![A-Za-z0-9_%-])(?:[A-Za-z0-9_-]{1,252}%2[Ee])+[A-Za-z]{2,63}(?![A-Za-z0-9])/g;
/** A MAC written as twelve bare hex digits (with at least one letter and one digit, so it is not a number or a word). */
const BARE_MAC_RE = /(?<![0-9A-Za-z])(?=[0-9]*[A-Fa-f])(?=[A-Fa-f]*[0-9])[0-9A-Fa-f]{12}(?![0-9A-Za-z])/g;
/** An IPv4 address written as one hex number (0x0a000005). */
const HEX_V4_RE = /(?<![0-9A-Za-z])0[xX][0-9A-Fa-f]{8}(?![0-9A-Za-z])/g;
/** HTTP methods (RFC 9110 §9, RFC 5789, RFC 4918 §9) kept as they are: they say nothing about anyone. */
const STANDARD_METHODS = new Set([
  "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK",
]);
/** Request paths that are public API entry points (vSphere's, which role inference names): kept before the pseudonym. */
const KEPT_PATHS = /^\/(?:sdk|api|rest|ui)(?=[/?]|$)/;
/**
 * A software version as SSH identification strings (RFC 4253 §4.2) and HTTP Server headers
 * (RFC 9110 §10.2.4) write it: a product name and a version that starts with a digit
 * ("OpenSSH_8.9p1", "nginx/1.18.0", "Microsoft-IIS/10.0"). Anything else is replaced whole.
 */
const SOFTWARE_RE = /^[A-Za-z][A-Za-z0-9]{1,23}(?:[_/-][A-Za-z]{1,12})?[_/-][0-9][A-Za-z0-9.+~]{0,24}$/;
/** The VMware authd greeting and the words its options are made of (test/detect/fixtures.ts AUTHD_LINE). */
const AUTHD_RE = /^(220 VMware Authentication Daemon Version \d{1,3}(?:\.\d{1,3}){0,3})(.*)$/s;
const AUTHD_WORDS = new Set(["SSL", "Required", "ServerDaemonProtocol", "SOAP", "MKSDisplayProtocol", "VNC", "VMXARGS", "NFCSSL", "supported", "t", "ssl"]);
/** An HTTP status line (RFC 9112 §4): the version and code stay, and the reason phrase when it is a standard one (RFC 9110 §15). */
const HTTP_STATUS_RE = /^(HTTP\/\d\.\d \d{3}) (.*)$/s;
const REASON_PHRASES = new Set([
  "OK", "Created", "Accepted", "No Content", "Moved Permanently", "Found", "See Other", "Not Modified", "Temporary Redirect", "Permanent Redirect",
  "Bad Request", "Unauthorized", "Forbidden", "Not Found", "Method Not Allowed", "Request Timeout", "Internal Server Error", "Not Implemented",
  "Bad Gateway", "Service Unavailable", "Gateway Timeout", "Connection established", "Connection Established",
]);
/** An anomaly's quote of the bytes it saw: `…: "BYTES"`, at the end (maybe before " (frame N)"). */
const QUOTE_RE = /^(.*?: ")(.*)("(?: \(frame \d+\))?)$/s;
/** Any word that may be a single-label or dotted host name (for names already known). */
const WORD_RE = /(?<![A-Za-z0-9_.@-])(?:\*\.)?[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?/g;
const EMAIL_RE = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![A-Za-z0-9-])/g;

/**
 * Addresses in text, in the order tried at each position: an IPv6 literal in brackets (URLs, Host
 * headers), reverse-DNS names (they hold an address backwards), MACs, IPv6 (any form: compressed,
 * expanded, IPv4-mapped, with a zone or a prefix length), then IPv4 with an optional prefix length.
 * Every repetition is bounded, so a long run of hex digits and colons cannot make a match attempt
 * quadratic.
 */
const ADDRESS_RE = new RegExp(
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

const V4_RE = /(?<![0-9.])\d{1,3}(?:\.\d{1,3}){3}(?![0-9]|\.\d)/g;

/** Private-use characters frame placeholders so that later passes cannot match inside a pseudonym. */
const PH_OPEN = "\uE000";
const PH_CLOSE = "\uE001";
const PH_DIGIT0 = 0xe010;
const PH_RE = /\uE000([\uE010-\uE01F]+)\uE001/g;

// ---------------------------------------------------------------------------------------------

interface Ip {
  version: 4 | 6;
  bytes: Uint8Array;
}

/** IPv4-mapped IPv6 (::ffff:a.b.c.d) is the IPv4 address it maps (RFC 4291 §2.5.5.2). */
function canonical(a: Ip): Ip {
  if (a.version === 6 && a.bytes.subarray(0, 10).every((b) => b === 0) && a.bytes[10] === 0xff && a.bytes[11] === 0xff) {
    const b = new Uint8Array(16);
    b.set(a.bytes.subarray(12, 16));
    return { version: 4, bytes: b };
  }
  return a;
}

/** The kind of a special address, used as its pseudonym's prefix when it has no role. */
function specialKind(a: Ip): string | null {
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

const DN_KINDS: Record<string, string> = {
  CN: "cn", O: "org", OU: "unit", L: "locality", ST: "state", DC: "dc", street: "street", postalCode: "postcode",
  serialNumber: "serial", title: "title", GN: "person", SN: "person", initials: "person", pseudonym: "person", UID: "user",
};

class Pseudonyms {
  readonly entries: RedactionEntry[] = [];
  private readonly counters = new Map<string, number>();
  private readonly values = new Map<string, string>();
  private readonly roleOf = new Map<string, string>();
  /** Names (lower case, no trailing dot) and user names known from the report's fields. */
  private readonly knownNames = new Set<string>();
  private readonly knownUsers = new Set<string>();
  private readonly files: string[] = [];
  private readonly roleWords = new Set<string>(STANDARD_ROLES);

  private token(kind: RedactionEntry["kind"], key: string, original: string, prefix: string, suffix = ""): string {
    const k = `${kind}\u0000${key}`;
    const have = this.values.get(k);
    if (have !== undefined) return have;
    const n = (this.counters.get(prefix) ?? 0) + 1;
    this.counters.set(prefix, n);
    const t = `[${prefix}-${n}]${suffix}`;
    this.values.set(k, t);
    this.entries.push({ kind, original, pseudonym: t });
    return t;
  }

  // ---- values ------------------------------------------------------------------------------

  ip(a: Ip): string {
    const c = canonical(a);
    const text = formatIp(c.bytes, c.version);
    const prefix = this.roleOf.get(text) ?? specialKind(c) ?? "host";
    return this.token("address", text, text, prefix);
  }

  ipText(s: string): string | null {
    const a = parseIp(s);
    return a ? this.ip(a) : null;
  }

  network(a: Ip, len: number): string {
    const c = canonical(a);
    const full = c.version === 4 ? 32 : 128;
    // An IPv4-mapped prefix counts its length over the IPv6 address.
    const l = c.version !== a.version ? Math.max(0, len - 96) : len;
    if (l >= full) return this.ip(c);
    const text = `${formatIp(c.bytes, c.version)}/${l}`;
    return this.token("network", text, text, "net") + `/${l}`;
  }

  mac(s: string): string {
    const hex = s.replace(/[^0-9A-Fa-f]/g, "").toLowerCase();
    const key = hex.length === 12 ? hex.match(/../g)!.join(":") : s;
    return this.token("mac", key, key, "mac");
  }

  /** A host name: its pseudonym keeps a wildcard, service labels and a public suffix; reverse-DNS names keep their address's pseudonym. */
  name(raw: string): string {
    let n = raw.toLowerCase();
    while (n.endsWith(".")) n = n.slice(0, -1);
    if (n === "") return this.token("name", raw, raw, "name");
    const ip = parseIp(n);
    if (ip) return this.ip(ip);
    // A name that is not a well-formed host name (markup, spaces, escaped bytes, an IDN in UTF-8,
    // a label over 63 characters) is replaced whole: no part of it is kept.
    if (!WELL_FORMED_NAME.test(n.startsWith("*.") ? n.slice(2) : n)) return this.token("name", n, n, "name");
    if (n.startsWith("*.")) return "*." + this.name(n.slice(2));
    // SRV-style service labels (_ldap._tcp.…) name a protocol, not a host.
    const svc = SERVICE_LABELS.exec(n);
    if (svc) return svc[1] + this.name(svc[2]);
    const rev4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa$/.exec(n);
    if (rev4) {
      const a = parseIp(`${rev4[4]}.${rev4[3]}.${rev4[2]}.${rev4[1]}`);
      if (a) return this.ip(a) + ".in-addr.arpa";
    }
    const rev6 = /^((?:[0-9a-f]\.){32})ip6\.arpa$/.exec(n);
    if (rev6) return this.ip(reverseNibbles(rev6[1])) + ".ip6.arpa";
    if (PUBLIC_NAMES.has(n) || KEPT_TLDS.has(n)) return n;
    return this.token("name", n, n, "name", keptSuffix(n));
  }

  user(raw: string): string {
    const key = raw.trim().toLowerCase();
    if (key === "") return raw;
    return this.token("user", key, raw.trim(), "user");
  }

  /** A string off the wire replaced whole: `[PREFIX-N]`, one per distinct value. */
  whole(prefix: string, raw: string): string {
    return this.token("text", `${prefix}\u0000${raw}`, raw, prefix);
  }

  /** An HTTP method: the standard ones stay. */
  method(raw: string): string {
    return STANDARD_METHODS.has(raw) ? raw : this.whole("method", raw);
  }

  /**
   * Products and versions ("OpenSSH_8.9p1", "SimpleHTTP/0.6 Python/3.11.2", "nginx/1.18.0
   * (Ubuntu)"): each word of that shape stays, each run of other words goes whole.
   */
  software(raw: string): string {
    const out: string[] = [];
    let run: string[] = [];
    const flush = () => {
      if (run.length) out.push(this.whole("software", run.join(" ")));
      run = [];
    };
    for (const w of raw.split(" ")) {
      if (SOFTWARE_RE.test(w)) {
        flush();
        out.push(w);
      } else run.push(w);
    }
    flush();
    return out.join(" ");
  }

  /**
   * A banner: an SSH identification string keeps "SSH-2.0-" and a software version of the usual
   * shape (RFC 4253 §4.2), its comments go whole; the VMware authd greeting stays when its
   * options are the known words; any other line is replaced whole.
   */
  banner(raw: string): string {
    const ssh = /^(SSH-\d{1,2}\.\d{1,2}-)([^ ]+)(?: (.*))?$/s.exec(raw);
    if (ssh) return ssh[1] + this.software(ssh[2]) + (ssh[3] !== undefined ? ` ${this.whole("banner", ssh[3])}` : "");
    const status = HTTP_STATUS_RE.exec(raw);
    if (status) return REASON_PHRASES.has(status[2]) ? raw : `${status[1]} ${this.whole("banner", status[2])}`;
    const authd = AUTHD_RE.exec(raw);
    if (authd) {
      const words = authd[2].split(/[\s,:/]+/).filter((w) => w !== "");
      return words.every((w) => AUTHD_WORDS.has(w)) ? raw : `${authd[1]} ${this.whole("banner", authd[2])}`;
    }
    return this.whole("banner", raw);
  }

  /**
   * An anomaly message: its quote of the bytes goes whole, and the words around it (or all of a
   * message without a quote) are the detector's own — counts, offsets, field names — scanned as
   * text off the wire except for one-label names, so that "not a TLS record" keeps its "a".
   */
  quote(raw: string): string {
    const q = QUOTE_RE.exec(raw);
    if (!q) return this.text(raw, "detector");
    return this.text(q[1], "detector") + this.whole("quote", q[2]) + this.text(q[3], "detector");
  }

  /** A request path (with its query) from the wire: "/" and "*" stay, a public API entry point keeps its first segment. */
  path(raw: string): string {
    if (raw === "" || raw === "/" || raw === "*") return raw;
    const kept = KEPT_PATHS.exec(raw);
    if (kept) {
      const rest = raw.slice(kept[0].length);
      return rest.length <= 1 ? raw : kept[0] + rest[0] + this.whole("uri", rest.slice(1));
    }
    return this.whole("uri", raw);
  }

  /** A certificate CN: a host name or address as one, else `[cn-N]`. */
  cn(value: string): string {
    if (value.includes(".") || this.knownNames.has(value.toLowerCase()) || parseIp(value)) return this.nameOrIp(value);
    return this.dnValue("cn", value);
  }

  /** A value the policy marked in a sentence, named as its field would be. */
  marked(kind: MarkKind, v: string): string {
    return this.as(MARK_HANDLING[kind], v);
  }

  email(raw: string): string {
    return this.token("email", raw.toLowerCase(), raw, "email");
  }

  file(path: string): string {
    if (path === "-") return path;
    const base = path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1);
    const ext = /(\.(?:pcapng|pcap|cap|ntar|dmp|erf))?(\.(?:gz|zst|xz|bz2))?$/i.exec(base)![0];
    return this.token("file", path, path, "capture", ext);
  }

  dnValue(kind: string, value: string): string {
    return this.token("certificate", `${kind}\u0000${value}`, value, kind);
  }

  // ---- structured fields -------------------------------------------------------------------

  nameOrIp(s: string): string {
    return this.ipText(s) ?? this.name(s);
  }

  /** Host header or authority: NAME, NAME:PORT, IPv4[:PORT], [IPv6][:PORT], bare IPv6. */
  hostPort(s: string): string {
    const br = /^\[([^\]]*)\](:\d*)?$/.exec(s);
    if (br) {
      const t = this.ipText(br[1]);
      return t !== null ? t + (br[2] ?? "") : this.name(s);
    }
    const bare = this.ipText(s);
    if (bare !== null) return bare;
    const hp = /^([^:\s/]+)(:\d*)?$/.exec(s);
    if (hp) return this.nameOrIp(hp[1]) + (hp[2] ?? "");
    return this.name(s);
  }

  /**
   * Request target (RFC 9112 §3.2): an absolute URI keeps its scheme, its user info is a user,
   * its authority a host and port, its path goes whole; a CONNECT authority is a host and port;
   * an origin-form path goes whole.
   */
  uri(s: string): string {
    const abs = /^([A-Za-z][A-Za-z0-9+.-]{0,15}:\/\/)(?:([^/?#@]*)@)?(\[[^\]]*\]|[^/?#:]*)(:\d*)?(.*)$/s.exec(s);
    if (abs) {
      const user = abs[2] !== undefined ? this.user(abs[2]) + "@" : "";
      return abs[1] + user + this.hostPort(abs[3]) + (abs[4] ?? "") + this.path(abs[5]);
    }
    if (/^(\[[^\]]*\]|[A-Za-z0-9.-]+):\d+$/.test(s)) return this.hostPort(s);
    return this.path(s);
  }

  /** A distinguished name as Node prints it ("C=US, O=…, CN=…"), RDN by RDN; only the country stays. */
  dn(s: string): string {
    return s
      .split(/, (?=[A-Za-z][A-Za-z0-9]*=|\d+(?:\.\d+)+=)/)
      .map((rdn) => {
        const eq = rdn.indexOf("=");
        if (eq < 0) return this.dnValue("dn", rdn);
        const key = rdn.slice(0, eq);
        const value = rdn.slice(eq + 1);
        if (key === "C" && /^[A-Za-z]{2}$/.test(value)) return rdn;
        if (key === "emailAddress") return `${key}=${this.email(value)}`;
        if (key === "CN") return `${key}=${this.cn(value)}`;
        return `${key}=${this.dnValue(DN_KINDS[key] ?? "dn", value)}`;
      })
      .join(", ");
  }

  // ---- free text ---------------------------------------------------------------------------

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
  text(s: string, mode: "tool" | "data" | "detector"): string {
    if (s === "") return s;
    const held: string[] = [];
    const hold = (t: string): string => {
      held.push(t);
      let digits = "";
      for (const ch of (held.length - 1).toString(16)) digits += String.fromCharCode(PH_DIGIT0 + parseInt(ch, 16));
      return PH_OPEN + digits + PH_CLOSE;
    };
    let out = mode === "tool" ? replaceMarks(s, (kind, v) => hold(this.marked(kind, v))) : s;
    // Capture file paths (and their base names), exactly as given.
    for (const f of this.files) {
      const base = f.slice(Math.max(f.lastIndexOf("/"), f.lastIndexOf("\\")) + 1);
      for (const form of base !== f && base.length >= 3 ? [f, base] : [f]) {
        if (out.includes(form)) out = out.split(form).join(hold(this.file(f)));
      }
    }
    out = out.replace(EMAIL_RE, (m) => hold(this.email(m)));
    // Names (and user names) the report holds in its fields, as whole words.
    out = out.replace(WORD_RE, (m) => {
      const key = m.toLowerCase();
      const bare = key.startsWith("*.") ? key.slice(2) : key;
      if ((this.knownNames.has(key) || this.knownNames.has(bare)) && (mode === "data" || key.includes("."))) {
        return hold(this.name(m));
      }
      if (mode === "data" && this.knownUsers.has(key)) return hold(this.user(m));
      return m;
    });
    if (mode !== "tool") {
      out = out.replace(PCT_DOT_NAME_RE, (m) => hold(this.name(m.replace(/%2e/gi, "."))));
      out = out.replace(HEX_V4_RE, (m) => {
        const n = parseInt(m.slice(2), 16);
        return hold(this.ipText(`${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`)!);
      });
    }
    out = this.addresses(out, hold);
    if (mode !== "tool") {
      out = out.replace(BARE_MAC_RE, (m) => hold(this.mac(m)));
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
        return hold((star ?? "") + this.name(name)) + ext;
      });
    }
    return out.replace(PH_RE, (_m, d: string) => {
      let i = 0;
      for (const ch of d) i = i * 16 + (ch.charCodeAt(0) - PH_DIGIT0);
      return held[i] ?? _m;
    });
  }

  /** Every address in `s` → a held pseudonym. */
  private addresses(s: string, hold: (t: string) => string): string {
    return s.replace(ADDRESS_RE, (m, ...args) => {
      const g = args[args.length - 1] as Record<string, string | undefined>;
      const r = this.address(m, g);
      if (r !== null) return hold(r);
      // Not an address as a whole ("[a:b]", "10.0.0.1:80:90"): an IPv4 address may still be inside.
      return m.replace(V4_RE, (a) => (parseIp(a) ? hold(this.ipText(a)!) : a));
    });
  }

  /** One match of ADDRESS_RE → its pseudonym, or null to leave the text as it is. */
  private address(m: string, g: Record<string, string | undefined>): string | null {
    if (g.br !== undefined) {
      const t = this.ipText(g.br);
      return t;
    }
    if (g.rev4 !== undefined) {
      const o = g.rev4.slice(0, -1).split(".");
      const t = this.ipText(`${o[3]}.${o[2]}.${o[1]}.${o[0]}`);
      return t === null ? null : t + ".in-addr.arpa";
    }
    if (g.rev6 !== undefined) return this.ip(reverseNibbles(g.rev6)) + ".ip6.arpa";
    if (g.mac !== undefined || g.cisco !== undefined) return this.mac(m);
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
        if (/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/.test(cand)) return this.mac(cand) + tail + (g.zone ?? "");
        return null;
      }
      if (tail !== "") return this.ip(a) + tail + m.slice(g.v6.length);
      const zone = g.zone ?? "";
      if (g.len6 !== undefined) {
        const len = Number(g.len6);
        return len <= 128 ? this.network(a, len) + zone : this.ip(a) + zone + `/${g.len6}`;
      }
      return this.ip(a) + zone;
    }
    if (g.v4 !== undefined) {
      const a = parseIp(g.v4);
      if (a === null) return null;
      if (g.len4 !== undefined) {
        const len = Number(g.len4);
        return len <= 32 ? this.network(a, len) : this.ip(a) + `/${g.len4}`;
      }
      return this.ip(a);
    }
    return null;
  }

  // ---- the two passes ----------------------------------------------------------------------

  /** Learn roles, and number addresses and names in order of first appearance. */
  collect(r: Report): void {
    for (const x of r.roles ?? []) {
      this.roleOf.set(canonicalText(x.ip), x.role);
      this.roleWords.add(x.role);
    }
    for (const c of r.conversations ?? []) {
      for (const e of [c.client, c.server]) {
        if (e?.role) {
          if (!this.roleOf.has(canonicalText(e.ip))) this.roleOf.set(canonicalText(e.ip), e.role);
          this.roleWords.add(e.role);
        }
      }
    }
    for (const f of r.captures ?? []) if (typeof f.file === "string" && f.file !== "-") this.files.push(f.file);
    this.files.sort((a, b) => b.length - a.length);
    const learn = (n: string | null | undefined) => {
      if (typeof n !== "string" || n === "" || parseIp(n)) return;
      let k = n.toLowerCase();
      while (k.endsWith(".")) k = k.slice(0, -1);
      if (k !== "") this.knownNames.add(k);
    };
    for (const c of r.conversations ?? []) {
      for (const e of [c.client, c.server]) if (e?.ip) this.ipText(e.ip);
      learn(c.tls?.sni);
      learn(c.quic?.sni ?? undefined);
      for (const s of c.tls?.certificate?.san ?? []) learn(s);
      const cn = /(?:^|, )CN=([^,]*)(?:, |$)/.exec(c.tls?.certificate?.subject ?? "");
      if (cn && cn[1].includes(".")) learn(cn[1]);
      for (const x of c.tls?.chain ?? []) for (const s of x.san) learn(s);
      for (const q of c.dns?.queries ?? []) learn(q);
      const host = c.http?.host;
      if (host) learn(/^([^:\[\]]+)(:\d*)?$/.exec(host)?.[1]);
      const uriHost = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/(?:[^/?#@]*@)?([^/?#:\[\]]+)/.exec(c.http?.uri ?? "");
      if (uriHost) learn(uriHost[1]);
      const cookie = c.rdp?.cookie?.trim().toLowerCase();
      if (cookie && cookie.length >= 2) this.knownUsers.add(cookie);
    }
    for (const x of r.roles ?? []) this.ipText(x.ip);
  }

  rewrite(v: unknown, path: string[]): unknown {
    if (typeof v === "string") return this.field(v, path.join("."));
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = this.rewrite(v[i], path);
      return v;
    }
    if (v !== null && typeof v === "object") {
      const o = v as Record<string, unknown>;
      for (const k of Object.keys(o)) o[k] = this.rewrite(o[k], [...path, k]);
      return o;
    }
    return v;
  }

  private field(s: string, path: string): string {
    const h = FIELDS[path] ?? "data";
    return h === "tool" && path === "roles.reason" ? this.reason(s) : this.as(h, s);
  }

  /** One value by what it is. */
  private as(h: Handling, s: string): string {
    switch (h) {
      case "keep":
        return s;
      case "ip":
        return this.ipText(s) ?? this.whole("host", s);
      case "mac":
        return this.mac(s);
      case "method":
        return this.method(s);
      case "banner":
        return this.banner(s);
      case "software":
        return this.software(s);
      case "quote":
        return this.quote(s);
      case "nameOrIp":
        return this.nameOrIp(s);
      case "hostPort":
        return this.hostPort(s);
      case "uri":
        return this.uri(s);
      case "user":
        return this.user(s);
      case "dn":
        return this.dn(s);
      case "file":
        return this.file(s);
      case "cn":
        return this.cn(s);
      case "tool":
        return this.text(s, "tool");
      default:
        return this.text(s, "data");
    }
  }

  /** "given as FILE: roles.esxi[0]" names the roles file: its path goes; the rest is tool text. */
  private reason(s: string): string {
    const m = /^given as (.+): (roles(?:\.|\[).*)$/.exec(s);
    if (m) return `given as [roles-file]: ${this.text(m[2], "tool")}`;
    return this.text(s, "tool");
  }
}

function canonicalText(ip: string): string {
  const a = parseIp(ip);
  if (!a) return ip;
  const c = canonical(a);
  return formatIp(c.bytes, c.version);
}

/** "4.3.2.1.…" (32 nibbles, least significant first, RFC 3596 §2.5) → the IPv6 address. */
function reverseNibbles(s: string): Ip {
  const nib = s.split(".").filter((x) => x !== "").reverse();
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = (parseInt(nib[2 * i], 16) << 4) | parseInt(nib[2 * i + 1], 16);
  return { version: 6, bytes };
}
