/**
 * The TCP side of every check: connect with a deadline, classify how it ended, and record every
 * byte each way into a TcpExchange (docs/probe.md). Nothing is retried here: a connect that times
 * out is "filtered" (the kernel's own SYN retransmissions within the timeout are all it does).
 */
import net from "node:net";
import { Duplex } from "node:stream";
import { icmpCodeFor, TcpExchange, type ConnectOutcome } from "./exchange.js";

export interface Connected {
  exchange: TcpExchange;
  outcome: ConnectOutcome;
  /** The errno of a failed connect ("ECONNREFUSED", "EHOSTUNREACH"…), else null. */
  errno: string | null;
  /** Milliseconds from the connect call to its outcome. */
  elapsedMs: number;
  /** The connected socket when open. */
  socket: net.Socket | null;
}

/** The local address a datagram or connection to `address` leaves from (no packet is sent: connect() on UDP only picks the route). */
export async function localAddressFor(address: string): Promise<string | null> {
  const dgram = await import("node:dgram");
  return new Promise((resolve) => {
    const s = dgram.createSocket(net.isIPv6(address) ? "udp6" : "udp4");
    s.on("error", () => {
      s.close();
      resolve(null);
    });
    s.connect(9, address, () => {
      const a = s.address().address;
      s.close();
      resolve(a);
    });
  });
}

/** Connect to address:port within timeoutMs; `signal` aborts (the outcome is then "filtered" with errno "ABORTED"). */
export async function connectTcp(address: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<Connected> {
  const local = (await localAddressFor(address)) ?? (net.isIPv6(address) ? "::" : "0.0.0.0");
  const exchange = new TcpExchange({ clientAddress: local, clientPort: 0, serverAddress: address, serverPort: port });
  const t0 = process.hrtime.bigint();
  const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
  return new Promise<Connected>((resolve) => {
    const socket = net.connect({ host: address, port, noDelay: true });
    let done = false;
    const finish = (outcome: ConnectOutcome, errno: string | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket.removeListener("error", onError);
      exchange.outcome = outcome;
      if (outcome === "open") {
        exchange.endpoints = { ...exchange.endpoints, clientAddress: socket.localAddress ?? local, clientPort: socket.localPort ?? 0 };
      } else {
        socket.destroy();
        exchange.endMs = Date.now();
      }
      if (outcome === "unreachable" && errno !== null) exchange.icmpCode = icmpCodeFor(errno, net.isIPv6(address) ? 6 : 4);
      resolve({ exchange, outcome, errno, elapsedMs: Math.round(ms() * 10) / 10, socket: outcome === "open" ? socket : null });
    };
    const onError = (e: NodeJS.ErrnoException): void => {
      const code = e.code ?? "EIO";
      if (code === "ECONNREFUSED") finish("refused", code);
      else if (code === "EHOSTUNREACH" || code === "ENETUNREACH" || code === "EACCES" || code === "EPERM") finish("unreachable", code);
      else if (code === "ETIMEDOUT") finish("filtered", code);
      else finish("unreachable", code);
    };
    const onAbort = (): void => finish("filtered", "ABORTED");
    const timer = setTimeout(() => finish("filtered", null), timeoutMs);
    signal?.addEventListener("abort", onAbort);
    socket.once("connect", () => finish("open", null));
    socket.on("error", onError);
  });
}

/**
 * A Duplex in front of a connected socket that copies every byte each way into the exchange:
 * `tls.connect({ socket })` over it gives the handshake's bytes as they went on the wire, which
 * the TLS detector then reads (the same parser as for a capture).
 */
export class RecordingStream extends Duplex {
  constructor(private readonly socket: net.Socket, private readonly exchange: TcpExchange) {
    super();
    socket.on("data", (b: Buffer) => {
      exchange.data(false, b);
      // Once TLS is done with the stream, what still comes is only recorded (the server's close).
      if (!this.destroyed && !this.push(b)) socket.pause();
    });
    socket.on("end", () => {
      exchange.fin(false);
      this.push(null);
    });
    socket.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "ECONNRESET") exchange.rst(false);
      this.destroy(e);
    });
    socket.on("close", () => {
      exchange.endMs = Date.now();
      this.emit("socket-close");
    });
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.exchange.data(true, chunk);
    this.socket.write(chunk, cb);
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.exchange.fin(true);
    this.socket.end(cb);
  }

  override _destroy(e: Error | null, cb: (e?: Error | null) => void): void {
    // After our FIN the server's own FIN (or RST) is still to come, and on the wire it would be
    // seen: let the socket close by itself (the caller's timeout destroys it), recording it.
    if (this.socket.writableEnded && !this.socket.destroyed) this.socket.resume();
    else this.socket.destroy();
    cb(e);
  }
}

/**
 * Reads what the server sends on a plain socket until `enough(bytes)` says so, the server closes,
 * or `timeoutMs` passes; every byte is recorded. Resolves with what came.
 */
export function readUntil(socket: net.Socket, exchange: TcpExchange, timeoutMs: number, enough: (got: Uint8Array) => boolean): Promise<Uint8Array> {
  return new Promise((resolve) => {
    let got = new Uint8Array(0);
    const stop = (): void => {
      clearTimeout(timer);
      socket.removeListener("data", onData);
      socket.removeListener("end", onEnd);
      socket.removeListener("error", onEnd);
      resolve(got);
    };
    const onData = (b: Buffer): void => {
      exchange.data(false, b);
      const next = new Uint8Array(got.length + b.length);
      next.set(got);
      next.set(b, got.length);
      got = next;
      if (enough(got)) stop();
    };
    const onEnd = (): void => {
      exchange.fin(false);
      stop();
    };
    const timer = setTimeout(stop, timeoutMs);
    socket.on("data", onData);
    socket.once("end", onEnd);
    socket.once("error", onEnd);
  });
}

/** Write bytes from the client, recorded. */
export function sendRecorded(socket: net.Socket, exchange: TcpExchange, bytes: Uint8Array): void {
  exchange.data(true, bytes);
  socket.write(bytes);
}

/** Close our side (FIN), wait (bounded) for the server's FIN or the close, then destroy. */
export function closeRecorded(socket: net.Socket, exchange: TcpExchange, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) {
      exchange.endMs = Date.now();
      resolve();
      return;
    }
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on("data", (b: Buffer) => exchange.data(false, b));
    socket.once("end", () => exchange.fin(false));
    socket.once("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "ECONNRESET") exchange.rst(false);
    });
    socket.once("close", () => {
      clearTimeout(timer);
      exchange.endMs = Date.now();
      resolve();
    });
    exchange.fin(true);
    socket.end();
  });
}
