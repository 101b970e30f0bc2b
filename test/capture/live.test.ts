// Live capture pieces that need no privilege and no traffic: option parsing, tcpdump's messages
// and counters, cap's link-type names, the interface list and the live summary line.
import { describe, expect, it } from "vitest";
import { capLinkType } from "../../src/capture/live/engine-cap.js";
import { classifyTcpdumpError, findTcpdump, parseTcpdumpCounters, TcpdumpEngine } from "../../src/capture/live/engine-tcpdump.js";
import { interfaceExists, LiveCaptureError, listInterfaces, parseDuration, parseSize, selectEngine } from "../../src/capture/index.js";
import { formatInterfaceList, liveStatusLine, stopLine } from "../../src/cli/capture.js";

describe("parseDuration", () => {
  it.each([
    ["90s", 90_000],
    ["10m", 600_000],
    ["1h", 3_600_000],
    ["1h30m", 5_400_000],
    ["1500ms", 1500],
    ["2.5s", 2500],
    ["45", 45_000], // a bare number is seconds
  ])("%s → %d ms", (text, ms) => expect(parseDuration(text)).toBe(ms));
  it.each(["", "s", "0s", "-5s", "10x", "10 m", "1h foo", "m10"])("rejects %j", (text) => expect(parseDuration(text)).toBeNull());
});

describe("parseSize", () => {
  it.each([
    ["64MiB", 64 * 1048576],
    ["64m", 64 * 1048576],
    ["512KiB", 512 * 1024],
    ["1048576", 1048576],
    ["1g", 1 << 30],
  ])("%s → %d bytes", (text, n) => expect(parseSize(text)).toBe(n));
  it.each(["", "0", "12q", "-1k", "MiB"])("rejects %j", (text) => expect(parseSize(text)).toBeNull());
});

describe("tcpdump counters", () => {
  // The exit summary of tcpdump 4.99 on Linux, as printed on stderr.
  const exitSummary = [
    "tcpdump: listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes",
    "119285 packets captured",
    "350618 packets received by filter",
    "111874 packets dropped by kernel",
    "",
  ].join("\n");

  it("reads received and kernel drops from the exit summary; no 'by interface' line means 0", () => {
    expect(parseTcpdumpCounters(exitSummary, true)).toEqual({ received: 350618, droppedByKernel: 111874, droppedByInterface: 0 });
  });

  it("reads 'dropped by interface' when tcpdump prints it, and singular 'packet'", () => {
    const s = "1 packet captured\n1 packet received by filter\n0 packets dropped by kernel\n7 packets dropped by interface\n";
    expect(parseTcpdumpCounters(s, true)).toEqual({ received: 1, droppedByKernel: 0, droppedByInterface: 7 });
  });

  it("takes the latest SIGUSR1 line while running, and leaves the interface count unknown", () => {
    const s =
      "tcpdump: listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n" +
      "tcpdump: 10 packets captured, 12 packets received by filter, 0 packets dropped by kernel\n" +
      "tcpdump: 90 packets captured, 95 packets received by filter, 4 packets dropped by kernel\n";
    expect(parseTcpdumpCounters(s, false)).toEqual({ received: 95, droppedByKernel: 4, droppedByInterface: null });
  });

  it("is null when tcpdump printed no counters (killed before its summary)", () => {
    expect(parseTcpdumpCounters("tcpdump: listening on lo\n", true)).toBeNull();
  });
});

