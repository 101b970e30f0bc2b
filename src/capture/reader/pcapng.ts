/**
 * pcapng reader, push-fed and pull-drained (see types.ts).
 *
 * Format: draft-ietf-opsawg-pcapng. §3.1 general block structure (type, total length, body,
 * total length again), §4.1 Section Header Block (its byte-order magic sets the byte order of the
 * whole section), §4.2 Interface Description Block (link type, snaplen, if_tsresol, if_tsoffset),
 * §4.3 Enhanced Packet Block, §4.4 Simple Packet Block, Appendix A the obsolete Packet Block.
 * Every other block type is skipped by its length.
 * With `resync`, a corrupt block length is listed and reading goes on at the next plausible
 * block (pcapng-resync.ts).
 *
 * Frame numbers follow Wireshark (tshark 4.0): besides packet blocks, Wireshark hands some other
 * records to the dissectors as frames (pcapng custom blocks, systemd journal entries, sysdig
 * events). They use up a frame number although we deliver no packet for them, so that our
 * `frame` equals the number Wireshark shows and a `frame.number==N` filter finds the packet.
 */
import type { CaptureReader, RawPacket } from "../types.js";
import type { ReaderOptions } from "./pcap.js";
import {
  BLOCK_EPB,
  BLOCK_IDB,
  BLOCK_PB,
  BLOCK_SHB,
  BLOCK_SPB,
  BYTE_ORDER_MAGIC,
  isCountedNonPacketBlock,
  makeIface,
  MAX_BLOCK_BYTES,
  MAX_TS_SEC,
  MIN_TS_SEC,
  splitTimestamp,
  TWO32,
  type PcapngInterface,
} from "./pcapng-blocks.js";
import { Resync, resyncStep } from "./pcapng-resync.js";
import { QueuedReader, hex4, u16, u32 } from "./queue.js";

const enum State {
  Blocks,
  Done,
}


export class PcapngReader extends QueuedReader implements CaptureReader {
  /** Link types already in `seenLinkTypes`, one bit per LinkType value (§4.2: 16 bits). */
  private readonly linkTypeSeen = new Uint8Array(65536 / 8);
  readonly format = "pcapng" as const;
  private state = State.Blocks;
  /** Byte order of the current section; null before the first SHB. */
  private le: boolean | null = null;
  private ifaces: PcapngInterface[] = [];
  private packetCount = 0;
  private sectionCount = 0;
  private lastTimestamped = true;
  private readonly resyncOn: boolean;
  private resyncing = false;
  private resyncFrom = 0;

  constructor(opts: ReaderOptions = {}) {
    super();
    this.resyncOn = opts.resync ?? false;
  }

  /** Packets delivered so far. */
  get packets(): number {
    return this.packetCount;
  }

  /**
   * Whether the packet last returned by next() carries a timestamp. A Simple Packet Block has
   * none (§4.4): its tsSec/tsNsec are 0 and Wireshark shows no time for it.
   */
  get timestamped(): boolean {
    return this.lastTimestamped;
  }

  /** Sections (SHBs) seen so far. */
  get sections(): number {
    return this.sectionCount;
  }

  private stop(offset: number, message: string): undefined {
    const frame = this.frameCount + 1;
    this.errs.add(frame, offset, `frame ${frame} at offset ${offset}: ${message}`, true);
    this.fatal = true;
    this.state = State.Done;
    this.q.clear();
    return undefined;
  }

  private warn(offset: number, message: string): void {
    const frame = this.frameCount + 1;
    this.errs.add(frame, offset, `frame ${frame} at offset ${offset}: ${message}`, false);
  }

