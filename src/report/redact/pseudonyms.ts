/**
 * The pseudonyms of one redacted report, numbered in order of first appearance per kind
 * ([proxy-1], [esxi-1], [host-3], [name-2].local, [user-1], …), and the rule for each kind of
 * value: addresses, MACs, names, users, banners, software, request targets, distinguished names,
 * file names. `collect` learns roles and names from the report's fields; `rewrite` replaces every
 * string by the rule for its field (record-redaction.ts).
 */
import { formatIp, parseIp } from "../../decode/index.js";
import { type MarkKind, STANDARD_ROLES } from "../../policy/index.js";
import type { Report } from "../record.js";
import { type Handling, redactionOf } from "../record-redaction.js";
import type { RedactionEntry } from "../redact.js";
import { scanText } from "./free-text.js";
import {
  AUTHD_RE, AUTHD_WORDS, canonical, canonicalText, DN_KINDS, HTTP_STATUS_RE, type Ip, KEPT_PATHS, KEPT_TLDS, keptSuffix, PUBLIC_NAMES,
  QUOTE_RE, REASON_PHRASES, reverseNibbles, SERVICE_LABELS, SOFTWARE_RE, specialKind, STANDARD_METHODS, WELL_FORMED_NAME,
} from "./patterns.js";

/** How a value the policy marked (src/policy/namer.ts) is named: as the field it came from. */
const MARK_HANDLING: Record<MarkKind, Handling> = {
  address: "ip", mac: "mac", file: "file", typed: "data", name: "nameOrIp", host: "hostPort", uri: "uri", method: "method", banner: "banner", cn: "cn", dn: "dn",
};

export class Pseudonyms {
  readonly entries: RedactionEntry[] = [];
  private readonly counters = new Map<string, number>();
  private readonly values = new Map<string, string>();
  private readonly roleOf = new Map<string, string>();
  /** Names (lower case, no trailing dot) and user names known from the report's fields. */
  readonly knownNames = new Set<string>();
  readonly knownUsers = new Set<string>();
  readonly files: string[] = [];
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

  /** Free text: free-text.ts. */
  text(s: string, mode: "tool" | "data" | "detector"): string {
    return scanText(this, s, mode);
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
    const h = redactionOf(path);
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
