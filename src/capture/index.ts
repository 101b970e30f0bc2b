/**
 * The public surface of `capture/`: what the rest of the program (and tests outside this folder)
 * may import. Inside, `reader/` reads files and streams (pcap, pcapng, gzip), `live/` captures on
 * an interface through an engine, `writer/` writes pcapng; all of them hand on the one reused
 * packet record (`PacketRecord`, the `RawPacket` shape). docs/capture.md, docs/live-capture.md.
 */
export type {
  CaptureError,
  CaptureFormat,
  CaptureReader,
  CaptureSummary,
  CaptureTimestamp,
  EngineName,
  LiveCaptureInfo,
  RawPacket,
  StopReason,
} from "./types.js";
export { PacketRecord } from "./packet.js";

export {
  CaptureOpenError,
  DEFAULT_CHUNK_SIZE,
  readCapture,
  readCaptureFrom,
  type CaptureOpenFailure,
  type ReadCaptureOptions,
} from "./reader/file.js";
export { createReader, sniff, type SniffedFormat } from "./reader/sniff.js";

export { PcapngWriter, type PcapngStats, type PcapngWriterOptions } from "./writer/pcapng.js";

export { captureLive, type LiveCaptureOptions, type LiveProgress, type LiveSummary } from "./live/session.js";
export {
  DEFAULT_BUFFER_SIZE,
  LiveCaptureError,
  MAX_TIMEOUT_MS,
  TICK_MS,
  type EngineChoice,
  type LiveFailure,
} from "./live/engine.js";
export { selectEngine } from "./live/select.js";
export { canCapture, interfaceExists, listInterfaces, type InterfaceAddress, type InterfaceInfo } from "./live/interfaces.js";
export { parseDuration, parseSize } from "./live/options.js";
export { capLoadError } from "./live/engine-cap.js";
export { findTcpdump } from "./live/engine-tcpdump.js";