describe("tcpdump start-up errors become one line each", () => {
  const o = { iface: "eth0", filter: "port 4433 and" };
  it.each([
    ["tcpdump: eth0: You don't have permission to perform this capture on that device\n(socket: Operation not permitted)\n", "permission", /needs root or the CAP_NET_RAW capability/],
    ["tcpdump: eth9: No such device exists\n(No such device exists)\n", "interface", /no interface named "eth0"/],
    ["tcpdump: can't parse filter expression: syntax error\n", "filter", /^bad capture filter "port 4433 and": can't parse filter expression: syntax error$/],
    ["tcpdump: eth0: That device is not up\n", "interface", /^interface eth0 is down: bring it up first \(ip link set eth0 up\)$/],
    ["tcpdump: something new\n", "engine", /^tcpdump could not capture on eth0: something new$/],
  ])("%j → %s", (stderr, reason, message) => {
    const e = classifyTcpdumpError(stderr, o);
    expect(e).toBeInstanceOf(LiveCaptureError);
    expect(e.reason).toBe(reason);
    expect(e.message).toMatch(message);
    expect(e.message).not.toContain("\n");
  });
});

describe("tcpdump command line", () => {
  const base = { iface: "eth0", filter: null, snaplen: 262144, bufferSize: 64 * 1048576, count: null };
  it("streams pcap to stdout packet by packet with nanosecond stamps and a 64 MiB buffer in KiB", () => {
    expect(TcpdumpEngine.args(base, false, true)).toEqual(["-i", "eth0", "-U", "-w", "-", "-s", "262144", "-B", "65536", "--time-stamp-precision=nano"]);
  });
  it("drops privileges to the tcpdump user only as root and when the user exists; -c and the filter last", () => {
    const a = TcpdumpEngine.args({ ...base, filter: "tcp port 443", count: 100 }, true, true);
    expect(a.slice(-5)).toEqual(["-Z", "tcpdump", "-c", "100", "tcp port 443"]);
    expect(TcpdumpEngine.args(base, true, false)).not.toContain("-Z");
  });
  it("is not found on an empty PATH, and selectEngine names what to install", () => {
    expect(findTcpdump("")).toBeNull();
    const e = new TcpdumpEngine("");
    expect(e.unavailableReason()).toMatch(/apt-get install tcpdump/);
  });
});

describe("cap link types", () => {
  it.each([
    ["ETHERNET", 1],
    ["NULL", 0],
    ["LINKTYPE_LINUX_SLL", 113],
    ["RAW", 101],
    ["IEEE802_11_RADIO", 127],
    ["Unknown linktype 276", 276], // LINUX_SLL2, which cap does not name
  ])("%s → LINKTYPE %d", (name, lt) => expect(capLinkType(name)).toBe(lt));
  it("refuses a name it does not know", () => expect(capLinkType("TOKEN_RING")).toBeNull());
});

describe("interfaces", () => {
  it("knows lo and the any pseudo-interface, and refuses names that are paths", () => {
    expect(interfaceExists("lo")).toBe(true);
    expect(interfaceExists("any")).toBe(true);
    expect(interfaceExists("pnc-no-such-if0")).toBe(false);
    expect(interfaceExists("../lo")).toBe(false);
    expect(interfaceExists("")).toBe(false);
  });
  it("lists lo with 127.0.0.1/8, first", () => {
    const list = listInterfaces();
    expect(list[0].name).toBe("lo");
    expect(list[0].addresses.map((a) => a.cidr)).toContain("127.0.0.1/8");
    const text = formatInterfaceList(list);
    expect(text.split("\n")[0]).toMatch(/^lo\s+\S+\s+-\s+127\.0\.0\.1\/8/);
    expect(text).toMatch(/^any\s+\(all interfaces/m);
  });
});

describe("engine choice", () => {
  it("an explicit engine that is missing is a LiveCaptureError naming what to install", () => {
    const saved = process.env.PATH;
    process.env.PATH = "";
    try {
      expect(() => selectEngine("tcpdump")).toThrow(/tcpdump is not on PATH: apt-get install tcpdump/);
    } finally {
      process.env.PATH = saved;
    }
  });
});

describe("what the user reads", () => {
  it("live line: packets, drops as tcpdump reports them, conversations, findings so far", () => {
    const line = liveStatusLine(
      { engine: "tcpdump", iface: "eth0", elapsedMs: 75_400, packets: 12345, bytes: 0, counters: { received: 13000, droppedByKernel: 17, droppedByInterface: 0 } },
      4,
      1,
    );
    expect(line).toBe("eth0 (tcpdump) 1:15  12,345 packets  dropped 17 by kernel  4 conversations  1 finding so far  — Ctrl-C stops");
  });
  it("live line with cap says drops are unknown, not 0", () => {
    const line = liveStatusLine({ engine: "cap", iface: "lo", elapsedMs: 999, packets: 1, bytes: 0, counters: null }, 1, null);
    expect(line).toBe("lo (cap) 0:00  1 packet  drops unknown (cap)  1 conversation  — Ctrl-C stops");
  });
  it("stop line names the reason, the counts and the file", () => {
    const l = {
      interface: "eth0", filter: null, engine: "tcpdump" as const, start: "", end: "", stopReason: "interrupt" as const, packetsCaptured: 10,
      packetsReceived: 12, droppedByKernel: 2, droppedByInterface: 0, snaplen: 262144, bufferSize: 1, timestamps: "kernel" as const,
      file: "x.pcapng", unavailable: [],
    };
    expect(stopLine(l)).toBe("capture stopped (interrupted): 10 packets on eth0 with tcpdump, 2 dropped by kernel, 0 by interface; wrote x.pcapng");
  });
});
