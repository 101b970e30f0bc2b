/**
 * --filter: every primitive, the pcap-filter(7) precedence (not binds tightest; and/or equal,
 * left to right), the ICMP-error extension, and the exact text of every kind of syntax error.
 * Packets are DecodedPacket objects with their fields set by hand, as the decoders would set them.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { analyzeFiles } from "../../src/pipeline/index.js";
import { compileFilter, FilterError } from "../../src/decode/filter.js";
import { DecodedPacket } from "../../src/decode/packet.js";
import { Status } from "../../src/decode/status.js";
import { REPO_ROOT } from "../support/corpus.js";

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_ARP = 0x0806;

/** An IPv4 packet: addresses as 4 bytes each, protocol number, ports (TCP/UDP only). */
function v4(src: number[], dst: number[], proto: number, sport = 0, dport = 0): DecodedPacket {
  const p = new DecodedPacket();
  p.etherType = ETH_IPV4; // EtherType 0x0800 from the link layer
  p.ipVersion = 4;
  p.srcIp.set(src); // IPv4 source address in the first 4 bytes
  p.dstIp.set(dst);
  p.ipProto = proto; // 6 TCP, 17 UDP, 1 ICMP
  p.srcPort = sport;
  p.dstPort = dport;
  return p;
}

/** An IPv6 packet: 16-byte addresses. */
function v6(src: number[], dst: number[], proto: number, sport = 0, dport = 0): DecodedPacket {
  const p = new DecodedPacket();
  p.etherType = ETH_IPV6;
  p.ipVersion = 6;
  p.srcIp.set(src);
  p.dstIp.set(dst);
  p.ipProto = proto; // next header after the extension headers: 6, 17, 58
  p.srcPort = sport;
  p.dstPort = dport;
  return p;
}

// fd77::10 and fd77::20, byte by byte.
const FD10 = [0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10];
const FD20 = [0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20];
const A = [10, 77, 0, 10];
const B = [10, 77, 0, 20];
const C = [192, 168, 1, 5];

const tcpAB = v4(A, B, 6, 40000, 902); // proxy → esxi SYN to 902
const udpBA = v4(B, A, 17, 123, 123); // NTP answer
const tcpV6 = v6(FD10, FD20, 6, 50000, 443);
const icmpEcho = v4(A, C, 1); // ICMP echo, no quote
const icmp6 = v6(FD20, FD10, 58);
const arp = (() => {
  const p = new DecodedPacket();
  p.etherType = ETH_ARP; // ARP: the decoder stops at the link layer
  p.status = Status.Unsupported;
  return p;
})();
/** ICMP port unreachable from 10.77.0.20 to 10.77.0.10 quoting 10.77.0.10:40000 → 10.77.0.20:902/TCP. */
const unreachable = (() => {
  const p = v4(B, A, 1);
  p.icmpType = 3; // destination unreachable (RFC 792)
  p.icmpCode = 3; // port unreachable
  p.hasQuoted = true;
  p.quotedIpVersion = 4;
  p.quotedSrcIp.set(A);
  p.quotedDstIp.set(B);
  p.quotedProto = 6;
  p.quotedSrcPort = 40000;
  p.quotedDstPort = 902;
  return p;
})();
/** An ICMP error from router 192.168.1.5 whose quote ended before the ports (both left 0). */
const shortQuote = (() => {
  const p = v4(C, A, 1);
  p.icmpType = 3;
  p.icmpCode = 1;
  p.hasQuoted = true;
  p.quotedIpVersion = 4;
  p.quotedSrcIp.set(A);
  p.quotedDstIp.set(B);
  p.quotedProto = 17;
  return p;
})();
/** A TCP fragment held for reassembly: protocol known, ports not. */
const pendingFragment = (() => {
  const p = v4(A, B, 6);
  p.status = Status.FragmentPending;
  p.failedLayer = "ipv4";
  p.wasFragment = true;
  return p;
})();

const ALL: Record<string, DecodedPacket> = { tcpAB, udpBA, tcpV6, icmpEcho, icmp6, arp, unreachable, shortQuote, pendingFragment };

