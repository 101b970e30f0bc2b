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
import type { CaptureError, CaptureReader, RawPacket } from "./types.js";

/**
 * Largest caplen tshark accepts for ordinary link types (Wireshark's WTAP_MAX_PACKET_SIZE_STANDARD).
 * A caplen above it *and* above the file's snaplen can only be a corrupt length field.
 */
export const MAX_SANE_CAPLEN = 262144;
/** Hard ceiling on any record or block we will assemble in memory, whatever the header says. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;
/** Non-fatal problems kept per reader; the rest are only counted (errors must not grow unbounded). */
export const MAX_LISTED_ERRORS = 100;

const FILE_HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;

/**
 * The chunks appended to a reader and not yet consumed, read as one byte sequence.
 *
 * `peek(skip, n)` makes `n` bytes starting `skip` bytes after the read position contiguous: it
 * returns the chunk itself when they lie in one chunk (zero copy) and otherwise copies them into
 * a carry-over buffer that is reused (it only grows, up to the largest record seen). The returned
 * buffer is valid until the next peek; the bytes are at `off`. `skip(n)` consumes bytes and drops
 * chunks that are fully consumed, so only the unread tail of the input is ever referenced.
 */
export class ChunkQueue {
  private chunks: Uint8Array[] = [];
  /** Index in `chunks` of the chunk holding the read position. */
  private head = 0;
  /** Read position within chunks[head]. */
  private pos = 0;
  private avail = 0;
  private carry = new Uint8Array(0);
  /** Where the bytes returned by the last peek start in the returned buffer. */
  off = 0;
  /** Bytes consumed since the start of the input. */
  consumed = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.avail += chunk.length;
  }

  /** Whether a chunk backed by `ab` may still be read (so its memory must not be reused yet). */
  holds(ab: ArrayBufferLike): boolean {
    for (let i = this.head; i < this.chunks.length; i++) if (this.chunks[i].buffer === ab) return true;
    return false;
  }

  /** Bytes appended and not yet consumed. */
  get available(): number {
    return this.avail;
  }

  /** Caller guarantees skip + n <= available. */
  peek(skip: number, n: number): Uint8Array {
    let i = this.head;
    let p = this.pos + skip;
    let c = this.chunks[i];
    while (p >= c.length) {
      p -= c.length;
      c = this.chunks[++i];
    }
    if (c.length - p >= n) {
      this.off = p;
      return c;
    }
    if (this.carry.length < n) {
      // Grow geometrically so that slowly growing records do not re-allocate every time.
      let size = Math.max(256, this.carry.length * 2);
      while (size < n) size *= 2;
      this.carry = new Uint8Array(Math.min(size, Math.max(n, MAX_RECORD_BYTES)));
    }
    let copied = 0;
    while (copied < n) {
      const take = Math.min(c.length - p, n - copied);
      this.carry.set(c.subarray(p, p + take), copied);
      copied += take;
      c = this.chunks[++i];
      p = 0;
    }
    this.off = 0;
    return this.carry;
  }

  /** Caller guarantees n <= available. */
  skip(n: number): void {
    this.avail -= n;
    this.consumed += n;
    let p = this.pos + n;
    const chunks = this.chunks;
    while (this.head < chunks.length && p >= chunks[this.head].length) {
      p -= chunks[this.head].length;
      this.head++;
    }
    this.pos = p;
    if (this.head === chunks.length) {
      // Everything consumed: drop every reference at once.
      this.chunks = [];
      this.head = 0;
    } else if (this.head >= 64) {
      // Amortised compaction (one-byte appends create many tiny chunks).
      this.chunks = chunks.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * Forget all input (after a fatal error) and release the carry-over buffer. `consumed` stays
   * where reading stopped, so it does not depend on how much input happened to be appended.
   */
  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.pos = 0;
    this.avail = 0;
    this.carry = new Uint8Array(0);
  }
}

