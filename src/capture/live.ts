/**
 * Live capture on an interface: picks an engine (the in-process `cap` libpcap binding, or a
 * `tcpdump` child process), checks the interface and privileges up front, hands every packet to
 * the caller as a RawPacket (the same shape the file readers give), writes the evidence pcapng
 * (`-w`), and stops cleanly on the duration, the count or the caller's AbortSignal
 * (SIGINT/SIGTERM in the CLI), returning a CaptureSummary with a `live` object (docs/live-capture.md).
 *
 * What each engine cannot tell is named in `live.unavailable`, never guessed:
 * - cap: no kernel timestamps (packets are stamped on arrival in JavaScript), no original length
 *   (it is the captured length, at most 65,535), no libpcap statistics (received, drops).
 * - tcpdump: everything above comes from libpcap itself (its exit summary on stderr).
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { performance } from "node:perf_hooks";
import type { CaptureSummary, CaptureTimestamp } from "./file.js";
import { PcapngWriter } from "./pcapng-writer.js";
import type { CaptureError, CaptureFormat, RawPacket } from "./types.js";
import { CapEngine } from "./engine-cap.js";
import { TcpdumpEngine } from "./engine-tcpdump.js";

export type EngineName = "cap" | "tcpdump";
export type EngineChoice = EngineName | "auto";

/** 64 MiB: with cap, 1 MiB lost about a quarter of 15k packets/s and ≤ 64 KiB captured nothing (docs/live-capture.md). */
export const DEFAULT_BUFFER_SIZE = 64 * 1024 * 1024;
/** cap's snaplen is fixed at 65,535 inside the binding. */
export const CAP_MAX_SNAPLEN = 65535;
/** tcpdump's own default snaplen (tcpdump 4.99). */
export const TCPDUMP_DEFAULT_SNAPLEN = 262144;
/** The live summary on stderr is refreshed at most this often (≤ 4 per second). */
export const TICK_MS = 250;

/** Why a live capture stopped. */
export type StopReason = "interrupt" | "terminate" | "duration" | "count" | "engine-exit" | "interface-gone";

/** The longest delay setTimeout takes (a signed 32-bit count of ms); longer ones fire at once. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** IFF_UP in /sys/class/net/IF/flags (linux/if.h): the interface is administratively up. */
const IFF_UP = 0x1;

/**
 * The capture interface's state over the capture: when it was administratively down (nothing can
 * be captured then: libpcap opens a down interface without complaint and sees no packet) and
 * whether it disappeared. Polled each tick from /sys/class/net.
 */
export class InterfaceWatch {
  gone = false;
  everDown = false;
  downMs = 0;
  private downSince: number | null = null;
  private readonly startMs: number;
  private lastMs: number;

  constructor(private readonly iface: string, nowMs: number) {
    this.startMs = nowMs;
    this.lastMs = nowMs;
    this.poll(nowMs);
  }

  poll(nowMs: number): void {
    this.lastMs = nowMs;
    if (this.iface === "any" || this.gone) return;
    if (!interfaceExists(this.iface)) {
      this.gone = true;
      this.close(nowMs);
      return;
    }
    const flags = Number.parseInt(readSys(this.iface, "flags") ?? "", 16);
    const down = Number.isFinite(flags) && (flags & IFF_UP) === 0;
    if (down) this.everDown = true;
    if (down && this.downSince === null) this.downSince = nowMs;
    else if (!down) this.close(nowMs);
  }

  private close(nowMs: number): void {
    if (this.downSince !== null) this.downMs += nowMs - this.downSince;
    this.downSince = null;
  }

  /** A note for the report when the interface was down at some point, else null. */
  note(packets: number): string | null {
    const down = this.downMs + (this.downSince !== null ? this.lastMs - this.downSince : 0);
    if (!this.everDown) return null;
    const total = this.lastMs - this.startMs;
    const fix = `(ip link set ${this.iface} up)`;
    if (packets === 0 && down >= total - 2 * TICK_MS) {
      return `interface ${this.iface} was down for the whole capture: nothing could be captured; bring it up first ${fix}`;
    }
    // Seen down at the last poll only: at least that moment (polls are TICK_MS apart).
    return `interface ${this.iface} was down for ${down < TICK_MS ? "part" : `${(down / 1000).toFixed(1)} s`} of the ${(total / 1000).toFixed(1)} s capture: nothing could be captured while it was ${fix}`;
  }
}

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

