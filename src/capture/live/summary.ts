/**
 * What a live capture reports: the packets counted as they are delivered, and at the end the
 * CaptureSummary with its `live` object (docs/report-schema.md, "Live capture").
 */
import type { CaptureError, CaptureFormat, CaptureSummary, CaptureTimestamp, LiveCaptureInfo, RawPacket, StopReason } from "../types.js";
import type { EngineCounters, LiveEngine } from "./engine.js";

export type LiveSummary = CaptureSummary & { live: LiveCaptureInfo };

/** Packets, bytes and the first and last timestamps of what was delivered. */
export class Tally {
  delivered = 0;
  bytes = 0;
  capturedBytes = 0;
  first: CaptureTimestamp | null = null;
  private lastSec = 0;
  private lastNsec = 0;

  add(p: RawPacket): void {
    this.delivered++;
    this.bytes += p.origLen;
    this.capturedBytes += p.caplen;
    if (this.first === null) this.first = { sec: p.tsSec, nsec: p.tsNsec };
    this.lastSec = p.tsSec;
    this.lastNsec = p.tsNsec;
  }

  get last(): CaptureTimestamp | null {
    return this.first === null ? null : { sec: this.lastSec, nsec: this.lastNsec };
  }
}

/** The wall clock as a capture timestamp. */
export function wallNow(): CaptureTimestamp {
  const ms = Date.now();
  const sec = Math.floor(ms / 1000);
  return { sec, nsec: (ms - sec * 1000) * 1e6 };
}

/** ISO 8601 UTC with nanoseconds. */
function iso(t: CaptureTimestamp): string {
  const base = new Date(t.sec * 1000).toISOString();
  return `${base.slice(0, 19)}.${String(t.nsec).padStart(9, "0")}Z`;
}

export interface LiveEnd {
  engine: LiveEngine;
  iface: string;
  filter: string | null;
  snaplen: number;
  bufferSize: number;
  /** The evidence file's name (-w), or null. */
  write: string | null;
  timestamps: "kernel" | "arrival";
  start: CaptureTimestamp;
  end: CaptureTimestamp;
  stopReason: StopReason;
  counters: EngineCounters;
  linkTypes: number[];
  errors: CaptureError[];
}

export function summarize(t: Tally, e: LiveEnd): LiveSummary {
  const c = e.counters;
  // What the engine never gives, and what it could not give this time.
  const unavailable = [...e.engine.unavailable];
  for (const [k, v] of [["packetsReceived", c.received], ["droppedByKernel", c.droppedByKernel], ["droppedByInterface", c.droppedByInterface]] as const) {
    if (v === null && !unavailable.includes(k)) unavailable.push(k);
  }
  const format: CaptureFormat = e.write ? "pcapng" : "pcap";
  return {
    file: e.write ?? `live:${e.iface}`,
    format,
    compressed: false,
    linkTypes: e.linkTypes,
    packets: t.delivered,
    frames: t.delivered,
    bytes: t.bytes,
    capturedBytes: t.capturedBytes,
    firstTimestamp: t.first,
    lastTimestamp: t.last,
    errors: e.errors,
    fileSize: null,
    live: {
      interface: e.iface,
      filter: e.filter,
      engine: e.engine.name,
      start: iso(e.start),
      end: iso(e.end),
      stopReason: e.stopReason,
      packetsCaptured: t.delivered,
      packetsReceived: c.received,
      droppedByKernel: c.droppedByKernel,
      droppedByInterface: c.droppedByInterface,
      snaplen: e.snaplen,
      bufferSize: e.bufferSize,
      timestamps: e.timestamps,
      file: e.write,
      unavailable,
    },
  };
}
