/**
 * The `tcpdump` engine: `tcpdump -i IF -U -w - …` as a child process, its stdout (a classic pcap
 * stream with nanosecond timestamps) read by our streaming reader (readCaptureFrom).
 *
 * What it gives that cap does not: kernel timestamps, original lengths, and libpcap's counters —
 * printed by tcpdump on stderr when it exits ("N packets received by filter", "N packets dropped
 * by kernel", and "N packets dropped by interface", which tcpdump prints only when it is not 0)
 * and, while it runs, each time it gets SIGUSR1 (one line "tcpdump: N packets captured, …").
 *
 * It is stopped with SIGINT (tcpdump then flushes, prints its summary and exits); SIGTERM after
 * 5 s and SIGKILL after 8 s if it does not. The SIGINT is sent STOP_GRACE_MS after the stop is
 * asked: libpcap (TPACKET_V3) hands packets over in blocks that the kernel retires when full or
 * after tcpdump's 1 s timeout, and a SIGINT loses the packets of the block still open. Immediate
 * mode would avoid the wait but uses fixed snaplen-sized ring slots: with a 64 MiB buffer and
 * tcpdump's 262,144-byte snaplen that is 256 packets, and it lost 30 % at 50k packets/s where
 * block mode lost none (docs/live-capture.md). It runs in its own process group so that a Ctrl-C in
 * the terminal reaches only us and we stop it in order. As root it drops privileges after opening
 * the interface (-Z tcpdump, the user Debian's package creates) when that user exists.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { readCaptureFrom } from "../reader/file.js";
import type { RawPacket } from "../types.js";
import {
  interfaceDownMessage,
  LiveCaptureError,
  TCPDUMP_DEFAULT_SNAPLEN,
  permissionMessage,
  type EngineCounters,
  type EngineResult,
  type EngineSession,
  type EngineStartOptions,
  type LiveEngine,
} from "./engine.js";

/** The largest snaplen libpcap accepts (MAXIMUM_SNAPLEN in libpcap 1.10). */
const TCPDUMP_MAX_SNAPLEN = 262144;
/** How long tcpdump may take to open the interface before we give up. */
const START_TIMEOUT_MS = 15_000;
/** Wait after a stop is asked before SIGINT: tcpdump's 1 s block timeout plus a margin. */
export const STOP_GRACE_MS = 1200;
/** stderr kept (the end of it): the summary is at the end. */
const STDERR_KEEP = 64 * 1024;

