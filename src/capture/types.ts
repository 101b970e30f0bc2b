/**
 * What a capture reader hands to the rest of the pipeline.
 *
 * Readers are push-fed and pull-drained, like mcap's streaming reader: `append(bytes)` gives them
 * the next chunk of the file, `next()` returns the next packet or `undefined` when the bytes
 * appended so far do not hold a whole record. `end()` says the input is over; after it `next()`
 * drains what is left and records a truncated last record as an error.
 *
 * Allocation is deliberate: `next()` returns the same `RawPacket` object every time, and its
 * `data` is a *borrowed* view (into the appended chunk or the reader's carry-over buffer) that is
 * valid only until the next call to `next()` or `append()`. Copy it if you keep it.
 */

/** A packet record as read from the file, before any decoding. */
export interface RawPacket {
  /** 1-based frame number, as Wireshark numbers frames (counting what Wireshark counts). */
  frame: number;
  /** Byte offset in the (decompressed) file where this record's header starts. */
  offset: number;
  /** Whole seconds since the Unix epoch. */
  tsSec: number;
  /** Nanoseconds within the second, 0..999 999 999. */
  tsNsec: number;
  /** Bytes captured (the length of `data`). */
  caplen: number;
  /** Length of the packet on the wire; > caplen when the snaplen cut it. */
  origLen: number;
  /** LINKTYPE_* value (tcpdump.org link-layer header types) of the interface it came in on. */
  linkType: number;
  /** pcapng interface index within its section; 0 for classic pcap. */
  interfaceId: number;
  /** Borrowed view of the captured bytes; valid until the next `next()`/`append()`. */
  data: Uint8Array;
}

/** A problem found in the capture file itself (not in a packet's contents). */
export interface CaptureError {
  /** Frame number the problem concerns (the record being read), or the last good frame + 1. */
  frame: number;
  /** Byte offset in the (decompressed) file where the bad record or block starts. */
  offset: number;
  message: string;
  /** True when the reader could not go on: the rest of the file was not read. */
  fatal: boolean;
}

export type CaptureFormat = "pcap" | "pcapng";

export interface CaptureReader {
  readonly format: CaptureFormat;
  /** Give the reader the next chunk of the file. The reader may keep a reference to it. */
  append(chunk: Uint8Array): void;
  /** The next packet, or undefined when more input is needed (or the reader stopped). */
  next(): RawPacket | undefined;
  /** No more input will come. */
  end(): void;
  /** Problems found so far, in file order. */
  readonly errors: CaptureError[];
  /** True once a fatal error stopped the reader. */
  readonly stopped: boolean;
  /** Every distinct link type seen so far (interfaces), in order of first appearance. */
  readonly linkTypes: number[];
  /** Bytes consumed from the input so far (for progress and error offsets). */
  readonly bytesConsumed: number;
}
