/**
 * Live capture on an interface: picks an engine (the in-process `cap` libpcap binding, or a
 * `tcpdump` child process), checks the interface and privileges up front, hands every packet to
 * the caller as a RawPacket (the same shape the file readers give), writes the evidence pcapng
 * (`-w`), and stops cleanly on the duration, the count or the caller's AbortSignal
 * (SIGINT/SIGTERM in the CLI), returning a CaptureSummary with a `live` object (docs/live-capture.md).
 *
 * The parts: evidence.ts writes the -w file (EvidenceTee), stop.ts decides when to stop
 * (StopControl), summary.ts counts the packets and builds the summary; this file runs them.
 *
 * What each engine cannot tell is named in `live.unavailable`, never guessed:
 * - cap: no kernel timestamps (packets are stamped on arrival in JavaScript), no original length
 *   (it is the captured length, at most 65,535), no libpcap statistics (received, drops).
 * - tcpdump: everything above comes from libpcap itself (its exit summary on stderr).
 */
import { performance } from "node:perf_hooks";
import type { CaptureTimestamp, EngineName, RawPacket, StopReason } from "../types.js";
import { DEFAULT_BUFFER_SIZE, LiveCaptureError, permissionMessage, TICK_MS, type EngineChoice, type EngineCounters, type EngineResult, type EngineSession } from "./engine.js";
import { EvidenceTee } from "./evidence.js";
import { canCapture, interfaceExists, InterfaceWatch } from "./interfaces.js";
import { selectEngine } from "./select.js";
import { StopControl } from "./stop.js";
import { summarize, Tally, wallNow, type LiveSummary } from "./summary.js";

export type { LiveSummary } from "./summary.js";

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

  const tee = o.write
    ? EvidenceTee.open({ name: o.write, fd: o.writeFd ?? null, iface, snaplen, filter, application: o.application, engine: engine.name })
    : EvidenceTee.none();
  const tally = new Tally();
  const stop = new StopControl(count, o.durationMs ?? null, o.signal);

  const onPacket = (p: RawPacket): void => {
    if (stop.countReached) return; // the engine may hand over a few more before it stops
    tally.add(p);
    tee.write(p);
    o.onPacket(p);
    stop.afterPacket(tally.delivered);
  };

  let session: EngineSession;
  let start: CaptureTimestamp;
  try {
    session = await engine.start({ iface, filter, snaplen, bufferSize, count }, onPacket);
    start = wallNow();
  } catch (e) {
    tee.discard();
    throw e;
  }
  const startPerf = performance.now();
  o.onStarted?.(engine.name);

  // The interface's state, polled each tick: admin-down (IFF_UP clear) or gone. tcpdump ends by
  // itself when it is gone, with libpcap's error. cap cannot be saved by polling: the kernel
  // flags its socket (ENETDOWN) the moment the interface goes down or away, and cap's binding
  // then fails an assert and aborts the process before any JavaScript runs — hence tcpdump as the
  // auto engine (docs/live-capture.md).
  const watch = new InterfaceWatch(iface, performance.now());
  const ticker = setInterval(() => {
    tee.flush();
    watch.poll(performance.now());
    o.onTick?.({
      engine: engine.name,
      iface,
      elapsedMs: performance.now() - startPerf,
      packets: tally.delivered,
      bytes: tally.bytes,
      counters: session.counters(),
    });
  }, TICK_MS);
  stop.arm(session, startPerf);

  let result: EngineResult;
  try {
    result = await session.done;
  } finally {
    clearInterval(ticker);
    stop.dispose();
  }
  const end = wallNow();
  watch.poll(performance.now());
  const delivered = tally.delivered;
  // An engine that ends without being asked (tcpdump -c counts too) either reached the count or
  // failed; both are reported, a failure also as a fatal error of the capture.
  const reason: StopReason = stop.reason ?? (count !== null && delivered >= count ? "count" : watch.gone ? "interface-gone" : "engine-exit");
  const errors = [...result.errors];
  const downNote = watch.note(delivered);
  if (downNote !== null) errors.push({ frame: delivered + 1, offset: tee.offset, message: downNote, fatal: false });
  if (tee.error !== null) errors.push(tee.error);
  if (result.failure !== null && stop.reason === null) {
    errors.push({ frame: delivered + 1, offset: tee.offset, message: `${engine.name} stopped: ${result.failure}`, fatal: true });
  }

  const c: EngineCounters = result.counters;
  const closeError = tee.close({
    startSec: start.sec,
    startNsec: start.nsec,
    endSec: end.sec,
    endNsec: end.nsec,
    received: c.received,
    droppedByKernel: c.droppedByKernel,
    droppedByInterface: c.droppedByInterface,
    delivered,
  });
  if (closeError !== null) errors.push(closeError);

  return summarize(tally, {
    engine,
    iface,
    filter,
    snaplen,
    bufferSize,
    write: o.write ?? null,
    timestamps: session.timestamps,
    start,
    end,
    stopReason: reason,
    counters: c,
    linkTypes: result.linkTypes,
    errors,
  });
}
