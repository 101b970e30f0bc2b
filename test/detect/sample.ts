/**
 * Helpers for the detector tests: StreamSamples and byte building. Every byte a test uses is
 * spelled out in the test itself with a comment per field; these only concatenate.
 */
import type { Datagram, StreamSample } from "../../src/detect/types.js";

/** A part of a byte string: numbers are single bytes, strings are ASCII, arrays are spliced. */
export type Part = number | string | Uint8Array | readonly Part[];

export function bytes(...parts: Part[]): Uint8Array {
  const out: number[] = [];
  const add = (p: Part): void => {
    if (typeof p === "number") {
      if (!Number.isInteger(p) || p < 0 || p > 255) throw new Error(`byte ${p} out of range`);
      out.push(p);
    } else if (typeof p === "string") {
      for (let i = 0; i < p.length; i++) {
        const c = p.charCodeAt(i);
        if (c > 255) throw new Error(`non-Latin-1 char in ${JSON.stringify(p)}`);
        out.push(c);
      }
    } else if (p instanceof Uint8Array) {
      for (const x of p) out.push(x);
    } else {
      for (const x of p) add(x);
    }
  };
  for (const p of parts) add(p);
  return Uint8Array.from(out);
}

export const u16be = (v: number): number[] => [(v >> 8) & 0xff, v & 0xff];
export const u16le = (v: number): number[] => [v & 0xff, (v >> 8) & 0xff];
export const u32be = (v: number): number[] => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
export const u32le = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
export const zeros = (n: number): number[] => new Array<number>(n).fill(0);

export function tcp(
  client: Uint8Array,
  server: Uint8Array,
  opts: Partial<Pick<StreamSample, "clientPort" | "serverPort" | "clientDone" | "serverDone" | "firstSpeaker" | "clientGap" | "serverGap" | "clientStartMissing" | "serverStartMissing">> = {},
): StreamSample {
  return {
    transport: "tcp",
    clientPort: opts.clientPort ?? 50000,
    serverPort: opts.serverPort ?? 9999,
    client,
    server,
    clientDone: opts.clientDone ?? true,
    serverDone: opts.serverDone ?? true,
    clientGap: opts.clientGap ?? false,
    serverGap: opts.serverGap ?? false,
    clientStartMissing: opts.clientStartMissing ?? false,
    serverStartMissing: opts.serverStartMissing ?? false,
    firstSpeaker: opts.firstSpeaker ?? (client.length > 0 ? "client" : server.length > 0 ? "server" : null),
    datagrams: [],
  };
}

export function udp(datagrams: [boolean, Uint8Array][], opts: { clientPort?: number; serverPort?: number } = {}): StreamSample {
  const list: Datagram[] = datagrams.map(([fromClient, data], i) => ({ fromClient, frame: i + 1, data }));
  return {
    transport: "udp",
    clientPort: opts.clientPort ?? 50000,
    serverPort: opts.serverPort ?? 9999,
    client: new Uint8Array(0),
    server: new Uint8Array(0),
    clientDone: true,
    serverDone: true,
    clientGap: false,
    serverGap: false,
    clientStartMissing: false,
    serverStartMissing: false,
    firstSpeaker: list.length > 0 ? (list[0].fromClient ? "client" : "server") : null,
    datagrams: list,
  };
}

/** Anomaly names in the order they were pushed. */
export function names(a: { name: string }[]): string[] {
  return a.map((x) => x.name);
}

export { rng } from "../support/random.js";

export function randomBytes(next: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
  return b;
}

export const u24be = (v: number): number[] => [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
