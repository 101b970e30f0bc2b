/**
 * What a capture reader hands to the rest of the pipeline.
 *
 * Readers are push-fed and pull-drained, like mcap's streaming reader: `append(bytes)` gives them
 * the next chunk of the file, `next()` returns the next packet or `undefined` when the bytes
 * appended so far do not hold a whole record. `end()` says the input is over; after it `next()`
 * drains what is left and records a truncated last record as an error.
 *
 * Allocation is deliberate: `next()` returns the same `RawPacket` object every time (a
 * PacketRecord, packet.ts), and its bytes are a *borrowed* view (into the appended chunk or the
 * reader's carry-over buffer) that is valid only until the next call to `next()` or `append()`.
 * Copy it if you keep it.
 *
 * The summary types (CaptureSummary, LiveCaptureInfo, …) live here too, below the readers and the
 * live engines that both fill them, so that neither imports the other for a type.
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
  /**
   * The buffer the captured bytes lie in, at `buf[start, start + caplen)`: borrowed (the reader's
   * chunk or carry-over buffer, an engine's buffer), valid until the next `next()`/`append()`.
   * The decoder reads here, in place.
   */
  buf: Uint8Array;
  start: number;
  /** The captured bytes as a view of their own (made on first use); borrowed like `buf`. */
  readonly data: Uint8Array;
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

export interface CaptureTimestamp {
  sec: number;
  /** Nanoseconds within the second. */
  nsec: number;
}

/** What readCapture found; the names match the report's `captures[]` entry. */
export interface CaptureSummary {
  /** The source as given ("-" for stdin). */
  file: string;
  format: CaptureFormat;
  /** True when the file was gzip-compressed (offsets are then in the decompressed bytes). */
  compressed: boolean;
  /** LINKTYPE_* values of the interfaces, in order of first appearance. */
  linkTypes: number[];
  /** Packets delivered to onPacket. */
  packets: number;
  /** Frame numbers used, as Wireshark counts them (pcapng custom blocks count, see docs/capture.md). */
  frames: number;
  /** Sum of the original (on-the-wire) lengths. */
  bytes: number;
  /** Sum of the captured lengths. */
  capturedBytes: number;
  /** Timestamp of the first packet in file order that has one (an SPB has none), else null. */
  firstTimestamp: CaptureTimestamp | null;
  /** Timestamp of the last packet in file order that has one, else null. */
  lastTimestamp: CaptureTimestamp | null;
  /** Problems inside the capture, in file order. A fatal one means the rest was not read. */
  errors: CaptureError[];
  /** Size of the file on disk (compressed size for gzip); null for stdin, pipes and devices. */
  fileSize: number | null;
  /** Live capture only (`capture`): interface, engine, counters, what the engine cannot give (docs/live-capture.md). */
  live?: LiveCaptureInfo;
  /** True when the reading was stopped (ReadCaptureOptions.signal) before the end of the input. */
  interrupted?: boolean;
}

export type EngineName = "cap" | "tcpdump";

/** Why a live capture stopped. */
export type StopReason = "interrupt" | "terminate" | "duration" | "count" | "engine-exit" | "interface-gone";

/** The report's `captures[].live` object (docs/report-schema.md, "Live capture"). */
export interface LiveCaptureInfo {
  /** Interface captured on, as given with -i. */
  interface: string;
  /** The BPF capture filter given with --filter, or null. */
  filter: string | null;
  engine: EngineName;
  /** When capturing started and stopped (wall clock), ISO 8601 UTC with nanoseconds. */
  start: string;
  end: string;
  stopReason: StopReason;
  /** Packets the engine handed to us (analyzed, and written with -w). */
  packetsCaptured: number;
  /** libpcap's "packets received by filter" (ps_recv); null when the engine cannot tell. */
  packetsReceived: number | null;
  /** libpcap's "packets dropped by kernel" (ps_drop: no room in the buffer); null when unknown. */
  droppedByKernel: number | null;
  /** libpcap's "packets dropped by interface" (ps_ifdrop); null when unknown. */
  droppedByInterface: number | null;
  /** Bytes kept of each packet. */
  snaplen: number;
  /** Kernel capture buffer asked for, in bytes. */
  bufferSize: number;
  /** Where packet timestamps come from: the kernel, or the moment JavaScript received the packet. */
  timestamps: "kernel" | "arrival";
  /** The pcapng evidence file written with -w, or null. */
  file: string | null;
  /** Facts this engine cannot give (their fields are null or approximated), by field name. */
  unavailable: string[];
}