/** Reads an unsigned 32-bit integer in the given byte order. */
export function u32(b: Uint8Array, o: number, le: boolean): number {
  return le
    ? (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0
    : ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** Reads an unsigned 16-bit integer in the given byte order. */
export function u16(b: Uint8Array, o: number, le: boolean): number {
  return le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1];
}

const NO_BYTES = new Uint8Array(0);

/**
 * The readers' reused packet. Its captured bytes are `buf[start, start + caplen)`, borrowed from
 * the reader's chunk: the pipeline decodes them in place (decodePacket's `start`), so no view is
 * made per packet. `data`, the RawPacket view, is made only when someone asks for it (once per
 * packet at most), e.g. a pcapng writer.
 */
export class RawPacketView implements RawPacket {
  frame = 0;
  offset = 0;
  tsSec = 0;
  tsNsec = 0;
  caplen = 0;
  origLen = 0;
  linkType = 0;
  interfaceId = 0;
  buf: Uint8Array = NO_BYTES;
  start = 0;
  private view: Uint8Array | null = null;

  /** Point at the captured bytes (after caplen is set). */
  at(buf: Uint8Array, start: number): void {
    this.buf = buf;
    this.start = start;
    this.view = null;
  }

  get data(): Uint8Array {
    if (this.view === null) this.view = this.buf.subarray(this.start, this.start + this.caplen);
    return this.view;
  }

  set data(d: Uint8Array) {
    this.buf = d;
    this.start = 0;
    this.view = d;
  }
}

export function newRawPacket(): RawPacketView {
  return new RawPacketView();
}

/**
 * Error bookkeeping shared by both readers: non-fatal problems are listed up to
 * MAX_LISTED_ERRORS and counted beyond; a fatal one is always listed.
 */
export class ErrorList {
  readonly list: CaptureError[] = [];
  private suppressed = 0;
  private suppressedFirst: CaptureError | null = null;

  add(frame: number, offset: number, message: string, fatal: boolean): void {
    if (!fatal && this.list.length >= MAX_LISTED_ERRORS) {
      if (this.suppressed === 0) this.suppressedFirst = { frame, offset, message, fatal };
      this.suppressed++;
      return;
    }
    this.list.push({ frame, offset, message, fatal });
  }

  /** At end of input: one closing entry saying how many problems were not listed. */
  flush(): void {
    if (this.suppressed > 0 && this.suppressedFirst) {
      const f = this.suppressedFirst;
      this.list.push({
        frame: f.frame,
        offset: f.offset,
        message: `${this.suppressed} more problems not listed (the first at frame ${f.frame}, offset ${f.offset}: ${f.message})`,
        fatal: false,
      });
      this.suppressed = 0;
      this.suppressedFirst = null;
    }
  }
}

/**
 * What both readers share: the chunk queue, the reused packet, the error list, the stop flags,
 * the link types and frame count, and the CaptureReader accessors over them.
 */
export abstract class QueuedReader {
  protected readonly q = new ChunkQueue();
  protected readonly pkt = newRawPacket();
  protected readonly errs = new ErrorList();
  protected ended = false;
  protected fatal = false;
  protected readonly seenLinkTypes: number[] = [];
  protected frameCount = 0;

  append(chunk: Uint8Array): void {
    if (this.fatal || this.ended) return;
    this.q.push(chunk);
  }

  end(): void {
    this.ended = true;
  }

  get errors(): CaptureError[] {
    return this.errs.list;
  }

  get stopped(): boolean {
    return this.fatal;
  }

  get linkTypes(): number[] {
    return this.seenLinkTypes;
  }

  get bytesConsumed(): number {
    return this.q.consumed;
  }

  /** Whether an appended chunk backed by `ab` is still needed (see ChunkQueue.holds). */
  holds(ab: ArrayBufferLike): boolean {
    return this.q.holds(ab);
  }

  /** Frame numbers used so far (pcapng also counts the non-packet records Wireshark counts). */
  get frames(): number {
    return this.frameCount;
  }
}

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

export function hex4(b: Uint8Array, o: number): string {
  const out: string[] = [];
  for (let i = o; i < o + 4 && i < b.length; i++) out.push(b[i].toString(16).padStart(2, "0"));
  return out.join(" ");
}
