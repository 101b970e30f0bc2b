/**
 * Magic bytes → reader. The format is decided by the first bytes only, never by the file name
 * (files named .pcap are often pcapng, and the other way round).
 */
import { PcapReader, type ReaderOptions } from "./pcap.js";
import { PcapngReader } from "./pcapng.js";
import type { CaptureFormat } from "../types.js";

export type SniffedFormat = CaptureFormat | "gzip";

/** Bytes `sniff` needs to decide (fewer only at end of input). */
export const SNIFF_BYTES = 4;

/**
 * What the first bytes are: classic pcap (draft-ietf-opsawg-pcap §4: a1b2c3d4 microseconds,
 * a1b23c4d nanoseconds, in either byte order), pcapng (a Section Header Block starts with the
 * type 0a 0d 0d 0a, the same in both byte orders, draft-ietf-opsawg-pcapng §4.1), gzip (1f 8b,
 * RFC 1952 §2.3.1), or null.
 */
export function sniff(head: Uint8Array): SniffedFormat | null {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.length < 4) return null;
  const m = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
  switch (m) {
    case 0xa1b2c3d4:
    case 0xd4c3b2a1:
    case 0xa1b23c4d:
    case 0x4d3cb2a1:
      return "pcap";
    case 0x0a0d0d0a:
      return "pcapng";
    default:
      return null;
  }
}

/** A reader of either format; both also count Wireshark frame numbers. */
export type FileReader = PcapReader | PcapngReader;

export function createReader(format: CaptureFormat, opts: ReaderOptions = {}): FileReader {
  return format === "pcap" ? new PcapReader(opts) : new PcapngReader(opts);
}

/** "48 54 54 50" for the first (up to) `n` bytes, for error messages. */
export function hexBytes(b: Uint8Array, n = 4): string {
  const out: string[] = [];
  for (let i = 0; i < n && i < b.length; i++) out.push(b[i].toString(16).padStart(2, "0"));
  return out.join(" ");
}
