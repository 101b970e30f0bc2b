import { describe, expect, it } from "vitest";
import { PcapReader } from "../../src/capture/reader/pcap.js";
import { MAX_SANE_CAPLEN } from "../../src/capture/reader/queue.js";
import { cat, payload, pcapHeader, pcapRecord, readAll, u32 } from "./build.js";

const mk = () => new PcapReader();

describe("classic pcap: byte orders and timestamp units", () => {
  for (const le of [true, false]) {
    for (const nano of [false, true]) {
      it(`${le ? "little" : "big"}-endian, ${nano ? "nanosecond" : "microsecond"} magic`, () => {
        const a = payload(60, 1);
        const b = payload(1514, 2);
        const frac1 = nano ? 123456789 : 123456; // sub-second part in the file's unit
        const frac2 = nano ? 999999999 : 999999;
        const file = cat(
          pcapHeader({ le, nano, snaplen: 65535, linkType: 1 }),
          pcapRecord(le, 1700000000, frac1, a),
          pcapRecord(le, 1700000001, frac2, b),
        );
        const r = readAll(mk, file);
        expect(r.errors).toEqual([]);
        expect(r.stopped).toBe(false);
        expect(r.linkTypes).toEqual([1]);
        expect(r.frames).toBe(2);
        expect(r.bytesConsumed).toBe(file.length);
        expect(r.packets).toHaveLength(2);
        const [p1, p2] = r.packets;
        expect(p1).toMatchObject({ frame: 1, offset: 24, tsSec: 1700000000, caplen: 60, origLen: 60, linkType: 1, interfaceId: 0 });
        expect(p1.tsNsec).toBe(nano ? 123456789 : 123456000);
        expect(p1.data).toEqual(Array.from(a));
        // Second record starts after the file header, the first record header and its data.
        expect(p2).toMatchObject({ frame: 2, offset: 24 + 16 + 60, tsSec: 1700000001, caplen: 1514, origLen: 1514 });
        expect(p2.tsNsec).toBe(nano ? 999999999 : 999999000);
        expect(p2.data).toEqual(Array.from(b));
      });
    }
  }
});

describe("classic pcap: header fields", () => {
  it("takes the LINKTYPE from the low 16 bits and the FCS length from the upper bits", () => {
    // Bits 28-31 FCS length = 2 (32 bits of FCS), bit 27 F = 1, low 16 bits = 105 (802.11).
    const field = (2 << 28) | (1 << 27) | 105;
    const r = new PcapReader();
    r.append(cat(pcapHeader({ le: true, snaplen: 65535, linkType: field >>> 0 }), pcapRecord(true, 1, 0, payload(10, 3))));
    const p = r.next();
    expect(p?.linkType).toBe(105);
    expect(r.linkTypes).toEqual([105]);
    expect(r.header).toMatchObject({ linkType: 105, fcsLength: 2, snaplen: 65535, versionMajor: 2, versionMinor: 4, bigEndian: false, nanosecond: false });
  });

  it("refuses a major version other than 2 as fatal", () => {
    const r = readAll(mk, cat(pcapHeader({ le: true, major: 3, snaplen: 100, linkType: 1 }), pcapRecord(true, 1, 0, payload(10, 1))));
    expect(r.packets).toEqual([]);
    expect(r.stopped).toBe(true);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ frame: 1, offset: 0, fatal: true });
    expect(r.errors[0].message).toContain("3.4");
  });

  it("a file that is only a header has no packets and no errors", () => {
    const r = readAll(mk, pcapHeader({ le: false, snaplen: 262144, linkType: 1 }));
    expect(r.packets).toEqual([]);
    expect(r.errors).toEqual([]);
    expect(r.frames).toBe(0);
  });

  it("reports a file cut inside the 24-byte header", () => {
    const r = readAll(mk, pcapHeader({ le: true, snaplen: 262144, linkType: 1 }).subarray(0, 10));
    expect(r.stopped).toBe(true);
    expect(r.errors[0].message).toContain("10 of 24");
  });
});

