/**
 * Running the built command line (`node dist/cli/main.js`) as a user does, for the tests of what
 * it writes, where, and with which exit code. Needs `npm run build` (npm test does it).
 */
import { spawn, spawnSync, type ChildProcess, type StdioOptions } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { cat, pcapHeader, pcapRecord } from "../capture/build.js";
import { eth, ipv4, tcp, udp } from "../decode/build.js";

export const repo = path.resolve(__dirname, "../..");
export const cli = path.join(repo, "dist/cli/main.js");
export const built = existsSync(cli);
export const isRoot = process.getuid?.() === 0;
export const sample = path.join(repo, "fixtures/sample.pcapng");

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** One run to the end; `stdio` overrides the default pipes (e.g. stdout to /dev/full). */
export function run(args: string[], o: { input?: Buffer; cwd?: string; stdio?: StdioOptions } = {}): Run {
  const r = spawnSync(process.execPath, [cli, ...args], {
    input: o.input ?? Buffer.alloc(0),
    encoding: "utf8",
    timeout: 60_000,
    cwd: o.cwd,
    stdio: o.stdio,
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** A run in the background, for signals and races. */
export function start(args: string[], cwd?: string): { child: ChildProcess; result: Promise<Run> } {
  const child = spawn(process.execPath, [cli, ...args], { cwd, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  const result = new Promise<Run>((resolve) => child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, result };
}

/** The lines written on stderr (empty ones dropped). */
export function lines(s: string): string[] {
  return s.split("\n").filter((l) => l.length > 0);
}

/**
 * A classic pcap (microseconds, little-endian, Ethernet) of `n` UDP packets 192.0.2.1:50000 →
 * 198.51.100.7:53, one second apart from `sec`: big enough, with a large `n`, that the reader
 * must be reading it for a write to the pipe to complete.
 */
export function udpCapture(n: number, sec = 1_700_000_000): Buffer {
  const parts: Uint8Array[] = [pcapHeader({ le: true, snaplen: 65535, linkType: 1 })];
  const frame = eth(0x0800, ipv4({ proto: 17, payload: udp({ payload: new Array<number>(200).fill(0x61) }) }));
  for (let i = 0; i < n; i++) parts.push(pcapRecord(true, sec + i, 0, frame));
  return Buffer.from(cat(...parts));
}

/**
 * A TCP handshake 192.0.2.1:40000 → 198.51.100.7:443 whose timestamps go backwards: the SYN at
 * `later`, the SYN-ACK and the ACK 82 years (and a bit) before it, as a capture with a clock
 * stepped back writes them.
 */
export function backwardsCapture(later = 3_900_000_000, earlier = 1_300_000_000): Buffer {
  const syn = eth(0x0800, ipv4({ proto: 6, payload: tcp({ flags: 0x02, seq: 1000 }) }));
  const synAck = eth(
    0x0800,
    ipv4({ proto: 6, src: [198, 51, 100, 7], dst: [192, 0, 2, 1], payload: tcp({ sport: 443, dport: 40000, flags: 0x12, seq: 5000, ack: 1001 }) }),
  );
  const ack = eth(0x0800, ipv4({ proto: 6, payload: tcp({ flags: 0x10, seq: 1001, ack: 5001 }) }));
  return Buffer.from(
    cat(
      pcapHeader({ le: true, snaplen: 65535, linkType: 1 }),
      pcapRecord(true, later, 0, syn),
      pcapRecord(true, earlier, 0, synAck),
      pcapRecord(true, earlier + 1, 0, ack),
    ),
  );
}
