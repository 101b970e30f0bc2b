/**
 * `--filter`: a subset of the pcap-filter(7) language, applied to decoded packets before
 * analysis (src/pipeline/run.ts, AnalyzeOptions.filter). Live capture hands the same text to libpcap
 * unchanged, so the subset is chosen to mean the same thing in both places: every expression
 * accepted here is valid pcap-filter syntax with the same meaning (one deliberate extension: ICMP
 * errors, below), and everything else is refused with the column of the mistake.
 *
 * Taken: `host ADDR`, `net ADDR/LEN`, `port N`, `portrange A-B`, each optionally after `src`,
 * `dst`, `src or dst`, `src and dst`; `tcp`/`udp` before a port primitive (`tcp dst port 443`) and
 * `ip`/`ip6` before a host primitive (`ip6 src net fd00::/8`); `tcp`, `udp`, `icmp`, `icmp6`, `ip`,
 * `ip6`, `arp` alone; `and`/`&&`, `or`/`||`, `not`/`!`, parentheses. Precedence as pcap-filter(7)
 * defines it: negation binds tightest, and `and`/`or` have EQUAL precedence and associate left to
 * right (`a or b and c` is `(a or b) and c`).
 *
 * ICMP errors: host, net, port, portrange, tcp and udp also match an ICMP/ICMPv6 error whose
 * quoted packet (RFC 792, RFC 4443 §3) matches, so `port 902` keeps the port-unreachable that
 * answered a SYN to 902 and the analysis can still report `refused`. libpcap does not do this.
 *
 * The expression is compiled once into closures; matching a packet allocates nothing (addresses
 * are parsed to bytes and network masks worked out at compile time).
 */
import { parseIp } from "./addr.js";
import { hasTransport } from "./decode.js";
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from "./ethernet.js";
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, type DecodedPacket } from "./packet.js";

export type PacketFilter = (p: DecodedPacket) => boolean;

