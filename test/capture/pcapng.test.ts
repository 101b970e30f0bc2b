import { describe, expect, it } from "vitest";
import { PcapngReader } from "../../src/capture/reader/pcapng.js";
import { MAX_BLOCK_BYTES, makeIface, splitTimestamp } from "../../src/capture/reader/pcapng-blocks.js";
import {
  block,
  cat,
  customBlock,
  endOfOpt,
  epb,
  idb,
  isb,
  opt,
  payload,
  pb,
  readAll,
  rng,
  shb,
  spb,
  tsoffset,
  tsresol,
  u32,
} from "./build.js";

const mk = () => new PcapngReader();

/** Reference conversion with BigInt, independent of the reader's 16-bit long division. */
function refTs(ts: bigint, rawResol = 6, offset = 0n): { tsSec: number; tsNsec: number } {
  const n = BigInt(rawResol & 0x7f);
  const units = rawResol & 0x80 ? 2n ** n : 10n ** n;
  return { tsSec: Number(ts / units + offset), tsNsec: Number(((ts % units) * 1000000000n) / units) };
}

describe("pcapng: one section", () => {
  for (const le of [true, false]) {
    it(`${le ? "little" : "big"}-endian section with default microsecond timestamps`, () => {
      const a = payload(60, 1);
      const b = payload(61, 2); // odd length: padding follows the data
      const s = shb(le);
      const i = idb(le, 1, 0);
      const e1 = epb(le, 0, 1700000000123456n /* µs */, a);
      const e2 = epb(le, 0, 1700000001000001n, b, 1514 /* orig_len */);
      const r = readAll(mk, cat(s, i, e1, e2));
      expect(r.errors).toEqual([]);
      expect(r.linkTypes).toEqual([1]);
      expect(r.frames).toBe(2);
      expect(r.packets).toHaveLength(2);
      expect(r.packets[0]).toMatchObject({ frame: 1, offset: s.length + i.length, tsSec: 1700000000, tsNsec: 123456000, caplen: 60, origLen: 60, linkType: 1, interfaceId: 0 });
      expect(r.packets[0].data).toEqual(Array.from(a));
      expect(r.packets[1]).toMatchObject({ frame: 2, offset: s.length + i.length + e1.length, tsSec: 1700000001, tsNsec: 1000, caplen: 61, origLen: 1514 });
      expect(r.packets[1].data).toEqual(Array.from(b));
    });
  }

  it("reads packet options and SHB options without mistaking them for data", () => {
    const le = true;
    const data = payload(10, 5);
    const comment = Array.from(new TextEncoder().encode("hello"));
    const file = cat(
      shb(le, { options: [opt(1, comment, le), endOfOpt(le)] }),
      idb(le, 1, 65535, [opt(2, Array.from(new TextEncoder().encode("eth0")), le), endOfOpt(le)]),
      epb(le, 0, 5n, data, 10, 10, [opt(1, comment, le), opt(2, u32(1, le), le) /* epb_flags */, endOfOpt(le)]),
    );
    const r = readAll(mk, file);
    expect(r.errors).toEqual([]);
    expect(r.packets[0].data).toEqual(Array.from(data));
    expect(r.packets[0]).toMatchObject({ tsSec: 0, tsNsec: 5000 });
  });
});

