/**
 * A pcapng writer for the evidence file of a live capture (`capture -w FILE`).
 *
 * Format: draft-ietf-opsawg-pcapng. §3.1 general block structure (type, total length, body padded
 * to 32 bits, total length again), §3.5 options (code, length, value padded to 32 bits, ended by
 * opt_endofopt), §4.1 Section Header Block, §4.2 Interface Description Block, §4.3 Enhanced Packet
 * Block, §4.6 Interface Statistics Block. Everything is written little-endian (the SHB's
 * byte-order magic tells readers so, §4.1).
 *
 * One section; one IDB per link type, written just before the first packet of that link type
 * (an IDB may come anywhere in its section before the packets that name it, §4.2), each with
 * if_name and if_tsresol = 9 (nanoseconds), so every EPB timestamp is nanoseconds since the epoch.
 *
 * Comments (for `--evidence`, src/report/evidence.ts): the SHB may carry an opt_comment, and each
 * EPB any number of them — opt_comment is one of the options every block may carry, and "multiple
 * allowed: yes" (§3.5, Table of common options); Wireshark shows them as `frame.comment`. An
 * evidence file keeps one IDB per source interface (`addInterface`), so link types, if_names and
 * snap lengths stay those of the captures the packets came from.
 *
 * Why the file stays valid after Ctrl-C (or a crash): blocks are built in one reused buffer and
 * written to the file only whole, so the file on disk always ends at a block boundary and is a
 * complete pcapng. `flush()` is called by the live loop a few times a second and at the end.
 * Writes are synchronous (writeSync): a partial block can never be left behind by an event loop
 * that stops in the middle of an asynchronous write.
 */
import { closeSync, fsyncSync, ftruncateSync, openSync, writeSync } from "node:fs";
import { enc, OPT_COMMENT, optionsLength, optionText, splitNs, tsValue, u64Value, writeOptions, type Ns64 } from "./options.js";

/** Block types (§4.1, §4.2, §4.3, §4.6). */
export const BT_SHB = 0x0a0d0d0a;
export const BT_IDB = 0x00000001;
export const BT_EPB = 0x00000006;
export const BT_ISB = 0x00000005;
/** SHB byte-order magic (§4.1). */
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** Option codes (§3.5, §4.1, §4.2, §4.6). */
const SHB_HARDWARE = 2;
const SHB_OS = 3;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_TSRESOL = 9;
const IF_FILTER = 11;
const ISB_STARTTIME = 2;
const ISB_ENDTIME = 3;
const ISB_IFRECV = 4;
const ISB_IFDROP = 5;
const ISB_OSDROP = 7;
const ISB_USRDELIV = 8;

/** Default size of the write buffer; a block bigger than it is written on its own. */
export const DEFAULT_WRITE_BUFFER = 256 * 1024;


export interface PcapngWriterOptions {
  /** Interface name written as if_name in every IDB (e.g. "eth0"). */
  ifName: string;
  /** Snap length written in every IDB (0 = no limit, §4.2). */
  snaplen: number;
  /** The capture filter, written as if_filter (type 0: libpcap filter string, §4.2). */
  filter?: string | null;
  /** shb_userappl (§4.1), e.g. "phoenix-netcheck 0.1.0". */
  application?: string;
  /** shb_os and shb_hardware (§4.1). */
  os?: string;
  hardware?: string;
  /** opt_comment on the IDB: how the timestamps and lengths were obtained, if not from the kernel. */
  ifComment?: string | null;
  /** Bytes buffered before writing; default DEFAULT_WRITE_BUFFER. */
  bufferSize?: number;
  /** opt_comment on the SHB (§4.1, §3.5): where the section's packets came from. */
  comment?: string | null;
}

/** Final counters for an Interface Statistics Block; a null field is left out (unknown). */
export interface PcapngStats {
  startSec: number;
  startNsec: number;
  endSec: number;
  endNsec: number;
  /** isb_ifrecv: packets the interface/kernel received (libpcap ps_recv). */
  received: number | null;
  /** isb_ifdrop: packets the interface dropped (libpcap ps_ifdrop). */
  droppedByInterface: number | null;
  /** isb_osdrop: packets the kernel dropped for lack of buffer (libpcap ps_drop). */
  droppedByKernel: number | null;
  /** isb_usrdeliv: packets delivered to us (always known). */
  delivered: number;
}