// --- engines ----------------------------------------------------------------------------------

const ENGINES: Record<EngineName, () => LiveEngine> = {
  cap: () => new CapEngine(),
  tcpdump: () => new TcpdumpEngine(),
};

/**
 * The engine to use: `auto` is tcpdump when it is on PATH, else cap when its module is installed
 * and loads. tcpdump first: it lost nothing at rates where cap lost 2.6 %, and cap's binding
 * aborts the whole process (an assert in binding.cc, SIGABRT) when its interface goes down or
 * away mid-capture, which nothing in JavaScript can catch (docs/live-capture.md). Throws
 * LiveCaptureError("engine") naming what to install.
 */
export function selectEngine(choice: EngineChoice): LiveEngine {
  if (choice !== "auto") {
    const e = ENGINES[choice]();
    const why = e.unavailableReason();
    if (why !== null) throw new LiveCaptureError("engine", why);
    return e;
  }
  const td = ENGINES.tcpdump();
  if (td.unavailableReason() === null) return td;
  const cap = ENGINES.cap();
  if (cap.unavailableReason() === null) return cap;
  throw new LiveCaptureError(
    "engine",
    "no capture engine: install tcpdump (apt-get install tcpdump), or libpcap-dev and then `npm install cap@0.2.1` for the in-process engine",
  );
}

// --- interfaces and privileges ------------------------------------------------------------------

export interface InterfaceAddress {
  family: "IPv4" | "IPv6";
  address: string;
  /** Address with prefix length, e.g. "10.0.0.5/24". */
  cidr: string;
}

export interface InterfaceInfo {
  name: string;
  /** operstate from /sys/class/net ("up", "down", "unknown" for loopback and some virtual ones). */
  state: string;
  mac: string | null;
  addresses: InterfaceAddress[];
}

const SYS_NET = "/sys/class/net";

/** "any" is libpcap's pseudo-interface for all interfaces (Linux cooked capture). */
export function interfaceExists(name: string): boolean {
  if (name === "any") return true;
  if (name === "" || name.includes("/") || name === "." || name === "..") return false;
  return existsSync(`${SYS_NET}/${name}`);
}

function readSys(name: string, file: string): string | null {
  try {
    return readFileSync(`${SYS_NET}/${name}/${file}`, "utf8").trim();
  } catch {
    return null;
  }
}

/** Interfaces of this network namespace with their addresses (no privilege needed). */
export function listInterfaces(): InterfaceInfo[] {
  let names: string[] = [];
  try {
    names = readdirSync(SYS_NET);
  } catch {
    /* no sysfs (not Linux): fall back to what Node knows */
  }
  const os = networkInterfaces();
  for (const n of Object.keys(os)) if (!names.includes(n)) names.push(n);
  names.sort((a, b) => (a === "lo" ? -1 : b === "lo" ? 1 : a.localeCompare(b)));
  return names.map((name) => {
    const addrs = (os[name] ?? []).map(
      (a): InterfaceAddress => ({
        family: a.family === "IPv6" ? "IPv6" : "IPv4",
        address: a.address,
        cidr: a.cidr ?? a.address,
      }),
    );
    const mac = readSys(name, "address");
    return {
      name,
      state: readSys(name, "operstate") ?? "unknown",
      mac: mac && mac !== "00:00:00:00:00:00" ? mac : null,
      addresses: addrs,
    };
  });
}

/** CAP_NET_RAW (capability 13, linux/capability.h) is what opening a packet socket needs. */
const CAP_NET_RAW = 13n;

/** True when this process may open a packet socket: root, or CAP_NET_RAW in its effective set. */
export function canCapture(): boolean {
  if (typeof process.getuid === "function" && process.getuid() === 0) return true;
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return ((BigInt("0x" + m[1]) >> CAP_NET_RAW) & 1n) === 1n;
  } catch {
    /* not Linux */
  }
  return false;
}

