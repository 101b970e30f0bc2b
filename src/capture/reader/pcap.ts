/**
 * Classic pcap (libpcap) reader, push-fed and pull-drained (see types.ts).
 *
 * Format: draft-ietf-opsawg-pcap §4 (file header) and §5 (packet record). Every field is read in
 * the byte order the magic number says; the magic also says whether the second timestamp word
 * is microseconds (a1b2c3d4) or nanoseconds (a1b23c4d).
 *
 * Memory stays constant: appended chunks sit in a ChunkQueue until the records in them are read,
 * a record that spans chunks is copied into one reusable carry-over buffer, and a record length
 * is checked against hard limits before the reader waits for that many bytes.
 */
import type { CaptureReader, RawPacket } from "../types.js";
import { hex4, MAX_RECORD_BYTES, MAX_SANE_CAPLEN, QueuedReader, u16, u32 } from "./queue.js";

const FILE_HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;

/** What the pcap file header said (§4). */
export interface PcapFileHeader {
  bigEndian: boolean;
  nanosecond: boolean;
  versionMajor: number;
  versionMinor: number;
  snaplen: number;
  /** The whole LinkType and additional information field. */
  linkTypeField: number;
  /** LINKTYPE_* value: the low 16 bits of that field. */
  linkType: number;
  /** FCS length in 16-bit units when the F bit (bit 27) is set, else null (§4, "FCS len"). */
  fcsLength: number | null;
}

const enum State {
  FileHeader,
  Records,
  Done,
}

/** Reader options. */
export interface ReaderOptions {
  /**
   * After a corrupt length (a record or block claiming gigabytes, a pcapng length that is not a
   * multiple of 4 or shorter than a header), look for the next plausible record and read on,
   * instead of stopping as tshark does. The problem is listed (non-fatal) with its offset, and so
   * is the number of bytes skipped. analyzeFiles turns it on; the default is tshark's behaviour.
   */
  resync?: boolean;
}

/** Most seconds a resynchronised record's timestamp may lie from the last good one. */
const RESYNC_MAX_TS_JUMP = 7 * 86400;

const enum Resync {
  Found,
  Wait,
  End,
}

export class PcapReader extends QueuedReader implements CaptureReader {
  readonly format = "pcap" as const;
  private readonly resyncOn: boolean;
  private resyncing = false;
  private resyncFrom = 0;
  private lastTsSec = -1;

  constructor(opts: ReaderOptions = {}) {
    super();
    this.resyncOn = opts.resync ?? false;
  }

  private state = State.FileHeader;
  private le = true;
  private nano = false;
  private snaplen = 0;
  private linkType = 0;
  private hdr: PcapFileHeader | null = null;

  /** Packets delivered so far (equal to `frames` for classic pcap). */
  get packets(): number {
    return this.frameCount;
  }

  /** Every classic pcap record has a timestamp (mirrors PcapngReader.timestamped). */
  get timestamped(): boolean {
    return true;
  }

  /** The parsed file header, once 24 bytes have been read. */
  get header(): PcapFileHeader | null {
    return this.hdr;
  }

  next(): RawPacket | undefined {
    if (this.state === State.Records) return this.readRecord();
    if (this.state === State.Done) return undefined;
    if (!this.readFileHeader()) return undefined;
    return this.readRecord();
  }

  private stop(offset: number, message: string): undefined {
    this.errs.add(this.frameCount + 1, offset, message, true);
    this.fatal = true;
    this.state = State.Done;
    this.q.clear();
    return undefined;
  }

  private finish(): undefined {
    this.state = State.Done;
    this.errs.flush();
    return undefined;
  }

