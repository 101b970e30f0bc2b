/**
 * Which engine captures: the registry of engines and the `auto` choice.
 */
import type { EngineName } from "../types.js";
import { CapEngine } from "./engine-cap.js";
import { TcpdumpEngine } from "./engine-tcpdump.js";
import { LiveCaptureError, type EngineChoice, type LiveEngine } from "./engine.js";

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