describe("classic pcap: lengths", () => {
  it("a snaplen cut (caplen < original length) is normal", () => {
    const r = readAll(
      mk,
      cat(pcapHeader({ le: true, snaplen: 68, linkType: 1 }), pcapRecord(true, 5, 6, payload(68, 1), 1500 /* orig_len */)),
    );
    expect(r.errors).toEqual([]);
    expect(r.packets[0]).toMatchObject({ caplen: 68, origLen: 1500 });
  });

  it("caplen above the snaplen but sane: non-fatal error, packet still delivered", () => {
    const data = payload(100, 4);
    const file = cat(
      pcapHeader({ le: true, snaplen: 64, linkType: 1 }),
      pcapRecord(true, 1, 0, payload(10, 1)),
      pcapRecord(true, 2, 0, data), // caplen 100 > snaplen 64
      pcapRecord(true, 3, 0, payload(20, 2)),
    );
    const r = readAll(mk, file);
    expect(r.packets.map((p) => p.caplen)).toEqual([10, 100, 20]);
    expect(r.packets[1].data).toEqual(Array.from(data));
    expect(r.stopped).toBe(false);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ frame: 2, offset: 24 + 16 + 10, fatal: false });
    expect(r.errors[0].message).toContain("100");
    expect(r.errors[0].message).toContain("64");
  });

  it("caplen above 262144 but within a large snaplen is delivered", () => {
    const big = payload(MAX_SANE_CAPLEN + 4000, 9);
    const r = readAll(mk, cat(pcapHeader({ le: true, snaplen: 1 << 20, linkType: 1 }), pcapRecord(true, 1, 0, big)));
    expect(r.errors).toEqual([]);
    expect(r.packets).toHaveLength(1);
    expect(r.packets[0].caplen).toBe(big.length);
  });

  it("a corrupt record length is fatal at once, naming frame, offset and numbers", () => {
    const first = payload(74, 1);
    const offset2 = 24 + 16 + first.length;
    const file = cat(
      pcapHeader({ le: true, snaplen: 262144, linkType: 1 }),
      pcapRecord(true, 1, 0, first),
      pcapRecord(true, 2, 0, payload(50, 2), 4325376, 4325376), // caplen field says 4325376
      pcapRecord(true, 3, 0, payload(10, 3)),
    );
    const r = new PcapReader();
    // Only the first bytes of the bad record are appended: the reader must not wait for 4 MiB.
    r.append(file.subarray(0, offset2 + 16));
    expect(r.next()?.frame).toBe(1);
    expect(r.next()).toBeUndefined();
    expect(r.stopped).toBe(true);
    expect(r.errors).toHaveLength(1);
    const e = r.errors[0];
    expect(e).toMatchObject({ frame: 2, offset: offset2, fatal: true });
    for (const s of ["frame 2", String(offset2), "4325376", "262144"]) expect(e.message).toContain(s);
    // Nothing more is read after a fatal error.
    r.append(file.subarray(offset2 + 16));
    r.end();
    expect(r.next()).toBeUndefined();
    expect(r.errors).toHaveLength(1);
  });

  it("a record cut off at end of file: error with frame and offset, earlier packets stay", () => {
    const file = cat(
      pcapHeader({ le: true, snaplen: 200, linkType: 1 }),
      pcapRecord(true, 1, 0, payload(40, 1)),
      pcapRecord(true, 2, 0, payload(40, 2)),
    );
    const cut = file.subarray(0, file.length - 7); // 7 bytes of the second packet missing
    const r = readAll(mk, cut);
    expect(r.packets.map((p) => p.frame)).toEqual([1]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ frame: 2, offset: 24 + 56 });
    expect(r.errors[0].message).toContain("offset 80");
  });

  it("a file cut inside a record header is reported too", () => {
    const file = cat(pcapHeader({ le: false, snaplen: 200, linkType: 1 }), pcapRecord(false, 1, 0, payload(40, 1)), u32(7, false));
    const r = readAll(mk, file);
    expect(r.packets).toHaveLength(1);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ frame: 2, offset: 24 + 56 });
    expect(r.errors[0].message).toContain("4 of 16");
  });

  it("lists at most 100 non-fatal problems and counts the rest in one closing entry", () => {
    const recs: Uint8Array[] = [];
    for (let i = 0; i < 150; i++) recs.push(pcapRecord(true, i, 0, payload(20, i))); // caplen 20 > snaplen 16
    const r = readAll(mk, cat(pcapHeader({ le: true, snaplen: 16, linkType: 1 }), ...recs));
    expect(r.packets).toHaveLength(150);
    expect(r.errors).toHaveLength(101);
    expect(r.errors[100].message).toMatch(/^50 more problems not listed/);
  });
});