  /** Input is incomplete: wait, or at end of input report the cut-off block. */
  private incomplete(need: number): undefined {
    if (!this.ended) return undefined;
    const q = this.q;
    const have = q.available;
    if (have > 0) {
      if (this.le === null) {
        this.stop(q.consumed, `file ends inside the first block (${have} of ${need} bytes)`);
        return undefined;
      }
      this.warn(q.consumed, `file ends inside a block (${have} of ${need} bytes)`);
      q.skip(have);
    } else if (this.le === null) {
      this.stop(0, "no pcapng Section Header Block (empty input)");
      return undefined;
    }
    this.state = State.Done;
    this.errs.flush();
    return undefined;
  }

  /**
   * A corrupt block length: stop (tshark's behaviour), or with `resync` list it and look for the
   * next plausible block.
   */
  private corrupt(offset: number, message: string): undefined {
    if (!this.resyncOn || this.le === null) return this.stop(offset, message);
    this.warn(offset, `${message}; looking for the next plausible block`);
    this.resyncing = true;
    this.resyncFrom = offset;
    this.q.skip(1);
    return undefined;
  }

  next(): RawPacket | undefined {
    const q = this.q;
    while (this.state === State.Blocks) {
      if (this.resyncing) {
        const r = resyncStep(q, this.le as boolean, this.ended, this.ifaces.length);
        if (r === Resync.Wait) return undefined;
        this.resyncing = false;
        const skipped = q.consumed - this.resyncFrom;
        if (r === Resync.End) {
          this.warn(this.resyncFrom, `no plausible block in the last ${skipped} bytes`);
          this.state = State.Done;
          this.errs.flush();
          return undefined;
        }
        this.warn(q.consumed, `reading again after skipping ${skipped} bytes from offset ${this.resyncFrom}`);
      }
      const offset = q.consumed;
      if (q.available < 12) return this.incomplete(12);
      let b = q.peek(0, 12);
      let o = q.off;
      // The SHB type 0x0A0D0D0A reads the same in both byte orders; its byte-order magic then
      // fixes the order of every other field in the section (§4.1).
      let type = u32(b, o, true);
      let le: boolean;
      if (type === BLOCK_SHB) {
        const bom = u32(b, o + 8, true);
        if (bom === BYTE_ORDER_MAGIC) le = true;
        else if (bom === 0x4d3c2b1a) le = false;
        else return this.stop(offset, `Section Header Block has an unknown byte-order magic ${hex4(b, o + 8)}`);
      } else if (this.le === null) {
        return this.stop(offset, `first block is not a Section Header Block (type 0x${hexType(type)})`);
      } else {
        le = this.le;
        type = u32(b, o, le);
      }
      const len = u32(b, o + 4, le); // Block Total Length
      // §3.1: the total length covers header and trailer (>= 12) and the body is padded to 32 bits.
      if (len < 12) {
        this.corrupt(offset, `block total length ${len} is below the minimum 12 (type 0x${hexType(type)})`);
        if (this.resyncing) continue;
        return undefined;
      }
      if (len % 4 !== 0) {
        this.corrupt(offset, `block total length ${len} is not a multiple of 4 (type 0x${hexType(type)})`);
        if (this.resyncing) continue;
        return undefined;
      }
      if (len > MAX_BLOCK_BYTES) {
        this.corrupt(offset, `block total length ${len} is above the limit ${MAX_BLOCK_BYTES}: corrupt block (type 0x${hexType(type)})`);
        if (this.resyncing) continue;
        return undefined;
      }
      if (q.available < len) return this.incomplete(len);
      // Trailing copy of the total length (§3.1) must match the leading one.
      const tb = q.peek(len - 4, 4);
      const trailer = u32(tb, q.off, le);
      if (trailer !== len) {
        this.corrupt(offset, `block total lengths differ: ${len} at the start, ${trailer} at the end (type 0x${hexType(type)})`);
        if (this.resyncing) continue;
        return undefined;
      }

      switch (type) {
        case BLOCK_SHB: {
          if (len < 28) return this.stop(offset, `Section Header Block total length ${len} is below the minimum 28`);
          b = q.peek(0, 16);
          o = q.off;
          const major = u16(b, o + 12, le); // Major Version
          const minor = u16(b, o + 14, le); // Minor Version
          // o+16: Section Length (64 bits, may be -1): not needed, we walk block by block.
          if (major !== 1) return this.stop(offset, `unsupported Section Header Block version ${major}.${minor} (expected 1.x)`);
          if (minor !== 0) this.warn(offset, `Section Header Block version ${major}.${minor}; reading it as 1.0`);
          this.le = le;
          this.ifaces = [];
          this.sectionCount++;
          break;
        }
        case BLOCK_IDB: {
          const err = this.readIdb(offset, len);
          if (err !== null) return this.stop(offset, err);
          break;
        }
        case BLOCK_EPB:
        case BLOCK_PB:
        case BLOCK_SPB: {
          const p = this.readPacket(type, offset, len);
          if (p === undefined) {
            if (!this.skippedBlock) return undefined; // fatal error recorded
            this.skippedBlock = false;
            break;
          }
          q.skip(len);
          return p;
        }
        default:
          if (isCountedNonPacketBlock(type)) this.frameCount++;
          break;
      }
      q.skip(len);
    }
    return undefined;
  }