/** Names of the packets in ALL the expression keeps. */
function kept(expr: string): string[] {
  const f = compileFilter(expr);
  return Object.entries(ALL)
    .filter(([, p]) => f(p))
    .map(([n]) => n);
}

describe("primitives", () => {
  const cases: [string, string[]][] = [
    ["host 10.77.0.10", ["tcpAB", "udpBA", "icmpEcho", "unreachable", "shortQuote", "pendingFragment"]],
    ["src host 10.77.0.10", ["tcpAB", "icmpEcho", "unreachable", "shortQuote", "pendingFragment"]],
    ["dst host 10.77.0.10", ["udpBA", "unreachable", "shortQuote"]],
    ["src or dst host 192.168.1.5", ["icmpEcho", "shortQuote"]],
    ["src and dst host 10.77.0.10", []],
    ["host fd77::20", ["tcpV6", "icmp6"]],
    ["host fd77:0:0:0:0:0:0:20", ["tcpV6", "icmp6"]],
    ["dst host fd77::20", ["tcpV6"]],
    ["net 10.0.0.0/8", ["tcpAB", "udpBA", "icmpEcho", "unreachable", "shortQuote", "pendingFragment"]],
    // /12 is not byte-aligned: 192.168.1.5 is in 192.160.0.0/12 (0xa8 & 0xf0 = 0xa0).
    ["net 192.160.0.0/12", ["icmpEcho", "shortQuote"]],
    ["net 192.176.0.0/12", []],
    ["dst net 10.77.0.20/32", ["tcpAB", "unreachable", "shortQuote", "pendingFragment"]],
    ["net 10.77.0.20", ["tcpAB", "udpBA", "unreachable", "shortQuote", "pendingFragment"]],
    ["net 0.0.0.0/0", ["tcpAB", "udpBA", "icmpEcho", "unreachable", "shortQuote", "pendingFragment"]],
    ["net fd77::/16", ["tcpV6", "icmp6"]],
    ["src net fd77::10/128", ["tcpV6"]],
    ["port 902", ["tcpAB", "unreachable"]],
    ["dst port 902", ["tcpAB", "unreachable"]],
    ["src port 902", []],
    ["port 123", ["udpBA"]],
    ["src port 40000", ["tcpAB", "unreachable"]],
    ["port 0", []],
    ["portrange 900-902", ["tcpAB", "unreachable"]],
    ["portrange 902-900", ["tcpAB", "unreachable"]],
    ["portrange 124-442", []],
    ["portrange 443-443", ["tcpV6"]],
    ["dst portrange 100-500", ["udpBA", "tcpV6"]],
    ["tcp", ["tcpAB", "tcpV6", "unreachable", "pendingFragment"]],
    ["udp", ["udpBA", "shortQuote"]],
    ["icmp", ["icmpEcho", "unreachable", "shortQuote"]],
    ["icmp6", ["icmp6"]],
    ["ip", ["tcpAB", "udpBA", "icmpEcho", "unreachable", "shortQuote", "pendingFragment"]],
    ["ip6", ["tcpV6", "icmp6"]],
    ["arp", ["arp"]],
    ["tcp port 443", ["tcpV6"]],
    ["udp port 902", []],
    ["tcp dst port 902", ["tcpAB", "unreachable"]],
    ["tcp src or dst portrange 440-450", ["tcpV6"]],
    ["ip host 10.77.0.20", ["tcpAB", "udpBA", "unreachable", "shortQuote", "pendingFragment"]],
    ["ip6 src net fd77::/16", ["tcpV6", "icmp6"]],
    ["ip6 host 10.77.0.20", []],
  ];
  for (const [expr, want] of cases) {
    it(expr, () => expect(kept(expr)).toEqual(want));
  }

  it("an empty or blank expression keeps everything, as libpcap's does", () => {
    expect(kept("")).toEqual(Object.keys(ALL));
    expect(kept("  \t")).toEqual(Object.keys(ALL));
  });
});