export function interfaceDownMessage(iface: string): string {
  return `interface ${iface} is down: bring it up first (ip link set ${iface} up)`;
}

export function permissionMessage(iface: string, engine: EngineName): string {
  const who = engine === "cap" ? "node" : "tcpdump";
  return `capturing on ${iface} needs root or the CAP_NET_RAW capability: run with sudo, or grant it once with \`setcap cap_net_raw,cap_net_admin=eip $(command -v ${who})\``;
}

// --- option parsing -----------------------------------------------------------------------------

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "90s", "10m", "1h", "1h30m", "1500ms", or a bare number of seconds → milliseconds; null if bad. */
export function parseDuration(text: string): number | null {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) {
    const n = Number(t) * 1000;
    return n > 0 ? n : null;
  }
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let at = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t)) !== null) {
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    at = re.lastIndex;
  }
  if (at !== t.length || at === 0 || !(total > 0)) return null;
  return total;
}

const SIZE_UNITS: Record<string, number> = {
  "": 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1 << 20, mb: 1 << 20, mib: 1 << 20, g: 1 << 30, gb: 1 << 30, gib: 1 << 30,
};

/** "64MiB", "64m", "512k", "1048576" → bytes (binary units); null if bad. */
export function parseSize(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  if (!m) return null;
  const mul = SIZE_UNITS[m[2].toLowerCase()];
  if (mul === undefined) return null;
  const n = Math.floor(Number(m[1]) * mul);
  return n > 0 ? n : null;
}

// --- the capture loop ---------------------------------------------------------------------------

export interface LiveProgress {
  engine: EngineName;
  iface: string;
  elapsedMs: number;
  packets: number;
  bytes: number;
  /** Engine counters so far (tcpdump answers SIGUSR1), null when unknown. */
  counters: EngineCounters | null;
}

export interface LiveCaptureOptions {
  iface: string;
  filter?: string | null;
  engine?: EngineChoice;
  /** Bytes kept per packet; default: the engine's (cap 65,535, tcpdump 262,144). */
  snaplen?: number | null;
  /** Kernel buffer in bytes; default DEFAULT_BUFFER_SIZE. */
  bufferSize?: number | null;
  durationMs?: number | null;
  count?: number | null;
  /** pcapng evidence file to write (its name, for the report and messages). */
  write?: string | null;
  /**
   * With `write`: an open descriptor to write it to (the CLI's temporary file beside the
   * destination, moved in place after the capture: cli/output.ts); the caller closes it.
   * Without it `write` is opened and truncated here.
   */
  writeFd?: number | null;
  /** shb_userappl in the written file. */
  application?: string;
  /** Aborting stops the capture; a reason of "terminate" or "interrupt" is reported as such. */
  signal?: AbortSignal;
  /** Every packet, synchronously; `data` is borrowed until the call returns. */
  onPacket: (p: RawPacket) => void;
  /** Called once capturing has started (the engine is ready for traffic). */
  onStarted?: (engine: EngineName) => void;
  /** Called every TICK_MS while capturing (live summary, tests). */
  onTick?: (p: LiveProgress) => void;
}

export type LiveSummary = CaptureSummary & { live: LiveCaptureInfo };

function wallNow(): CaptureTimestamp {
  const ms = Date.now();
  const sec = Math.floor(ms / 1000);
  return { sec, nsec: (ms - sec * 1000) * 1e6 };
}

function iso(t: CaptureTimestamp): string {
  const base = new Date(t.sec * 1000).toISOString();
  return `${base.slice(0, 19)}.${String(t.nsec).padStart(9, "0")}Z`;
}

/**
 * Captures until the duration, the count, the abort signal, or the engine's own end, and returns
 * the capture's summary with its `live` object. Throws LiveCaptureError before capturing starts.
 */
