import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readCapture } from "../../src/capture/reader/file.js";
import { splitNsWords } from "../../src/capture/writer/options.js";
import { BT_EPB, BT_IDB, BT_ISB, BT_SHB, BYTE_ORDER_MAGIC, PcapngWriter } from "../../src/capture/writer/pcapng.js";
import type { RawPacket } from "../../src/capture/types.js";

const dir = mkdtempSync(join(tmpdir(), "pnc-pcapng-writer-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tsharkPath(): string | null {
  try {
    execFileSync("tshark", ["-v"], { stdio: "ignore" });
    return "tshark";
  } catch {
    return null;
  }
}
const tshark = tsharkPath();
if (tshark === null) console.warn("pcapng-writer: tshark is not installed, its read-back test is skipped");

interface Kept {
  frame: number;
  tsSec: number;
  tsNsec: number;
  caplen: number;
  origLen: number;
  linkType: number;
  interfaceId: number;
  data: Uint8Array;
}
async function readBack(path: string): Promise<{ packets: Kept[]; errors: string[] }> {
  const packets: Kept[] = [];
  const s = await readCapture(path, (p: RawPacket) =>
    packets.push({ frame: p.frame, tsSec: p.tsSec, tsNsec: p.tsNsec, caplen: p.caplen, origLen: p.origLen, linkType: p.linkType, interfaceId: p.interfaceId, data: Uint8Array.from(p.data) }),
  );
  expect(s.format).toBe("pcapng");
  return { packets, errors: s.errors.map((e) => e.message) };
}

/** Ethernet + IPv4 + UDP frame of `len` bytes (only the headers matter to a reader). */
function ethFrame(len: number, seed: number): Uint8Array {
  const f = new Uint8Array(len);
  for (let i = 0; i < len; i++) f[i] = (i * 7 + seed) & 0xff;
  return f;
}

describe("splitNs: 64-bit nanosecond timestamps without BigInt", () => {
  it("matches BigInt arithmetic over the whole range a capture can have", () => {
    // The oracle: sec·10^9 + nsec computed exactly with BigInt, split into 32-bit words.
    const cases: [number, number][] = [
      [0, 0], [0, 999_999_999], [1, 0], [4, 294_967_295], [4, 294_967_296], [1_700_000_000, 123_456_789],
      [2_147_483_647, 999_999_999], [4_294_967_295, 999_999_999], [17_179_869_183, 999_999_999],
    ];
    let x = 12345;
    for (let i = 0; i < 2000; i++) {
      x = (x * 1103515245 + 12345) % 2147483648; // LCG: reproducible spread of values
      cases.push([(x * 7) % 17_179_869_184, x % 1_000_000_000]);
    }
    for (const [sec, nsec] of cases) {
      const t = BigInt(sec) * 1_000_000_000n + BigInt(nsec);
      expect(splitNsWords(sec, nsec), `${sec}.${nsec}`).toEqual([Number(t >> 32n), Number(t & 0xffffffffn)]);
    }
  });
});

describe("PcapngWriter byte layout (draft-ietf-opsawg-pcapng)", () => {
  const path = join(dir, "layout.pcapng");
  const data = ethFrame(61, 1); // 61 bytes: 3 bytes of padding to reach 64
  const w = new PcapngWriter(path, { ifName: "eth0", snaplen: 65535, filter: "port 443", application: "pnc-test" });
  const epbOffset = w.writePacket(1, 1_700_000_000, 123_456_789, data, 61, 1514);
  w.close();
  const b = readFileSync(path);
  const u32 = (o: number) => b.readUInt32LE(o);
  const u16 = (o: number) => b.readUInt16LE(o);

  // Section Header Block (§4.1): type, length, byte-order magic, version 1.0, section length -1.
  const shbLen = u32(4);
  it("starts with a Section Header Block whose trailing length matches", () => {
    expect(u32(0)).toBe(BT_SHB); // 0x0A0D0D0A
    expect(u32(8)).toBe(BYTE_ORDER_MAGIC); // 0x1A2B3C4D as written little-endian: 4D 3C 2B 1A
    expect([...b.subarray(8, 12)]).toEqual([0x4d, 0x3c, 0x2b, 0x1a]);
    expect(u16(12)).toBe(1); // major version
    expect(u16(14)).toBe(0); // minor version
    expect([...b.subarray(16, 24)]).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]); // section length -1
    expect(shbLen % 4).toBe(0);
    expect(u32(shbLen - 4)).toBe(shbLen);
    // Option shb_userappl (code 4), length 8 "pnc-test", then opt_endofopt.
    expect(u16(24)).toBe(4);
    expect(u16(26)).toBe(8);
    expect(b.subarray(28, 36).toString("latin1")).toBe("pnc-test");
  });

  // Interface Description Block (§4.2) right after the SHB, before the first packet.
  const idb = shbLen;
  const idbLen = u32(idb + 4);
  it("then one Interface Description Block with if_name, if_tsresol 9 and if_filter", () => {
    expect(u32(idb)).toBe(BT_IDB);
    expect(u16(idb + 8)).toBe(1); // LINKTYPE_ETHERNET
    expect(u16(idb + 10)).toBe(0); // reserved
    expect(u32(idb + 12)).toBe(65535); // snaplen
    // Walk the options: code, length, value padded to 32 bits.
    const opts = new Map<number, Buffer>();
    let o = idb + 16;
    while (o < idb + idbLen - 4) {
      const code = u16(o);
      const len = u16(o + 2);
      if (code === 0) break;
      opts.set(code, b.subarray(o + 4, o + 4 + len));
      o += 4 + ((len + 3) & ~3);
    }
    expect(opts.get(2)?.toString("latin1")).toBe("eth0"); // if_name
    expect([...(opts.get(9) ?? [])]).toEqual([9]); // if_tsresol: 10^-9 s
    expect([...(opts.get(11) ?? [])]).toEqual([0, ...Buffer.from("port 443")]); // if_filter, type 0 = libpcap string
    expect(u32(idb + idbLen - 4)).toBe(idbLen);
  });

  // Enhanced Packet Block (§4.3).
  const epb = idb + idbLen;
  it("then an Enhanced Packet Block with the timestamp in ns, both lengths, padded data", () => {
    expect(epbOffset).toBe(epb); // writePacket returns where the block starts
    expect(u32(epb)).toBe(BT_EPB);
    const len = u32(epb + 4);
    expect(len).toBe(32 + 64); // 28 header bytes + 61 data padded to 64 + 4 trailer
    expect(u32(epb + 8)).toBe(0); // interface id
    const t = 1_700_000_000n * 1_000_000_000n + 123_456_789n;
    expect(u32(epb + 12)).toBe(Number(t >> 32n)); // timestamp high
    expect(u32(epb + 16)).toBe(Number(t & 0xffffffffn)); // timestamp low
    expect(u32(epb + 20)).toBe(61); // captured length
    expect(u32(epb + 24)).toBe(1514); // original length
    expect([...b.subarray(epb + 28, epb + 28 + 61)]).toEqual([...data]);
    expect([...b.subarray(epb + 89, epb + 92)]).toEqual([0, 0, 0]); // padding
    expect(u32(epb + len - 4)).toBe(len);
    expect(epb + len).toBe(b.length); // no statistics block without stats
  });
});