describe("pcapng: several sections and interfaces", () => {
  it("several sections in mixed byte order, each with its own interfaces", () => {
    const d1 = payload(40, 1);
    const d2 = payload(44, 2);
    const d3 = payload(48, 3);
    const file = cat(
      shb(true), // section 1, little-endian
      idb(true, 1, 0), // if 0: Ethernet
      idb(true, 113, 0), // if 1: Linux SLL
      epb(true, 1, 1000000n, d1),
      shb(false), // section 2, big-endian: interfaces start again at 0
      idb(false, 101, 0), // if 0: raw IP
      epb(false, 0, 2000000n, d2),
      shb(true), // section 3, little-endian
      idb(true, 1, 0),
      epb(true, 0, 3000000n, d3),
    );
    const r = readAll(mk, file);
    expect(r.errors).toEqual([]);
    expect(r.linkTypes).toEqual([1, 113, 101]);
    expect(r.packets.map((p) => [p.frame, p.linkType, p.interfaceId, p.tsSec, p.caplen])).toEqual([
      [1, 113, 1, 1, 40],
      [2, 101, 0, 2, 44],
      [3, 1, 0, 3, 48],
    ]);
    expect(r.packets[1].data).toEqual(Array.from(d2));
  });

  it("each interface has its own if_tsresol (10^-9, 2^-8, 2^-20, 10^-12) and if_tsoffset", () => {
    for (const le of [true, false]) {
      const file = cat(
        shb(le),
        idb(le, 1, 0, [tsresol(9, le), endOfOpt(le)]), // if 0: nanoseconds
        idb(le, 1, 0, [tsresol(0x88, le), endOfOpt(le)]), // if 1: 2^-8 s
        idb(le, 1, 0, [tsoffset(1000n, le), endOfOpt(le)]), // if 2: µs, +1000 s
        idb(le, 1, 0, [tsresol(0x94, le), tsoffset(-50n, le), endOfOpt(le)]), // if 3: 2^-20 s, -50 s
        idb(le, 1, 0, [tsresol(12, le), endOfOpt(le)]), // if 4: picoseconds (past the fast path)
        epb(le, 0, 1700000000123456789n, payload(8, 0)),
        epb(le, 1, (1700000000n << 8n) | 0xc0n, payload(8, 1)), // 0xc0/256 = 0.75 s
        epb(le, 2, 5123456n, payload(8, 2)),
        epb(le, 3, (1700000000n << 20n) + 1n, payload(8, 3)), // 1/2^20 s = 953.674… ns
        epb(le, 4, 10000000123456789012n, payload(8, 4)), // 10^7 s + 0.123456789012 s (fits 64 bits)
      );
      const r = readAll(mk, file);
      expect(r.errors).toEqual([]);
      const ts = r.packets.map((p) => ({ tsSec: p.tsSec, tsNsec: p.tsNsec }));
      expect(ts[0]).toEqual({ tsSec: 1700000000, tsNsec: 123456789 });
      expect(ts[1]).toEqual({ tsSec: 1700000000, tsNsec: 750000000 });
      expect(ts[2]).toEqual({ tsSec: 1005, tsNsec: 123456000 });
      expect(ts[3]).toEqual({ tsSec: 1700000000 - 50, tsNsec: 953 });
      expect(ts[4]).toEqual({ tsSec: 10000000, tsNsec: 123456789 });
      expect(r.packets.map((p) => p.interfaceId)).toEqual([0, 1, 2, 3, 4]);
    }
  });

  it("64-bit timestamp split equals BigInt arithmetic for random values and resolutions", () => {
    const rand = rng(42);
    const resols = [0, 1, 3, 6, 9, 10, 12, 19, 0x80, 0x88, 0x89, 0x8a, 0x94, 0xa0, 0xa1, 0xbf];
    const out = { tsSec: 0, tsNsec: 0 };
    for (const raw of resols) {
      const ifc = makeIface(1, 0, raw, 0);
      if (typeof ifc === "string") throw new Error(ifc);
      for (let k = 0; k < 300; k++) {
        // Keep the seconds below 2^53 (the documented exact range) by bounding the high word.
        const units = raw & 0x80 ? 2n ** BigInt(raw & 0x7f) : 10n ** BigInt(raw & 0x7f);
        const maxTs = units * 2n ** 40n;
        const limit = maxTs < 2n ** 64n ? maxTs : 2n ** 64n;
        const ts = (BigInt(Math.floor(rand() * 2 ** 32)) * 2n ** 32n + BigInt(Math.floor(rand() * 2 ** 32))) % limit;
        splitTimestamp(Number(ts >> 32n), Number(ts & 0xffffffffn), ifc, out);
        expect(out).toEqual(refTs(ts, raw));
      }
    }
  });

  it("refuses an if_tsresol that cannot fit 64 bits", () => {
    const le = true;
    const r = readAll(mk, cat(shb(le), idb(le, 1, 0, [tsresol(20, le), endOfOpt(le)])));
    expect(r.stopped).toBe(true);
    expect(r.errors[0].message).toContain("10^-20");
  });
});