/**
 * Writes a pcapng file block by block. Not re-entrant; all writes are synchronous.
 * Use: `new PcapngWriter(path, opts)`, `writePacket(...)` per packet, `flush()` now and then,
 * `close(stats)` at the end.
 */
export class PcapngWriter {
  /** Bytes written to the file so far (after the last flush) plus bytes buffered. */
  get offset(): number {
    return this.fileOffset + this.used;
  }
  /** Packets written (buffered or in the file). */
  packets = 0;
  /** Packets whole in the file (after the last successful flush). */
  packetsInFile = 0;
  /** Bytes in the file: it ends at a block boundary there. */
  get fileBytes(): number {
    return this.fileOffset;
  }
  /** Interface index (in order of IDBs) for each link type written so far by writePacket. */
  readonly interfaces = new Map<number, number>();
  /** IDBs written (interface ids are 0 .. idbs-1, §4.2). */
  private idbs = 0;
  private fd: number | null;
  private buf: Buffer;
  private used = 0;
  private fileOffset = 0;
  private readonly opts: PcapngWriterOptions;
  /** The packet timestamp's two words, reused so the hot path allocates nothing. */
  private readonly ts: Ns64 = { high: 0, low: 0 };

  /** False when the descriptor was given by the caller, who closes it. */
  private readonly ownsFd: boolean;

  /**
   * Opens (truncates) `path`, or writes to the open descriptor `fd` (which the caller closes and
   * puts in place: cli/output.ts), and writes the Section Header Block. Throws on I/O errors.
   */
  constructor(target: string | { fd: number }, opts: PcapngWriterOptions) {
    this.opts = opts;
    this.buf = Buffer.alloc(Math.max(4096, opts.bufferSize ?? DEFAULT_WRITE_BUFFER));
    this.ownsFd = typeof target === "string";
    this.fd = typeof target === "string" ? openSync(target, "w") : target.fd;
    this.writeShb();
    this.flush();
  }

  /**
   * Appends one Enhanced Packet Block (§4.3) and returns the byte offset where it starts in the
   * file. `data` is only read during the call. The IDB for `linkType` is written first if new.
   */
  writePacket(linkType: number, tsSec: number, tsNsec: number, data: Uint8Array, caplen: number, origLen: number): number {
    let ifId = this.interfaces.get(linkType);
    if (ifId === undefined) ifId = this.writeIdb(linkType, this.opts.ifName, this.opts.snaplen, this.opts.ifComment ?? null);
    return this.writePacketOn(ifId, tsSec, tsNsec, data, caplen, origLen);
  }

  /**
   * Writes an IDB (§4.2) for an interface of its own — not shared by link type as writePacket's
   * are — and returns its interface id for writePacketOn. Used to keep each source interface of
   * an evidence file apart.
   */
  addInterface(linkType: number, ifName: string, snaplen: number, comment: string | null = null): number {
    return this.writeIdb(linkType, ifName, snaplen, comment, false);
  }

  /**
   * Appends one EPB (§4.3) on interface `ifId` (from addInterface or an earlier writePacket),
   * with one opt_comment per entry of `comments` (§3.5: opt_comment may be repeated).
   */
  writePacketOn(
    ifId: number,
    tsSec: number,
    tsNsec: number,
    data: Uint8Array,
    caplen: number,
    origLen: number,
    comments?: readonly string[],
  ): number {
    if (ifId < 0 || ifId >= this.idbs) throw new RangeError(`pcapng writer: no interface ${ifId}`);
    const cap = Math.min(caplen, data.length);
    const padded = (cap + 3) & ~3;
    const opts = comments && comments.length > 0 ? comments.map((c): [number, Uint8Array] => [OPT_COMMENT, optionText(c)]) : null;
    // type, total length, interface id, ts high, ts low, captured len, original len, data,
    // options (when any, ended by opt_endofopt), total length.
    const total = 32 + padded + (opts ? optionsLength(opts) : 0);
    const at = this.reserve(total);
    const b = this.buf;
    b.writeUInt32LE(BT_EPB, at);
    b.writeUInt32LE(total, at + 4);
    b.writeUInt32LE(ifId, at + 8);
    // With if_tsresol 9 the timestamp is a 64-bit count of nanoseconds since 1970 (§4.2, §4.3),
    // split into high and low 32-bit words.
    const ts = splitNs(tsSec, tsNsec, this.ts);
    b.writeUInt32LE(ts.high, at + 12);
    b.writeUInt32LE(ts.low, at + 16);
    b.writeUInt32LE(cap, at + 20);
    b.writeUInt32LE(Math.max(origLen, cap) >>> 0, at + 24);
    b.set(data.subarray(0, cap), at + 28);
    b.fill(0, at + 28 + cap, at + 28 + padded); // padding to 32 bits (§3.1)
    const end = opts ? writeOptions(b, at + 28 + padded, opts) : at + 28 + padded;
    b.writeUInt32LE(total, end);
    this.used = at + total;
    this.packets++;
    return this.fileOffset + at;
  }

