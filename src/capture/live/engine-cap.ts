/**
 * The `cap` engine: libpcap in this process through the optional npm module cap 0.2.1.
 *
 * What cap does and does not give (read from its binding.cc and measured, docs/live-capture.md):
 * - each packet is copied into the one Buffer given to open() and announced with ("packet",
 *   nbytes, truncated): the bytes must be used synchronously (we decode and write them in the
 *   callback) — the next packet overwrites them;
 * - no timestamp, no original length, no pcap_stats: timestamps are taken on arrival here
 *   (performance.now(), the same monotonic clock as process.hrtime, added to the wall clock read
 *   once at start), the original length is the captured length, drops are unknown;
 * - snaplen is fixed at 65,535 and promiscuous mode is always on; a smaller --snaplen is applied
 *   here by keeping fewer bytes (the original length is then the bytes libpcap had);
 * - the native side writes into the Buffer through a raw pointer and keeps no reference to it:
 *   if the Buffer is garbage-collected while open the heap is corrupted. And close() stops its
 *   libuv poll handle without uv_close(), so the handle stays linked in the event loop's handle
 *   queue inside the Cap object's memory: collecting a closed Cap object corrupts the loop too
 *   (seen here: a second capture in the same process crashed). Every Cap object and its Buffer
 *   is therefore kept referenced for the life of the process (64 KiB per capture);
 * - it drains the kernel ring in one synchronous loop while packets keep coming, so under a
 *   flood timers and signals wait (stop.ts checks the duration inside the packet callback).
 *
 * The module is loaded lazily with createRequire in try/catch, so everything else works without it
 * (its install fails, harmlessly, on machines without libpcap-dev).
 */
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import { PacketRecord } from "../packet.js";
import type { RawPacket } from "../types.js";
import {
  CAP_MAX_SNAPLEN,
  interfaceDownMessage,
  LiveCaptureError,
  permissionMessage,
  type EngineCounters,
  type EngineResult,
  type EngineSession,
  type EngineStartOptions,
  type LiveEngine,
} from "./engine.js";

/** The parts of cap 0.2.1's API we use. */
interface CapInstance {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): void;
  on(ev: "packet", fn: (nbytes: number, truncated: boolean) => void): void;
  removeAllListeners(ev?: string): void;
}
interface CapModule {
  Cap: { new (): CapInstance; deviceList(): { name: string; description?: string; addresses: { addr: string }[] }[] };
}

let loaded: CapModule | null = null;
let loadError: string | null = null;

/** Loads cap once; null (with the reason in capLoadError()) when it is not installed or not built. */
export function loadCap(): CapModule | null {
  if (loaded !== null || loadError !== null) return loaded;
  try {
    const require = createRequire(import.meta.url);
    loaded = require("cap") as CapModule;
  } catch (e) {
    loadError = (e as Error).message.split("\n")[0];
  }
  return loaded;
}

export function capLoadError(): string | null {
  loadCap();
  return loadError;
}

/**
 * LINKTYPE_* number for the name cap's open() returns (binding.cc maps DLT values to names; an
 * unmapped one comes back as "Unknown linktype N" with the DLT number, equal to the LINKTYPE
 * number for every DLT above 12 on Linux).
 */
export function capLinkType(name: string): number | null {
  switch (name) {
    case "NULL":
      return 0; // LINKTYPE_NULL
    case "ETHERNET":
      return 1; // LINKTYPE_ETHERNET
    case "IEEE802_11_RADIO":
      return 127; // LINKTYPE_IEEE802_11_RADIOTAP
    case "LINKTYPE_LINUX_SLL":
      return 113; // LINKTYPE_LINUX_SLL
    case "RAW":
      return 101; // LINKTYPE_RAW (DLT_RAW is 12 on Linux; the file value is 101)
  }
  const m = /^Unknown linktype (\d+)$/.exec(name);
  return m ? Number(m[1]) : null;
}

/**
 * Every Cap object made and its Buffer, never released (see the header). Those whose open() threw
 * are kept too: binding.cc leaves their libpcap handle set, and the destructor would stop a poll
 * handle that was never started.
 */
const retained: object[] = [];

export class CapEngine implements LiveEngine {
  readonly name = "cap" as const;
  readonly maxSnaplen = CAP_MAX_SNAPLEN;
  readonly defaultSnaplen = CAP_MAX_SNAPLEN;
  /** cap gives neither timestamps, original lengths nor pcap_stats. */
  readonly unavailable = ["timestamps", "originalLength", "packetsReceived", "droppedByKernel", "droppedByInterface"] as const;

