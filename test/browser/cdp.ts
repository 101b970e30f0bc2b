/**
 * A small Chrome DevTools Protocol client over --remote-debugging-pipe, so the browser tests need
 * no npm package: Chromium reads JSON commands from file descriptor 3 and writes replies and
 * events to file descriptor 4, each message ended by a NUL byte.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Readable, Writable } from "node:stream";

/** The Chromium binary: $CHROMIUM_BIN, else the first of the usual names on $PATH; null when none. */
export function findChromium(): string | null {
  const env = process.env.CHROMIUM_BIN;
  if (env) return env;
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    for (const name of ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]) {
      const p = path.join(dir, name);
      try {
        accessSync(p, constants.X_OK);
        return p;
      } catch {
        // not here
      }
    }
  }
  return null;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export interface CdpEvent {
  method: string;
  params: Json;
  sessionId?: string;
}

export class Browser {
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: Json) => void; reject: (e: Error) => void; method: string }>();
  private buffer = "";
  readonly events: CdpEvent[] = [];
  private waiters: { match: (e: CdpEvent) => boolean; resolve: (e: CdpEvent) => void }[] = [];
  stderr = "";

  private constructor(
    private readonly child: ChildProcess,
    private readonly userDir: string,
  ) {
    const out = child.stdio[4] as Readable;
    out.setEncoding("utf8");
    out.on("data", (chunk: string) => this.receive(chunk));
    // A browser that dies (missing libraries, a crash) fails every command still waiting, with
    // the end of its stderr, instead of leaving the test to time out.
    child.on("exit", (code, signal) => {
      const err = new Error(`chromium exited (${signal ?? code}): ${this.stderr.slice(-2000)}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    });
    // Writing to a browser that has gone raises EPIPE on the pipe; the exit above reports it.
    (child.stdio[3] as Writable).on("error", () => undefined);
    (child.stdio[4] as Readable).on("error", () => undefined);
    child.on("error", (e) => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    });
    (child.stderr as Readable).setEncoding("utf8");
    (child.stderr as Readable).on("data", (s: string) => {
      if (this.stderr.length < 200_000) this.stderr += s;
    });
  }

  /** Start headless Chromium with nothing loaded and no network services of its own. */
  static launch(bin: string, width: number, height: number): Browser {
    const userDir = mkdtempSync(path.join(tmpdir(), "pnc-chromium-"));
    const args = [
      "--headless",
      "--no-sandbox", // CI runs as root, where Chromium's sandbox refuses to start
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-default-apps",
      "--disable-extensions",
      "--no-first-run",
      "--no-default-browser-check",
      "--hide-scrollbars",
      "--mute-audio",
      `--user-data-dir=${userDir}`,
      `--window-size=${width},${height}`,
      "--remote-debugging-pipe",
      "about:blank",
    ];
    const child = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] });
    return new Browser(child, userDir);
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf("\0")) >= 0) {
      const text = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 1);
      const msg = JSON.parse(text) as Json;
      if (typeof msg.id === "number") {
        const p = this.pending.get(msg.id);
        if (!p) continue;
        this.pending.delete(msg.id);
        if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
        else p.resolve(msg.result);
      } else if (msg.method) {
        const e: CdpEvent = { method: msg.method, params: msg.params, sessionId: msg.sessionId };
        this.events.push(e);
        this.waiters = this.waiters.filter((w) => {
          if (!w.match(e)) return true;
          w.resolve(e);
          return false;
        });
      }
    }
  }

  send(method: string, params: Json = {}, sessionId?: string, ms = 30_000): Promise<Json> {
    const id = this.nextId++;
    const msg = JSON.stringify(sessionId ? { id, method, params, sessionId } : { id, method, params });
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.reject(new Error(`chromium is not running: ${this.stderr.slice(-2000)}`));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer within ${ms} ms`));
      }, ms);
      this.pending.set(id, { resolve: (v) => (clearTimeout(t), resolve(v)), reject: (e) => (clearTimeout(t), reject(e)), method });
      (this.child.stdio[3] as Writable).write(msg + "\0");
    });
  }

  /** The next event matching `match` (already received ones count), or an error after `ms`. */
  waitFor(match: (e: CdpEvent) => boolean, ms = 15_000, since = 0): Promise<CdpEvent> {
    const seen = this.events.slice(since).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no matching event within ${ms} ms`)), ms);
      this.waiters.push({ match, resolve: (e) => (clearTimeout(t), resolve(e)) });
    });
  }

  /** Attach to the first page target (the about:blank tab) and return its session id. */
  async page(): Promise<string> {
    const { targetInfos } = await this.send("Target.getTargets");
    const page = (targetInfos as { type: string; targetId: string }[]).find((t) => t.type === "page");
    if (!page) throw new Error("no page target");
    const { sessionId } = await this.send("Target.attachToTarget", { targetId: page.targetId, flatten: true });
    return sessionId as string;
  }

  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) resolve();
      else this.child.once("exit", () => resolve());
    });
    try {
      await Promise.race([this.send("Browser.close"), new Promise((r) => setTimeout(r, 3000))]);
    } catch {
      // the pipe closes as the browser exits
    }
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
    rmSync(this.userDir, { recursive: true, force: true });
  }
}