/** tcpdump's path on PATH, or null. */
export function findTcpdump(pathEnv = process.env.PATH ?? ""): string | null {
  for (const dir of pathEnv.split(delimiter)) {
    if (dir === "") continue;
    const p = join(dir, "tcpdump");
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

function userExists(name: string): boolean {
  try {
    return readFileSync("/etc/passwd", "utf8").split("\n").some((l) => l.startsWith(name + ":"));
  } catch {
    return false;
  }
}

/** The last value of each libpcap counter tcpdump printed (exit summary or SIGUSR1 line). */
export function parseTcpdumpCounters(stderr: string, final: boolean): EngineCounters | null {
  const last = (re: RegExp): number | null => {
    let v: number | null = null;
    for (const m of stderr.matchAll(re)) v = Number(m[1]);
    return v;
  };
  const received = last(/(\d+) packets? received by filter/g);
  const dropped = last(/(\d+) packets? dropped by kernel/g);
  if (received === null && dropped === null) return null;
  let ifdrop = last(/(\d+) packets? dropped by interface/g);
  // tcpdump prints "dropped by interface" only when it is not 0 (the summary is otherwise complete).
  if (ifdrop === null && final) ifdrop = 0;
  return { received, droppedByKernel: dropped, droppedByInterface: ifdrop };
}

/**
 * tcpdump's own error in what it wrote on stderr: the last "tcpdump: …" line that is not one of its
 * progress lines ("listening on …", "verbose output suppressed", counters), e.g. "pcap_loop: The
 * interface disappeared" when the interface is removed mid-capture.
 */
export function tcpdumpErrorLine(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !/^(tcpdump: )?\d+ packets?/.test(l) && !/^tcpdump: (listening on |verbose output suppressed)/.test(l));
  const own = lines.filter((l) => l.startsWith("tcpdump:"));
  return (own[own.length - 1] ?? lines[lines.length - 1] ?? "exited without a message").replace(/^tcpdump:\s*/, "");
}

/** One line for what tcpdump said when it could not start (or why it stopped by itself). */
export function classifyTcpdumpError(stderr: string, o: { iface: string; filter: string | null }): LiveCaptureError {
  const text = tcpdumpErrorLine(stderr);
  if (/permission|not permitted/i.test(stderr)) return new LiveCaptureError("permission", permissionMessage(o.iface, "tcpdump"));
  if (/no such device/i.test(stderr)) return new LiveCaptureError("interface", `no interface named "${o.iface}" here (phoenix-netcheck capture --list shows them)`);
  if (/device is not up/i.test(stderr)) return new LiveCaptureError("interface", interfaceDownMessage(o.iface));
  if (o.filter !== null && /filter expression|syntax error|illegal|unknown host|unknown port|not supported|expression rejects|no VLAN|parse error/i.test(stderr)) {
    return new LiveCaptureError("filter", `bad capture filter "${o.filter}": ${text}`);
  }
  return new LiveCaptureError("engine", `tcpdump could not capture on ${o.iface}: ${text}`);
}

export class TcpdumpEngine implements LiveEngine {
  readonly name = "tcpdump" as const;
  readonly maxSnaplen = TCPDUMP_MAX_SNAPLEN;
  readonly defaultSnaplen = TCPDUMP_DEFAULT_SNAPLEN;
  readonly unavailable = [] as const;
  private readonly path: string | null;

  constructor(pathEnv?: string) {
    this.path = findTcpdump(pathEnv);
  }

  unavailableReason(): string | null {
    return this.path === null ? "tcpdump is not on PATH: apt-get install tcpdump (or use --engine cap)" : null;
  }

  /** The arguments tcpdump is started with (exported for tests and docs). */
  static args(o: EngineStartOptions, root: boolean, haveUser: boolean): string[] {
    const a = ["-i", o.iface, "-U", "-w", "-", "-s", String(o.snaplen), "-B", String(Math.max(1, Math.ceil(o.bufferSize / 1024)))];
    // Immediate mode: each packet is handed over as it arrives. Without it libpcap fills 1 s
    // blocks, and a Ctrl-C loses the packets of the unfinished block (cap runs in immediate mode too).
    a.push("--time-stamp-precision=nano");
    if (root && haveUser) a.push("-Z", "tcpdump");
    if (o.count !== null) a.push("-c", String(o.count));
    if (o.filter !== null) a.push(o.filter);
    return a;
  }

  async start(o: EngineStartOptions, onPacket: (p: RawPacket) => void): Promise<EngineSession> {
    if (this.path === null) throw new LiveCaptureError("engine", this.unavailableReason()!);
    const root = typeof process.getuid === "function" && process.getuid() === 0;
    const args = TcpdumpEngine.args(o, root, root && userExists("tcpdump"));
    const child: ChildProcess = spawn(this.path, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });

    let stderr = "";
    let listening = false;
    let exited = false;
    let requested = false;
    let onListening: (() => void) | null = null;
    let lastInfoRequest = 0;
    const killTimers: NodeJS.Timeout[] = [];

    const started = new Promise<void>((resolve, reject) => {
      onListening = resolve;
      child.once("error", (e) => reject(new LiveCaptureError("engine", `cannot run ${this.path}: ${e.message}`)));
      // "close", not "exit": only then has all of stderr (the reason) been read.
      child.once("close", () => {
        if (!listening) reject(classifyTcpdumpError(stderr, o));
      });
    });
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (s: string) => {
      stderr += s;
      if (stderr.length > STDERR_KEEP) stderr = stderr.slice(-STDERR_KEEP);
      if (!listening && /listening on /.test(stderr)) {
        listening = true;
        onListening?.();
      }
    });

    // The reader runs from the start so tcpdump never blocks on a full pipe.
    const reading = readCaptureFrom(child.stdout!, `tcpdump:${o.iface}`, onPacket).then(
      (s) => ({ summary: s, error: null as string | null }),
      (e: Error) => ({ summary: null, error: e.message }),
    );
    // tcpdump runs in its own process group: if we exit without stopping it, take it with us.
    const onExit = (): void => {
      if (!exited) child.kill("SIGKILL");
    };
    process.once("exit", onExit);
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once("close", (code, signal) => {
        exited = true;
        process.off("exit", onExit);
        for (const t of killTimers) clearTimeout(t);
        resolve({ code, signal });
      });
    });

    const startTimer = setTimeout(() => {
      if (!listening) child.kill("SIGKILL");
    }, START_TIMEOUT_MS);
    try {
      await started;
    } catch (e) {
      await closed;
      throw e;
    } finally {
      clearTimeout(startTimer);
    }

    const signal = (sig: NodeJS.Signals): void => {
      if (exited) return;
      try {
        child.kill(sig);
      } catch {
        /* already gone */
      }
    };

    const done = (async (): Promise<EngineResult> => {
      const [{ code, signal: sig }, read] = await Promise.all([closed, reading]);
      const counters = parseTcpdumpCounters(stderr, true) ?? { received: null, droppedByKernel: null, droppedByInterface: null };
      let failure: string | null = null;
      if (!requested && (code !== 0 || sig !== null)) {
        // Its own last error line ("pcap_loop: The interface disappeared"), not "listening on".
        failure = `${tcpdumpErrorLine(stderr)} (exit ${code ?? sig})`;
      }
      const errors = read.summary?.errors ?? [];
      if (read.error !== null && failure === null && read.summary === null && !/empty/.test(read.error)) failure = read.error;
      return { counters, linkTypes: read.summary?.linkTypes ?? [], errors, failure };
    })();

    return {
      timestamps: "kernel",
      stop(): void {
        if (requested) return;
        requested = true;
        killTimers.push(
          setTimeout(() => signal("SIGINT"), STOP_GRACE_MS),
          setTimeout(() => signal("SIGTERM"), STOP_GRACE_MS + 5000),
          setTimeout(() => signal("SIGKILL"), STOP_GRACE_MS + 8000),
        );
      },
      done,
      counters(): EngineCounters | null {
        // Ask for fresh counters at most once a second; the answer arrives on stderr later.
        const now = Date.now();
        if (!requested && now - lastInfoRequest >= 1000) {
          lastInfoRequest = now;
          signal("SIGUSR1");
        }
        return parseTcpdumpCounters(stderr, false);
      },
    };
  }
}