describe("pcapng: packet block kinds", () => {
  it("Simple Packet Block: interface 0, no timestamp, caplen = min(original length, snaplen, room)", () => {
    const le = false;
    const s = shb(le);
    const i = idb(le, 1, 64); // snaplen 64
    const cut = payload(64, 1);
    const whole = payload(30, 2);
    const file = cat(s, i, spb(le, 100, cut), spb(le, 30, whole), spb(le, 3, payload(3, 3)));
    const rd = new PcapngReader();
    rd.append(file);
    rd.end();
    const got: Array<[number, number, number, boolean, number[]]> = [];
    let p;
    while ((p = rd.next()) !== undefined) got.push([p.caplen, p.origLen, p.tsSec + p.tsNsec, rd.timestamped, Array.from(p.data)]);
    expect(rd.errors).toEqual([]);
    expect(got).toEqual([
      [64, 100, 0, false, Array.from(cut)], // cut to the snaplen
      [30, 30, 0, false, Array.from(whole)],
      [3, 3, 0, false, [...payload(3, 3)]], // the padding byte is not data
    ]);
  });

  it("Simple Packet Block shorter than its lengths: caplen is the room, with a non-fatal error", () => {
    const le = true;
    const r = readAll(mk, cat(shb(le), idb(le, 1, 0), spb(le, 500, payload(40, 1))));
    expect(r.packets[0]).toMatchObject({ caplen: 40, origLen: 500 });
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0].fatal).toBe(false);
  });

  it("Simple Packet Block before any IDB is fatal", () => {
    const le = true;
    const r = readAll(mk, cat(shb(le), spb(le, 4, payload(4, 1))));
    expect(r.stopped).toBe(true);
    expect(r.packets).toEqual([]);
  });

  it("obsolete Packet Block (type 2)", () => {
    for (const le of [true, false]) {
      const d = payload(33, 7);
      const r = readAll(mk, cat(shb(le), idb(le, 9, 0), idb(le, 1, 0), pb(le, 1, 1500000n, d, 60)));
      expect(r.errors).toEqual([]);
      expect(r.packets[0]).toMatchObject({ frame: 1, interfaceId: 1, linkType: 1, tsSec: 1, tsNsec: 500000000, caplen: 33, origLen: 60 });
      expect(r.packets[0].data).toEqual(Array.from(d));
    }
  });

  it("skips unknown, NRB and ISB blocks by length; custom blocks use up a frame number", () => {
    const le = true;
    const file = cat(
      shb(le),
      idb(le, 1, 0),
      customBlock(le, 32473, payload(24, 1)), // frame 1 (Wireshark shows it as "PCAPNG Custom Block")
      epb(le, 0, 1n, payload(10, 1)), // frame 2
      block(0x12345678, payload(20, 9), le), // unknown type: skipped, no frame
      block(0x00000004, [0, 0, 0, 0], le), // Name Resolution Block with only nrb_record_end: no frame
      isb(le, 0, 2n), // Interface Statistics Block: no frame
      customBlock(le, 32473, payload(5, 2), false), // 0x40000BAD: frame 3
      epb(le, 0, 3n, payload(10, 2)), // frame 4
    );
    const r = readAll(mk, file);
    expect(r.errors).toEqual([]);
    expect(r.packets.map((p) => p.frame)).toEqual([2, 4]);
    expect(r.frames).toBe(4);
  });

  it("a packet on an interface the section does not have is fatal", () => {
    const le = true;
    const r = readAll(mk, cat(shb(le), idb(le, 1, 0), epb(le, 0, 1n, payload(4, 0)), epb(le, 1, 1n, payload(4, 0))));
    expect(r.packets).toHaveLength(1);
    expect(r.stopped).toBe(true);
    expect(r.errors[0].message).toContain("interface 1");
  });

  it("an EPB whose caplen does not fit the block is fatal", () => {
    const le = true;
    const s = shb(le);
    const i = idb(le, 1, 0);
    const r = readAll(mk, cat(s, i, epb(le, 0, 1n, payload(8, 0), 8, 200 /* caplen field */)));
    expect(r.stopped).toBe(true);
    expect(r.errors[0]).toMatchObject({ frame: 1, offset: s.length + i.length, fatal: true });
  });
});