/** A mistake in a filter expression: one line naming the expression, the column (1-based) and what was found. */
export class FilterError extends Error {
  override readonly name = "FilterError";
  constructor(
    readonly expression: string,
    /** 1-based column of the token at fault (expression length + 1 at the end). */
    readonly column: number,
    /** The message without the `--filter "…": ` prefix. */
    readonly detail: string,
  ) {
    super(`--filter ${JSON.stringify(expression)}: ${detail}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Tokens

interface Token {
  text: string;
  /** 1-based column of the first character. */
  col: number;
}

/** Characters that end a word; each is a token of its own (only ( ) ! && || are valid). */
const PUNCT = "()!&|[]=<>";

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
      continue;
    }
    if ((c === "&" || c === "|") && s[i + 1] === c) {
      out.push({ text: c + c, col: i + 1 });
      i += 2;
      continue;
    }
    if (PUNCT.includes(c)) {
      out.push({ text: c, col: i + 1 });
      i++;
      continue;
    }
    let j = i;
    while (j < s.length && !PUNCT.includes(s[j]) && !/\s/.test(s[j])) j++;
    out.push({ text: s.slice(i, j), col: i + 1 });
    i = j;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Predicates. Each primitive is one closure over values fixed at compile time.

type Dir = "any" | "src" | "dst" | "both";

function ipMatcher(bytes: Uint8Array, version: 4 | 6, prefix: number, dir: Dir): PacketFilter {
  const full = prefix >> 3;
  const rem = prefix & 7;
  const mask = rem === 0 ? 0 : (0xff << (8 - rem)) & 0xff;
  const last = bytes[full] & mask;
  // Compares the first `prefix` bits of a 16-byte address buffer with the filter's. IPv4 is one
  // 32-bit compare under a mask (an unrolled read is ~3x faster than the byte loop in V8).
  const mask32 = prefix === 0 ? 0 : (0xffffffff << (32 - Math.min(prefix, 32))) >>> 0;
  const want32 = (((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) & mask32) >>> 0;
  const inNet =
    version === 4
      ? (a: Uint8Array): boolean => (((a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3]) & mask32) >>> 0 === want32
      : (a: Uint8Array): boolean => {
          for (let i = 0; i < full; i++) if (a[i] !== bytes[i]) return false;
          return rem === 0 || (a[full] & mask) === last;
        };
  // One closure per direction, chosen here rather than tested per packet.
  switch (dir) {
    case "src":
      return (p) => (p.ipVersion === version && inNet(p.srcIp)) || (p.hasQuoted && p.quotedIpVersion === version && inNet(p.quotedSrcIp));
    case "dst":
      return (p) => (p.ipVersion === version && inNet(p.dstIp)) || (p.hasQuoted && p.quotedIpVersion === version && inNet(p.quotedDstIp));
    case "both":
      return (p) =>
        (p.ipVersion === version && inNet(p.srcIp) && inNet(p.dstIp)) ||
        (p.hasQuoted && p.quotedIpVersion === version && inNet(p.quotedSrcIp) && inNet(p.quotedDstIp));
    default:
      return (p) =>
        (p.ipVersion === version && (inNet(p.srcIp) || inNet(p.dstIp))) ||
        (p.hasQuoted && p.quotedIpVersion === version && (inNet(p.quotedSrcIp) || inNet(p.quotedDstIp)));
  }
}

/** True when an ICMP error's quote reached the ports (a quote cut before them leaves both 0). */
function quotedPorts(p: DecodedPacket): boolean {
  return p.hasQuoted && (p.quotedProto === IPPROTO_TCP || p.quotedProto === IPPROTO_UDP) && (p.quotedSrcPort !== 0 || p.quotedDstPort !== 0);
}

function portMatcher(lo: number, hi: number, dir: Dir): PacketFilter {
  switch (dir) {
    case "src":
      return (p) => (hasTransport(p) && p.srcPort >= lo && p.srcPort <= hi) || (quotedPorts(p) && p.quotedSrcPort >= lo && p.quotedSrcPort <= hi);
    case "dst":
      return (p) => (hasTransport(p) && p.dstPort >= lo && p.dstPort <= hi) || (quotedPorts(p) && p.quotedDstPort >= lo && p.quotedDstPort <= hi);
    case "both":
      return (p) =>
        (hasTransport(p) && p.srcPort >= lo && p.srcPort <= hi && p.dstPort >= lo && p.dstPort <= hi) ||
        (quotedPorts(p) && p.quotedSrcPort >= lo && p.quotedSrcPort <= hi && p.quotedDstPort >= lo && p.quotedDstPort <= hi);
    default:
      return (p) =>
        (hasTransport(p) && ((p.srcPort >= lo && p.srcPort <= hi) || (p.dstPort >= lo && p.dstPort <= hi))) ||
        (quotedPorts(p) && ((p.quotedSrcPort >= lo && p.quotedSrcPort <= hi) || (p.quotedDstPort >= lo && p.quotedDstPort <= hi)));
  }
}

function transportMatcher(proto: number): PacketFilter {
  return (p) => (p.ipVersion !== 0 && p.ipProto === proto) || (p.hasQuoted && p.quotedProto === proto);
}

const and = (a: PacketFilter, b: PacketFilter): PacketFilter => (p) => a(p) && b(p);
const or = (a: PacketFilter, b: PacketFilter): PacketFilter => (p) => a(p) || b(p);
const not = (a: PacketFilter): PacketFilter => (p) => !a(p);

const PRIMITIVE_WORDS = "host, net, port, portrange, src, dst, tcp, udp, icmp, icmp6, ip, ip6, arp, not, (";

/** pcap-filter(7) words this subset does not take; named in the error so the user knows why. */
const UNSUPPORTED = new Set([
  "ether", "fddi", "tr", "wlan", "vlan", "mpls", "pppoed", "pppoes", "geneve", "vxlan", "len", "less", "greater",
  "proto", "protochain", "gateway", "broadcast", "multicast", "inbound", "outbound", "ifindex", "sctp", "igmp", "igrp",
  "pim", "vrrp", "carp", "ah", "esp", "rarp", "decnet", "atalk", "aarp", "iso", "stp", "ipx", "netbeui", "lat", "sca",
  "moprc", "mopdl", "llc", "ifname", "on", "rnr", "rulenum", "reason", "rset", "ruleset", "srnr", "subrulenum",
  "action", "type", "subtype", "dir", "ra", "ta", "addr1", "addr2", "addr3", "addr4", "link", "radio", "mask",
]);

// ---------------------------------------------------------------------------------------------
// Parser: recursive descent over the token list.

class Parser {
  private i = 0;
  constructor(
    private readonly expr: string,
    private readonly toks: Token[],
  ) {}

  fail(tok: Token | undefined, expected: string, hint?: string): never {
    const col = tok ? tok.col : this.expr.length + 1;
    const got = tok ? JSON.stringify(tok.text) : "end of expression";
    throw new FilterError(this.expr, col, `expected ${expected} at column ${col}, got ${got}${hint ? ` (${hint})` : ""}`);
  }

  peek(k = 0): Token | undefined {
    return this.toks[this.i + k];
  }

  next(): Token | undefined {
    return this.toks[this.i++];
  }

  /** The whole expression; throws unless every token was used. */
  parseAll(): PacketFilter {
    const f = this.parseExpr();
    const t = this.peek();
    if (t !== undefined) this.fail(t, '"and", "or" or the end of the expression', this.trailingHint(t));
    return f;
  }

  /** pcap-filter(7): "and" and "or" have equal precedence and associate left to right. */
  parseExpr(): PacketFilter {
    let left = this.parseUnary();
    for (;;) {
      const t = this.peek();
      if (t === undefined) return left;
      if (t.text === "and" || t.text === "&&") {
        this.i++;
        left = and(left, this.parseUnary());
      } else if (t.text === "or" || t.text === "||") {
        this.i++;
        left = or(left, this.parseUnary());
      } else return left;
    }
  }

  parseUnary(): PacketFilter {
    const t = this.peek();
    if (t !== undefined && (t.text === "not" || t.text === "!")) {
      this.i++;
      return not(this.parseUnary());
    }
    if (t !== undefined && t.text === "(") {
      this.i++;
      const inner = this.parseExpr();
      const close = this.peek();
      if (close === undefined || close.text !== ")") this.fail(close, '")"', close ? this.trailingHint(close) : undefined);
      this.i++;
      return inner;
    }
    return this.parsePrimitive();
  }

  parsePrimitive(): PacketFilter {
    const t = this.next();
    if (t === undefined) return this.fail(t, `a primitive (${PRIMITIVE_WORDS})`);
    switch (t.text) {
      case "host":
      case "net":
      case "port":
      case "portrange":
        return this.typed(t, "any");
      case "src":
      case "dst": {
        const dir = this.direction(t);
        return this.typed(this.expectType(t), dir);
      }
      case "tcp":
      case "udp": {
        const proto = t.text === "tcp" ? IPPROTO_TCP : IPPROTO_UDP;
        const base = transportMatcher(proto);
        const q = this.qualified(["port", "portrange"]);
        return q === null ? base : and(base, q);
      }
      case "ip":
      case "ip6": {
        const ether = t.text === "ip" ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
        const base: PacketFilter = (p) => p.etherType === ether;
        const q = this.qualified(["host", "net"]);
        return q === null ? base : and(base, q);
      }
      case "icmp":
        return (p) => p.ipVersion === 4 && p.ipProto === IPPROTO_ICMP;
      case "icmp6":
        return (p) => p.ipVersion === 6 && p.ipProto === IPPROTO_ICMPV6;
      case "arp":
        return (p) => p.etherType === ETHERTYPE_ARP;
      default:
        return this.fail(t, `a primitive (${PRIMITIVE_WORDS})`, this.primitiveHint(t.text));
    }
  }

  /** After `tcp`/`udp`/`ip`/`ip6`: an optional `[src|dst] TYPE …` whose TYPE is one of `types`. */
  private qualified(types: string[]): PacketFilter | null {
    const t = this.peek();
    if (t === undefined) return null;
    if (types.includes(t.text)) {
      this.i++;
      return this.typed(t, "any");
    }
    if (t.text === "src" || t.text === "dst") {
      this.i++;
      const dir = this.direction(t);
      const type = this.peek();
      if (type === undefined || !types.includes(type.text)) {
        this.fail(type, types.map((x) => JSON.stringify(x)).join(" or ") + ` after ${JSON.stringify(t.text)}`);
      }
      this.i++;
      return this.typed(type, dir);
    }
    return null;
  }

  /** `src`, `dst`, `src or dst`, `src and dst` (the first word already read). */
  private direction(first: Token): Dir {
    const op = this.peek();
    const other = this.peek(1);
    const want = first.text === "src" ? "dst" : "src";
    if (op !== undefined && other !== undefined && other.text === want && (op.text === "or" || op.text === "and")) {
      this.i += 2;
      return op.text === "or" ? "any" : "both";
    }
    return first.text === "src" ? "src" : "dst";
  }

  /** After a direction: the type word (host, net, port, portrange). */
  private expectType(dirTok: Token): Token {
    const t = this.peek();
    if (t === undefined || !["host", "net", "port", "portrange"].includes(t.text)) {
      const addr = t !== undefined && parseIp(t.text) !== null;
      this.fail(t, `"host", "net", "port" or "portrange" after ${JSON.stringify(dirTok.text)}`, addr ? `write "${dirTok.text} host ${t!.text}"` : undefined);
    }
    this.i++;
    return t;
  }

  /** The primitive for a type word (host/net/port/portrange) and its argument. */
  private typed(type: Token, dir: Dir): PacketFilter {
    const arg = this.next();
    switch (type.text) {
      case "host": {
        const a = arg === undefined ? null : parseIp(arg.text);
        if (a === null) {
          const hint = arg && arg.text.includes("/") && parseIp(arg.text.split("/")[0]) ? `a network takes "net": "net ${arg.text}"` : undefined;
          return this.fail(arg, "an IPv4 or IPv6 address", hint);
        }
        return ipMatcher(a.bytes, a.version, a.version === 4 ? 32 : 128, dir);
      }
      case "net":
        return this.network(arg, dir);
      case "port": {
        const n = arg === undefined ? null : portNumber(arg.text);
        if (n === null) {
          const hint = arg && /^\d+-\d+$/.test(arg.text) ? `a range takes "portrange": "portrange ${arg.text}"` : arg && /^[a-z]/i.test(arg.text) ? "service names are not looked up" : undefined;
          return this.fail(arg, "a port number 0-65535", hint);
        }
        return portMatcher(n, n, dir);
      }
      default: {
        const m = arg === undefined ? null : /^([^-]+)-([^-]+)$/.exec(arg.text);
        const a = m ? portNumber(m[1]) : null;
        const b = m ? portNumber(m[2]) : null;
        if (a === null || b === null) return this.fail(arg, "a port range A-B (0-65535)");
        // libpcap swaps a reversed range rather than refusing it; so do we.
        return portMatcher(Math.min(a, b), Math.max(a, b), dir);
      }
    }
  }

  private network(arg: Token | undefined, dir: Dir): PacketFilter {
    const what = "a network ADDRESS/LENGTH (e.g. 10.0.0.0/8) or an address";
    if (arg === undefined) return this.fail(arg, what);
    const slash = arg.text.indexOf("/");
    const a = parseIp(slash < 0 ? arg.text : arg.text.slice(0, slash));
    if (a === null) {
      const hint = /^\d+(\.\d+){0,2}$/.test(arg.text) ? "abbreviated networks are not taken: write e.g. 10.0.0.0/8" : undefined;
      return this.fail(arg, what, hint);
    }
    const max = a.version === 4 ? 32 : 128;
    let len = max;
    if (slash >= 0) {
      const lt = arg.text.slice(slash + 1);
      if (!/^(0|[1-9]\d{0,2})$/.test(lt) || Number(lt) > max) return this.fail(arg, `a prefix length 0-${max}`);
      len = Number(lt);
    }
    // Host bits set under the mask: libpcap refuses "non-network bits set"; so do we, with the fix.
    const masked = new Uint8Array(16);
    for (let i = 0; i < 16; i++) {
      const bits = Math.max(0, Math.min(8, len - 8 * i));
      masked[i] = a.bytes[i] & ((0xff << (8 - bits)) & 0xff);
    }
    if (masked.some((b, i) => b !== a.bytes[i])) {
      const fixed = formatNet(masked, a.version, len);
      return this.fail(arg, "a network with no host bits set", `did you mean "${fixed}"?`);
    }
    return ipMatcher(masked, a.version, len, dir);
  }

  private primitiveHint(word: string): string | undefined {
    if (parseIp(word) !== null) return `an address needs a keyword: "host ${word}"`;
    const slash = word.indexOf("/");
    if (slash > 0 && parseIp(word.slice(0, slash)) !== null) return `a network needs a keyword: "net ${word}"`;
    if (portNumber(word) !== null) return `a port needs a keyword: "port ${word}"`;
    if (/^\d+-\d+$/.test(word)) return `a port range needs a keyword: "portrange ${word}"`;
    const lower = word.toLowerCase();
    if (lower !== word && (["and", "or", "not", "host", "net", "port", "portrange", "src", "dst", "tcp", "udp", "icmp", "icmp6", "ip", "ip6", "arp"].includes(lower))) {
      return `keywords are lower case: "${lower}"`;
    }
    if (UNSUPPORTED.has(word)) return `"${word}" is pcap-filter syntax that --filter does not take; see docs/filter.md`;
    if (word === "&" || word === "|") return `write "${word}${word}"`;
    return undefined;
  }

  private trailingHint(t: Token): string | undefined {
    if (t.text === "[") return "byte offsets such as tcp[13] are not taken by --filter";
    if (t.text === "mask") return "write the network as ADDRESS/LENGTH";
    if (t.text === "AND" || t.text === "OR") return `keywords are lower case: "${t.text.toLowerCase()}"`;
    if (t.text === "&" || t.text === "|") return `write "${t.text}${t.text}"`;
    if (parseIp(t.text) !== null) return `a keyword does not carry over to a bare address: write "or host ${t.text}"`;
    if (portNumber(t.text) !== null) return `a keyword does not carry over to a bare number: write "or port ${t.text}"`;
    return undefined;
  }
}

/** A decimal port 0-65535 without leading zeros (libpcap would read 0443 as octal), else null. */
function portNumber(s: string): number | null {
  if (!/^(0|[1-9]\d{0,4})$/.test(s)) return null;
  const n = Number(s);
  return n <= 65535 ? n : null;
}

function formatNet(b: Uint8Array, version: 4 | 6, len: number): string {
  if (version === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}/${len}`;
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(((b[2 * i] << 8) | b[2 * i + 1]).toString(16));
  // Shortest form is not needed for a hint; collapse the trailing zero groups only.
  let end = 8;
  while (end > 0 && groups[end - 1] === "0") end--;
  const head = groups.slice(0, end).join(":");
  return `${end === 8 ? head : `${head}::`}/${len}`;
}

/**
 * Compile a filter expression into a predicate over decoded packets. An empty (or blank)
 * expression accepts every packet, as libpcap's does. Throws FilterError for anything else that
 * is not in the subset described above and in docs/filter.md.
 */
export function compileFilter(expr: string): PacketFilter {
  const toks = tokenize(expr);
  if (toks.length === 0) return () => true;
  return new Parser(expr, toks).parseAll();
}
