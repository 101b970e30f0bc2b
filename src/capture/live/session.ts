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
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { PcapngWriter } from "../writer/pcapng.js";
import type { CaptureError, CaptureFormat, CaptureSummary, CaptureTimestamp, EngineName, LiveCaptureInfo, RawPacket, StopReason } from "../types.js";
import { DEFAULT_BUFFER_SIZE, LiveCaptureError, MAX_TIMEOUT_MS, permissionMessage, TICK_MS, type EngineChoice, type EngineCounters, type EngineResult, type EngineSession } from "./engine.js";
import { canCapture, interfaceExists, InterfaceWatch } from "./interfaces.js";
import { selectEngine } from "./select.js";

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
