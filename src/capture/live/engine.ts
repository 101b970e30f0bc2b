/**
 * The contract between a live capture (session.ts) and its engines (engine-cap.ts,
 * engine-tcpdump.ts): what an engine is asked, what it gives back, the error it throws for a
 * problem the user can fix, the messages both engines use and the snaplen limits. The engines and
 * the session import this file; it imports nothing of theirs, so there is no import loop.
 */
import type { CaptureError, EngineName, RawPacket } from "../types.js";

export type EngineChoice = EngineName | "auto";

/** 64 MiB: with cap, 1 MiB lost about a quarter of 15k packets/s and ≤ 64 KiB captured nothing (docs/live-capture.md). */
export const DEFAULT_BUFFER_SIZE = 64 * 1024 * 1024;
/** cap's snaplen is fixed at 65,535 inside the binding. */
export const CAP_MAX_SNAPLEN = 65535;
/** tcpdump's own default snaplen (tcpdump 4.99). */
export const TCPDUMP_DEFAULT_SNAPLEN = 262144;
/** The live summary on stderr is refreshed at most this often (≤ 4 per second). */
export const TICK_MS = 250;

/** The longest delay setTimeout takes (a signed 32-bit count of ms); longer ones fire at once. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** Counters an engine reports at the end (libpcap's pcap_stats), null when it cannot. */
export interface EngineCounters {
  received: number | null;
  droppedByKernel: number | null;
  droppedByInterface: number | null;
}

export interface EngineStartOptions {
  iface: string;
  filter: string | null;
  /** Bytes kept per packet (already clamped to what the engine supports). */
  snaplen: number;
  bufferSize: number;
  /** Stop after this many packets if the engine can do it itself (tcpdump -c). */
  count: number | null;
}

/** What an engine's capture gives back once it has stopped and delivered every packet. */
export interface EngineResult {
  counters: EngineCounters;
  linkTypes: number[];
  /** Problems in the stream from the engine (a record cut off when it was killed, …). */
  errors: CaptureError[];
  /** Set when the engine stopped by itself for a reason other than our request or -c. */
  failure: string | null;
}

export interface EngineSession {
  readonly timestamps: "kernel" | "arrival";
  /** Ask the engine to stop (idempotent); `done` resolves when it has. */
  stop(): void;
  readonly done: Promise<EngineResult>;
  /** Counters so far, for the live summary; null when the engine has none (yet). */
  counters(): EngineCounters | null;
}

export interface LiveEngine {
  readonly name: EngineName;
  /** Null when usable here, else why not (one line, naming what to install). */
  unavailableReason(): string | null;
  /** The largest snaplen the engine supports and its default. */
  readonly maxSnaplen: number;
  readonly defaultSnaplen: number;
  /** Facts this engine never gives (field names of LiveCaptureInfo / RawPacket). */
  readonly unavailable: readonly string[];
  /**
   * Starts capturing; resolves once packets are being captured. Rejects with a LiveCaptureError
   * for a problem the user can fix (permission, interface, filter).
   */
  start(o: EngineStartOptions, onPacket: (p: RawPacket) => void): Promise<EngineSession>;
}

export type LiveFailure = "engine" | "interface" | "permission" | "filter" | "options" | "write";

/** The capture could not start. The message is one line; the CLI exits 2. */
export class LiveCaptureError extends Error {
  readonly reason: LiveFailure;
  constructor(reason: LiveFailure, message: string) {
    super(message);
    this.name = "LiveCaptureError";
    this.reason = reason;
  }
}

export function interfaceDownMessage(iface: string): string {
  return `interface ${iface} is down: bring it up first (ip link set ${iface} up)`;
}

export function permissionMessage(iface: string, engine: EngineName): string {
  const who = engine === "cap" ? "node" : "tcpdump";
  return `capturing on ${iface} needs root or the CAP_NET_RAW capability: run with sudo, or grant it once with \`setcap cap_net_raw,cap_net_admin=eip $(command -v ${who})\``;
}