describe("operators and precedence (pcap-filter(7): not tightest, and/or equal, left to right)", () => {
  const cases: [string, string[]][] = [
    ["tcp and port 902", ["tcpAB", "unreachable"]],
    ["tcp && port 902", ["tcpAB", "unreachable"]],
    ["udp or icmp6", ["udpBA", "icmp6", "shortQuote"]],
    ["udp || icmp6", ["udpBA", "icmp6", "shortQuote"]],
    ["not ip", ["tcpV6", "icmp6", "arp"]],
    ["! ip", ["tcpV6", "icmp6", "arp"]],
    ["!ip", ["tcpV6", "icmp6", "arp"]],
    ["not not arp", ["arp"]],
    // Left to right: (arp or udp) and port 123 → only the NTP answer. Were "and" tighter, arp would be kept too.
    ["arp or udp and port 123", ["udpBA"]],
    ["arp or (udp and port 123)", ["udpBA", "arp"]],
    // (udp and port 123) or arp — the same either way.
    ["udp and port 123 or arp", ["udpBA", "arp"]],
    // not applies to the primitive only: (not ip) and ip6.
    ["not ip and ip6", ["tcpV6", "icmp6"]],
    ["not (ip or ip6)", ["arp"]],
    ["not ip or arp", ["tcpV6", "icmp6", "arp"]],
    ["((tcp))", ["tcpAB", "tcpV6", "unreachable", "pendingFragment"]],
    ["host 10.77.0.10 and not port 902", ["udpBA", "icmpEcho", "shortQuote", "pendingFragment"]],
    ["(host 10.77.0.10 or host fd77::10) and (port 902 or port 443)", ["tcpAB", "tcpV6", "unreachable"]],
  ];
  for (const [expr, want] of cases) {
    it(expr, () => expect(kept(expr)).toEqual(want));
  }
});

describe("ICMP errors count as the packet they quote for host, net, port, portrange, tcp, udp", () => {
  it("the port unreachable for 902 is kept by a filter on 902 and dropped by its negation", () => {
    expect(compileFilter("port 902")(unreachable)).toBe(true);
    expect(compileFilter("tcp port 902 and src host 10.77.0.10")(unreachable)).toBe(true);
    expect(compileFilter("not port 902")(unreachable)).toBe(false);
  });
  it("icmp, ip and arp look at the packet itself", () => {
    expect(compileFilter("icmp and tcp")(unreachable)).toBe(true);
    expect(compileFilter("not icmp")(unreachable)).toBe(false);
  });
  it("a quote without ports matches no port", () => {
    expect(compileFilter("port 0")(shortQuote)).toBe(false);
    expect(compileFilter("udp and dst host 10.77.0.20")(shortQuote)).toBe(true);
  });
  it("a reused packet object is judged on its current fields only", () => {
    const f = compileFilter("port 902");
    const p = v4(A, B, 6, 1, 902);
    expect(f(p)).toBe(true);
    p.reset();
    expect(f(p)).toBe(false);
  });
});