  /**
   * Writes what is buffered to the file; the file then ends at a block boundary. When a write
   * fails part way (ENOSPC), the file is cut back (ftruncate) to the last block the written bytes
   * hold whole, so it still ends at a block boundary — `fileBytes`, after `packetsInFile`
   * packets — and keeps every packet that fitted; the error is thrown.
   */
  flush(): void {
    if (this.fd === null || this.used === 0) return;
    let off = 0;
    try {
      while (off < this.used) off += writeSync(this.fd, this.buf, off, this.used - off);
    } catch (e) {
      if (off > 0) this.keepWholeBlocks(off);
      throw e;
    }
    this.fileOffset += this.used;
    this.used = 0;
    this.packetsInFile = this.packets;
  }

  /**
   * After a write that stopped `written` bytes into the buffer: the blocks those bytes hold whole
   * stay in the file (each block's total length is at +4, §3.1), the rest is cut off.
   */
  private keepWholeBlocks(written: number): void {
    const b = this.buf;
    let end = 0;
    let epbs = 0;
    while (end + 8 <= this.used) {
      const total = b.readUInt32LE(end + 4);
      if (total < 12 || end + total > written) break;
      if (b.readUInt32LE(end) === BT_EPB) epbs++;
      end += total;
    }
    try {
      ftruncateSync(this.fd!, this.fileOffset + end);
    } catch {
      return; // a device or pipe: nothing to cut, nothing known to be whole
    }
    this.fileOffset += end;
    this.packetsInFile += epbs;
  }

  /** Appends an Interface Statistics Block per interface (when stats are given), flushes, closes. */
  close(stats?: PcapngStats): void {
    if (this.fd === null) return;
    if (stats) {
      // No interface yet (no packet): the ISB needs one to refer to (§4.6), so describe the
      // capture's link type as unknown only if nothing was written; we write none then.
      for (const ifId of this.interfaces.values()) this.writeIsb(ifId, stats);
    }
    try {
      this.flush();
    } finally {
      if (this.ownsFd) {
        try {
          fsyncSync(this.fd);
        } catch {
          /* pipes and some file systems cannot fsync; the data is written all the same */
        }
        closeSync(this.fd);
      }
      this.fd = null;
    }
  }

  /**
   * After a failed write: drops what is buffered and stops writing; the file keeps its
   * `fileBytes` whole blocks. A descriptor we opened is closed.
   */
  abandon(): void {
    if (this.fd === null) return;
    this.used = 0;
    if (this.ownsFd) {
      try {
        closeSync(this.fd);
      } catch {
        /* failing already */
      }
    }
    this.fd = null;
  }

  get closed(): boolean {
    return this.fd === null;
  }

  // --- blocks -------------------------------------------------------------------------------

  /** §4.1 SHB: byte-order magic, version 1.0, section length -1 (not known when streaming). */
  private writeShb(): void {
    const o = this.opts;
    const opts: [number, Uint8Array][] = [];
    if (o.comment) opts.push([OPT_COMMENT, optionText(o.comment)]);
    if (o.hardware) opts.push([SHB_HARDWARE, enc.encode(o.hardware)]);
    if (o.os) opts.push([SHB_OS, enc.encode(o.os)]);
    if (o.application) opts.push([SHB_USERAPPL, enc.encode(o.application)]);
    const body = 16 + optionsLength(opts);
    const total = 12 + body;
    const at = this.reserve(total);
    const b = this.buf;
    b.writeUInt32LE(BT_SHB, at);
    b.writeUInt32LE(total, at + 4);
    b.writeUInt32LE(BYTE_ORDER_MAGIC, at + 8);
    b.writeUInt16LE(1, at + 12); // major version
    b.writeUInt16LE(0, at + 14); // minor version
    b.writeInt32LE(-1, at + 16); // section length: -1 = unspecified (64 bits, both halves all ones)
    b.writeInt32LE(-1, at + 20);
    const end = writeOptions(b, at + 24, opts);
    b.writeUInt32LE(total, end);
    this.used = end + 4;
  }