  /** §4 file header. Returns false when it is not complete yet or is unusable. */
  private readFileHeader(): boolean {
    const q = this.q;
    if (q.available < FILE_HEADER_LEN) {
      if (this.ended) {
        if (q.available === 0) this.stop(0, "no pcap file header (empty input)");
        else this.stop(0, `file ends inside the pcap file header (${q.available} of ${FILE_HEADER_LEN} bytes)`);
      }
      return false;
    }
    const b = q.peek(0, FILE_HEADER_LEN);
    const o = q.off;
    // Magic number: its byte order is the file's byte order; the value says us or ns.
    const m = u32(b, o, false);
    if (m === 0xa1b2c3d4) {
      this.le = false;
      this.nano = false;
    } else if (m === 0xd4c3b2a1) {
      this.le = true;
      this.nano = false;
    } else if (m === 0xa1b23c4d) {
      this.le = false;
      this.nano = true;
    } else if (m === 0x4d3cb2a1) {
      this.le = true;
      this.nano = true;
    } else {
      this.stop(0, `not a pcap magic number: ${hex4(b, o)}`);
      return false;
    }
    const le = this.le;
    const major = u16(b, o + 4, le); // Major Version (2)
    const minor = u16(b, o + 6, le); // Minor Version (4)
    // o+8: Reserved1 (once thiszone), o+12: Reserved2 (once sigfigs): ignored, as §4 says.
    const snaplen = u32(b, o + 16, le); // SnapLen
    const ltField = u32(b, o + 20, le); // LinkType and additional information
    this.hdr = {
      bigEndian: !le,
      nanosecond: this.nano,
      versionMajor: major,
      versionMinor: minor,
      snaplen,
      linkTypeField: ltField,
      // Bits 0-15 are the LINKTYPE; bits 28-31 the FCS length, valid when bit 27 (F) is set.
      linkType: ltField & 0xffff,
      fcsLength: ltField & 0x08000000 ? ltField >>> 28 : null,
    };
    if (major !== 2) {
      this.stop(0, `pcap major version ${major}.${minor} is not supported (expected 2.x)`);
      return false;
    }
    this.snaplen = snaplen;
    this.linkType = ltField & 0xffff;
    this.seenLinkTypes.push(this.linkType);
    this.pkt.linkType = this.linkType;
    this.pkt.interfaceId = 0;
    q.skip(FILE_HEADER_LEN);
    this.state = State.Records;
    return true;
  }

  /** Is there a plausible §5 record header at `skip` bytes from the read position? (16 bytes must be available.) */
  private plausibleHeader(skip: number): number {
    const q = this.q;
    const b = q.peek(skip, RECORD_HEADER_LEN);
    const o = q.off;
    const le = this.le;
    const tsSec = u32(b, o, le);
    const frac = u32(b, o + 4, le);
    const caplen = u32(b, o + 8, le);
    const origLen = u32(b, o + 12, le);
    const limit = this.snaplen > 0 && this.snaplen < MAX_SANE_CAPLEN ? this.snaplen : MAX_SANE_CAPLEN;
    if (caplen > limit || origLen < caplen || origLen > 4 * MAX_SANE_CAPLEN) return -1;
    if (frac >= (this.nano ? 1e9 : 1e6)) return -1;
    if (this.lastTsSec >= 0 && Math.abs(tsSec - this.lastTsSec) > RESYNC_MAX_TS_JUMP) return -1;
    return caplen;
  }

  /**
   * Skip bytes until a plausible record header whose successor is plausible too (or which ends
   * exactly at the end of the input). Byte by byte: O(bytes skipped), bounded waits.
   */
  private resyncStep(): Resync {
    const q = this.q;
    for (;;) {
      if (q.available < RECORD_HEADER_LEN) {
        if (!this.ended) return Resync.Wait;
        q.skip(q.available);
        return Resync.End;
      }
      const caplen = this.plausibleHeader(0);
      if (caplen >= 0) {
        const total = RECORD_HEADER_LEN + caplen;
        if (q.available >= total + RECORD_HEADER_LEN) {
          if (this.plausibleHeader(total) >= 0) return Resync.Found;
        } else if (!this.ended) return Resync.Wait;
        else if (q.available === total) return Resync.Found;
      }
      q.skip(1);
    }
  }