describe("syntax errors: one line, the column, what was found", () => {
  const cases: [string, string][] = [
    ["host 10.0.0.300", 'expected an IPv4 or IPv6 address at column 6, got "10.0.0.300"'],
    ["host", "expected an IPv4 or IPv6 address at column 5, got end of expression"],
    ["host example.com", 'expected an IPv4 or IPv6 address at column 6, got "example.com"'],
    ["host 10.0.0.0/8", 'expected an IPv4 or IPv6 address at column 6, got "10.0.0.0/8" (a network takes "net": "net 10.0.0.0/8")'],
    ["10.0.0.1", 'expected a primitive (host, net, port, portrange, src, dst, tcp, udp, icmp, icmp6, ip, ip6, arp, not, () at column 1, got "10.0.0.1" (an address needs a keyword: "host 10.0.0.1")'],
    ["tcp and fd77::1", 'expected a primitive (host, net, port, portrange, src, dst, tcp, udp, icmp, icmp6, ip, ip6, arp, not, () at column 9, got "fd77::1" (an address needs a keyword: "host fd77::1")'],
    ["10.0.0.0/8", 'expected a primitive (host, net, port, portrange, src, dst, tcp, udp, icmp, icmp6, ip, ip6, arp, not, () at column 1, got "10.0.0.0/8" (a network needs a keyword: "net 10.0.0.0/8")'],
    ["443", 'expected a primitive (host, net, port, portrange, src, dst, tcp, udp, icmp, icmp6, ip, ip6, arp, not, () at column 1, got "443" (a port needs a keyword: "port 443")'],
    ["1-1024", 'expected a primitive (host, net, port, portrange, src, dst, tcp, udp, icmp, icmp6, ip, ip6, arp, not, () at column 1, got "1-1024" (a port range needs a keyword: "portrange 1-1024")'],
    ["host 10.0.0.1 or 10.0.0.2", 'expected a primitive (host, net, port, portrange, src, dst, tcp, udp, icmp, icmp6, ip, ip6, arp, not, () at column 18, got "10.0.0.2" (an address needs a keyword: "host 10.0.0.2")'],
    ["host 10.0.0.1 10.0.0.2", 'expected "and", "or" or the end of the expression at column 15, got "10.0.0.2" (a keyword does not carry over to a bare address: write "or host 10.0.0.2")'],
    ["port 80 443", 'expected "and", "or" or the end of the expression at column 9, got "443" (a keyword does not carry over to a bare number: write "or port 443")'],
    ["TCP", 'expected a primitive (host, net, port, portrange, src, dst, tcp, udp, icmp, icmp6, ip, ip6, arp, not, () at column 1, got "TCP" (keywords are lower case: "tcp")'],
    ["tcp AND udp", 'expected "and", "or" or the end of the expression at column 5, got "AND" (keywords are lower case: "and")'],
    ["vlan 100", 'expected a primitive (host, net, port, portrange, src, dst, tcp, udp, icmp, icmp6, ip, ip6, arp, not, () at column 1, got "vlan" ("vlan" is pcap-filter syntax that --filter does not take; see docs/filter.md)'],
    ["ether host 00:11:22:33:44:55", 'expected a primitive (host, net, port, portrange, src, dst, tcp, udp, icmp, icmp6, ip, ip6, arp, not, () at column 1, got "ether" ("ether" is pcap-filter syntax that --filter does not take; see docs/filter.md)'],
    ["tcp and len > 100", 'expected a primitive (host, net, port, portrange, src, dst, tcp, udp, icmp, icmp6, ip, ip6, arp, not, () at column 9, got "len" ("len" is pcap-filter syntax that --filter does not take; see docs/filter.md)'],
    ["tcp[13] & 2 != 0", 'expected "and", "or" or the end of the expression at column 4, got "[" (byte offsets such as tcp[13] are not taken by --filter)'],
    ["foo", 'expected a primitive (host, net, port, portrange, src, dst, tcp, udp, icmp, icmp6, ip, ip6, arp, not, () at column 1, got "foo"'],
    ["tcp udp", 'expected "and", "or" or the end of the expression at column 5, got "udp"'],
    ["tcp and", "expected a primitive (host, net, port, portrange, src, dst, tcp, udp, icmp, icmp6, ip, ip6, arp, not, () at column 8, got end of expression"],
    ["not", "expected a primitive (host, net, port, portrange, src, dst, tcp, udp, icmp, icmp6, ip, ip6, arp, not, () at column 4, got end of expression"],
    ["or tcp", 'expected a primitive (host, net, port, portrange, src, dst, tcp, udp, icmp, icmp6, ip, ip6, arp, not, () at column 1, got "or"'],
    ["tcp & udp", 'expected "and", "or" or the end of the expression at column 5, got "&" (write "&&")'],
    ["(tcp or udp", 'expected ")" at column 12, got end of expression'],
    ["(tcp or udp))", 'expected "and", "or" or the end of the expression at column 13, got ")"'],
    ["()", 'expected a primitive (host, net, port, portrange, src, dst, tcp, udp, icmp, icmp6, ip, ip6, arp, not, () at column 2, got ")"'],
    ["port 65536", 'expected a port number 0-65535 at column 6, got "65536"'],
    ["port 0443", 'expected a port number 0-65535 at column 6, got "0443"'],
    ["port https", 'expected a port number 0-65535 at column 6, got "https" (service names are not looked up)'],
    ["port 1-1024", 'expected a port number 0-65535 at column 6, got "1-1024" (a range takes "portrange": "portrange 1-1024")'],
    ["portrange 1024", 'expected a port range A-B (0-65535) at column 11, got "1024"'],
    ["portrange 1-70000", 'expected a port range A-B (0-65535) at column 11, got "1-70000"'],
    ["net 10.0.0.1/8", 'expected a network with no host bits set at column 5, got "10.0.0.1/8" (did you mean "10.0.0.0/8"?)'],
    ["net fd77::1/16", 'expected a network with no host bits set at column 5, got "fd77::1/16" (did you mean "fd77::/16"?)'],
    ["net 10.0.0.0/33", 'expected a prefix length 0-32 at column 5, got "10.0.0.0/33"'],
    ["net 10", 'expected a network ADDRESS/LENGTH (e.g. 10.0.0.0/8) or an address at column 5, got "10" (abbreviated networks are not taken: write e.g. 10.0.0.0/8)'],
    ["net 10.0.0.0 mask 255.0.0.0", 'expected "and", "or" or the end of the expression at column 14, got "mask" (write the network as ADDRESS/LENGTH)'],
    ["src 10.0.0.1", 'expected "host", "net", "port" or "portrange" after "src" at column 5, got "10.0.0.1" (write "src host 10.0.0.1")'],
    ["dst", 'expected "host", "net", "port" or "portrange" after "dst" at column 4, got end of expression'],
    ["tcp src host 10.0.0.1", 'expected "port" or "portrange" after "src" at column 9, got "host"'],
    ["ip dst port 80", 'expected "host" or "net" after "dst" at column 8, got "port"'],
    ["tcp host 10.0.0.1", 'expected "and", "or" or the end of the expression at column 5, got "host"'],
    ['host "10.0.0.1"', 'expected an IPv4 or IPv6 address at column 6, got "\\"10.0.0.1\\""'],
  ];
  for (const [expr, detail] of cases) {
    it(expr, () => {
      let err: unknown;
      try {
        compileFilter(expr);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(FilterError);
      const fe = err as FilterError;
      expect(fe.message).toBe(`--filter ${JSON.stringify(expr)}: ${detail}`);
      expect(fe.message).not.toContain("\n");
      expect(fe.column).toBe(Number(/at column (\d+)/.exec(detail)![1]));
      expect(fe.expression).toBe(expr);
    });
  }

  it("the example from the brief, word for word", () => {
    expect(() => compileFilter("host 10.0.0.300")).toThrow('--filter "host 10.0.0.300": expected an IPv4 or IPv6 address at column 6, got "10.0.0.300"');
  });
});

describe("through the pipeline (fixtures/recorded/tcp-udp-failures.pcap)", () => {
  // The capture: TCP 8443 dropped (3 SYNs), TCP 8000 refused, UDP 30000 to a closed port over
  // IPv4 and IPv6, each answered by an ICMP/ICMPv6 port unreachable (fixtures/recorded/README.md).
  const file = path.join(REPO_ROOT, "fixtures/recorded/tcp-udp-failures.pcap");
  const run = (expr: string) => analyzeFiles([file], { filter: compileFilter(expr) });

  it("udp port 30000 keeps both datagrams and the ICMP errors that answered them", async () => {
    const a = await run("udp port 30000");
    expect(a.conversations.map((c) => [c.transport, c.server.port, c.conv.icmpCount])).toEqual([
      ["udp", 30000, 1],
      ["udp", 30000, 1],
    ]);
    expect(a.captures[0].decode.icmp).toBe(2);
    expect(a.captures[0].decode.tcp).toBe(0);
  });

  it("udp port 30000 and not icmp and not icmp6 drops the errors", async () => {
    const a = await run("udp port 30000 and not icmp and not icmp6");
    expect(a.conversations.map((c) => c.conv.icmpCount)).toEqual([0, 0]);
    expect(a.captures[0].decode.icmp).toBe(0);
  });

  it("ip6 keeps only the IPv6 conversation; tcp port 8443 only the dropped SYNs", async () => {
    const v6only = await run("ip6");
    expect(v6only.conversations.map((c) => c.ipVersion)).toEqual([6]);
    const syn = await run("tcp port 8443");
    expect(syn.conversations.map((c) => [c.server.port, c.packetsClient, c.packetsServer])).toEqual([[8443, 3, 0]]);
  });
});