  /**
   * §4.2 IDB: link type, reserved, snaplen, if_name, if_tsresol = 9, if_filter, comment.
   * `byLinkType`: the IDB writePacket uses for that link type (the live capture's one per link type).
   */
  private writeIdb(linkType: number, ifName: string, snaplen: number, comment: string | null, byLinkType = true): number {
    const o = this.opts;
    const opts: [number, Uint8Array][] = [];
    if (comment) opts.push([OPT_COMMENT, optionText(comment)]);
    opts.push([IF_NAME, optionText(ifName)]);
    opts.push([IF_TSRESOL, Uint8Array.of(9)]); // 10^-9 s: nanoseconds (bit 7 clear = power of 10)
    if (o.filter) {
      // if_filter: first byte is the filter type, 0 = libpcap filter string.
      const f = enc.encode(o.filter);
      const v = new Uint8Array(1 + f.length);
      v.set(f, 1);
      opts.push([IF_FILTER, v]);
    }
    const body = 8 + optionsLength(opts);
    const total = 12 + body;
    const at = this.reserve(total);
    const b = this.buf;
    b.writeUInt32LE(BT_IDB, at);
    b.writeUInt32LE(total, at + 4);
    b.writeUInt16LE(linkType & 0xffff, at + 8);
    b.writeUInt16LE(0, at + 10); // reserved
    b.writeUInt32LE(snaplen >>> 0, at + 12);
    const end = writeOptions(b, at + 16, opts);
    b.writeUInt32LE(total, end);
    this.used = end + 4;
    const id = this.idbs++;
    if (byLinkType) this.interfaces.set(linkType, id);
    return id;
  }

  /** §4.6 ISB: interface id, timestamp (end of capture), counters known. */
  private writeIsb(ifId: number, s: PcapngStats): void {
    const opts: [number, Uint8Array][] = [];
    opts.push([ISB_STARTTIME, tsValue(s.startSec, s.startNsec)]);
    opts.push([ISB_ENDTIME, tsValue(s.endSec, s.endNsec)]);
    // The counters are per capture, not per link type; with one interface (the usual case) they
    // are exact, with several they are written on the first only so nothing is counted twice.
    if (ifId === 0) {
      if (s.received !== null) opts.push([ISB_IFRECV, u64Value(s.received)]);
      if (s.droppedByInterface !== null) opts.push([ISB_IFDROP, u64Value(s.droppedByInterface)]);
      if (s.droppedByKernel !== null) opts.push([ISB_OSDROP, u64Value(s.droppedByKernel)]);
      opts.push([ISB_USRDELIV, u64Value(s.delivered)]);
    }
    const body = 12 + optionsLength(opts);
    const total = 12 + body;
    const at = this.reserve(total);
    const b = this.buf;
    b.writeUInt32LE(BT_ISB, at);
    b.writeUInt32LE(total, at + 4);
    b.writeUInt32LE(ifId, at + 8);
    const ts = splitNs(s.endSec, s.endNsec, this.ts);
    b.writeUInt32LE(ts.high, at + 12);
    b.writeUInt32LE(ts.low, at + 16);
    const end = writeOptions(b, at + 20, opts);
    b.writeUInt32LE(total, end);
    this.used = end + 4;
  }

  /** Room for `n` bytes at the end of the buffer (flushing or growing it); returns the start. */
  private reserve(n: number): number {
    if (this.used + n > this.buf.length) {
      this.flush();
      if (n > this.buf.length) {
        // A block larger than the buffer (a 256 KiB frame): grow once; rare.
        const nb = Buffer.alloc(n);
        this.buf = nb;
      }
    }
    return this.used;
  }
}