export async function captureLive(o: LiveCaptureOptions): Promise<LiveSummary> {
  const iface = o.iface;
  if (!interfaceExists(iface)) {
    throw new LiveCaptureError("interface", `no interface named "${iface}" here (phoenix-netcheck capture --list shows them)`);
  }
  if (o.count != null && !(Number.isInteger(o.count) && o.count > 0)) {
    throw new LiveCaptureError("options", `--count must be a positive whole number, got ${o.count}`);
  }
  const engine = selectEngine(o.engine ?? "auto");
  if (engine.name === "cap" && !canCapture()) throw new LiveCaptureError("permission", permissionMessage(iface, "cap"));
  const filter = o.filter && o.filter.trim() !== "" ? o.filter : null;
  const snaplen = Math.min(o.snaplen ?? engine.defaultSnaplen, engine.maxSnaplen);
  if (!(snaplen > 0)) throw new LiveCaptureError("options", `--snaplen must be a positive number of bytes`);
  const bufferSize = o.bufferSize ?? DEFAULT_BUFFER_SIZE;
  const count = o.count ?? null;

  let writer: PcapngWriter | null = null;
  if (o.write) {
    try {
      writer = new PcapngWriter(o.writeFd != null ? { fd: o.writeFd } : o.write, {
        ifName: iface,
        snaplen,
        filter,
        application: o.application,
        os: `${process.platform} ${osRelease()}`,
        ifComment:
          engine.name === "cap"
            ? "captured with the cap engine: timestamps taken on arrival in the analyzer (not by the kernel); original length = captured length"
            : null,
      });
    } catch (e) {
      throw new LiveCaptureError("write", `cannot write ${o.write}: ${(e as Error).message.split("\n")[0]}`);
    }
  }

  let delivered = 0;
  let bytes = 0;
  let capturedBytes = 0;
  let first: CaptureTimestamp | null = null;
  let lastSec = 0;
  let lastNsec = 0;
  let stopReason: StopReason | null = null;
  let session: EngineSession | null = null;
  let deadline = Infinity; // performance.now() value
  // A write error (disk full) ends the evidence file, not the capture: the writer cuts the file
  // back to its last whole block, and the report names the first frame missing from it and the
  // file's size — a frame and an offset that exist, not ones past its end.
  let writeError: CaptureError | null = null;
  const writeFailed = (e: unknown): void => {
    if (writer === null) return;
    const inFile = writer.packetsInFile;
    writeError = {
      frame: inFile + 1,
      offset: writer.fileBytes,
      message: `writing ${o.write} failed (${(e as Error).message.split("\n")[0]}): the file ends after frame ${inFile}, at offset ${writer.fileBytes}; frames from ${inFile + 1} on were analyzed but are not in it`,
      fatal: false,
    };
    writer.abandon();
    writer = null;
  };
  const requestStop = (why: StopReason): void => {
    if (stopReason !== null) return;
    stopReason = why;
    session?.stop();
  };

  const onPacket = (p: RawPacket): void => {
    if (stopReason === "count") return; // the engine may hand over a few more before it stops
    delivered++;
    bytes += p.origLen;
    capturedBytes += p.caplen;
    if (first === null) first = { sec: p.tsSec, nsec: p.tsNsec };
    lastSec = p.tsSec;
    lastNsec = p.tsNsec;
    // With -w the frame's offset is where its EPB starts in the evidence file, so an error
    // message's offset can be looked up there.
    if (writer !== null) {
      try {
        p.offset = writer.writePacket(p.linkType, p.tsSec, p.tsNsec, p.data, p.caplen, p.origLen);
      } catch (e) {
        writeFailed(e);
      }
    }
    o.onPacket(p);
    if (count !== null && delivered >= count) requestStop("count");
    // cap hands over packets in one synchronous loop for as long as the kernel has some: under a
    // flood no timer runs, so the duration is also checked here.
    else if ((delivered & 1023) === 0 && performance.now() >= deadline) requestStop("duration");
  };

  let start: CaptureTimestamp;
  try {
    session = await engine.start({ iface, filter, snaplen, bufferSize, count }, onPacket);
    start = wallNow();
  } catch (e) {
    writer?.close();
    throw e;
  }
  const startPerf = performance.now();
  o.onStarted?.(engine.name);

  const timers: NodeJS.Timeout[] = [];
  if (o.durationMs != null) {
    deadline = startPerf + o.durationMs;
    // setTimeout takes at most 2^31-1 ms (~24.8 days) and fires at once beyond that: wait in
    // pieces no longer than that until the deadline is reached.
    const arm = (): void => {
      const left = deadline - performance.now();
      if (left <= 0) requestStop("duration");
      else timers.push(setTimeout(arm, Math.min(left, MAX_TIMEOUT_MS)));
    };
    arm();
  }
  // The interface's state, polled each tick: admin-down (IFF_UP clear) or gone. tcpdump ends by
  // itself when it is gone, with libpcap's error. cap cannot be saved by polling: the kernel
  // flags its socket (ENETDOWN) the moment the interface goes down or away, and cap's binding
  // then fails an assert and aborts the process before any JavaScript runs — hence tcpdump as the
  // auto engine (docs/live-capture.md).
  const watch = new InterfaceWatch(iface, performance.now());
  timers.push(
    setInterval(() => {
      try {
        writer?.flush();
      } catch (e) {
        writeFailed(e);
      }
      watch.poll(performance.now());
      if (o.onTick) {
        o.onTick({
          engine: engine.name,
          iface,
          elapsedMs: performance.now() - startPerf,
          packets: delivered,
          bytes,
          counters: session!.counters(),
        });
      }
    }, TICK_MS),
  );
  const onAbort = () => requestStop(o.signal?.reason === "terminate" ? "terminate" : "interrupt");
  if (o.signal) {
    if (o.signal.aborted) onAbort();
    else o.signal.addEventListener("abort", onAbort, { once: true });
  }
  if (stopReason !== null) session.stop();

  let result: EngineResult;
  try {
    result = await session.done;
  } finally {
    for (const t of timers) clearTimeout(t);
    o.signal?.removeEventListener("abort", onAbort);
  }
  const end = wallNow();
  watch.poll(performance.now());
  // An engine that ends without being asked (tcpdump -c counts too) either reached the count or
  // failed; both are reported, a failure also as a fatal error of the capture.
  const reason: StopReason = stopReason ?? (count !== null && delivered >= count ? "count" : watch.gone ? "interface-gone" : "engine-exit");
  const errors = [...result.errors];
  const downNote = watch.note(delivered);
  if (downNote !== null) errors.push({ frame: delivered + 1, offset: writer?.offset ?? 0, message: downNote, fatal: false });
  if (writeError !== null) errors.push(writeError);
  if (result.failure !== null && stopReason === null) {
    errors.push({ frame: delivered + 1, offset: writer?.offset ?? 0, message: `${engine.name} stopped: ${result.failure}`, fatal: true });
  }

  const c = result.counters;
  try {
    writer?.close({
    startSec: start.sec,
    startNsec: start.nsec,
    endSec: end.sec,
    endNsec: end.nsec,
    received: c.received,
    droppedByKernel: c.droppedByKernel,
    droppedByInterface: c.droppedByInterface,
    delivered,
    });
  } catch (e) {
    writeFailed(e);
    if (writeError !== null) errors.push(writeError);
  }

  const unavailable = [...engine.unavailable];
  for (const [k, v] of [["packetsReceived", c.received], ["droppedByKernel", c.droppedByKernel], ["droppedByInterface", c.droppedByInterface]] as const) {
    if (v === null && !unavailable.includes(k)) unavailable.push(k);
  }
  const format: CaptureFormat = o.write ? "pcapng" : "pcap";
  const name = o.write ?? `live:${iface}`;
  return {
    file: name,
    format,
    compressed: false,
    linkTypes: result.linkTypes,
    packets: delivered,
    frames: delivered,
    bytes,
    capturedBytes,
    firstTimestamp: first,
    lastTimestamp: first === null ? null : { sec: lastSec, nsec: lastNsec },
    errors,
    fileSize: null,
    live: {
      interface: iface,
      filter,
      engine: engine.name,
      start: iso(start),
      end: iso(end),
      stopReason: reason,
      packetsCaptured: delivered,
      packetsReceived: c.received,
      droppedByKernel: c.droppedByKernel,
      droppedByInterface: c.droppedByInterface,
      snaplen,
      bufferSize,
      timestamps: session.timestamps,
      file: o.write ?? null,
      unavailable,
    },
  };
}

function osRelease(): string {
  try {
    return readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  } catch {
    return "";
  }
}