describe("PcapngWriter read back", () => {
  it("our reader gets every packet back: bytes, lengths, nanosecond timestamps, interfaces per link type", async () => {
    const path = join(dir, "readback.pcapng");
    // A small buffer forces flushes mid-file and one block larger than the buffer.
    const w = new PcapngWriter(path, { ifName: "lo", snaplen: 262144, bufferSize: 4096 });
    const sent: Kept[] = [];
    for (let i = 0; i < 40; i++) {
      const len = i === 17 ? 9000 : 40 + ((i * 13) % 200); // every padding remainder, one jumbo frame
      const linkType = i % 5 === 4 ? 113 : 1; // a second link type (Linux SLL) gets its own IDB
      const d = ethFrame(len, i);
      const tsSec = 1_700_000_000 + i;
      const tsNsec = (i * 987_654_321) % 1_000_000_000;
      w.writePacket(linkType, tsSec, tsNsec, d, len, len + (i % 3));
      sent.push({ frame: i + 1, tsSec, tsNsec, caplen: len, origLen: len + (i % 3), linkType, interfaceId: linkType === 1 ? 0 : 1, data: d });
    }
    w.close({ startSec: 1_700_000_000, startNsec: 0, endSec: 1_700_000_040, endNsec: 5, received: 80, droppedByKernel: 3, droppedByInterface: 0, delivered: 40 });
    const back = await readBack(path);
    expect(back.errors).toEqual([]);
    expect(back.packets).toEqual(sent);
  });

  it("a file flushed but never closed (Ctrl-C, crash) is already a valid pcapng", async () => {
    const path = join(dir, "unclosed.pcapng");
    const w = new PcapngWriter(path, { ifName: "eth0", snaplen: 65535 });
    for (let i = 0; i < 5; i++) w.writePacket(1, 1000 + i, 0, ethFrame(60, i), 60, 60);
    w.flush();
    // Not closed: what is on disk must read without errors.
    const back = await readBack(path);
    expect(back.errors).toEqual([]);
    expect(back.packets.map((p) => p.tsSec)).toEqual([1000, 1001, 1002, 1003, 1004]);
    w.close();
  });

  it("close(stats) appends an Interface Statistics Block with the counters", () => {
    const path = join(dir, "isb.pcapng");
    const w = new PcapngWriter(path, { ifName: "eth0", snaplen: 65535 });
    w.writePacket(1, 10, 0, ethFrame(60, 0), 60, 60);
    const isbAt = w.offset;
    w.close({ startSec: 9, startNsec: 0, endSec: 11, endNsec: 500, received: 1234, droppedByKernel: 56, droppedByInterface: null, delivered: 1 });
    const b = readFileSync(path);
    expect(b.readUInt32LE(isbAt)).toBe(BT_ISB);
    const len = b.readUInt32LE(isbAt + 4);
    expect(isbAt + len).toBe(b.length);
    expect(b.readUInt32LE(isbAt + 8)).toBe(0); // interface id
    const opts = new Map<number, bigint>();
    for (let o = isbAt + 20; b.readUInt16LE(o) !== 0; o += 4 + ((b.readUInt16LE(o + 2) + 3) & ~3)) {
      opts.set(b.readUInt16LE(o), b.readBigUInt64LE(o + 4));
    }
    expect(opts.get(4)).toBe(1234n); // isb_ifrecv
    expect(opts.get(7)).toBe(56n); // isb_osdrop
    expect(opts.has(5)).toBe(false); // isb_ifdrop unknown: left out, not 0
    expect(opts.get(8)).toBe(1n); // isb_usrdeliv
  });

  it("comments: an SHB opt_comment, one opt_comment per entry on an EPB, and IDBs of their own (addInterface)", () => {
    const path = join(dir, "comments.pcapng");
    const w = new PcapngWriter(path, { ifName: "unused", snaplen: 0, comment: "from a.pcapng" });
    const a = w.addInterface(1, "a.pcapng#0", 65535);
    const b2 = w.addInterface(1, "a.pcapng#1", 1500); // same link type, still its own interface
    expect([a, b2]).toEqual([0, 1]);
    const at = w.writePacketOn(b2, 5, 6, ethFrame(61, 3), 61, 61, ["first", "zweite Bemerkung é"]);
    const plain = w.writePacketOn(a, 5, 7, ethFrame(60, 4), 60, 60);
    w.close();
    expect(() => w.writePacketOn(2, 0, 0, ethFrame(60, 0), 60, 60)).toThrow(RangeError);
    const b = readFileSync(path);
    const options = (from: number, to: number): [number, string][] => {
      const out: [number, string][] = [];
      for (let o = from; o < to && b.readUInt16LE(o) !== 0; o += 4 + ((b.readUInt16LE(o + 2) + 3) & ~3)) {
        out.push([b.readUInt16LE(o), b.subarray(o + 4, o + 4 + b.readUInt16LE(o + 2)).toString("utf8")]);
      }
      return out;
    };
    // SHB options start after the 24-byte fixed part (§4.1); opt_comment is code 1 (§3.5).
    expect(options(24, b.readUInt32LE(4) - 4)).toEqual([[1, "from a.pcapng"]]);
    const len = b.readUInt32LE(at + 4);
    expect(b.readUInt32LE(at + 8)).toBe(1); // interface id of the second IDB
    // EPB: 28 fixed bytes + 61 data padded to 64, then the options, then the trailing length.
    expect(options(at + 28 + 64, at + len - 4)).toEqual([[1, "first"], [1, "zweite Bemerkung é"]]);
    expect(b.readUInt32LE(at + len - 4)).toBe(len);
    expect(b.readUInt32LE(plain + 4)).toBe(32 + 60); // no comment: no options, no opt_endofopt
  });

  describe.skipIf(tshark === null)("tshark reads the file", () => {
    it("with the same packets, times and lengths, and the IDB's name and resolution", async () => {
      const path = join(dir, "tshark.pcapng");
      const w = new PcapngWriter(path, { ifName: "veth-test", snaplen: 65535 });
      // Ethernet II / IPv4 / UDP 1024 → 53, 4 payload bytes, built field by field.
      const frame = Uint8Array.from([
        0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00, // dst MAC, src MAC, EtherType IPv4
        0x45, 0x00, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0x00, 0x00, // v4 IHL5, len 32, id 1, TTL 64, UDP, checksum 0
        10, 88, 0, 1, 10, 88, 0, 2, // 10.88.0.1 → 10.88.0.2
        0x04, 0x00, 0x00, 0x35, 0x00, 0x0c, 0x00, 0x00, // UDP 1024 → 53, length 12, checksum 0
        0x61, 0x62, 0x63, 0x64, // payload "abcd"
      ]);
      w.writePacket(1, 1_700_000_000, 1, frame, frame.length, frame.length);
      w.writePacket(1, 1_700_000_001, 999_999_999, frame, 20, frame.length); // cut by a snaplen of 20
      w.close({ startSec: 1_700_000_000, startNsec: 0, endSec: 1_700_000_002, endNsec: 0, received: 2, droppedByKernel: 0, droppedByInterface: 0, delivered: 2 });
      const out = execFileSync(
        "tshark",
        ["-r", path, "-T", "fields", "-E", "separator=,", "-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len", "-e", "frame.interface_name", "-e", "ip.dst"],
        { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
      );
      expect(out.trim().split("\n")).toEqual(["1700000000.000000001,46,46,veth-test,10.88.0.2", "1700000001.999999999,46,20,veth-test,"]);
    });

    it("with the packet comments as frame.comment, filterable, and the SHB comment", () => {
      const path = join(dir, "tshark-comments.pcapng");
      const w = new PcapngWriter(path, { ifName: "x", snaplen: 0, comment: "section comment" });
      const i = w.addInterface(1, "src#0", 65535);
      for (let n = 0; n < 4; n++) w.writePacketOn(i, 100 + n, 0, ethFrame(60, n), 60, 60, n % 2 === 0 ? [`mark-${n}`, "also"] : []);
      w.close();
      const run = (args: string[]) => execFileSync("tshark", ["-r", path, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
      expect(run(["-Y", 'frame.comment contains "mark-"', "-T", "fields", "-e", "frame.number"]).trim().split("\n")).toEqual(["1", "3"]);
      expect(run(["-Y", "frame.number == 3", "-T", "fields", "-e", "frame.comment"]).trim()).toBe("mark-2,also");
      expect(execFileSync("capinfos", ["-k", path], { encoding: "utf8" })).toContain("section comment");
    });
  });
});