  unavailableReason(): string | null {
    const err = capLoadError();
    if (err === null) return null;
    return `the cap engine is not installed (${err}): apt-get install libpcap-dev, then npm install cap@0.2.1 — or use --engine tcpdump`;
  }

  async start(o: EngineStartOptions, onPacket: (p: RawPacket) => void): Promise<EngineSession> {
    const mod = loadCap();
    if (mod === null) throw new LiveCaptureError("engine", this.unavailableReason()!);
    // One byte more than cap's snaplen, so `truncated` never fires for a packet libpcap kept whole.
    const buffer = Buffer.alloc(CAP_MAX_SNAPLEN + 1);
    const cap = new mod.Cap();
    let linkName: string;
    try {
      linkName = cap.open(o.iface, o.filter ?? "", o.bufferSize, buffer);
    } catch (e) {
      retained.push(cap, buffer);
      throw classifyOpenError(mod, o, (e as Error).message);
    }
    const linkType = capLinkType(linkName);
    if (linkType === null) {
      cap.close();
      throw new LiveCaptureError("engine", `cap opened ${o.iface} with a link type it cannot name (${linkName})`);
    }

    // Arrival timestamps: wall clock once, then the monotonic clock (no allocation per packet).
    const startMs = Date.now();
    const startPerf = performance.now();
    const baseSec = Math.floor(startMs / 1000);
    const baseNs = (startMs - baseSec * 1000) * 1e6;
    const snaplen = o.snaplen;

    // Packets are handed over as plain Uint8Array views, not Buffer ones: code that keeps bytes
    // copies them with .slice(), which on a Buffer is another view of this one reused Buffer
    // (flow/table.ts keeps UDP samples that way; a Buffer view there got the next packet's bytes).
    const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
    const pkt = new PacketRecord();
    pkt.linkType = linkType;
    let frames = 0;
    let closed = false;
    let resolveDone!: (r: EngineResult) => void;
    const done = new Promise<EngineResult>((r) => (resolveDone = r));
    retained.push(cap, buffer);

    cap.on("packet", (nbytes: number) => {
      if (closed) return;
      const ns = baseNs + Math.round((performance.now() - startPerf) * 1e6);
      const s = Math.floor(ns / 1e9);
      const caplen = nbytes < snaplen ? nbytes : snaplen;
      pkt.frame = ++frames;
      pkt.offset = 0;
      pkt.tsSec = baseSec + s;
      pkt.tsNsec = ns - s * 1e9;
      pkt.caplen = caplen;
      pkt.origLen = nbytes; // what libpcap kept (≤ 65,535): the wire length is not given
      pkt.at(bytes, 0);
      onPacket(pkt);
    });

    const finish = (): void => {
      // Let cap's native loop return (it closes libpcap after the current callback) before the
      // Buffer and the Cap object may be collected.
      setImmediate(() => {
        cap.removeAllListeners("packet");
        resolveDone({
          counters: { received: null, droppedByKernel: null, droppedByInterface: null },
          linkTypes: [linkType],
          errors: [],
          failure: null,
        });
      });
    };

    return {
      timestamps: "arrival",
      stop(): void {
        if (closed) return;
        closed = true;
        cap.close();
        finish();
      },
      done,
      counters(): EngineCounters | null {
        return null;
      },
    };
  }
}

/**
 * Turns cap's open() error into one line. libpcap compiles the filter after activating the
 * handle, so when a filter was given and opening without it works, the filter is what is wrong.
 */
function classifyOpenError(mod: CapModule, o: EngineStartOptions, msg: string): LiveCaptureError {
  const line = msg.split("\n")[0];
  if (/permission|not permitted/i.test(line)) return new LiveCaptureError("permission", permissionMessage(o.iface, "cap"));
  if (/no such device/i.test(line)) return new LiveCaptureError("interface", `no interface named "${o.iface}" here (phoenix-netcheck capture --list shows them)`);
  if (/not up/i.test(line)) return new LiveCaptureError("interface", interfaceDownMessage(o.iface));
  if (o.filter) {
    const probe = new mod.Cap();
    const buf = Buffer.alloc(CAP_MAX_SNAPLEN + 1);
    retained.push(probe, buf);
    try {
      probe.open(o.iface, "", o.bufferSize, buf);
      probe.close();
      return new LiveCaptureError("filter", `bad capture filter "${o.filter}": ${line}`);
    } catch {
      /* opening fails without the filter too: not the filter's fault */
    }
  }
  return new LiveCaptureError("engine", `cap could not open ${o.iface}: ${line}`);
}
