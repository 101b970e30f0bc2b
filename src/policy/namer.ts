/**
 * How the policy writes a value into a sentence (a finding's message and fix, a role's reason, a
 * coverage message, a "fix first" line, a Wireshark filter). Every address, MAC, capture file and
 * string off the wire goes through a Namer instead of being pasted in, so that `--redact` can name
 * it by what it *is* (this is an SNI, this is an address) rather than by what it looks like
 * (docs/redaction.md, "Messages").
 *
 * Two namers: PLAIN_NAMER writes the value as it is (the normal report), and MARKING_NAMER writes
 * a mark that carries the kind and the value, which the report step replaces by the pseudonym
 * once every role is known (src/report/redact.ts). The policy cannot name pseudonyms itself: a
 * reason is written while roles are still being inferred, and `[proxy-1]` needs the final role.
 */

/** What a quoted string off the wire is (each is replaced whole under --redact). */
export type WireKind =
  /** A DNS, TLS server or certificate name (SNI, SAN, DNS query or answer). */
  | "name"
  /** An HTTP Host header or CONNECT authority: a name or address, maybe with a port. */
  | "host"
  /** An HTTP request target or path. */
  | "uri"
  /** An HTTP request method (the standard ones say nothing about anyone). */
  | "method"
  /** A banner or other line of text a host sent. */
  | "banner"
  /** A certificate subject CN (a host name, or any text). */
  | "cn"
  /** A certificate's whole subject or issuer name ("O=Acme, CN=FortiGate CA"), named part by part. */
  | "dn";

export interface Namer {
  /** An address as the report prints it (dotted IPv4, RFC 5952 IPv6). */
  address(ip: string): string;
  mac(mac: string): string;
  /** A capture file's path as given. */
  file(path: string): string;
  /** A string off the wire. */
  wire(kind: WireKind, value: string): string;
  /** Text the user typed (the --filter expression). */
  typed(text: string): string;
}

export const PLAIN_NAMER: Namer = {
  address: (s) => s,
  mac: (s) => s,
  file: (s) => s,
  wire: (_k, s) => s,
  typed: (s) => s,
};

/** The kinds a mark can carry. */
export type MarkKind = "address" | "mac" | "file" | "typed" | WireKind;
const MARK_KINDS = new Set<string>(["address", "mac", "file", "typed", "name", "host", "uri", "method", "banner", "cn", "dn"]);

/**
 * A mark: U+E002, the kind, ":", the value in base64url, U+E003. Private-use characters cannot
 * be typed into a sentence of ours, base64url holds no space, quote or delimiter (so the value
 * cannot end the mark early, whatever bytes it has), and a mark is one \S+ word, as a bare
 * address would be.
 */
const OPEN = "\uE002";
const CLOSE = "\uE003";
const MARK_RE = /\uE002([a-z]+):([A-Za-z0-9_-]*)\uE003/g;

function mark(kind: MarkKind, value: string): string {
  return `${OPEN}${kind}:${Buffer.from(value, "utf8").toString("base64url")}${CLOSE}`;
}

export const MARKING_NAMER: Namer = {
  address: (s) => mark("address", s),
  mac: (s) => mark("mac", s),
  file: (s) => mark("file", s),
  wire: (k, s) => mark(k, s),
  typed: (s) => mark("typed", s),
};

/** Replace every mark in `s` by `name(kind, value)`; text that only looks like a mark is left as it is. */
export function replaceMarks(s: string, name: (kind: MarkKind, value: string) => string): string {
  if (!s.includes(OPEN)) return s;
  return s.replace(MARK_RE, (m, kind: string, b64: string) => (MARK_KINDS.has(kind) ? name(kind as MarkKind, Buffer.from(b64, "base64url").toString("utf8")) : m));
}
