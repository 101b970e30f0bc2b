/**
 * The one packet record every source hands on: the file readers (reader/), the live engines
 * (live/) and anything that re-reads a capture. It is reused for every packet.
 *
 * Its captured bytes are `buf[start, start + caplen)`, borrowed from the reader's chunk (or the
 * engine's buffer): the decoder reads them in place (decodePacket reads `buf` and `start`), so no
 * view is made per packet. `data`, a view of exactly those bytes, is made only when someone asks
 * for it (once per packet at most), e.g. a pcapng writer.
 */
import type { RawPacket } from "./types.js";

const NO_BYTES = new Uint8Array(0);

export class PacketRecord implements RawPacket {
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
}