  /** §4.2 Interface Description Block. Returns an error message for a fatal problem, else null. */
  private readIdb(offset: number, len: number): string | null {
    if (len < 20) return `Interface Description Block total length ${len} is below the minimum 20`;
    const q = this.q;
    const le = this.le as boolean;
    const b = q.peek(0, len);
    const o = q.off;
    const linkType = u16(b, o + 8, le); // LinkType
    // o+10: Reserved
    const snaplen = u32(b, o + 12, le); // SnapLen (0 = no limit)
    let tsresol = 6;
    let tsOffset = 0;
    // Options (§3.5): code (16), length (16), value padded to 32 bits; ends at opt_endofopt or the trailer.
    let p = o + 16;
    const end = o + len - 4;
    while (p + 4 <= end) {
      const code = u16(b, p, le);
      const olen = u16(b, p + 2, le);
      if (code === 0) break; // opt_endofopt
      const v = p + 4;
      if (v + olen > end) {
        this.warn(offset, `Interface Description Block option ${code} of length ${olen} runs past the block; options ignored from there`);
        break;
      }
      if (code === 9 && olen >= 1) {
        tsresol = b[v]; // if_tsresol
      } else if (code === 14 && olen >= 8) {
        // if_tsoffset: signed 64-bit seconds.
        const hi = le ? u32(b, v + 4, le) | 0 : u32(b, v, le) | 0;
        const lo = le ? u32(b, v, le) : u32(b, v + 4, le);
        tsOffset = hi * TWO32 + lo;
      }
      p = v + ((olen + 3) & ~3);
    }
    const ifc = makeIface(linkType, snaplen, tsresol, tsOffset);
    if (typeof ifc === "string") return ifc;
    this.ifaces.push(ifc);
    // A bit per 16-bit LinkType value, not a search of the list: a file of a million IDBs with
    // ever-changing link types must cost one step per IDB, not one per IDB per type seen.
    const bit = 1 << (linkType & 7);
    if ((this.linkTypeSeen[linkType >>> 3] & bit) === 0) {
      this.linkTypeSeen[linkType >>> 3] |= bit;
      this.seenLinkTypes.push(linkType);
    }
    return null;
  }

  /**
   * A packet block whose lengths frame it correctly but whose content cannot be a packet: fatal
   * without `resync`; with it, listed and skipped whole (its length is sound).
   */
  private badPacketBlock(offset: number, len: number, message: string): RawPacket | undefined {
    if (!this.resyncOn) return this.stop(offset, message);
    this.warn(offset, `${message}; block skipped`);
    this.skippedBlock = true;
    return undefined;
  }

  /** Set by badPacketBlock: the block at the read position is to be skipped, reading goes on. */
  private skippedBlock = false;