describe("pcapng: damaged blocks", () => {
  const le = true;
  const s = shb(le);
  const i = idb(le, 1, 0);
  const good = epb(le, 0, 1n, payload(16, 1));
  const at = s.length + i.length + good.length; // offset of the damaged block

  it("trailing total length differs from the leading one: fatal with offset", () => {
    const bad = block(6, cat(u32(0, le), u32(0, le), u32(2, le), u32(4, le), u32(4, le), payload(4, 2)), le, { tail: 40 });
    const r = readAll(mk, cat(s, i, good, bad, good));
    expect(r.packets).toHaveLength(1);
    expect(r.stopped).toBe(true);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ frame: 2, offset: at, fatal: true });
    expect(r.errors[0].message).toContain("36"); // leading copy: 12 + 24-byte body
    expect(r.errors[0].message).toContain("40"); // trailing copy
  });

  it("total length not a multiple of 4: fatal", () => {
    const bad = cat(u32(6, le), u32(33, le), payload(21, 0), u32(33, le));
    const r = readAll(mk, cat(s, i, good, bad));
    expect(r.packets).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ offset: at, fatal: true });
    expect(r.errors[0].message).toContain("33");
  });

  it("total length below 12: fatal", () => {
    const r = readAll(mk, cat(s, i, good, u32(6, le), u32(8, le), u32(8, le)));
    expect(r.errors[0]).toMatchObject({ offset: at, fatal: true });
  });

  it("a block over 64 MiB is refused as soon as its header is read", () => {
    const rd = new PcapngReader();
    rd.append(cat(s, i, good, u32(6, le), u32(MAX_BLOCK_BYTES + 4, le), payload(100, 0)));
    expect(rd.next()?.frame).toBe(1);
    expect(rd.next()).toBeUndefined();
    expect(rd.stopped).toBe(true);
    expect(rd.errors[0]).toMatchObject({ offset: at, fatal: true });
    expect(rd.errors[0].message).toContain(String(MAX_BLOCK_BYTES + 4));
  });

  it("SHB major version 2 stops the reader at that block; what came before stays", () => {
    const s2 = shb(le, { major: 2 });
    const r = readAll(mk, cat(s, i, good, s2, i, good));
    expect(r.packets).toHaveLength(1);
    expect(r.stopped).toBe(true);
    expect(r.errors).toEqual([expect.objectContaining({ frame: 2, offset: at, fatal: true })]);
    expect(r.errors[0].message).toContain("2.0");
  });

  it("SHB minor version other than 0 is read with a warning", () => {
    const r = readAll(mk, cat(shb(le, { minor: 2 }), i, good));
    expect(r.packets).toHaveLength(1);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0].fatal).toBe(false);
  });

  it("unknown byte-order magic is fatal", () => {
    const bad = cat(u32(0x0a0d0d0a, le), u32(28, le), u32(0x11223344, le), payload(12, 0), u32(28, le));
    const r = readAll(mk, bad);
    expect(r.stopped).toBe(true);
    expect(r.errors[0].message).toContain("byte-order");
  });

  it("first block not an SHB is fatal", () => {
    const r = readAll(mk, cat(i, good));
    expect(r.stopped).toBe(true);
    expect(r.errors[0]).toMatchObject({ offset: 0, fatal: true });
  });

  it("a block cut off at end of file: error with frame and offset; earlier packets stay", () => {
    const file = cat(s, i, good, good);
    const r = readAll(mk, file.subarray(0, file.length - 5));
    expect(r.packets).toHaveLength(1);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ frame: 2, offset: at });
  });
});

describe("pcapng: many interface blocks", () => {
  it("keeps every IDB and lists each link type once, in order of first appearance, over 100,000 IDBs", () => {
    // Issue 19: the link-type bookkeeping searched the list per IDB (quadratic). The time is
    // measured in `npm run bench`; here the result: every LinkType value 0..65535 appears, in a
    // scrambled order, then 34,464 more IDBs repeat earlier ones.
    const le = true;
    const n = 100_000;
    const typeOf = (i: number) => (i < 65536 ? (i * 40503) & 0xffff : (i * 7) & 0xffff); // 40503 is odd: a permutation of 0..65535
    const parts: Uint8Array[] = [shb(le)];
    for (let i = 0; i < n; i++) parts.push(idb(le, typeOf(i), 0));
    // Packets on the first, a middle and the last interface carry that interface's link type.
    const ids = [0, 54321, n - 1];
    for (const id of ids) parts.push(epb(le, id, BigInt(id), payload(20, id)));
    const r = readAll(mk, cat(...parts), () => 1 << 16);
    expect(r.errors).toEqual([]);
    expect(r.linkTypes).toHaveLength(65536);
    expect(new Set(r.linkTypes).size).toBe(65536);
    for (const i of [0, 1, 2, 1000, 65535]) expect(r.linkTypes[i]).toBe(typeOf(i));
    expect(r.packets.map((p) => p.interfaceId)).toEqual(ids);
    expect(r.packets.map((p) => p.linkType)).toEqual(ids.map(typeOf));
  });
});
