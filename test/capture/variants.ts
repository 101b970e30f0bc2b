/**
 * One byte-built capture per variant the readers handle, shared by the chunking and the
 * readCapture/gzip tests. Each is built from the field builders in build.ts.
 */
import type { CaptureFormat } from "../../src/capture/types.js";
import {
  block,
  cat,
  customBlock,
  endOfOpt,
  epb,
  idb,
  isb,
  payload,
  pb,
  pcapHeader,
  pcapRecord,
  shb,
  spb,
  tsoffset,
  tsresol,
  u32,
} from "./build.js";

export interface Variant {
  name: string;
  format: CaptureFormat;
  bytes: Uint8Array;
}

function pcapFile(le: boolean, nano: boolean): Uint8Array {
  return cat(
    pcapHeader({ le, nano, snaplen: 128, linkType: 1 }),
    pcapRecord(le, 1600000000, nano ? 5 : 5, payload(60, 1)),
    pcapRecord(le, 1600000000, nano ? 999999999 : 999999, payload(128, 2), 1514), // snaplen cut
    pcapRecord(le, 1600000002, 0, payload(200, 3)), // caplen 200 > snaplen 128: non-fatal
    pcapRecord(le, 1600000003, 7, payload(1, 4)),
  );
}

export function variants(): Variant[] {
  const v: Variant[] = [];
  for (const le of [true, false]) {
    for (const nano of [false, true]) {
      v.push({ name: `pcap ${le ? "LE" : "BE"} ${nano ? "ns" : "us"}`, format: "pcap", bytes: pcapFile(le, nano) });
    }
  }
  const base = pcapFile(true, false);
  v.push({ name: "pcap truncated last record", format: "pcap", bytes: base.subarray(0, base.length - 3) });
  v.push({
    name: "pcap corrupt record length",
    format: "pcap",
    bytes: cat(
      pcapHeader({ le: true, snaplen: 65535, linkType: 1 }),
      pcapRecord(true, 1, 2, payload(30, 1)),
      pcapRecord(true, 3, 4, payload(30, 2), 4325376, 4325376), // caplen field 4325376
      pcapRecord(true, 5, 6, payload(30, 3)),
    ),
  });

  v.push({
    name: "pcapng multi-section mixed endian, several IDBs, EPB/SPB/PB, unknown and custom blocks",
    format: "pcapng",
    bytes: cat(
      shb(false), // section 1, big-endian
      idb(false, 1, 96, [tsresol(9, false), endOfOpt(false)]), // if 0: Ethernet, snaplen 96, ns
      idb(false, 0, 0, [tsresol(0x88, false), endOfOpt(false)]), // if 1: NULL, 2^-8 s
      customBlock(false, 32473, payload(24, 9)), // counted as a frame
      epb(false, 0, 1340954905298858000n, payload(96, 1), 314),
      spb(false, 342, payload(96, 2)), // cut to snaplen 96
      epb(false, 1, (1340954905n << 8n) | 1n, payload(168, 3)),
      block(0x0badcafe, payload(40, 4), false), // unknown: skipped
      shb(true), // section 2, little-endian
      idb(true, 1, 128, [tsoffset(3600n, true), endOfOpt(true)]), // if 0: +1 h
      isb(true, 0, 1n),
      pb(true, 0, 1340954905298858n, payload(128, 5), 342),
      customBlock(true, 32473, payload(7, 6), false), // counted as a frame
      epb(true, 0, 1340954905298859n, payload(77, 7)),
    ),
  });
  const ng = cat(shb(true), idb(true, 101, 0), epb(true, 0, 1n, payload(50, 1)), epb(true, 0, 2n, payload(50, 2)));
  v.push({ name: "pcapng truncated last block", format: "pcapng", bytes: ng.subarray(0, ng.length - 9) });
  v.push({
    name: "pcapng bad trailing length",
    format: "pcapng",
    bytes: cat(shb(true), idb(true, 1, 0), epb(true, 0, 1n, payload(8, 1)), block(6, payload(24, 0), true, { tail: 44 })),
  });
  v.push({
    name: "pcapng length not a multiple of 4",
    format: "pcapng",
    bytes: cat(shb(true), idb(true, 1, 0), epb(true, 0, 1n, payload(8, 1)), u32(6, true), u32(38, true), payload(30, 0)),
  });
  return v;
}