  /** §4.3 EPB, Appendix A PB, §4.4 SPB. Fills the reused packet; undefined after a fatal error. */
  private readPacket(type: number, offset: number, len: number): RawPacket | undefined {
    const q = this.q;
    const le = this.le as boolean;
    const pkt = this.pkt;
    const frame = this.frameCount + 1;
    let ifId: number;
    let caplen: number;
    let origLen: number;
    let dataAt: number;
    let ifc: PcapngInterface;
    if (type === BLOCK_SPB) {
      if (len < 16) return this.stop(offset, `Simple Packet Block total length ${len} is below the minimum 16`);
      if (this.ifaces.length === 0) return this.stop(offset, "Simple Packet Block before any Interface Description Block in its section");
      ifc = this.ifaces[0]; // an SPB always belongs to the section's first interface
      ifId = 0;
      const b = q.peek(0, 12);
      origLen = u32(b, q.off + 8, le); // Original Packet Length
      // The SPB has no captured length: it is the original length cut to the snaplen (0 = none)
      // and to the room the block has.
      caplen = origLen;
      if (ifc.snaplen !== 0 && caplen > ifc.snaplen) caplen = ifc.snaplen;
      const room = len - 16;
      if (caplen > room) {
        this.warn(offset, `Simple Packet Block holds ${room} bytes, less than the ${caplen} its lengths call for`);
        caplen = room;
      }
      dataAt = 12;
      pkt.tsSec = 0; // no timestamp in an SPB
      pkt.tsNsec = 0;
      this.lastTimestamped = false;
    } else {
      if (len < 32) return this.stop(offset, `${type === BLOCK_EPB ? "Enhanced Packet" : "Packet"} Block total length ${len} is below the minimum 32`);
      const b = q.peek(0, 28);
      const o = q.off;
      let high: number;
      let low: number;
      if (type === BLOCK_EPB) {
        ifId = u32(b, o + 8, le); // Interface ID
        high = u32(b, o + 12, le); // Timestamp (High)
        low = u32(b, o + 16, le); // Timestamp (Low)
      } else {
        ifId = u16(b, o + 8, le); // Interface ID (16 bits in the obsolete PB)
        // o+10: Drops Count
        high = u32(b, o + 12, le);
        low = u32(b, o + 16, le);
      }
      caplen = u32(b, o + 20, le); // Captured Packet Length
      origLen = u32(b, o + 24, le); // Original Packet Length
      if (ifId >= this.ifaces.length)
        return this.badPacketBlock(offset, len, `packet on interface ${ifId} but the section has ${this.ifaces.length} interface(s)`);
      if (32 + caplen > len) return this.badPacketBlock(offset, len, `block total length ${len} is too small for caplen ${caplen}`);
      ifc = this.ifaces[ifId];
      splitTimestamp(high, low, ifc, pkt);
      // if_tsoffset and fine resolutions can put a timestamp before year 1 or past year 9999,
      // which no date format can print (found by the fuzz tests): list it and use 0.
      if (!(pkt.tsSec >= MIN_TS_SEC && pkt.tsSec <= MAX_TS_SEC)) {
        this.warn(offset, `timestamp ${pkt.tsSec} s is outside years 1-9999; using 0`);
        pkt.tsSec = 0;
        pkt.tsNsec = 0;
      }
      this.lastTimestamped = true;
      dataAt = 28;
    }
    const b = q.peek(0, dataAt + caplen);
    const o = q.off;
    pkt.frame = frame;
    pkt.offset = offset;
    pkt.caplen = caplen;
    pkt.origLen = origLen;
    pkt.linkType = ifc.linkType;
    pkt.interfaceId = ifId;
    pkt.at(b, o + dataAt);
    this.frameCount = frame;
    this.packetCount++;
    return pkt;
  }
}

function hexType(t: number): string {
  return t.toString(16).padStart(8, "0");
}
