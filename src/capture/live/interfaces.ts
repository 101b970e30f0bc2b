/**
 * The interfaces of this network namespace (/sys/class/net and Node's os module), whether this
 * process may capture on them, and the watch that polls the capture interface's state.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { TICK_MS } from "./engine.js";

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