  /** §5 packet record. */
  private readRecord(): RawPacket | undefined {
    const q = this.q;
    if (this.resyncing) {
      const r = this.resyncStep();
      if (r === Resync.Wait) return undefined;
      this.resyncing = false;
      const skipped = q.consumed - this.resyncFrom;
      if (r === Resync.End) {
        this.errs.add(this.frameCount + 1, this.resyncFrom, `frame ${this.frameCount + 1} at offset ${this.resyncFrom}: no plausible record in the last ${skipped} bytes`, false);
        return this.finish();
      }
      this.errs.add(
        this.frameCount + 1,
        q.consumed,
        `frame ${this.frameCount + 1} at offset ${q.consumed}: reading again after skipping ${skipped} bytes from offset ${this.resyncFrom}`,
        false,
      );
    }
    const offset = q.consumed;
    const have = q.available;
    if (have < RECORD_HEADER_LEN) {
      if (!this.ended) return undefined;
      if (have > 0) {
        this.errs.add(
          this.frameCount + 1,
          offset,
          `frame ${this.frameCount + 1} at offset ${offset}: file ends inside a record header (${have} of ${RECORD_HEADER_LEN} bytes)`,
          false,
        );
        q.skip(have);
      }
      return this.finish();
    }
    const le = this.le;
    const b = q.peek(0, RECORD_HEADER_LEN);
    const o = q.off;
    const tsSec = u32(b, o, le); // Timestamp (Seconds)
    const tsFrac = u32(b, o + 4, le); // Timestamp (Microseconds or nanoseconds)
    const caplen = u32(b, o + 8, le); // Captured Packet Length
    const origLen = u32(b, o + 12, le); // Original Packet Length
    const frame = this.frameCount + 1;
    const snap = this.snaplen;
    // A corrupt length field must be refused before waiting for that many bytes: this is where a
    // naive reader (pcap-parser) buffers the rest of the file forever.
    if ((caplen > MAX_SANE_CAPLEN && caplen > snap) || caplen > MAX_RECORD_BYTES) {
      const msg = `frame ${frame} at offset ${offset}: corrupt record length: caplen ${caplen} is above the maximum ${MAX_SANE_CAPLEN} and the snaplen ${snap}`;
      if (!this.resyncOn) return this.stop(offset, msg);
      this.errs.add(frame, offset, `${msg}; looking for the next plausible record`, false);
      this.resyncing = true;
      this.resyncFrom = offset;
      q.skip(1);
      return this.readRecord();
    }
    const total = RECORD_HEADER_LEN + caplen;
    if (have < total) {
      if (!this.ended) return undefined;
      this.errs.add(
        frame,
        offset,
        `frame ${frame} at offset ${offset}: file ends inside a record (${have} of ${total} bytes; caplen ${caplen})`,
        false,
      );
      q.skip(have);
      return this.finish();
    }
    // Checked only now that the record is complete, so that a record waiting for more input is
    // not reported twice.
    if (caplen > snap && snap !== 0) {
      this.errs.add(frame, offset, `frame ${frame} at offset ${offset}: caplen ${caplen} is above the snaplen ${snap}`, false);
    }
    const rb = q.peek(0, total);
    const ro = q.off;
    const p = this.pkt;
    p.frame = frame;
    p.offset = offset;
    if (this.nano) {
      p.tsSec = tsSec + Math.floor(tsFrac / 1e9);
      p.tsNsec = tsFrac % 1e9;
    } else {
      // A microsecond field >= 10^6 is out of range; carry it into the seconds.
      p.tsSec = tsSec + Math.floor(tsFrac / 1e6);
      p.tsNsec = (tsFrac % 1e6) * 1000;
    }
    p.caplen = caplen;
    p.origLen = origLen;
    this.lastTsSec = tsSec;
    p.at(rb, ro + RECORD_HEADER_LEN);
    q.skip(total);
    this.frameCount = frame;
    return p;
  }
}
