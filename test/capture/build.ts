/**
 * Byte builders for synthetic capture files, one function per record or block type, one comment
 * per field. Field layouts: draft-ietf-opsawg-pcap §4-5 and draft-ietf-opsawg-pcapng §3-4.
 */
import type { CaptureError, CaptureReader, RawPacket } from "../../src/capture/types.js";
export { rng } from "../support/random.js";

export type Bytes = Uint8Array | number[];

export function cat(...parts: Bytes[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function u16(v: number, le: boolean): number[] {
  return le ? [v & 0xff, (v >>> 8) & 0xff] : [(v >>> 8) & 0xff, v & 0xff];
}

export function u32(v: number, le: boolean): number[] {
  const b = [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
  return le ? b.reverse() : b;
}

/** A 64-bit value as two 32-bit words in the order pcapng stores them in a u64 field. */
export function u64(v: bigint, le: boolean): number[] {
  const x = BigInt.asUintN(64, v);
  const hi = Number(x >> 32n);
  const lo = Number(x & 0xffffffffn);
  return le ? [...u32(lo, true), ...u32(hi, true)] : [...u32(hi, false), ...u32(lo, false)];
}

/** Deterministic filler bytes standing in for a packet (the readers do not look inside). */
export function payload(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed * 31 + i * 7) & 0xff;
  return b;
}

export function zeros(n: number): number[] {
  return new Array<number>(n).fill(0);
}

// ---------------------------------------------------------------- classic pcap

export interface PcapHeaderOpts {
  le: boolean;
  nano?: boolean;
  major?: number;
  minor?: number;
  snaplen: number;
  /** The whole LinkType-and-additional-information word. */
  linkType: number;
}

/** §4 File Header. */
export function pcapHeader(o: PcapHeaderOpts): Uint8Array {
  const le = o.le;
  return cat(
    u32(o.nano ? 0xa1b23c4d : 0xa1b2c3d4, le), // Magic Number, in the file's byte order; a1b23c4d = nanoseconds
    u16(o.major ?? 2, le), // Major Version
    u16(o.minor ?? 4, le), // Minor Version
    u32(0, le), // Reserved1 (was thiszone)
    u32(0, le), // Reserved2 (was sigfigs)
    u32(o.snaplen, le), // SnapLen
    u32(o.linkType, le), // LinkType and additional information
  );
}

/** §5 Packet Record. `caplen` defaults to data.length; pass a different one to build bad files. */
export function pcapRecord(le: boolean, sec: number, frac: number, data: Uint8Array, origLen = data.length, caplen = data.length): Uint8Array {
  return cat(
    u32(sec, le), // Timestamp (Seconds)
    u32(frac, le), // Timestamp (Microseconds or Nanoseconds)
    u32(caplen, le), // Captured Packet Length
    u32(origLen, le), // Original Packet Length
    data, // Packet Data
  );
}

// ---------------------------------------------------------------- pcapng

function pad4(n: number): number[] {
  return zeros((4 - (n % 4)) % 4);
}

/** §3.1 General block structure around a body (the body must already be padded to 32 bits). */
export function block(type: number, body: Bytes, le: boolean, lengthOverride?: { head?: number; tail?: number }): Uint8Array {
  const len = 12 + body.length;
  return cat(
    u32(type, le), // Block Type
    u32(lengthOverride?.head ?? len, le), // Block Total Length
    body, // Block Body
    u32(lengthOverride?.tail ?? len, le), // Block Total Length (trailing copy)
  );
}

/** §3.5 Option: code, length, value padded to 32 bits. */
export function opt(code: number, value: Bytes, le: boolean): Uint8Array {
  return cat(
    u16(code, le), // Option Code
    u16(value.length, le), // Option Length
    value, // Option Value
    pad4(value.length), // padding to 32 bits
  );
}

export function endOfOpt(le: boolean): Uint8Array {
  return cat(u16(0, le), u16(0, le)); // opt_endofopt
}

/** §4.1 Section Header Block. */
export function shb(le: boolean, o: { major?: number; minor?: number; options?: Bytes[] } = {}): Uint8Array {
  return block(
    0x0a0d0d0a,
    cat(
      u32(0x1a2b3c4d, le), // Byte-Order Magic, in the section's byte order
      u16(o.major ?? 1, le), // Major Version
      u16(o.minor ?? 0, le), // Minor Version
      u64(-1n, le), // Section Length: -1 = not given
      ...(o.options ?? []), // Options
    ),
    le,
  );
}

/** §4.2 Interface Description Block. */
export function idb(le: boolean, linkType: number, snaplen: number, options: Bytes[] = []): Uint8Array {
  return block(
    0x00000001,
    cat(
      u16(linkType, le), // LinkType
      u16(0, le), // Reserved
      u32(snaplen, le), // SnapLen (0 = no limit)
      ...options, // Options (if_tsresol = 9, if_tsoffset = 14, ...)
    ),
    le,
  );
}

/** if_tsresol option (§4.2): bit 7 clear = 10^-n, set = 2^-n. */
export function tsresol(raw: number, le: boolean): Uint8Array {
  return opt(9, [raw], le);
}

/** if_tsoffset option (§4.2): signed 64-bit seconds. */
export function tsoffset(seconds: bigint, le: boolean): Uint8Array {
  return opt(14, u64(seconds, le), le);
}

/** §4.3 Enhanced Packet Block; the timestamp is one 64-bit count of interface units. */
export function epb(le: boolean, ifId: number, ts: bigint, data: Uint8Array, origLen = data.length, caplen = data.length, options: Bytes[] = []): Uint8Array {
  return block(
    0x00000006,
    cat(
      u32(ifId, le), // Interface ID
      u32(Number(ts >> 32n), le), // Timestamp (High)
      u32(Number(ts & 0xffffffffn), le), // Timestamp (Low)
      u32(caplen, le), // Captured Packet Length
      u32(origLen, le), // Original Packet Length
      data, // Packet Data
      pad4(data.length), // padding to 32 bits
      ...options, // Options
    ),
    le,
  );
}

/** Appendix A, obsolete Packet Block (type 2). */
export function pb(le: boolean, ifId: number, ts: bigint, data: Uint8Array, origLen = data.length): Uint8Array {
  return block(
    0x00000002,
    cat(
      u16(ifId, le), // Interface ID (16 bits)
      u16(0, le), // Drops Count
      u32(Number(ts >> 32n), le), // Timestamp (High)
      u32(Number(ts & 0xffffffffn), le), // Timestamp (Low)
      u32(data.length, le), // Captured Packet Length
      u32(origLen, le), // Original Packet Length
      data, // Packet Data
      pad4(data.length), // padding to 32 bits
    ),
    le,
  );
}

/** §4.4 Simple Packet Block: original length only; the data is what the block holds. */
export function spb(le: boolean, origLen: number, data: Uint8Array): Uint8Array {
  return block(
    0x00000003,
    cat(
      u32(origLen, le), // Original Packet Length
      data, // Packet Data (cut to the snaplen by the writer)
      pad4(data.length), // padding to 32 bits
    ),
    le,
  );
}

/** §4.8 Custom Block (0x00000BAD may be copied, 0x40000BAD should not). */
export function customBlock(le: boolean, pen: number, data: Uint8Array, copy = true): Uint8Array {
  return block(
    copy ? 0x00000bad : 0x40000bad,
    cat(
      u32(pen, le), // Private Enterprise Number
      data, // Custom Data
      pad4(data.length), // padding to 32 bits
    ),
    le,
  );
}

/** §4.6 Interface Statistics Block with no options. */
export function isb(le: boolean, ifId: number, ts: bigint): Uint8Array {
  return block(
    0x00000005,
    cat(
      u32(ifId, le), // Interface ID
      u32(Number(ts >> 32n), le), // Timestamp (High)
      u32(Number(ts & 0xffffffffn), le), // Timestamp (Low)
    ),
    le,
  );
}

// ---------------------------------------------------------------- reading helpers

/** A packet as a plain object, with the data copied (RawPacket is reused and borrowed). */
export interface PacketSnap {
  frame: number;
  offset: number;
  tsSec: number;
  tsNsec: number;
  caplen: number;
  origLen: number;
  linkType: number;
  interfaceId: number;
  data: number[];
}

export function snap(p: RawPacket): PacketSnap {
  return {
    frame: p.frame,
    offset: p.offset,
    tsSec: p.tsSec,
    tsNsec: p.tsNsec,
    caplen: p.caplen,
    origLen: p.origLen,
    linkType: p.linkType,
    interfaceId: p.interfaceId,
    data: Array.from(p.data),
  };
}

export interface ReadResult {
  packets: PacketSnap[];
  errors: CaptureError[];
  stopped: boolean;
  linkTypes: number[];
  bytesConsumed: number;
  frames: number;
}

type Counting = CaptureReader & { readonly frames: number };

/**
 * Feeds `bytes` to a fresh reader in chunks of the given sizes (cycled), draining after every
 * append as a streaming caller does, then ends it and drains again.
 */
export function readAll(make: () => Counting, bytes: Uint8Array, sizes: (i: number) => number = () => bytes.length || 1): ReadResult {
  const r = make();
  const packets: PacketSnap[] = [];
  let at = 0;
  let i = 0;
  while (at < bytes.length) {
    const n = Math.max(1, sizes(i++));
    // Copy each chunk so a reader that wrongly kept views into a reused buffer would be caught.
    r.append(bytes.slice(at, Math.min(bytes.length, at + n)));
    at += n;
    let p: RawPacket | undefined;
    while ((p = r.next()) !== undefined) packets.push(snap(p));
  }
  r.end();
  let p: RawPacket | undefined;
  while ((p = r.next()) !== undefined) packets.push(snap(p));
  return {
    packets,
    errors: r.errors.map((e) => ({ ...e })),
    stopped: r.stopped,
    linkTypes: r.linkTypes.slice(),
    bytesConsumed: r.bytesConsumed,
    frames: r.frames,
  };
}


/** Epoch as tshark prints frame.time_epoch: seconds, dot, nine digits. */
export function epoch(sec: number, nsec: number): string {
  return `${sec}.${String(nsec).padStart(9, "0")}`;
}
